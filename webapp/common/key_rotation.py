"""Re-encrypt every stored secret under the newest ``TOKEN_ENCRYPTION_KEYS`` entry.

Finds every column of the ``EncryptedText`` type in the metadata, so secrets added by later
features are rotated without changes here. Reads and writes the ciphertext as plain text (no
decrypt-then-encrypt through the ORM), one row at a time inside a single transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, select, type_coerce, update

from webapp.crypto import EncryptedText, rotate
from webapp.extensions import db


@dataclass(frozen=True)
class RotationReport:
    columns: tuple[str, ...]
    rotated: int


def encrypted_columns() -> list[tuple[object, object]]:
    return [
        (table, column)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]


def rotate_all() -> RotationReport:
    rotated = 0
    names = []
    for table, column in encrypted_columns():
        names.append(f"{table.name}.{column.name}")
        pk = list(table.primary_key.columns)[0]
        raw = type_coerce(column, Text)
        rows = db.session.execute(select(pk, raw).where(column.is_not(None))).all()
        for row_id, ciphertext in rows:
            fresh = rotate(ciphertext)
            db.session.execute(
                update(table).where(pk == row_id).values({column.name: type_coerce(fresh, Text)})
            )
            rotated += 1
    db.session.commit()
    return RotationReport(tuple(names), rotated)
