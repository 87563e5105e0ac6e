"""Accounts: creating and changing them, child accounts and groups, and every status move
(changes, disconnection, reactivation, lead conversion), each on the status history."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.accounts.contacts import reindex_contacts_of
from ispcore.domain.accounts.models import (
    Account,
    AccountGroup,
    AccountGroupMembership,
    AccountStatus,
    AccountStatusChange,
    AccountType,
    Contact,
)
from ispcore.domain.accounts.settings import disconnect_status
from ispcore.domain.addresses.models import AddressOccupancy
from ispcore.domain.common.errors import DomainError, Duplicate, ErrorCode, InUse, Validator
from ispcore.domain.common.records import (
    company_of,
    load,
    optional_text,
    required_text,
    snapshot,
    today_in,
)
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.custom_fields.service import EntityType, apply_values, remove_values
from ispcore.domain.events.service import record_event, record_events
from ispcore.domain.search.service import index_document

FIELDS = ("name", "account_number", "account_type_id", "account_status_id",
          "parent_account_id", "bill_to_parent", "activation_date", "lead_source")
#: How far up a chain of parent accounts is followed; deeper is refused.
MAX_PARENT_DEPTH = 50

AccountHook = Callable[[UnitOfWork, Account], Awaitable[None]]
#: Called in the creating transaction for every new account; billing registers the defaults
#: of the account's type here.
ACCOUNT_CREATED_HOOKS: list[AccountHook] = []
StatusHook = Callable[[UnitOfWork, Account, AccountStatus, AccountStatus], Awaitable[None]]
#: Called in the changing transaction with (account, previous status, new status) after
#: every status move; billing starts and resumes billing here.
ACCOUNT_STATUS_HOOKS: list[StatusHook] = []
StatusBatchHook = Callable[[UnitOfWork, list[Account]], Awaitable[None]]
#: Called once per move with every account moved (the delinquency sweep moves a thousand at
#: a time); the network recompiles their RADIUS answers here.
ACCOUNTS_MOVED_HOOKS: list[StatusBatchHook] = []
#: Called before an account is deleted; each raises ``InUse`` if the account must stay
#: (billing: it has invoices or ledger entries).
ACCOUNT_DELETE_CHECKS: list[AccountHook] = []


class StatusChangeKind(StrEnum):
    CREATED = "CREATED"
    CHANGED = "CHANGED"
    DISCONNECTED = "DISCONNECTED"
    REACTIVATED = "REACTIVATED"
    LEAD_CONVERTED = "LEAD_CONVERTED"
    #: Moved by the delinquency sweep, and back when the overdue invoices are paid.
    DELINQUENT = "DELINQUENT"
    DELINQUENCY_CLEARED = "DELINQUENCY_CLEARED"


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "name", "An account needs a name.")
    optional_text(out, "account_number", "lead_source")
    if out.get("account_number") and any(c.isspace() for c in out["account_number"]):
        v.add("account_number", "An account number has no spaces.")
    v.fit_columns(Account, out)
    v.raise_if_any()
    return out


async def get_account(uow: UnitOfWork, pk: int, field: str = "account_id") -> Account:
    return await load(uow, Account, pk, field=field, what="account")


async def create_account(uow: UnitOfWork, values: dict[str, Any]) -> Account:
    company = await company_of(uow, values.pop("company_id"))
    custom = values.pop("custom_fields", None)
    group_ids = values.pop("account_group_ids", None) or []
    data = _clean(values)
    await load(uow, AccountType, data["account_type_id"], field="account_type_id",
               what="account type", company_id=company.id)
    status = await load(uow, AccountStatus, data["account_status_id"],
                        field="account_status_id", what="account status",
                        company_id=company.id)
    await _ensure_number_free(uow, company.id, data.get("account_number"))
    parent = await _parent(uow, company.id, data.get("parent_account_id"))
    if data.get("bill_to_parent") and parent is None:
        raise DomainError("Only a child account can be billed to its parent.",
                          field="bill_to_parent")
    if data.get("activation_date") is None and status.counts_as_active:
        data["activation_date"] = today_in(uow, company)
    now = uow.clock.now()
    account = Account(company_id=company.id, **data, created_at=now, updated_at=now)
    uow.session.add(account)
    await uow.session.flush()
    await _set_groups(uow, account, group_ids)
    await apply_values(uow, EntityType.ACCOUNT, account.id, company.id, custom, creating=True)
    _history(uow, account, StatusChangeKind.CREATED, None, status.id, "")
    await index_account(uow, account)
    for hook in ACCOUNT_CREATED_HOOKS:
        await hook(uow, account)
    record_event(uow, "account.created", company_id=company.id, entity=account,
                 payload=snapshot(account, FIELDS))
    return account


async def update_account(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> Account:
    """Everything but the status, which moves only through the status commands."""
    account = await get_account(uow, pk, "id")
    custom = changes.pop("custom_fields", None)
    group_ids = changes.pop("account_group_ids", None)
    data = _clean(changes)
    if "account_type_id" in data:
        await load(uow, AccountType, data["account_type_id"], field="account_type_id",
                   what="account type", company_id=account.company_id)
    if data.get("account_number") and data["account_number"] != account.account_number:
        await _ensure_number_free(uow, account.company_id, data["account_number"])
    if "parent_account_id" in data:
        await _parent(uow, account.company_id, data["parent_account_id"], child=account)
    parent_id = data.get("parent_account_id", account.parent_account_id)
    if data.get("bill_to_parent", account.bill_to_parent) and parent_id is None:
        raise DomainError("Only a child account can be billed to its parent.",
                          field="bill_to_parent")
    for key, value in data.items():
        setattr(account, key, value)
    account.updated_at = uow.clock.now()
    await uow.session.flush()
    if group_ids is not None:
        await _set_groups(uow, account, group_ids)
    if custom is not None:
        await apply_values(uow, EntityType.ACCOUNT, account.id, account.company_id, custom,
                           creating=False)
    await index_account(uow, account)
    if "name" in data:
        await reindex_contacts_of(uow, account)
    changed = sorted(data) + (["account_group_ids"] if group_ids is not None else []) + (
        ["custom_fields"] if custom is not None else [])
    record_event(uow, "account.updated", company_id=account.company_id, entity=account,
                 payload={"changed": changed})
    return account


async def delete_account(uow: UnitOfWork, pk: int) -> Account:
    """Delete an account and its own records (contacts, notes, history): for one entered by
    mistake. One with child accounts, or that ever lived at an address, is refused; later
    areas refuse through ``ACCOUNT_DELETE_CHECKS`` (an account with invoices is never
    deleted)."""
    account = await get_account(uow, pk, "id")
    children = await uow.session.scalar(select(func.count()).where(
        Account.parent_account_id == account.id))
    if children:
        raise InUse(f"{children} child account(s) still have this account as parent.",
                    field="id")
    lived = await uow.session.scalar(select(func.count()).where(
        AddressOccupancy.account_id == account.id))
    if lived:
        raise InUse("The account has lived at an address; it stays for the address's history. "
                    "Disconnect it instead.", field="id")
    for check in ACCOUNT_DELETE_CHECKS:
        await check(uow, account)
    contact_ids = list(await uow.session.scalars(select(Contact.id).where(
        Contact.account_id == account.id)))
    await remove_values(uow, EntityType.CONTACT, contact_ids)
    await remove_values(uow, EntityType.ACCOUNT, [account.id])
    payload = snapshot(account, FIELDS)
    await uow.session.delete(account)
    await uow.session.flush()
    record_event(uow, "account.deleted", company_id=account.company_id,
                 payload={"id": pk, **payload})
    return account


async def index_account(uow: UnitOfWork, account: Account) -> None:
    await index_document(uow, entity_type="Account", entity_id=account.id,
                         company_id=account.company_id, account_id=account.id,
                         title=account.name,
                         subtitle=f"Account {account.account_number or account.id}",
                         parts=[account.account_number, str(account.id)],
                         exact_key=account.account_number)


async def _ensure_number_free(uow: UnitOfWork, company_id: int, number: str | None) -> None:
    if number and await uow.session.scalar(select(Account.id).where(
            Account.company_id == company_id, Account.account_number == number)):
        raise Duplicate(f"Account number {number!r} is already taken in this company.",
                        field="account_number")


async def _parent(uow: UnitOfWork, company_id: int, parent_id: int | None,
                  child: Account | None = None) -> Account | None:
    """The parent to be, checked: same company, and no cycle (the child is not one of its
    ancestors)."""
    if parent_id is None:
        return None
    parent = await load(uow, Account, parent_id, field="parent_account_id",
                        what="parent account", company_id=company_id)
    if child is None:
        return parent
    current: Account | None = parent
    for _ in range(MAX_PARENT_DEPTH):
        if current is None:
            return parent
        if current.id == child.id:
            raise DomainError("That parent would make the account its own ancestor.",
                              field="parent_account_id")
        current = (await uow.session.get(Account, current.parent_account_id)
                   if current.parent_account_id else None)
    raise DomainError(f"Parent chains are at most {MAX_PARENT_DEPTH} accounts deep.",
                      field="parent_account_id")


async def _set_groups(uow: UnitOfWork, account: Account, group_ids: list[int]) -> None:
    wanted = list(dict.fromkeys(group_ids))
    for group_id in wanted:
        await load(uow, AccountGroup, group_id, field="account_group_ids",
                   what="account group", company_id=account.company_id)
    current = {m.account_group_id: m for m in await uow.session.scalars(
        select(AccountGroupMembership).where(AccountGroupMembership.account_id == account.id))}
    for group_id, membership in current.items():
        if group_id not in wanted:
            await uow.session.delete(membership)
    for group_id in wanted:
        if group_id not in current:
            uow.session.add(AccountGroupMembership(
                company_id=account.company_id, account_id=account.id,
                account_group_id=group_id, created_at=uow.clock.now()))
    await uow.session.flush()


# --- statuses ---------------------------------------------------------------------------

def _history(uow: UnitOfWork, account: Account, kind: StatusChangeKind,
             from_id: int | None, to_id: int, reason: str) -> None:
    uow.session.add(AccountStatusChange(
        company_id=account.company_id, account_id=account.id, kind=kind,
        from_status_id=from_id, to_status_id=to_id, reason=reason,
        changed_at=uow.clock.now(), user_id=uow.actor.user_id))


async def _move_status(uow: UnitOfWork, account: Account, status: AccountStatus,
                       kind: StatusChangeKind, reason: str) -> AccountStatus:
    """Put ``account`` in ``status``, write the history line and ``account.status_changed``;
    returns the previous status."""
    return (await move_statuses(uow, [account], status, kind, reason))[account.id]


async def move_statuses(uow: UnitOfWork, accounts: list[Account], status: AccountStatus,
                        kind: StatusChangeKind, reason: str) -> dict[int, AccountStatus]:
    """Move each of ``accounts`` (of ``status``'s company) into ``status`` with its history
    line, hooks and ``account.status_changed``, in one flush whatever their number (the
    delinquency sweep moves many); returns each account's previous status by account id.
    Callers check the move is allowed (see :func:`change_status`)."""
    found = {pk: await uow.session.get_one(AccountStatus, pk)
             for pk in {a.account_status_id for a in accounts}}  # a company has a few
    previous = {a.id: found[a.account_status_id] for a in accounts}
    if any(p.id == status.id for p in previous.values()):
        raise DomainError(f"The account is already {status.name}.", field="account_status_id")
    now = uow.clock.now()
    for account in accounts:
        account.account_status_id = status.id
        if status.counts_as_active and account.activation_date is None:
            company = await company_of(uow, account.company_id)
            account.activation_date = today_in(uow, company)
        account.updated_at = now
        _history(uow, account, kind, previous[account.id].id, status.id, reason)
    await uow.session.flush()
    for account in accounts:
        for hook in ACCOUNT_STATUS_HOOKS:
            await hook(uow, account, previous[account.id], status)
    for batch_hook in ACCOUNTS_MOVED_HOOKS:
        await batch_hook(uow, accounts)
    await record_events(uow, [
        {"type": "account.status_changed", "company_id": account.company_id,
         "entity_type": "Account", "entity_id": account.id,
         "payload": {"from_status_id": before.id, "from_status": before.name,
                     "to_status_id": status.id, "to_status": status.name,
                     "counts_as_active": status.counts_as_active,
                     "is_delinquent": status.is_delinquent, "kind": kind.value,
                     "reason": reason}}
        for account in accounts for before in (previous[account.id],)])
    return previous


def _reason(reason: str | None, required: bool = True) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise DomainError("Give a reason; it goes on the account's history.", field="reason",
                          code=ErrorCode.REQUIRED)
    if len(text) > 500:
        raise DomainError("A reason has at most 500 characters.", field="reason")
    return text


async def _status(uow: UnitOfWork, account: Account, status_id: int) -> AccountStatus:
    return await load(uow, AccountStatus, status_id, field="account_status_id",
                      what="account status", company_id=account.company_id)


async def change_status(uow: UnitOfWork, account_id: int, status_id: int,
                        reason: str | None) -> Account:
    """The one way to move an account between ordinary statuses. Leads leave their status by
    conversion, and disconnected accounts by reactivation, so those keep their records."""
    account = await get_account(uow, account_id)
    status = await _status(uow, account, status_id)
    current = await uow.session.get_one(AccountStatus, account.account_status_id)
    if current.is_lead and not status.is_lead:
        raise DomainError("A lead becomes a customer through convertLead.",
                          field="account_status_id")
    if status.is_lead and not current.is_lead:
        raise DomainError(f"{status.name} is a lead status; a customer does not become a lead "
                          "again.", field="account_status_id")
    if account.disconnected_on is not None:
        raise DomainError("A disconnected account comes back through reactivateAccount.",
                          field="account_id")
    await _move_status(uow, account, status, StatusChangeKind.CHANGED, _reason(reason))
    return account


async def disconnect_now(uow: UnitOfWork, account_id: int, *, reason: str | None,
                         on: date, status_id: int | None) -> Account:
    """Disconnect from day ``on``: the inactive status, the reason, the address freed, and
    ``account.disconnected`` for billing and the network to act on."""
    from ispcore.domain.addresses.service import move_out_current

    account = await get_account(uow, account_id)
    text = _reason(reason)
    await check_disconnectable(uow, account)
    status = await disconnect_status_for(uow, account, status_id)
    if status.id == account.account_status_id:
        # Already in that inactive status (changed by hand): the disconnection is still
        # recorded, without a status change.
        previous = status
        _history(uow, account, StatusChangeKind.DISCONNECTED, status.id, status.id, text)
    else:
        previous = await _move_status(uow, account, status, StatusChangeKind.DISCONNECTED,
                                      text)
    account.disconnected_on = on
    account.disconnect_reason = text
    await uow.session.flush()
    freed = await move_out_current(uow, account, on)
    record_event(uow, "account.disconnected", company_id=account.company_id, entity=account,
                 payload={"date": on.isoformat(), "reason": text,
                          "from_status_id": previous.id, "to_status_id": status.id,
                          "freed_serviceable_address_id": freed})
    return account


async def check_disconnectable(uow: UnitOfWork, account: Account) -> None:
    """Only a customer who is not disconnected yet can be disconnected (a lead was never
    connected: its status changes instead)."""
    if account.disconnected_on is not None:
        raise DomainError(f"The account was already disconnected on "
                          f"{account.disconnected_on.isoformat()}.", field="account_id")
    current = await uow.session.get_one(AccountStatus, account.account_status_id)
    if current.is_lead:
        raise DomainError("A lead is not connected; change its status instead.",
                          field="account_id")


async def disconnect_status_for(uow: UnitOfWork, account: Account, status_id: int | None
                                ) -> AccountStatus:
    """The named inactive status, or the company's disconnect default."""
    if status_id is None:
        status = await disconnect_status(uow, account.company_id)
        if status is None:
            raise DomainError("This company has no default disconnect status; name one or "
                              "mark a status isDisconnectDefault.", field="account_status_id",
                              code=ErrorCode.REQUIRED)
        return status
    status = await _status(uow, account, status_id)
    if status.counts_as_active or status.is_lead:
        raise DomainError(f"{status.name} is not an inactive status.", field="account_status_id")
    return status


async def reactivate(uow: UnitOfWork, account_id: int, status_id: int, reason: str | None
                     ) -> Account:
    account = await get_account(uow, account_id)
    if account.disconnected_on is None:
        raise DomainError("The account is not disconnected.", field="account_id")
    status = await _status(uow, account, status_id)
    if not status.counts_as_active:
        raise DomainError(f"{status.name} does not count as active.", field="account_status_id")
    text = _reason(reason)
    disconnected_on = account.disconnected_on
    await _move_status(uow, account, status, StatusChangeKind.REACTIVATED, text)
    account.disconnected_on = None
    account.disconnect_reason = None
    await uow.session.flush()
    record_event(uow, "account.reactivated", company_id=account.company_id, entity=account,
                 payload={"status_id": status.id, "reason": text,
                          "disconnected_on": disconnected_on.isoformat()})
    return account


async def convert_lead(uow: UnitOfWork, account_id: int, status_id: int,
                       reason: str | None) -> Account:
    account = await get_account(uow, account_id)
    current = await uow.session.get_one(AccountStatus, account.account_status_id)
    if not current.is_lead:
        raise DomainError("The account is not a lead.", field="account_id")
    status = await _status(uow, account, status_id)
    if status.is_lead:
        raise DomainError(f"{status.name} is a lead status; convert to a customer status.",
                          field="account_status_id")
    text = _reason(reason, required=False) or "Lead converted"
    await _move_status(uow, account, status, StatusChangeKind.LEAD_CONVERTED, text)
    record_event(uow, "account.lead_converted", company_id=account.company_id, entity=account,
                 payload={"status_id": status.id, "lead_source": account.lead_source})
    return account

