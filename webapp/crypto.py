"""The one encrypted column type for secrets (OAuth tokens, signing secrets).

MultiFernet over ``TOKEN_ENCRYPTION_KEYS``: the first key encrypts, every key decrypts, so a new
key can be put first and old ciphertexts re-encrypted at leisure (``flask tokens rotate-key``).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class DecryptionError(RuntimeError):
    """A stored secret could not be decrypted with any configured key."""


def build_fernet(keys: Sequence[str]) -> MultiFernet:
    if not keys:
        raise DecryptionError("no TOKEN_ENCRYPTION_KEYS configured")
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def _fernet() -> MultiFernet:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    cached = app.extensions.get("sourceloop_fernet")
    if cached is None:
        cached = build_fernet(app.config["TOKEN_ENCRYPTION_KEYS"])
        app.extensions["sourceloop_fernet"] = cached
    return cached


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        # Deliberately no ciphertext in the message.
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from exc


def rotate(ciphertext: str) -> str:
    """Re-encrypt under the first (newest) key."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with the configured keys") from exc


class EncryptedText(TypeDecorator[str]):
    """A text column whose Python value is plaintext and whose stored value is a Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:  # noqa: ANN001
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:  # noqa: ANN001
        return None if value is None else decrypt(value)
