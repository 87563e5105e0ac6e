"""Usage pushed by middleware through the API (``ingestUsage``): up to 10,000 records a
call, each naming its account directly, by an IP address or by a RADIUS username.

All or nothing: every record is checked (the shared :func:`~ingest.problem`, its key, its
name resolved within the companies the caller may see) and if any is bad, every bad one is
reported and nothing is written. Otherwise the records are credited through the one ingest
path, once per company, keyed by their ``source_record_id``: one stored before (by an
earlier call) is a duplicate, counted but not added again."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ispcore.db import among
from ispcore.domain.accounts.models import Account
from ispcore.domain.common.errors import DomainError, ErrorCode, InvalidInput
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network.addressing import Address
from ispcore.domain.usage import attribution, holders
from ispcore.domain.usage.ingest import Sample, Source, credit, problem
from ispcore.domain.usage.models import UsageRecord

#: (company id, account id)
Holder = tuple[int, int]

MAX_RECORDS = 10_000
MAX_KEY_LENGTH: int = UsageRecord.__table__.c.source_key.type.length  # type: ignore[attr-defined]

#: What :func:`problem` says, as the field at fault (None: the byte count at fault), the
#: error code and the message.
PROBLEMS = {
    "end_before_start": ("end", ErrorCode.END_BEFORE_START, "The record ends before it starts."),
    "negative_bytes": (None, ErrorCode.NEGATIVE_BYTES, "Byte counts cannot be negative."),
    "absurd_bytes": (None, ErrorCode.ABSURD_BYTES,
                     "More bytes than any link carries in the record's time (800 Gbit/s), "
                     "or over 10^15 in one record."),
    "in_future": ("end", ErrorCode.IN_FUTURE,
                  "The record ends more than 15 minutes after the server's clock."),
    "too_old": ("start", ErrorCode.TOO_OLD, "The record starts more than 90 days ago."),
    "naive_time": ("start", ErrorCode.INVALID, "Times need a UTC offset."),
}
NAMES = ("account_id", "ip_address", "radius_username")


@dataclass(frozen=True, slots=True)
class PushedRecord:
    """One record as sent; exactly one of the three names should be given. ``bytes_in`` is
    downloaded by the customer, ``bytes_out`` uploaded."""

    account_id: int | None
    ip_address: str | None
    radius_username: str | None
    start: datetime
    end: datetime
    bytes_in: int
    bytes_out: int
    source_record_id: str


@dataclass(frozen=True, slots=True)
class Ingested:
    accepted: int
    duplicates: int


class _Errors:
    """Errors per record index, reported in record order."""

    def __init__(self) -> None:
        self.found: dict[int, list[DomainError]] = defaultdict(list)

    def add(self, index: int, field: str, code: ErrorCode, message: str) -> None:
        self.found[index].append(DomainError(message, field=f"records.{index}.{field}",
                                             code=code))

    def raise_if_any(self) -> None:
        errors = [e for index in sorted(self.found) for e in self.found[index]]
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise InvalidInput(errors)


def _check(index: int, record: PushedRecord, now: datetime, errors: _Errors) -> str | None:
    """The record's own checks; returns which name it gives (None: not exactly one)."""
    given = [name for name in NAMES if getattr(record, name) is not None]
    if not given:
        errors.add(index, "account_id", ErrorCode.REQUIRED,
                   "Name the account: one of accountId, ipAddress or radiusUsername.")
    for extra in given[1:]:
        errors.add(index, extra, ErrorCode.INVALID,
                   "Name the account one way only: accountId, ipAddress or radiusUsername.")
    key = record.source_record_id
    if not key.strip():
        errors.add(index, "source_record_id", ErrorCode.REQUIRED,
                   "Every record needs its id in the source.")
    elif len(key) > MAX_KEY_LENGTH:
        errors.add(index, "source_record_id", ErrorCode.INVALID,
                   f"At most {MAX_KEY_LENGTH} characters.")
    why = problem(record.start, record.end, record.bytes_in, record.bytes_out, now)
    if why is not None:
        field, code, message = PROBLEMS[why]
        if why == "negative_bytes":
            field = "bytes_in" if record.bytes_in < 0 else "bytes_out"
        elif why == "absurd_bytes":
            field = "bytes_in" if record.bytes_in >= record.bytes_out else "bytes_out"
        errors.add(index, field, code, message)
    return given[0] if len(given) == 1 else None


def _signature(record: PushedRecord) -> tuple[object, ...]:
    return (record.account_id, record.ip_address, record.radius_username, record.start,
            record.end, record.bytes_in, record.bytes_out)


