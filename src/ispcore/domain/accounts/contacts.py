"""Contacts on an account: exactly one primary, any number financial, their emails and phone
numbers, and an optional customer-portal login."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import delete, func, select

from ispcore.domain.accounts.models import (
    Account,
    Contact,
    ContactEmail,
    ContactPhoneNumber,
    PhoneNumberType,
)
from ispcore.domain.common.errors import (
    DomainError,
    Duplicate,
    ErrorCode,
    InUse,
    Validator,
)
from ispcore.domain.common.records import company_of, load, optional_text, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.custom_fields.service import EntityType, apply_values, remove_values
from ispcore.domain.events.service import record_event
from ispcore.domain.identity import throttle
from ispcore.domain.identity.secrets import hash_password, verify_password
from ispcore.domain.identity.validation import check_password, normalize_email
from ispcore.domain.search.service import digits, index_document, remove_documents

MAX_EMAILS = 10
MAX_PHONE_NUMBERS = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{2,99}$")
EXTENSION = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() takes "²" too


@dataclass(frozen=True)
class PhoneInput:
    number: str
    phone_number_type_id: int
    extension: str | None = None


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "name", "A contact needs a name.")
    optional_text(out, "role")
    v.fit_columns(Contact, out)
    v.raise_if_any()
    return out


def _emails(emails: list[str]) -> list[str]:
    v = Validator()
    out: list[str] = []
    for raw in emails[:MAX_EMAILS * 4]:
        email = normalize_email(v, raw, "emails")
        if email not in out:
            out.append(email)
    if len(out) > MAX_EMAILS or len(emails) > MAX_EMAILS * 4:
        v.add("emails", f"A contact has at most {MAX_EMAILS} email addresses.")
    v.raise_if_any()
    return out


async def _phones(uow: UnitOfWork, company: Any, phones: list[PhoneInput]
                  ) -> list[tuple[str, int, str | None]]:
    """Numbers as E.164, read in the company's country when written without a +."""
    v = Validator()
    if len(phones) > MAX_PHONE_NUMBERS:
        v.add("phone_numbers", f"A contact has at most {MAX_PHONE_NUMBERS} phone numbers.")
    out = []
    for i, phone in enumerate(phones[:MAX_PHONE_NUMBERS]):
        await load(uow, PhoneNumberType, phone.phone_number_type_id,
                   field="phone_numbers", what="phone number type", company_id=company.id)
        try:
            parsed = phonenumbers.parse(phone.number, company.country or None)
            valid = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            v.add("phone_numbers", f"Phone number {i + 1} ({phone.number!r}) is not a valid "
                  "number; write it with its country code, e.g. +1 312 555 0100.")
            continue
        given = (phone.extension or "").strip() or None
        written = parsed.extension or None  # "(312) 555-0100 ext. 42": E.164 drops it
        if given and written and given != written:
            v.add("phone_numbers", f"Phone number {i + 1} has two extensions ({written!r} in "
                  f"the number, {given!r} given); give one.")
            continue
        extension = given or written
        if extension and not EXTENSION.fullmatch(extension):
            v.add("phone_numbers", f"Phone number {i + 1} has an extension that is not up to "
                  "10 digits.")
            continue
        out.append((phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
                    phone.phone_number_type_id, extension))
    v.raise_if_any()
    return out


async def get_contact(uow: UnitOfWork, pk: int, field: str = "id") -> Contact:
    return await load(uow, Contact, pk, field=field, what="contact")


async def create_contact(uow: UnitOfWork, values: dict[str, Any]) -> Contact:
    """A new contact; the first of an account is its primary unless said otherwise, and a
    second primary is refused (``setPrimaryContact`` moves the role)."""
    account = await load(uow, Account, values.pop("account_id"), field="account_id",
                         what="account")
    company = await company_of(uow, account.company_id)
    emails = _emails(values.pop("emails", None) or [])
    phones = await _phones(uow, company, values.pop("phone_numbers", None) or [])
    custom = values.pop("custom_fields", None)
    data = _clean(values)
    has_primary = await _primary_of(uow, account.id)
    if data.get("is_primary") is None:
        data["is_primary"] = has_primary is None
    if not data["is_primary"] and has_primary is None:
        raise DomainError("An account's first contact is its primary contact.",
                          field="is_primary")
    if data["is_primary"] and has_primary is not None:
        raise Duplicate(f"{has_primary.name} is already the primary contact; use "
                        "setPrimaryContact to change it.", field="is_primary")
    now = uow.clock.now()
    contact = Contact(company_id=account.company_id, account_id=account.id,
                      **{"is_financial": False, **data}, created_at=now, updated_at=now)
    uow.session.add(contact)
    await uow.session.flush()
    await _store_lists(uow, contact, emails, phones)
    await apply_values(uow, EntityType.CONTACT, contact.id, account.company_id, custom,
                       creating=True)
    await _index(uow, contact, account, emails, phones)
    record_event(uow, "contact.created", company_id=account.company_id, entity=contact,
                 payload={"account_id": account.id, "name": contact.name,
                          "is_primary": contact.is_primary,
                          "is_financial": contact.is_financial})
    return contact


