"""Contacts' notification preferences (opt-outs per channel and per message category) and the
choice of who receives a message: an account's financial, primary or all contacts, at the
contact's first email address or first SMS-capable phone number, minus those who opted out.

A category customers cannot opt out of (billing, say) reaches its contacts whatever their
opt-outs: it is transactional. Opting out of such a category is refused."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from ispcore.db import among, bulk_insert
from ispcore.domain.accounts.models import (
    Contact,
    ContactEmail,
    ContactPhoneNumber,
    PhoneNumberType,
)
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.records import load
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.messaging.content_models import (
    ContactMessageOptOut,
    MessageCategory,
    Recipients,
)
from ispcore.domain.messaging.models import Channel


@dataclass(frozen=True)
class Preferences:
    opted_out_channels: frozenset[str]
    opted_out_category_ids: frozenset[int]


@dataclass(frozen=True)
class Recipient:
    contact_id: int
    name: str
    address: str


async def preferences_of(uow: UnitOfWork, contact_ids: list[int]) -> dict[int, Preferences]:
    channels: dict[int, set[str]] = defaultdict(set)
    categories: dict[int, set[int]] = defaultdict(set)
    rows = await uow.session.execute(select(
        ContactMessageOptOut.contact_id, ContactMessageOptOut.channel,
        ContactMessageOptOut.category_id).where(
            among(uow.session, ContactMessageOptOut.contact_id, contact_ids)))
    for contact_id, channel, category_id in rows:
        if channel is not None:
            channels[contact_id].add(channel)
        if category_id is not None:
            categories[contact_id].add(category_id)
    return {pk: Preferences(frozenset(channels[pk]), frozenset(categories[pk]))
            for pk in contact_ids}


async def update_preferences(uow: UnitOfWork, contact_id: int, values: dict[str, Any]
                             ) -> Contact:
    """Set a contact's opt-outs: ``email_opt_out``, ``sms_opt_out`` and
    ``opted_out_category_ids`` (the whole list); omitted keys stay."""
    contact = await load(uow, Contact, contact_id, field="contact_id", what="contact")
    current = (await preferences_of(uow, [contact.id]))[contact.id]
    channels = set(current.opted_out_channels)
    for key, channel in (("email_opt_out", Channel.EMAIL), ("sms_opt_out", Channel.SMS)):
        if key in values:
            (channels.add if values[key] else channels.discard)(channel.value)
    categories = set(current.opted_out_category_ids)
    if values.get("opted_out_category_ids") is not None:
        categories = set(values["opted_out_category_ids"])
        found = {c.id: c for c in await uow.session.scalars(select(MessageCategory).where(
            MessageCategory.id.in_(categories),
            MessageCategory.company_id == contact.company_id))}
        for pk in categories:
            if pk not in found:
                raise DomainError("No such message category.",
                                  field="opted_out_category_ids")
            if not found[pk].customers_can_opt_out:
                raise DomainError(f"Customers cannot opt out of {found[pk].name!r}.",
                                  field="opted_out_category_ids")
    await uow.session.execute(delete(ContactMessageOptOut).where(
        ContactMessageOptOut.contact_id == contact.id))
    now = uow.clock.now()
    base = {"company_id": contact.company_id, "contact_id": contact.id, "created_at": now}
    await bulk_insert(uow.session, ContactMessageOptOut, [
        *({**base, "channel": c, "category_id": None} for c in sorted(channels)),
        *({**base, "channel": None, "category_id": c} for c in sorted(categories))])
    record_event(uow, "contact.notification_preferences_updated",
                 company_id=contact.company_id, entity=contact,
                 payload={"opted_out_channels": sorted(channels),
                          "opted_out_category_ids": sorted(categories)})
    return contact


def _wanted(contacts: list[Contact], who: Recipients) -> list[Contact]:
    if who is Recipients.ALL:
        return contacts
    primary = [c for c in contacts if c.is_primary]
    if who is Recipients.PRIMARY:
        return primary
    return [c for c in contacts if c.is_financial] or primary


async def _addresses(uow: UnitOfWork, contact_ids: list[int], channel: Channel
                     ) -> dict[int, str]:
    """Each contact's first email address, or first phone number that can take SMS."""
    if channel is Channel.EMAIL:
        statement = (select(ContactEmail.contact_id, ContactEmail.email)
                     .where(among(uow.session, ContactEmail.contact_id, contact_ids))
                     .order_by(ContactEmail.contact_id, ContactEmail.position))
    else:
        statement = (select(ContactPhoneNumber.contact_id, ContactPhoneNumber.number)
                     .join(PhoneNumberType,
                           PhoneNumberType.id == ContactPhoneNumber.phone_number_type_id)
                     .where(among(uow.session, ContactPhoneNumber.contact_id, contact_ids),
                            PhoneNumberType.can_receive_sms)
                     .order_by(ContactPhoneNumber.contact_id, ContactPhoneNumber.position))
    first: dict[int, str] = {}
    for contact_id, address in await uow.session.execute(statement):
        first.setdefault(contact_id, address)
    return first


async def choose_recipients(uow: UnitOfWork, account_ids: list[int], who: Recipients,
                            channel: Channel, category: MessageCategory | None
                            ) -> tuple[dict[int, list[Recipient]], dict[int, int]]:
    """Who receives a message on each account, and how many of each account's chosen
    contacts were skipped (opted out, or no address for the channel)."""
    by_account: dict[int, list[Contact]] = defaultdict(list)
    for contact in await uow.session.scalars(select(Contact).where(
            among(uow.session, Contact.account_id, account_ids)).order_by(Contact.id)):
        by_account[contact.account_id].append(contact)
    chosen = {pk: _wanted(by_account[pk], who) for pk in account_ids}
    contact_ids = [c.id for contacts in chosen.values() for c in contacts]
    addresses = await _addresses(uow, contact_ids, channel)
    prefs = await preferences_of(uow, contact_ids)
    binding = category is not None and not category.customers_can_opt_out
    out: dict[int, list[Recipient]] = {}
    skipped: dict[int, int] = defaultdict(int)
    for pk, contacts in chosen.items():
        out[pk] = []
        for contact in contacts:
            pref = prefs[contact.id]
            opted_out = not binding and (
                channel.value in pref.opted_out_channels
                or (category is not None and category.id in pref.opted_out_category_ids))
            if opted_out or contact.id not in addresses:
                skipped[pk] += 1
                continue
            out[pk].append(Recipient(contact.id, contact.name, addresses[contact.id]))
    return out, skipped
