"""Settling usage periods when the billing run bills an account: the overage (and late-usage
corrections) become pending charges that the same run puts on the invoice, in the same
transaction.

When an account is billed on bill date D, each of its unsettled periods (and its child
accounts' billed to it) that ended by D is settled under the account's current data service
policy; the period just ended is settled even without usage (its row is made), so that its
unused cap rolls over. Periods that received usage after being settled (``late``) are settled
again against the allowance fixed the first time. The run holds the payer's row lock and the
periods are locked too (``FOR UPDATE``: usage credited meanwhile waits, then marks them
late); the ``settled_at`` / ``late`` guards make a re-run charge nothing twice. A batch costs
a fixed number of statements, however many accounts it has."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from ispcore.db import among, bulk_insert, bulk_update
from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.billing.calendar import add_months, cycle_containing
from ispcore.domain.billing.models import PendingCharge
from ispcore.domain.billing.plans import Catalogue
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage import overage
from ispcore.domain.usage.caps import GB, rollovers, top_up_bytes, usable_in, used
from ispcore.domain.usage.ingest import Terms, account_terms
from ispcore.domain.usage.models import UsagePeriod, UsagePolicy, UsageRollover


@dataclass(frozen=True, slots=True)
class Member:
    """An account whose usage is settled: billed on ``bill_date`` (its own, or its payer's)."""

    account_id: int
    bill_date: date
    activation: date | None


async def _members(uow: UnitOfWork, payer_ids: list[int]) -> list[Member]:
    """The payers, at their next bill date, and the active child accounts billed to them."""
    s = uow.session
    payer = Account.__table__.alias("payer")
    rows = await s.execute(
        select(Account.id, Account.parent_account_id, Account.next_bill_date,
               Account.activation_date, payer.c.next_bill_date.label("payer_bills"))
        .join(AccountStatus, AccountStatus.id == Account.account_status_id)
        .outerjoin(payer, payer.c.id == Account.parent_account_id)
        .where(or_(among(s, Account.id, payer_ids),
                   and_(among(s, Account.parent_account_id, payer_ids), Account.bill_to_parent,
                        AccountStatus.counts_as_active.is_(True)))))
    payers = set(payer_ids)
    return [Member(r.id, r.next_bill_date if r.id in payers else r.payer_bills,
                   r.activation_date)
            for r in rows if (r.next_bill_date if r.id in payers else r.payer_bills)]


def last_ended(bill_date: date, anchor_day: int) -> tuple[date, date]:
    """The latest period that ended by ``bill_date`` (the one ending on it, for an account
    billed on its anchor)."""
    current = cycle_containing(bill_date, anchor_day)
    previous = cycle_containing(current.start - timedelta(days=1), anchor_day)
    return previous.start, previous.end


def _capped(policy: UsagePolicy | None) -> bool:
    return policy is not None and policy.active and policy.cap_gb is not None


def _just_ended(members: list[Member], terms: dict[int, Terms],
                policies: dict[int, UsagePolicy]) -> dict[tuple[int, date], date]:
    """(account, start) -> end of each capped account's period just ended, after its
    activation: settled even without usage, so that its unused cap rolls over."""
    out = {}
    for m in members:
        t = terms.get(m.account_id)
        if t is None or not _capped(policies.get(t.policy_id or 0)):
            continue
        start, end = last_ended(m.bill_date, t.anchor_day)
        if m.activation is None or end > m.activation:
            out[(m.account_id, start)] = end
    return out


async def _locked(uow: UnitOfWork, where: Any) -> list[Any]:
    """Usage periods matching ``where``, locked (usage credited meanwhile waits, then
    marks them late), oldest first, as plain rows (written back in bulk)."""
    p = UsagePeriod.__table__.c
    return [SimpleNamespace(**row._mapping) for row in await uow.session.execute(
        select(UsagePeriod.__table__).where(where)
        .order_by(p.account_id, p.period_start).with_for_update())]


async def _due_periods(uow: UnitOfWork, company_id: int, members: list[Member],
                       ended: dict[tuple[int, date], date]) -> dict[int, list[Any]]:
    """Each member's periods to settle: ended by its bill date and not settled, or late.
    The period just ended gets its row if usage never made it."""
    s = uow.session
    latest = max(m.bill_date for m in members)
    bill_dates = {m.account_id: m.bill_date for m in members}
    p = UsagePeriod.__table__.c
    out: dict[int, list[Any]] = defaultdict(list)
    for row in await _locked(uow, and_(
            among(s, p.account_id, list(bill_dates)),
            or_(and_(p.settled_at.is_(None), p.period_end <= latest), p.late))):
        if row.late or row.period_end <= bill_dates[row.account_id]:
            out[row.account_id].append(row)
    have = {(row.account_id, row.period_start) for rows in out.values() for row in rows}
    missing = sorted(key for key in ended if key not in have)
    if missing:
        dialect = postgresql if s.bind.dialect.name == "postgresql" else sqlite
        await s.execute(
            dialect.insert(UsagePeriod.__table__)
            .on_conflict_do_nothing(index_elements=["account_id", "period_start"]),
            [{"company_id": company_id, "account_id": account_id, "period_start": start,
              "period_end": ended[(account_id, start)], "billable_in": 0, "billable_out": 0,
              "free_in": 0, "free_out": 0, "notified_percent": 0, "throttled": False,
              "overage_blocks": 0, "charged_minor": 0, "late": False}
             for account_id, start in missing])
        # Made now, or by usage a moment ago; settled already if billing ran before.
        for row in await _locked(uow, and_(
                tuple_(p.account_id, p.period_start).in_(missing), p.settled_at.is_(None))):
            out[row.account_id].append(row)
            out[row.account_id].sort(key=lambda r: r.period_start)
    return out


_GRANT_COLUMNS = ("id", "company_id", "account_id", "from_period_start", "expires_on",
                  "granted_bytes", "used_bytes")


def _plain(grants: dict[int, Any], grant: UsageRollover) -> Any:
    """The one plain copy of a rollover grant a settlement changes (and writes back)."""
    found = grants.get(grant.id)
    if found is None:
        found = grants[grant.id] = SimpleNamespace(
            **{c: getattr(grant, c) for c in _GRANT_COLUMNS})
    return found


class _Settling:
    """One batch's settlement: what it read, and the charges and grants it makes."""

    def __init__(self, uow: UnitOfWork, catalogue: Catalogue, policies: dict[int, UsagePolicy],
                 top_ups: dict[tuple[int, date], int], grants: dict[int, list[Any]],
                 own_grants: dict[tuple[int, date], Any]) -> None:
        self.catalogue = catalogue
        self.policies = policies
        self.top_ups = top_ups
        #: Each account's rollover grants with room (oldest first), and each late period's
        #: own grant: plain copies, shared.
        self.grants = grants
        self.own_grants = own_grants
        self.now: datetime = uow.clock.now()
        self.charges: list[dict[str, Any]] = []
        self.new_grants: list[Any] = []

    def gl_code(self, policy: UsagePolicy) -> int:
        """The policy's overage ledger code; else that of a data service carrying it."""
        if policy.overage_gl_code_id is not None:
            return policy.overage_gl_code_id
        for service in self.catalogue.services.values():
            if service.usage_policy_id == policy.id:
                return int(service.gl_code_id)
        raise DomainError(f"The usage policy {policy.name} bills overage but has no ledger "
                          "code for it.", field="overage_gl_code_id")

    def charge(self, period: Any, policy: UsagePolicy, amount: int, quantity: int,
               unit_price: int, description: str) -> None:
        self.charges.append({
            "company_id": period.company_id, "account_id": period.account_id,
            "account_service_id": None, "service_id": None, "package_id": None,
            "description": description[:300], "quantity": quantity,
            "unit_price_minor": unit_price, "amount_minor": amount,
            "gl_code_id": self.gl_code(policy), "taxable": policy.overage_taxable,
            "period_start": period.period_start, "period_end": period.period_end,
            "invoice_id": None, "usage_period_id": period.id, "created_at": self.now})

    def first(self, period: Any, policy: UsagePolicy | None, anchor_day: int) -> None:
        """Settle ``period`` for the first time under ``policy`` (the account's current); a
        rollover grant lasts ``rollover_months`` cycles anchored on ``anchor_day``."""
        period.settled_at = self.now
        period.settled_billable = used(period)
        period.policy_id = policy.id if policy is not None else None
        if policy is None or policy.cap_gb is None or not policy.active:
            period.allowance_bytes = None
            return
        account_id, start = period.account_id, period.period_start
        grants = usable_in(self.grants.get(account_id, []), start)
        by_id = {id(g): g for g in grants}
        price = _price(policy)
        result = overage.settle(used(period), policy.cap_gb * GB,
                                self.top_ups.get((account_id, start), 0),
                                [(id(g), g.granted_bytes - g.used_bytes) for g in grants],
                                price, rollover=policy.rollover_months > 0)
        for key, taken in result.drawn:
            by_id[key].used_bytes += taken
        period.allowance_bytes = result.allowance
        period.overage_blocks = result.blocks
        period.charged_minor = result.charge
        if result.rolls_over > 0:
            grant = SimpleNamespace(
                company_id=period.company_id, account_id=account_id, from_period_start=start,
                expires_on=add_months(start, policy.rollover_months + 1, anchor_day),
                granted_bytes=result.rolls_over, used_bytes=0)
            self.new_grants.append(grant)
            self.grants.setdefault(account_id, []).append(grant)
            self.own_grants[(account_id, start)] = grant
        if result.charge:
            assert price.block is not None
            self.charge(period, policy, result.charge, result.blocks, price.price,
                        f"Data overage {overage.span(start, period.period_end)}: "
                        f"{overage.overage_text(result.blocks, price.block, result.allowance)}")

    def again(self, period: Any) -> None:
        """Settle a late period again against the allowance fixed the first time."""
        period.late = False
        policy = self.policies.get(period.policy_id or 0)
        billable = used(period)
        if period.allowance_bytes is None or policy is None:
            period.settled_billable = billable
            return
        own = self.own_grants.get((period.account_id, period.period_start))
        price = _price(policy)
        result = overage.resettle(billable, period.settled_billable or 0,
                                  period.allowance_bytes, period.charged_minor, price,
                                  (own.granted_bytes, own.used_bytes) if own else None)
        if own is not None and result.grant_cut:
            own.granted_bytes -= result.grant_cut
        before = period.overage_blocks
        period.settled_billable = billable
        period.overage_blocks = result.blocks
        period.charged_minor = result.charge
        if result.correction:
            assert price.block is not None
            more = result.blocks - before
            quantity, unit = ((abs(more), price.price if more > 0 else -price.price)
                              if more and more * price.price == result.correction
                              else (1, result.correction))
            self.charge(period, policy, result.correction, quantity, unit,
                        f"Late usage {overage.span(period.period_start, period.period_end)}: "
                        f"{overage.overage_text(result.blocks, price.block, result.allowance)}"
                        f" ({before} billed before)")


def _price(policy: UsagePolicy) -> overage.Price:
    block = policy.overage_block_gb
    return overage.Price(block * GB if block and policy.overage_block_price_minor else None,
                         policy.overage_block_price_minor or 0)


async def settle(uow: UnitOfWork, catalogue: Catalogue, payer_ids: list[int]) -> None:
    """Settle the usage of ``payer_ids`` (due for billing on their next bill date) and of
    the child accounts billed to them: pending charges for overage and late usage, rollover
    used and granted."""
    members = await _members(uow, payer_ids)
    if not members:
        return
    company_id = catalogue.company.id
    terms = await account_terms(uow, company_id, [m.account_id for m in members])
    s = uow.session
    policy_ids = {t.policy_id for t in terms.values() if t.policy_id is not None}
    policies = {p.id: p for p in await s.scalars(
        select(UsagePolicy).where(UsagePolicy.id.in_(policy_ids)))} if policy_ids else {}
    periods = await _due_periods(uow, company_id, members,
                                 _just_ended(members, terms, policies))
    if not periods:
        return
    late = [p for ps in periods.values() for p in ps if p.late]
    missing = {p.policy_id for p in late if p.policy_id is not None} - policies.keys()
    if missing:
        policies.update({p.id: p for p in await s.scalars(
            select(UsagePolicy).where(UsagePolicy.id.in_(missing)))})
    account_ids = list(periods)
    plain: dict[int, Any] = {}
    own_grants = {}
    if late:
        own_grants = {(g.account_id, g.from_period_start): _plain(plain, g)
                      for g in await s.scalars(select(UsageRollover).where(
                          tuple_(UsageRollover.account_id, UsageRollover.from_period_start)
                          .in_([(p.account_id, p.period_start) for p in late])))}
    grants = {account_id: [_plain(plain, g) for g in found]
              for account_id, found in (await rollovers(uow, account_ids)).items()}
    work = _Settling(uow, catalogue, policies, await top_up_bytes(uow, account_ids), grants,
                     own_grants)
    for account_id, account_periods in periods.items():
        t = terms[account_id]
        current = policies.get(t.policy_id) if t.policy_id else None
        for period in account_periods:
            if period.settled_at is None:
                work.first(period, current, t.anchor_day)
            else:
                work.again(period)
    await _write(uow, [p for found in periods.values() for p in found], list(plain.values()),
                 work)


_PERIOD_COLUMNS = ("id", "settled_at", "policy_id", "allowance_bytes", "settled_billable",
                   "overage_blocks", "charged_minor", "late")


async def _write(uow: UnitOfWork, periods: list[Any], grants: list[Any], work: _Settling
                 ) -> None:
    """Everything a settlement changed, one bulk statement per table."""
    s = uow.session
    await bulk_update(s, UsagePeriod, [{c: getattr(p, c) for c in _PERIOD_COLUMNS}
                                       for p in periods])
    await bulk_update(s, UsageRollover, [{"id": g.id, "granted_bytes": g.granted_bytes,
                                          "used_bytes": g.used_bytes} for g in grants])
    await bulk_insert(s, UsageRollover, [{c: getattr(g, c) for c in _GRANT_COLUMNS[1:]}
                                         for g in work.new_grants])
    await bulk_insert(s, PendingCharge, work.charges)

