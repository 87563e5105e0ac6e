"""Handing addresses (and IPv6 prefixes) to accounts, taking them back, and who held an
address when.

Assignments of one subnet are serialised by a lock on the subnet row; the partial unique
index ``uq_ip_assignments_held`` backs it. Automatic assignment continues after the last
address it handed out (the ``next_key`` cursor of the pool, or of the subnet) and wraps
around at the end of the range, so an address just released is handed out again last:
a customer's old address is not given to someone else while caches and logs still name it.
Candidates are checked against the held assignments with indexed range queries, a batch at
a time, never by loading a subnet's assignments."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ispcore.domain.accounts.models import Account
from ispcore.domain.billing.models import AccountService
from ispcore.domain.common.errors import DomainError, ErrorCode, InUse, NotFound, Validator
from ispcore.domain.common.records import load, lock_row
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.network import addressing as a
from ispcore.domain.network import compile
from ispcore.domain.network.models import IpAssignment, IpPool, Subnet

#: Held assignments read per query while looking for a free address.
BATCH = 256


class Exhausted(DomainError):
    code = ErrorCode.EXHAUSTED


async def lock_subnet(uow: UnitOfWork, subnet_id: int) -> Subnet | None:
    """The subnet, locked for this transaction and read afresh."""
    return await lock_row(uow, Subnet, subnet_id)


def _held(subnet_id: int) -> Any:
    return select(IpAssignment).where(IpAssignment.subnet_id == subnet_id,
                                      IpAssignment.released_at.is_(None))


async def holder(uow: UnitOfWork, subnet_id: int, span: a.Span) -> IpAssignment | None:
    """A held assignment of the subnet overlapping ``span``. Held ranges never overlap, so it
    is one starting inside ``span`` or the last one starting before it."""
    inside = await uow.session.scalar(_held(subnet_id).where(
        IpAssignment.first_key >= span.first_key, IpAssignment.first_key <= span.last_key)
        .order_by(IpAssignment.first_key).limit(1))
    if inside is not None:
        return inside
    before = await uow.session.scalar(_held(subnet_id).where(
        IpAssignment.first_key < span.first_key)
        .order_by(IpAssignment.first_key.desc()).limit(1))
    return before if before is not None and before.last_key >= span.first_key else None


async def _first_free(uow: UnitOfWork, subnet_id: int, lo: int, hi: int, step: int
                      ) -> int | None:
    """The first block of ``step`` addresses (aligned to it) within ``lo``..``hi`` that no
    held assignment touches."""
    start = a.align_up(lo, step)
    before = await uow.session.scalar(
        select(IpAssignment.last_key).where(IpAssignment.subnet_id == subnet_id,
                                            IpAssignment.released_at.is_(None),
                                            IpAssignment.first_key < a.to_key(start))
        .order_by(IpAssignment.first_key.desc()).limit(1))
    if before is not None and a.from_key(before) >= start:
        start = a.align_up(a.from_key(before) + 1, step)
    while start + step - 1 <= hi:
        rows = (await uow.session.execute(
            select(IpAssignment.first_key, IpAssignment.last_key)
            .where(IpAssignment.subnet_id == subnet_id, IpAssignment.released_at.is_(None),
                   IpAssignment.first_key >= a.to_key(start),
                   IpAssignment.first_key <= a.to_key(hi))
            .order_by(IpAssignment.first_key).limit(BATCH))).all()
        for first_key, last_key in rows:
            if start + step - 1 < a.from_key(first_key):
                return start
            start = max(start, a.align_up(a.from_key(last_key) + 1, step))
            if start + step - 1 > hi:
                return None
        if len(rows) < BATCH:
            break
    return start if start + step - 1 <= hi else None


def gateway_of(subnet: Subnet) -> int | None:
    """The subnet's gateway as a number: never handed out."""
    return int(ipaddress.ip_address(subnet.gateway)) if subnet.gateway else None


