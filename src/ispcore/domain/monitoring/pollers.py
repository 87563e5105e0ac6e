"""Pollers: registering them (the token is shown once, stored hashed), their scopes (network
sites and subnets they own), heartbeats, and marking silent ones down."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import company_of, load, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event, record_events
from ispcore.domain.identity.secrets import TokenKind, mint_token, token_hash
from ispcore.domain.monitoring import ownership
from ispcore.domain.monitoring.models import Poller, PollerScope, PollerStatus
from ispcore.domain.network.addressing import parse_network, span_of
from ispcore.domain.network.models import NetworkSite

CONCURRENCY = (1, 1024)
VERSION_LENGTH = Poller.__table__.c.reported_version.type.length


async def _scopes(uow: UnitOfWork, company_id: int, values: dict[str, Any]
                  ) -> list[dict[str, Any]] | None:
    """The scope rows ``values`` asks for (``None``: scopes not given, they stay)."""
    if "network_site_ids" not in values and "subnets" not in values:
        return None
    v = Validator()
    rows: list[dict[str, Any]] = []
    site_ids = list(dict.fromkeys(values.pop("network_site_ids", None) or []))
    if site_ids:
        found = set(await uow.session.scalars(select(NetworkSite.id).where(
            NetworkSite.id.in_(site_ids), NetworkSite.company_id == company_id)))
        for i, site_id in enumerate(site_ids):
            if site_id not in found:
                v.add(f"network_site_ids.{i}", "No such network site in this company.",
                      ErrorCode.NOT_FOUND)
            rows.append({"network_site_id": site_id})
    seen: set[str] = set()
    for i, text in enumerate(values.pop("subnets", None) or []):
        try:
            network = parse_network(text, field=f"subnets.{i}")
        except DomainError as exc:
            v.errors.append(exc)
            continue
        if str(network) in seen:
            continue
        seen.add(str(network))
        span = span_of(network)
        rows.append({"cidr": str(network), "family": span.family, "first_key": span.first_key,
                     "last_key": span.last_key, "prefix_length": network.prefixlen})
    v.raise_if_any()
    return rows


def _clean(v: Validator, values: dict[str, Any]) -> None:
    required_text(v, values, "name", "Name the poller.")
    if "description" in values:
        values["description"] = (values["description"] or "").strip()
    low, high = CONCURRENCY
    if "concurrency" in values and not low <= values["concurrency"] <= high:
        v.add("concurrency", f"Between {low} and {high} requests in flight.")
    v.fit_columns(Poller, values)


async def _replace_scopes(uow: UnitOfWork, row: Poller, scopes: list[dict[str, Any]]) -> None:
    await uow.session.execute(delete(PollerScope).where(PollerScope.poller_id == row.id))
    uow.session.add_all(PollerScope(company_id=row.company_id, poller_id=row.id, **s)
                        for s in scopes)
    await uow.session.flush()


async def create_poller(uow: UnitOfWork, values: dict[str, Any]) -> tuple[Poller, str]:
    """A new poller and its token (shown this once)."""
    company_id = values.pop("company_id")
    await company_of(uow, company_id)
    v = Validator()
    _clean(v, values)
    v.raise_if_any()
    scopes = await _scopes(uow, company_id, values) or []
    await ensure_name_free(uow.session, Poller, values["name"], what="poller",
                           company_id=company_id)
    token = mint_token(TokenKind.POLLER)
    now = uow.clock.now()
    row = Poller(company_id=company_id, **values, token_hash=token_hash(token),
                 created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    await _replace_scopes(uow, row, scopes)
    if row.active and scopes:
        await ownership.reassign_company(uow, company_id)
    record_event(uow, "poller.created", company_id=company_id, entity=row,
                 payload={"pollerId": row.id, "pollerName": row.name})
    return row, token


async def update_poller(uow: UnitOfWork, pk: int, values: dict[str, Any]) -> Poller:
    row = await load(uow, Poller, pk, field="id", what="poller")
    v = Validator()
    _clean(v, values)
    v.raise_if_any()
    scopes = await _scopes(uow, row.company_id, values)
    if "name" in values:
        await ensure_name_free(uow.session, Poller, values["name"], what="poller",
                               company_id=row.company_id, exclude_id=pk)
    reassign = scopes is not None or values.get("active", row.active) != row.active
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    if scopes is not None:
        await _replace_scopes(uow, row, scopes)
    if reassign:
        await ownership.reassign_company(uow, row.company_id)
    changed = sorted([*values, *(["scopes"] if scopes is not None else [])])
    record_event(uow, "poller.updated", company_id=row.company_id, entity=row,
                 payload={"pollerId": row.id, "pollerName": row.name, "changed": changed})
    return row


async def rotate_token(uow: UnitOfWork, pk: int) -> tuple[Poller, str]:
    """A new token; the old one stops working with this commit."""
    row = await load(uow, Poller, pk, field="id", what="poller")
    token = mint_token(TokenKind.POLLER)
    row.token_hash = token_hash(token)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "poller.token_rotated", company_id=row.company_id, entity=row,
                 payload={"pollerId": row.id, "pollerName": row.name})
    return row, token


async def delete_poller(uow: UnitOfWork, pk: int) -> Poller:
    """Delete a poller; its devices go to whichever poller matches them next (or none)."""
    row = await load(uow, Poller, pk, field="id", what="poller")
    await uow.session.delete(row)
    await uow.session.flush()
    await ownership.reassign_company(uow, row.company_id)
    record_event(uow, "poller.deleted", company_id=row.company_id, entity=row,
                 payload={"pollerId": row.id, "pollerName": row.name})
    return row


async def heartbeat(uow: UnitOfWork, poller_id: int, *, version: str, lag_seconds: float
                    ) -> Poller:
    """A poller reports in: it is UP (``poller.up`` if it was DOWN)."""
    v = Validator()
    version = (version or "").strip()
    if not math.isfinite(lag_seconds) or lag_seconds < 0:
        v.add("lag_seconds", "A finite number of seconds, 0 or more.")
    if len(version) > VERSION_LENGTH:
        v.add("version", f"At most {VERSION_LENGTH} characters.")
    v.raise_if_any()
    row = await load(uow, Poller, poller_id, field="id", what="poller")
    now = uow.clock.now()
    row.last_heartbeat_at = now
    row.lag_seconds = lag_seconds
    row.reported_version = version
    row.reported_address = (uow.actor.ip or "")[:45]
    if row.status != PollerStatus.UP:
        if row.status == PollerStatus.DOWN:
            record_event(uow, "poller.up", company_id=row.company_id, entity=row,
                         payload={"pollerId": row.id, "pollerName": row.name,
                                  "at": now.isoformat()})
        row.status = PollerStatus.UP
        row.status_changed_at = now
    await uow.session.flush()
    return row


async def mark_silent_down(uow: UnitOfWork, silent_after: timedelta) -> int:
    """Active pollers that were heard from, but not within ``silent_after``, go DOWN with
    ``poller.down`` (once: the UPDATE only takes those not DOWN yet, so a re-run or a
    concurrent run raises nothing twice). A poller never heard from stays NEVER_SEEN."""
    now = uow.clock.now()
    gone = (await uow.session.execute(
        update(Poller)
        .where(Poller.active.is_(True), Poller.status != PollerStatus.DOWN,
               Poller.last_heartbeat_at.is_not(None),
               Poller.last_heartbeat_at < now - silent_after)
        .values(status=PollerStatus.DOWN, status_changed_at=now)
        .returning(Poller.id, Poller.company_id, Poller.name, Poller.last_heartbeat_at)
        .execution_options(synchronize_session=False))).all()
    await record_events(uow, [
        {"type": "poller.down", "company_id": g.company_id, "entity_type": "Poller",
         "entity_id": g.id, "payload": {
             "pollerId": g.id, "pollerName": g.name,
             "lastHeartbeatAt": g.last_heartbeat_at.isoformat() if g.last_heartbeat_at
             else None, "at": now.isoformat()}}
        for g in sorted(gone, key=lambda g: g.id)])
    return len(gone)
