"""A company's Preseem connection, and pulling the usage Preseem measured into ispcore.

Usage is pulled in 15-minute slots aligned on the clock, each once it ended five minutes
ago (Preseem's figures for it have settled), from ``pulled_until`` on. Every service's
bytes in a slot become one usage record keyed by the slot and the service, so pulling a
slot again (two runs at once, or a retry) counts it once. A service whose ``account`` is
not the id of one of the company's accounts is counted in ``usage_unattributed`` (source
PRESEEM, the subscriber id as the address), per hour. ``pulled_until`` moves past the
slots that were read and stored, in the transaction that stores them: a failure leaves the
rest for the next run."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from ispcore.db import among
from ispcore.domain.accounts.models import Account
from ispcore.domain.common import outbound, vault
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.records import company_of, lock_row
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.usage.ingest import MAX_AGE, Sample, Source, credit, problem
from ispcore.domain.usage.models import PreseemSettings
from ispcore.domain.usage.unattributed import Unattributed, add_unattributed
from ispcore.integrations.preseem import (
    DEFAULT_BASE_URL,
    PreseemClient,
    PreseemError,
    ServiceUsage,
)

log = logging.getLogger(__name__)

SLOT = timedelta(minutes=15)
#: A slot is pulled once it ended this long ago.
SETTLE = timedelta(minutes=5)
#: Slots one run pulls per company at most (a day): a long outage is caught up over runs.
MAX_SLOTS = 96
#: Seconds before the first retry of a failed request (doubling after).
RETRY_BACKOFF = 0.5
KEYS = "Preseem API keys"
MAX_KEY_LENGTH = 200

OpenUow = Callable[[], UnitOfWork]


def slot_start(moment: datetime) -> datetime:
    """The start of the 15-minute slot ``moment`` falls in (UTC)."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


# --- settings ---------------------------------------------------------------------------------

async def preseem_settings(uow: UnitOfWork, company_id: int) -> PreseemSettings | None:
    return await uow.session.scalar(select(PreseemSettings)
                                    .where(PreseemSettings.company_id == company_id))


async def _base_url(uow: UnitOfWork, value: Any, v: Validator) -> str:
    """The address to keep; a well-formed one must also pass the SSRF guard."""
    text = (value or "").strip().rstrip("/")
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if (url is None or url.scheme not in ("http", "https") or not url.host or url.query
            or url.fragment or len(text) > 300):
        v.add("base_url", "An http(s) address of at most 300 characters, without a query, "
                          "e.g. https://api.preseem.com.")
    else:
        await outbound.vet(v, outbound.check_url(
            text, allow_private=uow.settings.webhooks_allow_private, field="base_url"))
    return text


async def update_preseem_settings(uow: UnitOfWork, company_id: int, values: dict[str, Any]
                                  ) -> PreseemSettings:
    """Create or change a company's connection. The API key is sealed with the vault key
    and never shown again; a new connection needs one and starts pulling from now."""
    await company_of(uow, company_id)
    row = await preseem_settings(uow, company_id)
    v = Validator()
    changes: dict[str, Any] = {}
    if values.get("base_url") is not None or row is None:
        changes["base_url"] = await _base_url(uow, values.get("base_url") or DEFAULT_BASE_URL,
                                              v)
    key = values.get("api_key")
    if key is not None or row is None:
        key = (key or "").strip()
        if not key:
            v.add("api_key", "Preseem's API key is needed.", ErrorCode.REQUIRED)
        elif len(key) > MAX_KEY_LENGTH:
            v.add("api_key", f"At most {MAX_KEY_LENGTH} characters.")
    if values.get("active") is not None:
        changes["active"] = bool(values["active"])
    v.raise_if_any()
    if key:
        changes["api_key_sealed"] = vault.seal(uow.settings.vault_key, key, field="api_key",
                                               what=KEYS)
    now = uow.clock.now()
    if row is None:
        row = PreseemSettings(company_id=company_id, active=changes.pop("active", True),
                              pulled_until=slot_start(now), created_at=now, **changes)
        uow.session.add(row)
    else:
        for name, value in changes.items():
            setattr(row, name, value)
    row.updated_at = now
    await uow.session.flush()
    record_event(uow, "preseem_settings.updated", company_id=company_id, entity=row,
                 payload={"changed": sorted(k for k in ("base_url", "api_key", "active")
                                            if values.get(k) is not None)})
    return row


# --- pulling ----------------------------------------------------------------------------------

@dataclass
class Pulled:
    """What one pull did for one company."""

    slots: int = 0
    services: int = 0
    new: int = 0
    duplicates: int = 0
    unattributed: int = 0
    refused: int = 0
    error: str | None = None


