"""Writes an audit entry for every insert, update and delete of an ``Audited`` model.

It hooks the session's flush, so no service can forget it: the entries go into the same
transaction as the change, carrying the acting user, token, mutation name and request id
from the session's unit of work.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, UOWTransaction

from ispcore.domain.audit.models import AuditLogEntry
from ispcore.domain.common.decimals import plain
from ispcore.domain.common.models import Audited


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain(value)
    return value


def _snapshot(obj: Audited) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in mapper.column_attrs
        if attr.key not in obj.audit_exclude and attr.key not in obj.audit_secrets
        and attr.key not in ("created_at", "updated_at")
    }


def _diff(obj: Audited) -> dict[str, Any]:
    state = inspect(obj)
    changes: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in obj.audit_exclude or key == "updated_at":
            continue
        history = state.attrs[key].history
        if history.has_changes():
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before == after:
                continue
            if key in obj.audit_secrets:
                changes[obj.audit_secrets[key]] = True
            else:
                changes[key] = {"from": _jsonable(before), "to": _jsonable(after)}
    return changes


@event.listens_for(Session, "after_flush")
def _record_audit(session: Session, _flush: UOWTransaction) -> None:
    uow = session.info.get("uow")
    rows: list[dict[str, Any]] = []

    def add(obj: Any, operation: str, changes: dict[str, Any]) -> None:
        actor = uow.actor if uow else None
        rows.append(
            {
                "occurred_at": uow.clock.now() if uow else datetime.now().astimezone(),
                "user_id": actor.user_id if actor else None,
                "token_id": actor.token_id if actor else None,
                "company_id": obj.audit_company_id(),
                "action": uow.action if uow else None,
                "operation": operation,
                "entity_type": obj.__class__.__name__,
                "entity_id": obj.id,
                "changes": changes,
                "request_id": uow.request_id if uow else None,
            }
        )

    for obj in session.new:
        if isinstance(obj, Audited):
            add(obj, "create", _snapshot(obj))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            changes = _diff(obj)
            if changes:
                add(obj, "update", changes)
    for obj in session.deleted:
        if isinstance(obj, Audited):
            add(obj, "delete", _snapshot(obj))
    if rows:
        session.connection().execute(insert(AuditLogEntry), rows)