async def update_contact(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> Contact:
    """Name, role, financial flag, and (when given) the whole list of emails or phone
    numbers, replaced."""
    contact = await get_contact(uow, pk)
    account = await uow.session.get_one(Account, contact.account_id)
    company = await company_of(uow, account.company_id)
    emails = _emails(changes.pop("emails")) if changes.get("emails") is not None else None
    phones = (await _phones(uow, company, changes.pop("phone_numbers"))
              if changes.get("phone_numbers") is not None else None)
    changes.pop("emails", None)
    changes.pop("phone_numbers", None)
    custom = changes.pop("custom_fields", None)
    data = _clean(changes)
    for key, value in data.items():
        setattr(contact, key, value)
    contact.updated_at = uow.clock.now()
    await uow.session.flush()
    if emails is not None or phones is not None:
        current_emails, current_phones = await _lists(uow, contact.id)
        await _store_lists(uow, contact, emails if emails is not None else current_emails,
                           phones if phones is not None else current_phones, replace=True)
    if custom is not None:
        await apply_values(uow, EntityType.CONTACT, contact.id, contact.company_id, custom,
                           creating=False)
    await _index(uow, contact, account, *await _lists(uow, contact.id))
    changed = sorted(data) + [k for k, given in (("emails", emails), ("phone_numbers", phones),
                                                 ("custom_fields", custom)) if given is not None]
    record_event(uow, "contact.updated", company_id=contact.company_id, entity=contact,
                 payload={"account_id": account.id, "changed": changed})
    return contact


async def delete_contact(uow: UnitOfWork, pk: int) -> Contact:
    contact = await get_contact(uow, pk)
    if contact.is_primary:
        others = await uow.session.scalar(select(func.count()).where(
            Contact.account_id == contact.account_id, Contact.id != contact.id))
        if others:
            raise InUse("This is the primary contact; make another contact primary first.",
                        field="id")
    await remove_values(uow, EntityType.CONTACT, [contact.id])
    await remove_documents(uow, "Contact", [contact.id])
    await uow.session.delete(contact)
    await uow.session.flush()
    record_event(uow, "contact.deleted", company_id=contact.company_id,
                 payload={"id": pk, "account_id": contact.account_id, "name": contact.name})
    return contact


async def set_primary(uow: UnitOfWork, pk: int) -> Contact:
    contact = await get_contact(uow, pk)
    if contact.is_primary:
        return contact
    current = await _primary_of(uow, contact.account_id)
    if current is not None:
        current.is_primary = False
        current.updated_at = uow.clock.now()
        await uow.session.flush()  # the partial unique index allows one primary at a time
    contact.is_primary = True
    contact.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "contact.primary_changed", company_id=contact.company_id, entity=contact,
                 payload={"account_id": contact.account_id,
                          "previous_contact_id": current.id if current else None})
    return contact


async def set_portal_login(uow: UnitOfWork, pk: int, username: str, password: str) -> Contact:
    contact = await get_contact(uow, pk)
    v = Validator()
    name = (username or "").strip().lower()
    if not USERNAME.match(name):
        v.add("username", "A portal username has 3 to 100 characters: letters, digits and "
              ". _ @ + -, starting with a letter or digit.")
    emails, _phones = await _lists(uow, contact.id)
    check_password(v, password, min_length=uow.settings.password_min_length,
                   personal=(name, contact.name, *emails))
    v.raise_if_any()
    taken = await uow.session.scalar(select(Contact.id).where(
        Contact.portal_username == name, Contact.id != contact.id))
    if taken is not None:
        raise Duplicate(f"The portal username {name!r} is taken.", field="username")
    contact.portal_username = name
    contact.portal_password_hash = await hash_password(password)
    contact.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "contact.portal_login_set", company_id=contact.company_id,
                 entity=contact, payload={"account_id": contact.account_id, "username": name})
    return contact