def source_key(slot: datetime, service: str) -> str:
    """The record key of a service's usage in a slot (a long service id is hashed so the
    key stays within 200 characters)."""
    if len(service) > 160:
        service = "sha256:" + hashlib.sha256(service.encode()).hexdigest()
    return f"{slot.strftime('%Y%m%dT%H%MZ')}/{service}"


def _slots(since: datetime, now: datetime) -> list[datetime]:
    """The slots due: from ``since`` (no older than records may be) to the last settled."""
    first = max(slot_start(since), slot_start(now - MAX_AGE) + SLOT)
    last = slot_start(now - SETTLE)  # slots ending at or before this are settled
    out = []
    while first + SLOT <= last and len(out) < MAX_SLOTS:
        out.append(first)
        first += SLOT
    return out


async def pull_all(open_uow: OpenUow, *, request_timeout: float) -> dict[int, Pulled]:
    """Pull every active connection's due slots; one company's failure stops only it."""
    async with open_uow() as uow:
        connections = list(await uow.session.scalars(
            select(PreseemSettings).where(PreseemSettings.active)
            .order_by(PreseemSettings.company_id)))
        now = uow.clock.now()
        key_of, allow_private = uow.settings.vault_key, uow.settings.webhooks_allow_private
    out: dict[int, Pulled] = {}
    for row in connections:
        try:
            key = vault.unseal(key_of, row.api_key_sealed, field="api_key", what=KEYS)
        except DomainError as exc:
            log.error("preseem: company %s: %s", row.company_id, exc.message)
            out[row.company_id] = Pulled(error=exc.message)
            continue
        client = PreseemClient(row.base_url, key, timeout=request_timeout,
                               allow_private=allow_private, backoff=RETRY_BACKOFF)
        out[row.company_id] = await pull_company(open_uow, row.id, client,
                                                 _slots(row.pulled_until or now, now))
    return out


async def pull_company(open_uow: OpenUow, settings_id: int, client: PreseemClient,
                       slots: Sequence[datetime]) -> Pulled:
    """Read ``slots`` from Preseem in order, then store those read (all of them, or those
    before the first failure) in one transaction."""
    read: list[tuple[datetime, list[ServiceUsage]]] = []
    outcome = Pulled()
    for slot in slots:
        try:
            read.append((slot, await client.usage(slot, slot + SLOT)))
        except PreseemError as exc:
            outcome.error = f"{exc.code}: {exc.message}"
            log.warning("preseem: settings %s, slot %s: %s", settings_id, slot.isoformat(),
                        outcome.error)
            break
    if read:
        async with open_uow() as uow:
            await _store(uow, settings_id, read, outcome)
    return outcome


def _account_id(subscriber: str | None) -> int | None:
    if subscriber is None or not subscriber.isascii() or not subscriber.isdigit():
        return None
    value = int(subscriber)
    return value if 0 < value < 2**63 else None


async def _store(uow: UnitOfWork, settings_id: int,
                 read: list[tuple[datetime, list[ServiceUsage]]], outcome: Pulled) -> None:
    row = await lock_row(uow, PreseemSettings, settings_id)
    if row is None or not row.active:
        return
    # A run that overlapped this one may have stored some of these slots already.
    read = [(slot, items) for slot, items in read
            if row.pulled_until is None or slot >= row.pulled_until]
    if not read:
        return
    wanted = {_account_id(item.account) for _, items in read for item in items} - {None}
    known = set(await uow.session.scalars(select(Account.id).where(
        Account.company_id == row.company_id, among(uow.session, Account.id, sorted(wanted)))))
    now = uow.clock.now()
    samples: list[Sample] = []
    unattributed: dict[tuple[str, datetime], list[int]] = defaultdict(lambda: [0, 0, 0])
    for slot, items in read:
        outcome.slots += 1
        by_service = {item.service: item for item in items}  # a service once per slot
        for item in by_service.values():
            outcome.services += 1
            if item.down == 0 and item.up == 0:
                continue
            if problem(slot, slot + SLOT, item.down, item.up, now) is not None:
                outcome.refused += 1
                continue
            account = _account_id(item.account)
            if account in known:
                samples.append(Sample(account, source_key(slot, item.service), slot,
                                      slot + SLOT, item.down, item.up))
                continue
            subscriber = (item.account or f"service:{item.service}")[:43]
            sums = unattributed[(subscriber, slot.replace(minute=0))]
            sums[0] += item.down
            sums[1] += item.up
            sums[2] += 1
            outcome.unattributed += 1
    credited = await credit(uow, row.company_id, Source.PRESEEM, samples)
    outcome.new, outcome.duplicates = credited.new, credited.duplicates
    await add_unattributed(uow, row.company_id, Source.PRESEEM.value, [
        Unattributed(address, hour, down, up, count)
        for (address, hour), (down, up, count) in unattributed.items()])
    row.pulled_until = read[-1][0] + SLOT