def _repeats(records: Sequence[PushedRecord], errors: _Errors) -> None:
    """The same source record id twice in one call with different data."""
    first: dict[str, int] = {}
    for index, record in enumerate(records):
        seen = first.setdefault(record.source_record_id, index)
        if seen != index and _signature(records[seen]) != _signature(record):
            errors.add(index, "source_record_id", ErrorCode.DUPLICATE,
                       f"Sent already in this call (records.{seen}) with other data.")


async def _by_account_id(uow: UnitOfWork, company_ids: Collection[int],
                         wanted: dict[int, int], errors: _Errors) -> dict[int, Holder]:
    """Records naming their account (``wanted``: record index -> account id)."""
    s = uow.session
    company_of = dict((await s.execute(
        select(Account.id, Account.company_id)
        .where(among(s, Account.id, sorted(set(wanted.values()))),
               among(s, Account.company_id, sorted(company_ids))))).all())
    found: dict[int, Holder] = {}
    for index, account_id in wanted.items():
        if account_id in company_of:
            found[index] = (company_of[account_id], account_id)
        else:
            errors.add(index, "account_id", ErrorCode.NOT_FOUND, "No such account.")
    return found


def _addresses(records: Sequence[PushedRecord], indexes: list[int], errors: _Errors
               ) -> dict[int, Address]:
    out: dict[int, Address] = {}
    for index in indexes:
        text = records[index].ip_address or ""
        try:
            out[index] = ipaddress.ip_address(text.strip())
        except ValueError:
            errors.add(index, "ip_address", ErrorCode.INVALID,
                       f"{text!r} is not an IP address.")
    return out


async def _by_holder(uow: UnitOfWork, company_ids: Collection[int],
                     records: Sequence[PushedRecord], kind: str, names: dict[int, Any],
                     errors: _Errors) -> dict[int, Holder]:
    """Records naming an address or a username (``names``: record index -> name): whoever
    held it then, by the one rule (:mod:`~ispcore.domain.usage.attribution`)."""
    if not names:
        return {}
    lookup = holders.address_holdings if kind == "ip_address" else holders.username_holdings
    what = "address" if kind == "ip_address" else "RADIUS username"
    held = await lookup(uow, company_ids, names.values(),
                        min(records[i].start for i in names),
                        max(records[i].end for i in names))
    found: dict[int, Holder] = {}
    for index, name in names.items():
        who = attribution.holder(held.get(name, ()), records[index].start,
                                 records[index].end)
        if who is attribution.AMBIGUOUS:
            errors.add(index, kind, ErrorCode.AMBIGUOUS,
                       f"More than one account held the {what} {name} then; name the "
                       "company (companyId) or the account.")
        elif who is None:
            errors.add(index, kind, ErrorCode.NOT_FOUND,
                       f"No account held the {what} {name} at the record's time.")
        else:
            found[index] = (who.company_id, who.account_id)
    return found


async def _resolve(uow: UnitOfWork, company_ids: Collection[int],
                   records: Sequence[PushedRecord], named: dict[int, str], errors: _Errors
                   ) -> dict[int, Holder]:
    """The (company, account) of each named record: a few queries for the whole call."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for index, kind in named.items():
        by_kind[kind].append(index)
    accounts = {i: records[i].account_id or 0 for i in by_kind["account_id"]}
    usernames = {i: (records[i].radius_username or "").strip()
                 for i in by_kind["radius_username"]}
    found = await _by_account_id(uow, company_ids, accounts, errors) if accounts else {}
    found.update(await _by_holder(uow, company_ids, records, "ip_address",
                                  _addresses(records, by_kind["ip_address"], errors), errors))
    found.update(await _by_holder(uow, company_ids, records, "radius_username", usernames,
                                  errors))
    return found


async def ingest(uow: UnitOfWork, company_ids: Collection[int],
                 records: Sequence[PushedRecord]) -> Ingested:
    """Check every record, then credit them all (nothing if any is bad), accounts looked up
    among ``company_ids`` only."""
    if len(records) > MAX_RECORDS:
        raise DomainError(f"At most {MAX_RECORDS:,} records a call; this one has "
                          f"{len(records):,}. Send them in several calls.", field="records")
    now = uow.clock.now()
    errors = _Errors()
    named: dict[int, str] = {}
    for index, record in enumerate(records):
        kind = _check(index, record, now, errors)
        if kind is not None:
            named[index] = kind
    _repeats(records, errors)
    found = await _resolve(uow, company_ids, records, named, errors)
    errors.raise_if_any()
    samples: dict[int, list[Sample]] = defaultdict(list)
    for index, record in enumerate(records):
        company_id, account_id = found[index]
        samples[company_id].append(Sample(account_id, record.source_record_id, record.start,
                                          record.end, record.bytes_in, record.bytes_out))
    accepted = duplicates = 0
    for company_id in sorted(samples):
        credited = await credit(uow, company_id, Source.API, samples[company_id])
        accepted += credited.new
        duplicates += credited.duplicates
    return Ingested(accepted, duplicates)
