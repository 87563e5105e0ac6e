"""Serviceable addresses, moving accounts in and out of them, and postal addresses."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.addresses.models import (
    AccountPostalAddress,
    AddressOccupancy,
    ServiceableAddress,
)
from ispcore.domain.common.errors import DomainError, Duplicate, InUse, NotFound, Validator
from ispcore.domain.common.records import (
    company_of,
    load,
    optional_text,
    required_text,
    snapshot,
    today_in,
)
from ispcore.domain.common.reference import clean_jurisdiction
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.custom_fields.service import EntityType, apply_values, remove_values
from ispcore.domain.events.service import record_event
from ispcore.domain.search.service import index_document, remove_documents

POSTAL = ("line1", "line2", "unit", "city", "subdivision", "postal_code", "country")
FIELDS = (*POSTAL, "latitude", "longitude", "fcc_location_id", "serviceable")


class PostalKind(StrEnum):
    MAILING = "MAILING"
    BILLING = "BILLING"


def _clean_postal(v: Validator, out: dict[str, Any], current: Any = None) -> None:
    required_text(v, out, "line1", "An address needs its first line.")
    required_text(v, out, "city", "An address needs a city.")
    optional_text(out, "line2", "unit", "postal_code")
    clean_jurisdiction(v, out, current)


def _clean(values: dict[str, Any], current: ServiceableAddress | None = None
           ) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    _clean_postal(v, out, current)
    for key, bound in (("latitude", 90), ("longitude", 180)):
        if out.get(key) is not None and not -bound <= out[key] <= bound:
            v.add(key, f"{key.capitalize()} is between -{bound} and {bound}.")
    optional_text(out, "fcc_location_id")
    if out.get("fcc_location_id") and not re.fullmatch(r"[0-9]+", out["fcc_location_id"]):
        v.add("fcc_location_id", "An FCC location id is digits only.")
    v.fit_columns(ServiceableAddress, out)
    v.raise_if_any()
    return out


def address_key(values: dict[str, Any]) -> str:
    """What makes two entries the same place: case, spacing and punctuation do not count."""
    parts = [values.get(k) or "" for k in POSTAL]
    return "|".join(re.sub(r"[^\w]+", " ", p.casefold()).strip() for p in parts)[:700]


def one_line(address: Any) -> str:
    unit = f" Unit {address.unit}" if address.unit else ""
    line2 = f", {address.line2}" if address.line2 else ""
    region = " ".join(p for p in (address.subdivision, address.postal_code) if p)
    return f"{address.line1}{unit}{line2}, {address.city}" + (f", {region}" if region else "")


async def get_address(uow: UnitOfWork, pk: int, field: str = "id") -> ServiceableAddress:
    return await load(uow, ServiceableAddress, pk, field=field, what="serviceable address")


async def create_address(uow: UnitOfWork, values: dict[str, Any]) -> ServiceableAddress:
    company = await company_of(uow, values.pop("company_id"))
    custom = values.pop("custom_fields", None)
    data = _clean(values)
    key = address_key(data)
    await _ensure_new(uow, company.id, key)
    now = uow.clock.now()
    address = ServiceableAddress(company_id=company.id, **data, address_key=key,
                                 created_at=now, updated_at=now)
    uow.session.add(address)
    await uow.session.flush()
    await apply_values(uow, EntityType.SERVICEABLE_ADDRESS, address.id, company.id, custom,
                       creating=True)
    await _index(uow, address)
    record_event(uow, "serviceable_address.created", company_id=company.id, entity=address,
                 payload=snapshot(address, FIELDS))
    return address


async def update_address(uow: UnitOfWork, pk: int, changes: dict[str, Any]
                         ) -> ServiceableAddress:
    address = await get_address(uow, pk)
    custom = changes.pop("custom_fields", None)
    data = _clean(changes, address)
    merged = {**{k: getattr(address, k) for k in POSTAL}, **data}
    key = address_key(merged)
    if key != address.address_key:
        await _ensure_new(uow, address.company_id, key)
    for name, value in data.items():
        setattr(address, name, value)
    address.address_key = key
    address.updated_at = uow.clock.now()
    await uow.session.flush()
    if custom is not None:
        await apply_values(uow, EntityType.SERVICEABLE_ADDRESS, address.id, address.company_id,
                           custom, creating=False)
    await _index(uow, address)
    changed = sorted(data) + (["custom_fields"] if custom is not None else [])
    record_event(uow, "serviceable_address.updated", company_id=address.company_id,
                 entity=address, payload={"changed": changed})
    return address


async def delete_address(uow: UnitOfWork, pk: int) -> ServiceableAddress:
    """Only an address nobody ever lived at: its occupancy history is a record to keep."""
    address = await get_address(uow, pk)
    lived = await uow.session.scalar(select(func.count()).where(
        AddressOccupancy.serviceable_address_id == address.id))
    if lived:
        raise InUse("Accounts have lived at this address; its history is kept. Mark it not "
                    "serviceable instead.", field="id")
    await remove_values(uow, EntityType.SERVICEABLE_ADDRESS, [address.id])
    await remove_documents(uow, "ServiceableAddress", [address.id])
    await uow.session.delete(address)
    await uow.session.flush()
    record_event(uow, "serviceable_address.deleted", company_id=address.company_id,
                 payload={"id": pk, "address": one_line(address)})
    return address


async def _ensure_new(uow: UnitOfWork, company_id: int, key: str) -> None:
    if await uow.session.scalar(select(ServiceableAddress.id).where(
            ServiceableAddress.company_id == company_id, ServiceableAddress.address_key == key)):
        raise Duplicate("This address is already on file.", field="line1")


async def _index(uow: UnitOfWork, address: ServiceableAddress) -> None:
    await index_document(uow, entity_type="ServiceableAddress", entity_id=address.id,
                         company_id=address.company_id, title=one_line(address),
                         subtitle="Serviceable" if address.serviceable else "Not serviceable",
                         parts=[address.country, address.fcc_location_id])


# --- who lives where ----------------------------------------------------------------------

async def current_occupancy(uow: UnitOfWork, *, account_id: int | None = None,
                            address_id: int | None = None) -> AddressOccupancy | None:
    stmt = select(AddressOccupancy).where(AddressOccupancy.moved_out_on.is_(None))
    if account_id is not None:
        stmt = stmt.where(AddressOccupancy.account_id == account_id)
    if address_id is not None:
        stmt = stmt.where(AddressOccupancy.serviceable_address_id == address_id)
    return await uow.session.scalar(stmt)


async def move_in(uow: UnitOfWork, account_id: int, address_id: int, on: date | None
                  ) -> Account:
    """Make ``address`` the account's physical address from day ``on`` (default today).

    The account leaves its previous address that day. An address whose current occupant
    is still active is refused; an inactive occupant (a tenant who left) is moved out.
    """
    account = await load(uow, Account, account_id, field="account_id", what="account")
    address = await load(uow, ServiceableAddress, address_id, field="serviceable_address_id",
                         what="serviceable address", company_id=account.company_id)
    company = await company_of(uow, account.company_id)
    day = on or today_in(uow, company)
    status = await uow.session.get_one(AccountStatus, account.account_status_id)
    if not address.serviceable and not status.is_lead:
        raise DomainError("This address is not serviceable (leads may be recorded there).",
                          field="serviceable_address_id")
    occupant = await current_occupancy(uow, address_id=address.id)
    if occupant is not None and occupant.account_id == account.id:
        raise DomainError("The account already lives at this address.",
                          field="serviceable_address_id")
    if occupant is not None:
        other = await uow.session.get_one(Account, occupant.account_id)
        other_status = await uow.session.get_one(AccountStatus, other.account_status_id)
        if other_status.counts_as_active:
            raise InUse(f"Account {other.account_number or other.id} ({other.name}) is active "
                        "at this address; move it out or disconnect it first.",
                        field="serviceable_address_id")
        await _move_out(uow, other, occupant, day)
    own = await current_occupancy(uow, account_id=account.id)
    if own is not None:
        await _move_out(uow, account, own, day)
    await _ensure_after_history(uow, account.id, address.id, day)
    uow.session.add(AddressOccupancy(company_id=account.company_id,
                                     serviceable_address_id=address.id, account_id=account.id,
                                     moved_in_on=day, created_at=uow.clock.now()))
    await uow.session.flush()
    record_event(uow, "account.moved_in", company_id=account.company_id, entity=account,
                 payload={"serviceable_address_id": address.id, "date": day.isoformat(),
                          "address": one_line(address)})
    return account


async def _ensure_after_history(uow: UnitOfWork, account_id: int, address_id: int, day: date
                                ) -> None:
    """A move-in may not reach back into a finished stay of the address or of the account:
    the history would show two tenants, or two homes, at once."""
    last = await uow.session.scalar(select(func.max(AddressOccupancy.moved_out_on)).where(
        (AddressOccupancy.serviceable_address_id == address_id)
        | (AddressOccupancy.account_id == account_id)))
    if last is not None and day < last:
        raise DomainError(f"The history of this address or account runs to "
                          f"{last.isoformat()}; a move-in cannot be dated before that.",
                          field="date")


async def move_out(uow: UnitOfWork, account_id: int, on: date | None) -> Account:
    account = await load(uow, Account, account_id, field="account_id", what="account")
    occupancy = await current_occupancy(uow, account_id=account.id)
    if occupancy is None:
        raise NotFound("The account has no physical address to move out of.",
                       field="account_id")
    company = await company_of(uow, account.company_id)
    today = today_in(uow, company)
    if on is not None and on > today:
        raise DomainError("A move-out is recorded on or after the day it happens, not ahead "
                          "(schedule a disconnection for a future day).", field="date")
    await _move_out(uow, account, occupancy, on or today)
    return account


async def move_out_current(uow: UnitOfWork, account: Account, on: date) -> int | None:
    """Free the account's address (on disconnection); returns the address id, if any."""
    occupancy = await current_occupancy(uow, account_id=account.id)
    if occupancy is None:
        return None
    await _move_out(uow, account, occupancy, max(on, occupancy.moved_in_on))
    return occupancy.serviceable_address_id