async def _free_but_gateway(uow: UnitOfWork, subnet: Subnet, lo: int, hi: int, step: int
                            ) -> int | None:
    gateway = gateway_of(subnet)
    found = await _first_free(uow, subnet.id, lo, hi, step)
    if found is not None and gateway is not None and found <= gateway < found + step:
        found = await _first_free(uow, subnet.id, gateway + 1, hi, step)
    return found


async def _next_free(uow: UnitOfWork, cursor_row: Subnet | IpPool, subnet: Subnet,
                     span: a.Span, step: int) -> int:
    cursor = a.from_key(cursor_row.next_key) if cursor_row.next_key else span.first
    if not span.first <= cursor <= span.last:
        cursor = span.first
    found = await _free_but_gateway(uow, subnet, cursor, span.last, step)
    if found is None and cursor > span.first:
        found = await _free_but_gateway(uow, subnet, span.first, cursor - 1, step)
    if found is None:
        what = "pool" if isinstance(cursor_row, IpPool) else "subnet"
        raise Exhausted(f"The {what} has no free {'prefix' if step > 1 else 'address'} left.",
                        field="pool_id" if what == "pool" else "subnet_id")
    after = found + step
    cursor_row.next_key = a.to_key(after) if after <= span.last else None
    return found


async def _check_owner(uow: UnitOfWork, values: dict[str, Any], company_id: int) -> None:
    v = Validator()
    account = await load(uow, Account, values.get("account_id"), field="account_id",
                         what="account")
    if account.company_id != company_id:
        v.add("account_id", "The account belongs to another company than the subnet.")
    service_id = values.get("account_service_id")
    if service_id is not None:
        service = await load(uow, AccountService, service_id, field="account_service_id",
                             what="account service")
        if service.account_id != account.id:
            v.add("account_service_id", "That service is not on this account.")
    values["description"] = (values.get("description") or "").strip()
    v.fit_columns(IpAssignment, {"description": values["description"]})
    v.raise_if_any()


async def assign_ip(uow: UnitOfWork, values: dict[str, Any]) -> IpAssignment:
    """Give an account (or one of its services) an address or delegated prefix of a subnet,
    or of one of its pools: ``ip_address`` if given, else the next free one."""
    if (values.get("subnet_id") is None) == (values.get("pool_id") is None):
        raise DomainError("Name a subnet or a pool (one of them).", field="subnet_id",
                          code=ErrorCode.REQUIRED)
    pool = None
    if values.get("pool_id") is not None:
        pool = await load(uow, IpPool, values["pool_id"], field="pool_id", what="pool")
    subnet = await lock_subnet(uow, pool.subnet_id if pool else values["subnet_id"])
    if subnet is None:
        raise NotFound("No such subnet.", field="subnet_id")
    if pool is not None:
        await uow.session.refresh(pool)
    await _check_owner(uow, values, subnet.company_id)
    network = a.parse_network(subnet.cidr, field="subnet_id")
    length = subnet.delegated_prefix_length or a.bits(network.version)
    allowed = a.span_of(network) if subnet.delegated_prefix_length else a.usable_span(network)
    if pool is not None:
        allowed = a.Span(allowed.family, a.from_key(pool.first_key), a.from_key(pool.last_key))
    where = f"the pool {pool.first_address}-{pool.last_address}" if pool else subnet.cidr
    if values.get("ip_address"):
        wanted = a.parse_assignable(values["ip_address"], field="ip_address")
        span = a.span_of(wanted)
        shown = a.text_of(span.first, span.family, wanted.prefixlen)
        if not allowed.contains(span):
            raise DomainError(f"{shown} is not usable in {where}.", field="ip_address")
        if subnet.delegated_prefix_length and wanted.prefixlen != length:
            raise DomainError(f"{subnet.cidr} delegates /{length} prefixes; give one.",
                              field="ip_address")
        gateway = gateway_of(subnet)
        if gateway is not None and span.first <= gateway <= span.last:
            raise InUse(f"{shown} is the subnet's gateway.", field="ip_address")
        held = await holder(uow, subnet.id, span)
        if held is not None:
            raise InUse(f"{shown} overlaps {held.address}, which is assigned.",
                        field="ip_address")
        first, length = span.first, wanted.prefixlen
    else:
        step = a.block_size(network.version, length)
        first = await _next_free(uow, pool or subnet, subnet, allowed, step)
    return await _insert(uow, subnet, pool, values, first, length)


