"""What the RADIUS servers answer for each credential, worked out whenever anything it comes
from changes: the account's status and the company's settings (access), the credential's
group or the company's (which group), the usage cap (a throttled current period answers
with the usage policy's throttle group), the data service's speeds (templated attributes)
and the account's held addresses (Framed-IP-Address, Delegated-IPv6-Prefix).

The result is kept on the credential and in ``radius_replies``: the built-in server's cache
and FreeRADIUS's ``rlm_sql`` views read only that, so both answer the same. Each compile
takes a new revision from ``radius_revision`` under a row lock held to commit, so the cache,
reading "revision greater than the last I saw", never skips a change committed late. A
credential whose answer changed while it has live sessions gets a CoA or Disconnect action,
sent after commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, exists, insert, or_, select, update

from ispcore.db import among, bulk_insert
from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.billing.models import AccountService, Service
from ispcore.domain.common.records import local_date
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.network import templates
from ispcore.domain.network.models import (
    IpAssignment,
    NetworkSettings,
    RadiusCredential,
    RadiusGroupAttribute,
    RadiusReply,
    RadiusRevision,
)
from ispcore.domain.network.replies import Item
from ispcore.domain.network.settings import DEFAULTS, AccessAction
from ispcore.domain.usage import caps

RADIUS_CHANNEL = "radius"


class AccessState:
    ACTIVE = "ACTIVE"
    DELINQUENT = "DELINQUENT"
    SUSPENDED = "SUSPENDED"
    #: Over the usage allowance of the current period: the usage policy's throttle group.
    OVER_CAP = "OVER_CAP"
    #: The credential's data service has ended (or was removed).
    NO_SERVICE = "NO_SERVICE"
    REMOVED = "REMOVED"


@dataclass
class Answer:
    access: str
    state: str
    group_id: int | None
    replies: list[Item] = field(default_factory=list)


def state_of(status: AccountStatus, service_live: bool) -> str:
    if not service_live:
        return AccessState.NO_SERVICE
    if status.is_delinquent:
        return AccessState.DELINQUENT
    if not status.counts_as_active or status.is_lead:
        return AccessState.SUSPENDED
    return AccessState.ACTIVE


def _address_items(assignments: list[IpAssignment]) -> list[Item]:
    """The oldest held IPv4 address (a session has one) and every delegated IPv6 prefix."""
    items: list[Item] = []
    for a in sorted(assignments, key=lambda a: (a.family, a.assigned_at, a.id)):
        if a.family == 4 and a.prefix_length == 32:
            if not _framed(items):
                items.append(("Framed-IP-Address", "=", a.address))
        elif a.family == 6:
            items.append(("Delegated-IPv6-Prefix", "=", a.address if "/" in a.address
                          else f"{a.address}/{a.prefix_length}"))
    return items


@dataclass
class _Context:
    accounts: dict[int, Account]
    statuses: dict[int, AccountStatus]
    services: dict[int, tuple[AccountService, Service | None]]
    settings: dict[int, NetworkSettings | None]
    today: dict[int, date]
    addresses: dict[tuple[int, int | None], list[IpAssignment]]
    group_items: dict[int, list[RadiusGroupAttribute]]
    #: Account id -> the throttle group of accounts over their usage allowance.
    throttles: dict[int, int]


def answer_for(c: RadiusCredential, ctx: _Context) -> Answer:
    if c.removed_at is not None:
        return Answer("REJECT", AccessState.REMOVED, None)
    account = ctx.accounts[c.account_id]
    held = ctx.services.get(c.account_service_id or 0)
    live = held is not None and (held[0].end_date is None
                                 or held[0].end_date > ctx.today[c.company_id])
    state = state_of(ctx.statuses[account.account_status_id], live)
    settings = ctx.settings[c.company_id]

    def value(key: str) -> Any:
        return getattr(settings, key) if settings else DEFAULTS[key]

    group_id = c.radius_group_id or value("default_radius_group_id")
    throttle = ctx.throttles.get(c.account_id)
    if state in (AccessState.DELINQUENT, AccessState.SUSPENDED):
        kind = state.lower()
        action = value(f"{kind}_action")
        if action == AccessAction.REJECT:
            return Answer("REJECT", state, None)
        if action != AccessAction.NONE:
            group_id = value(f"{kind}_radius_group_id")
        elif throttle is not None:  # NONE: treated as paying, so the cap still applies
            group_id = throttle
    elif state == AccessState.NO_SERVICE:
        return Answer("REJECT", state, None)
    elif throttle is not None:
        state, group_id = AccessState.OVER_CAP, throttle
    service = held[1] if held else None
    member = templates.Member(c.username, c.account_id,
                              service.download_kbps if service else None,
                              service.upload_kbps if service else None)
    values = templates.values_for(member)
    replies: list[Item] = []
    for item in ctx.group_items.get(group_id or 0, []):
        if item.templated:
            rendered = templates.render(item.value, values)
            if rendered is not None:
                replies.append((item.attribute, item.op, rendered))
    addresses = (ctx.addresses.get((c.account_id, c.account_service_id))
                 or ctx.addresses.get((c.account_id, None), []))
    replies.extend(_address_items(addresses))
    return Answer("ACCEPT", state, group_id, replies)


async def _context(uow: UnitOfWork, credentials: list[RadiusCredential]) -> _Context:
    s = uow.session
    account_ids = sorted({c.account_id for c in credentials})
    accounts = {a.id: a for a in await s.scalars(
        select(Account).where(among(s, Account.id, account_ids)))}
    statuses = {st.id: st for st in await s.scalars(select(AccountStatus).where(
        AccountStatus.id.in_({a.account_status_id for a in accounts.values()})))}
    service_ids = sorted({c.account_service_id for c in credentials if c.account_service_id})
    services = {row[0].id: (row[0], row[1]) for row in (await s.execute(
        select(AccountService, Service).outerjoin(Service, Service.id == AccountService.service_id)
        .where(among(s, AccountService.id, service_ids)))).all()}
    company_ids = {c.company_id for c in credentials}
    settings = dict.fromkeys(company_ids)
    for row in await s.scalars(select(NetworkSettings).where(
            NetworkSettings.company_id.in_(company_ids))):
        settings[row.company_id] = row
    today = {company.id: local_date(uow.clock.now(), company.time_zone)
             for company in await s.scalars(select(Company).where(Company.id.in_(company_ids)))}
    throttles = await caps.throttle_groups(
        uow, {a.id: today[a.company_id] for a in accounts.values()})
    addresses: dict[tuple[int, int | None], list[IpAssignment]] = defaultdict(list)
    for a in await s.scalars(select(IpAssignment).where(
            among(s, IpAssignment.account_id, account_ids), IpAssignment.released_at.is_(None))):
        assert a.account_id is not None
        addresses[(a.account_id, a.account_service_id)].append(a)
    group_ids = {c.radius_group_id for c in credentials if c.radius_group_id}
    for row in settings.values():
        if row is not None:
            group_ids |= {row.default_radius_group_id, row.delinquent_radius_group_id,
                          row.suspended_radius_group_id} - {None}
    group_ids |= set(throttles.values())
    group_items: dict[int, list[RadiusGroupAttribute]] = defaultdict(list)
    for item in await s.scalars(select(RadiusGroupAttribute).where(
            RadiusGroupAttribute.group_id.in_(group_ids))
            .order_by(RadiusGroupAttribute.group_id, RadiusGroupAttribute.position)):
        group_items[item.group_id].append(item)
    return _Context(accounts, statuses, services, settings, today, addresses, group_items,
                    throttles)


async def next_revision(uow: UnitOfWork) -> int:
    """A new revision; the row stays locked until commit (see the module's docstring)."""
    revision = await uow.session.scalar(
        update(RadiusRevision).where(RadiusRevision.id == 1)
        .values(revision=RadiusRevision.revision + 1).returning(RadiusRevision.revision))
    if revision is None:
        await uow.session.execute(insert(RadiusRevision).values(id=1, revision=1))
        revision = 1
    return revision


async def _previous_replies(uow: UnitOfWork, ids: list[int]) -> dict[int, list[Item]]:
    out: dict[int, list[Item]] = defaultdict(list)
    for row in await uow.session.execute(
            select(RadiusReply.credential_id, RadiusReply.attribute, RadiusReply.op,
                   RadiusReply.value).where(among(uow.session, RadiusReply.credential_id, ids))
            .order_by(RadiusReply.credential_id, RadiusReply.position)):
        out[row[0]].append((row[1], row[2], row[3]))
    return out


@dataclass
class Change:
    credential: RadiusCredential
    answer: Answer
    state_before: str
    #: The session's address changed: a NAS cannot change it in place, so it disconnects.
    reconnect: bool


def _framed(items: list[Item]) -> list[str]:
    return [value for attribute, _, value in items if attribute == "Framed-IP-Address"]


async def compile_credentials(uow: UnitOfWork, credentials: list[RadiusCredential], *,
                              groups_changed: frozenset[int] = frozenset()) -> None:
    """Work out and store the answer of each credential; queue CoA for those that changed
    (``groups_changed``: groups whose shared items changed, so their members changed too)."""
    if credentials:
        await _compile(uow, among(uow.session, RadiusCredential.id,
                                  [c.id for c in credentials]), groups_changed)


async def _compile(uow: UnitOfWork, which: Any, groups_changed: frozenset[int] = frozenset()
                   ) -> None:
    """The revision is taken before anything is read: its lock, held to commit, makes every
    compile read what the compiles before it committed (no lost update on PostgreSQL)."""
    from ispcore.domain.network import coa

    if not await uow.session.scalar(select(exists().where(which))):
        return
    revision = await next_revision(uow)
    credentials = list(await uow.session.scalars(
        select(RadiusCredential).where(which).order_by(RadiusCredential.id)
        .execution_options(populate_existing=True)))
    ctx = await _context(uow, credentials)
    ids = [c.id for c in credentials]
    previous = await _previous_replies(uow, ids)
    changes: list[Change] = []
    rows = []
    for c in credentials:
        answer = answer_for(c, ctx)
        before = (c.access, c.access_state, c.effective_group_id, previous.get(c.id, []))
        after = (answer.access, answer.state, answer.group_id, answer.replies)
        shared = answer.access == "ACCEPT" and answer.group_id in groups_changed
        if c.revision and (before != after or shared):
            changes.append(Change(c, answer, c.access_state, reconnect=bool(
                _framed(previous.get(c.id, [])) != _framed(answer.replies))))
        c.access, c.access_state = answer.access, answer.state
        c.effective_group_id, c.revision = answer.group_id, revision
        rows.extend({"credential_id": c.id, "position": i, "attribute": a, "op": op,
                     "value": v} for i, (a, op, v) in enumerate(answer.replies))
    await uow.session.execute(delete(RadiusReply).where(among(uow.session,
                                                              RadiusReply.credential_id, ids)))
    await uow.session.flush()
    await bulk_insert(uow.session, RadiusReply, rows)
    if changes:
        await coa.queue_actions(uow, changes, ctx.group_items)
    announce(uow, str(revision))


def announce(uow: UnitOfWork, message: str) -> None:
    """Tell RADIUS servers, once this commits, to load what changed (they also poll)."""

    async def publish() -> None:
        await uow.notifier.publish(RADIUS_CHANNEL, message)

    uow.after_commit(publish, once_key="notify:radius")


LIVE = RadiusCredential.removed_at.is_(None)


async def compile_accounts(uow: UnitOfWork, account_ids: Iterable[int]) -> None:
    ids = sorted(set(account_ids))
    if ids:
        await _compile(uow, LIVE & among(uow.session, RadiusCredential.account_id, ids))


async def compile_company(uow: UnitOfWork, company_id: int) -> None:
    await _compile(uow, LIVE & (RadiusCredential.company_id == company_id))


async def compile_group(uow: UnitOfWork, group_id: int) -> None:
    """Members of the group, and everyone who may fall into it through the settings; the
    group's shared items may have changed, so members with sessions get a CoA."""
    changed = frozenset({group_id})
    company_id = await uow.session.scalar(select(NetworkSettings.company_id).where(or_(
        NetworkSettings.default_radius_group_id == group_id,
        NetworkSettings.delinquent_radius_group_id == group_id,
        NetworkSettings.suspended_radius_group_id == group_id)))
    if company_id is not None:
        await _compile(uow, LIVE & (RadiusCredential.company_id == company_id), changed)
        return
    await _compile(uow, LIVE & or_(RadiusCredential.radius_group_id == group_id,
                                   RadiusCredential.effective_group_id == group_id), changed)


async def compile_services(uow: UnitOfWork, service_ids: Iterable[int]) -> None:
    """Credentials on data services of the given catalogue services (their speeds changed)."""
    ids = sorted(set(service_ids))
    if ids:
        held = select(AccountService.id).where(among(uow.session, AccountService.service_id,
                                                      ids))
        await _compile(uow, LIVE & RadiusCredential.account_service_id.in_(held))
