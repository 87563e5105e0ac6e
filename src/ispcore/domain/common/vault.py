"""Sealing the few secrets ispcore must keep in a form it can open again: a bank account number
for in-house ACH (a NACHA file needs it in clear), a NAS's RADIUS shared secret. Fernet
(AES-128-CBC with HMAC-SHA256, from ``cryptography``) under the deployment's vault key; without
a key nothing is sealed and such secrets are refused."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from ispcore.domain.common.errors import DomainError, ErrorCode

BANK_ACCOUNT = "bank account numbers"


def _fernet(key: str | None, field: str, what: str) -> Fernet:
    if not key:
        raise DomainError(f"{what.capitalize()} cannot be kept: the server has no vault key "
                          "(ISPCORE_VAULT_KEY).", field=field, code=ErrorCode.FORBIDDEN)
    try:
        return Fernet(key.encode())
    except ValueError:
        raise DomainError("The server's vault key (ISPCORE_VAULT_KEY) is not a Fernet key "
                          "(32 bytes, urlsafe base64).", field=field,
                          code=ErrorCode.FORBIDDEN) from None


def seal(key: str | None, secret: str, *, field: str = "account_number",
         what: str = BANK_ACCOUNT) -> str:
    return _fernet(key, field, what).encrypt(secret.encode()).decode()


def unseal(key: str | None, sealed: str, *, field: str = "account_number",
           what: str = BANK_ACCOUNT) -> str:
    try:
        return _fernet(key, field, what).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise DomainError(f"Sealed {what} do not open with this server's vault key.",
                          field=field) from None


def new_key() -> str:
    """A fresh vault key, for ``ispcore`` operators to put in ISPCORE_VAULT_KEY."""
    return Fernet.generate_key().decode()