async def _insert(uow: UnitOfWork, subnet: Subnet, pool: IpPool | None,
                  values: dict[str, Any], first: int, length: int) -> IpAssignment:
    span = a.Span(subnet.family, first, first + a.block_size(subnet.family, length) - 1)
    row = IpAssignment(
        company_id=subnet.company_id, subnet_id=subnet.id, pool_id=pool.id if pool else None,
        account_id=values["account_id"], account_service_id=values.get("account_service_id"),
        address=a.text_of(first, subnet.family, length), prefix_length=length,
        family=subnet.family, first_key=span.first_key, last_key=span.last_key,
        description=values["description"], assigned_at=uow.clock.now(), release_reason="")
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, "ip_assignment.created", company_id=row.company_id, entity=row,
                 payload={"address": row.address, "account_id": row.account_id,
                          "subnet_id": row.subnet_id, "pool_id": row.pool_id})
    await compile.compile_accounts(uow, [row.account_id] if row.account_id else [])
    return row


async def release_ip(uow: UnitOfWork, pk: int, reason: str | None) -> IpAssignment:
    row = await load(uow, IpAssignment, pk, field="id", what="IP assignment")
    if row.released_at is not None:
        raise DomainError(f"{row.address} was already released.", field="id")
    text_reason = (reason or "").strip()
    if len(text_reason) > 200:
        raise DomainError("At most 200 characters.", field="reason")
    row.released_at = uow.clock.now()
    row.release_reason = text_reason
    row.release_after = None
    await uow.session.flush()
    record_event(uow, "ip_assignment.released", company_id=row.company_id, entity=row,
                 payload={"address": row.address, "account_id": row.account_id,
                          "reason": text_reason})
    await compile.compile_accounts(uow, [row.account_id] if row.account_id else [])
    return row


def _containing(address: a.Address, company_id: int | None) -> Any:
    """Assignments whose range holds ``address``: one candidate start per prefix length,
    so the lookup is a handful of index probes however long the history."""
    family, value = address.version, int(address)
    starts = {a.to_key(value & ~(a.block_size(family, n) - 1))
              for n in range(a.bits(family) + 1)}
    stmt = select(IpAssignment).where(IpAssignment.family == family,
                                      IpAssignment.first_key.in_(starts),
                                      IpAssignment.last_key >= a.to_key(value))
    if company_id is not None:
        stmt = stmt.where(IpAssignment.company_id == company_id)
    return stmt.order_by(IpAssignment.assigned_at, IpAssignment.id)


async def ip_assignment_history(uow: UnitOfWork, company_id: int | None, address: str,
                                at: datetime) -> list[IpAssignment]:
    """Who held ``address`` at the moment ``at`` (one holder per company at most)."""
    parsed = a.parse_address(address, field="address")
    stmt = _containing(parsed, company_id).where(
        IpAssignment.assigned_at <= at,
        IpAssignment.released_at.is_(None) | (IpAssignment.released_at > at))
    return list(await uow.session.scalars(stmt))


async def address_holders(uow: UnitOfWork, company_id: int | None, address: str
                          ) -> list[IpAssignment]:
    """Every assignment that ever held ``address``, oldest first."""
    parsed = a.parse_address(address, field="address")
    return list(await uow.session.scalars(_containing(parsed, company_id)))
