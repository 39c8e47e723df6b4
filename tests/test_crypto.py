from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from webapp.crypto import DecryptionError, build_fernet
from webapp.extensions import db
from webapp.models import Credential


def test_tokens_are_encrypted_at_rest_and_readable(app, world) -> None:
    credential = Credential(
        workspace_id=world.workspace_id,
        platform_key="fake",
        access_token="plain-access",
        refresh_token="plain-refresh",
    )
    db.session.add(credential)
    db.session.commit()
    raw = db.session.execute(
        text("SELECT access_token, refresh_token FROM credentials WHERE id = :id"),
        {"id": credential.id},
    ).one()
    assert "plain" not in raw[0] and "plain" not in raw[1]
    db.session.expire_all()
    assert db.session.get(Credential, credential.id).refresh_token == "plain-refresh"


def test_first_key_encrypts_all_keys_decrypt() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = build_fernet([old]).encrypt(b"secret")
    rotated = build_fernet([new, old])
    assert rotated.decrypt(token) == b"secret"
    assert build_fernet([new]).decrypt(rotated.rotate(token)) == b"secret"


def test_unknown_key_is_a_clear_error_without_the_ciphertext(app, world) -> None:
    credential = Credential(
        workspace_id=world.workspace_id, platform_key="fake", access_token="a", refresh_token="b"
    )
    db.session.add(credential)
    db.session.commit()
    app.extensions["sourceloop_fernet"] = build_fernet([Fernet.generate_key().decode()])
    db.session.expire_all()
    with pytest.raises(DecryptionError) as excinfo:
        _ = db.session.get(Credential, credential.id).access_token
    assert "gAAAA" not in str(excinfo.value)
    app.extensions.pop("sourceloop_fernet")