async def _move_out(uow: UnitOfWork, account: Account, occupancy: AddressOccupancy, day: date
                    ) -> None:
    if day < occupancy.moved_in_on:
        raise DomainError(f"The account moved in on {occupancy.moved_in_on.isoformat()}; it "
                          "cannot move out before that.", field="date")
    occupancy.moved_out_on = day
    await uow.session.flush()
    record_event(uow, "account.moved_out", company_id=account.company_id, entity=account,
                 payload={"serviceable_address_id": occupancy.serviceable_address_id,
                          "date": day.isoformat()})


# --- postal addresses -----------------------------------------------------------------------

async def set_postal_address(uow: UnitOfWork, account_id: int, kind: PostalKind,
                             values: dict[str, Any]) -> Account:
    account = await load(uow, Account, account_id, field="account_id", what="account")
    v = Validator()
    data = {k: values.get(k) for k in POSTAL}
    _clean_postal(v, data)
    v.fit_columns(AccountPostalAddress, data)
    v.raise_if_any()
    row = await uow.session.scalar(select(AccountPostalAddress).where(
        AccountPostalAddress.account_id == account.id, AccountPostalAddress.kind == kind))
    now = uow.clock.now()
    if row is None:
        row = AccountPostalAddress(company_id=account.company_id, account_id=account.id,
                                   kind=kind, created_at=now)
        uow.session.add(row)
    for key, value in data.items():
        setattr(row, key, value)
    row.updated_at = now
    await uow.session.flush()
    record_event(uow, "account.postal_address_set", company_id=account.company_id,
                 entity=account, payload={"kind": kind.value, **data})
    return account


async def clear_postal_address(uow: UnitOfWork, account_id: int, kind: PostalKind) -> Account:
    account = await load(uow, Account, account_id, field="account_id", what="account")
    row = await uow.session.scalar(select(AccountPostalAddress).where(
        AccountPostalAddress.account_id == account.id, AccountPostalAddress.kind == kind))
    if row is None:
        raise NotFound(f"The account has no {kind.value.lower()} address.", field="kind")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, "account.postal_address_cleared", company_id=account.company_id,
                 entity=account, payload={"kind": kind.value})
    return account
