"""Sealing the few secrets ispcore must keep: a bank account number for in-house ACH (a NACHA
file needs it in clear). Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) under
the deployment's vault key; without a key nothing is sealed and such methods are refused."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from ispcore.domain.common.errors import DomainError, ErrorCode


def _fernet(key: str | None, field: str) -> Fernet:
    if not key:
        raise DomainError("Bank account numbers cannot be kept: the server has no vault key "
                          "(ISPCORE_VAULT_KEY).", field=field, code=ErrorCode.FORBIDDEN)
    return Fernet(key.encode())


def seal(key: str | None, secret: str, *, field: str = "account_number") -> str:
    return _fernet(key, field).encrypt(secret.encode()).decode()


def unseal(key: str | None, sealed: str, *, field: str = "account_number") -> str:
    try:
        return _fernet(key, field).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise DomainError("A sealed bank account number does not open with this server's "
                          "vault key.", field=field) from None


def new_key() -> str:
    """A fresh vault key, for ``ispcore`` operators to put in ISPCORE_VAULT_KEY."""
    return Fernet.generate_key().decode()