async def remove_portal_login(uow: UnitOfWork, pk: int) -> Contact:
    contact = await get_contact(uow, pk)
    if contact.portal_username is None:
        raise DomainError("This contact has no portal login.", field="id")
    contact.portal_username = None
    contact.portal_password_hash = None
    contact.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "contact.portal_login_removed", company_id=contact.company_id,
                 entity=contact, payload={"account_id": contact.account_id})
    return contact


async def verify_portal_login(uow: UnitOfWork, username: str, password: str, *,
                              ip: str | None) -> Contact:
    """The contact whose portal login this is (for the customer portal's sign-in from client
    address ``ip``). Throttled as staff sign-ins are (``identity/throttle.py``): one error
    for an unknown name and a wrong password, after the same work; the caller commits the
    failure count even when this raises."""
    attempt = throttle.SignIn(throttle.LoginKind.PORTAL, (username or "").strip().lower(), ip)
    await throttle.refuse_if_waiting(uow, attempt)
    contact = await uow.session.scalar(select(Contact).where(
        Contact.portal_username == attempt.login))
    if await verify_password(contact.portal_password_hash if contact else None, password):
        await throttle.clear(uow, attempt)
        return contact
    await throttle.count_failure(uow, attempt)
    raise DomainError("Unknown username or wrong password.", field="password",
                      code=ErrorCode.INVALID_CREDENTIALS)


async def _primary_of(uow: UnitOfWork, account_id: int) -> Contact | None:
    return await uow.session.scalar(select(Contact).where(
        Contact.account_id == account_id, Contact.is_primary))


async def _lists(uow: UnitOfWork, contact_id: int
                 ) -> tuple[list[str], list[tuple[str, int, str | None]]]:
    emails = list(await uow.session.scalars(select(ContactEmail.email).where(
        ContactEmail.contact_id == contact_id).order_by(ContactEmail.position)))
    phones = [(p.number, p.phone_number_type_id, p.extension) for p in await uow.session.scalars(
        select(ContactPhoneNumber).where(ContactPhoneNumber.contact_id == contact_id)
        .order_by(ContactPhoneNumber.position))]
    return emails, phones


async def _store_lists(uow: UnitOfWork, contact: Contact, emails: list[str],
                       phones: list[tuple[str, int, str | None]], replace: bool = False
                       ) -> None:
    if replace:
        await uow.session.execute(delete(ContactEmail).where(
            ContactEmail.contact_id == contact.id))
        await uow.session.execute(delete(ContactPhoneNumber).where(
            ContactPhoneNumber.contact_id == contact.id))
    for position, email in enumerate(emails):
        uow.session.add(ContactEmail(company_id=contact.company_id, contact_id=contact.id,
                                     email=email, position=position))
    for position, (number, type_id, extension) in enumerate(phones):
        uow.session.add(ContactPhoneNumber(
            company_id=contact.company_id, contact_id=contact.id, phone_number_type_id=type_id,
            number=number, extension=extension, position=position))
    await uow.session.flush()


async def _index(uow: UnitOfWork, contact: Contact, account: Account, emails: list[str],
                 phones: list[tuple[str, int, str | None]]) -> None:
    phone_digits = []
    for number, _type, _extension in phones:
        full = digits(number)
        national = digits(phonenumbers.format_number(phonenumbers.parse(number),
                                                     phonenumbers.PhoneNumberFormat.NATIONAL))
        phone_digits += [full, national]
    await index_document(uow, entity_type="Contact", entity_id=contact.id,
                         company_id=contact.company_id, account_id=account.id,
                         title=contact.name, subtitle=account.name,
                         parts=[*emails, *phone_digits])


async def reindex_contacts_of(uow: UnitOfWork, account: Account) -> None:
    """After an account's rename its contacts' results show the new name."""
    for contact in await uow.session.scalars(select(Contact).where(
            Contact.account_id == account.id)):
        await _index(uow, contact, account, *await _lists(uow, contact.id))
