"""Replaying a mutation's first answer for a retried idempotency key."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.idempotency.models import IdempotencyKey

MAX_KEY_LENGTH = 200


def request_hash(canonical_input: Any) -> str:
    raw = json.dumps(canonical_input, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _owner(uow: UnitOfWork) -> int:
    if uow.actor.user_id is None:
        raise DomainError("Idempotency keys need an authenticated user.",
                          field="idempotency_key", code=ErrorCode.FORBIDDEN)
    return uow.actor.user_id


def _check_key(key: str) -> None:
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise DomainError(f"An idempotency key has 1 to {MAX_KEY_LENGTH} characters.",
                          field="idempotency_key")


async def stored_response(uow: UnitOfWork, operation: str, key: str, digest: str
                          ) -> dict[str, Any] | None:
    """The first response for this key, or ``None``; an error if the input differs."""
    _check_key(key)
    row = await uow.session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == _owner(uow),
                                     IdempotencyKey.operation == operation,
                                     IdempotencyKey.key == key)
    )
    if row is None:
        return None
    if row.request_hash != digest:
        raise DomainError("This idempotency key was already used with different input.",
                          field="idempotency_key", code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return row.response


async def purge(uow: UnitOfWork, older_than: timedelta) -> int:
    """Forget answers older than the replay window; returns how many."""
    result = await uow.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at < uow.clock.now() - older_than))
    return result.rowcount or 0


def remember(uow: UnitOfWork, operation: str, key: str, digest: str,
             response: dict[str, Any]) -> None:
    """Store the response in the same transaction as the change it answers for."""
    uow.session.add(IdempotencyKey(user_id=_owner(uow), operation=operation, key=key,
                                   request_hash=digest, response=response,
                                   created_at=uow.clock.now()))
