"""Password hashing (argon2id) and bearer-token minting with a checksum.

Tokens look like ``isp_pat_<30 random base62><6 base62 CRC32>``: the fixed prefix and the
checksum let secret scanners find leaked tokens and let us reject typos without a lookup,
as GitHub's ``ghp_`` tokens do. Only a SHA-256 of a token is ever stored: the 178 bits of
randomness make a slow hash unnecessary.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import string
import zlib
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_ALPHABET = string.digits + string.ascii_letters
_RANDOM_LENGTH = 30
_CHECKSUM_LENGTH = 6

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


class TokenKind(StrEnum):
    PERSONAL_ACCESS = "isp_pat_"
    SESSION = "isp_ses_"
    POLLER = "isp_pol_"


# argon2 deliberately takes tens of milliseconds of CPU: it runs in a worker thread so the
# event loop keeps serving other requests, at most a few at a time.
_hashing_slots = asyncio.Semaphore(2)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    async with _hashing_slots:
        return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``. Without a hash (a login that does not
    exist) the same check runs against a dummy hash and fails: unknown logins take as long."""
    async with _hashing_slots:
        if password_hash is None:
            await asyncio.to_thread(_verify, _DUMMY_HASH, password)
            return False
        return await asyncio.to_thread(_verify, password_hash, password)


_DUMMY_HASH = _hasher.hash("dummy password for timing")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(_ALPHABET[rest])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_LENGTH)


def mint_token(kind: TokenKind) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_RANDOM_LENGTH))
    return f"{kind.value}{body}{_checksum(body)}"


def token_kind(token: str) -> TokenKind | None:
    """The kind of a well-formed token with a valid checksum, else ``None``."""
    for kind in TokenKind:
        if token.startswith(kind.value):
            rest = token[len(kind.value):]
            if len(rest) != _RANDOM_LENGTH + _CHECKSUM_LENGTH or any(
                c not in _ALPHABET for c in rest
            ):
                return None
            body, check = rest[:_RANDOM_LENGTH], rest[_RANDOM_LENGTH:]
            return kind if secrets.compare_digest(_checksum(body), check) else None
    return None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
