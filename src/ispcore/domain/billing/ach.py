"""In-house ACH: the day's pending ACH debits written as a NACHA file for the company's bank
(the ODFI). The file is the standard 94-character fixed-width format: a file header, one PPD
batch of debit entries balanced by an offsetting credit to the company's own account, the
batch and file controls, and filler records up to a block of ten. Writing the file collects
the payments (they are posted and applied); a return from the bank is a ``reversePayment``."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ispcore.domain.accounts.models import Account
from ispcore.domain.billing import payments
from ispcore.domain.billing.money import amount_text
from ispcore.domain.billing.payment_methods import routing_number_valid
from ispcore.domain.billing.payment_models import AchFile, Payment, PaymentMethod
from ispcore.domain.common import vault
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.records import company_of, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event

RECORD = 94
BLOCK = 10
MODIFIERS = string.ascii_uppercase + string.digits
#: Transaction codes: debits to checking and savings, and the offsetting credit.
DEBIT = {"CHECKING": "27", "SAVINGS": "37"}
CREDIT = {"CHECKING": "22", "SAVINGS": "32"}
_ASCII = re.compile(r"[^A-Z0-9 .,&/\-']")


ORIGINATOR_FIELDS = {
    "ach_destination_routing": "the bank's routing number",
    "ach_destination_name": "the bank's name",
    "ach_origin_id": "the originator id the bank gave",
    "ach_origin_name": "the originator's name",
    "ach_company_id": "the company id the bank gave",
    "ach_company_name": "the company name on statements",
    "ach_odfi_routing": "the originating bank's routing number",
    "ach_offset_routing": "the routing number of the account the debits settle to",
    "ach_offset_account": "the account the debits settle to",
}


def check_originator(values: dict[str, Any]) -> None:
    """Validate ACH originator settings as given (blank clears one)."""
    v = Validator()
    for key in ("ach_destination_routing", "ach_odfi_routing", "ach_offset_routing"):
        value = values.get(key)
        if value is not None and value.strip() and not routing_number_valid(value.strip()):
            v.add(key, "A routing number has 9 digits with a valid checksum.")
    for key in ("ach_origin_id", "ach_company_id"):
        value = values.get(key)
        if value is not None and value.strip() and not re.fullmatch(r"[0-9A-Za-z ]{1,10}",
                                                                   value.strip()):
            v.add(key, "Up to 10 letters or digits, as the bank gave it.")
    account = values.get("ach_offset_account")
    if account is not None and account.strip() and not re.fullmatch(r"\d{4,17}",
                                                                     account.strip()):
        v.add("ach_offset_account", "A bank account number has 4 to 17 digits.")
    description = values.get("ach_entry_description")
    if description is not None and not 1 <= len(description.strip()) <= 10:
        v.add("ach_entry_description", "1 to 10 characters.")
    v.fit_columns(payments.PaymentSettings, {k: val for k, val in values.items()
                                             if k in payments.PaymentSettings.__table__.c})
    v.raise_if_any()
    for key in ORIGINATOR_FIELDS:
        if isinstance(values.get(key), str):
            values[key] = values[key].strip() or None


def _alpha(text: str | None, width: int) -> str:
    return _ASCII.sub("", (text or "").upper())[:width].ljust(width)


def _num(value: int, width: int) -> str:
    text = str(value)
    if value < 0 or len(text) > width:
        raise DomainError(f"{value} does not fit a NACHA field of {width} digits.",
                          field="date")
    return text.zfill(width)


@dataclass(frozen=True)
class Entry:
    transaction_code: str
    routing: str
    account_number: str
    amount: int
    individual_id: str
    name: str


def _entry(e: Entry, odfi: str, sequence: int) -> str:
    return ("6" + e.transaction_code + e.routing[:8] + e.routing[8] +
            _alpha(e.account_number, 17) + _num(e.amount, 10) + _alpha(e.individual_id, 15)
            + _alpha(e.name, 22) + "  " + "0" + odfi[:8] + _num(sequence, 7))


def render(settings: Any, entries: list[Entry], *, created: datetime, effective: date,
           modifier: str) -> str:
    """The NACHA file text: records of 94 characters, each line ending in a newline."""
    odfi = settings.ach_odfi_routing
    debits = sum(e.amount for e in entries if e.transaction_code in DEBIT.values())
    credits = sum(e.amount for e in entries if e.transaction_code in CREDIT.values())
    entry_hash = sum(int(e.routing[:8]) for e in entries) % 10**10
    records = [
        "1" + "01" + " " + settings.ach_destination_routing
        + _alpha(settings.ach_origin_id, 10).strip().rjust(10)
        + created.strftime("%y%m%d%H%M") + modifier + "094" + "10" + "1"
        + _alpha(settings.ach_destination_name, 23) + _alpha(settings.ach_origin_name, 23)
        + " " * 8,
        "5" + "200" + _alpha(settings.ach_company_name, 16) + " " * 20
        + _alpha(settings.ach_company_id, 10) + "PPD"
        + _alpha(settings.ach_entry_description, 10) + effective.strftime("%y%m%d")
        + effective.strftime("%y%m%d") + "   " + "1" + odfi[:8] + _num(1, 7),
    ]
    records += [_entry(e, odfi, n) for n, e in enumerate(entries, start=1)]
    records.append(
        "8" + "200" + _num(len(entries), 6) + _num(entry_hash, 10) + _num(debits, 12)
        + _num(credits, 12) + _alpha(settings.ach_company_id, 10) + " " * 19 + " " * 6
        + odfi[:8] + _num(1, 7))
    count = len(records) + 1
    blocks = -(-count // BLOCK)
    records.append(
        "9" + _num(1, 6) + _num(blocks, 6) + _num(len(entries), 8) + _num(entry_hash, 10)
        + _num(debits, 12) + _num(credits, 12) + " " * 39)
    records += ["9" * RECORD] * (blocks * BLOCK - count)
    assert all(len(r) == RECORD for r in records), [len(r) for r in records]
    return "\n".join(records) + "\n"


def next_business_day(day: date) -> date:
    """The entries' effective date: the next weekday (bank holidays are the bank's to roll
    forward, as NACHA allows)."""
    following = day + timedelta(days=1)
    while following.weekday() >= 5:
        following += timedelta(days=1)
    return following


def _require_originator(settings: Any) -> None:
    missing = [label for key, label in ORIGINATOR_FIELDS.items()
               if key != "ach_offset_account" and not getattr(settings, key)]
    if not settings.ach_offset_account_sealed:
        missing.append(ORIGINATOR_FIELDS["ach_offset_account"])
    if missing:
        raise DomainError("Set the company's ACH details first: " + ", ".join(missing) + ".",
                          field="company_id", code=ErrorCode.REQUIRED)


async def create_file(uow: UnitOfWork, company_id: int, day: date | None,
                      vault_key: str | None) -> AchFile:
    """A NACHA file of the company's pending ACH debits received by ``day`` (default today),
    effective the next day; each payment is then collected (posted and applied)."""
    company = await company_of(uow, company_id)
    settings = await payments.payment_settings(uow, company.id)
    _require_originator(settings)
    today = today_in(uow, company)
    day = day or today
    due = list((await uow.session.execute(
        select(Payment, PaymentMethod, Account.account_number, Account.name)
        .join(PaymentMethod, PaymentMethod.id == Payment.payment_method_id)
        .join(Account, Account.id == Payment.account_id)
        .where(Payment.company_id == company.id, Payment.method == payments.Method.ACH,
               Payment.status == payments.Status.PENDING, Payment.ach_file_id.is_(None),
               Payment.received_on <= day, PaymentMethod.active)
        .order_by(Payment.id).with_for_update(of=Payment))).all())
    if not due:
        raise DomainError(f"No ACH payments are waiting for a file on {day.isoformat()}.",
                          field="date")
    entries = [Entry(DEBIT[method.bank_account_type or "CHECKING"], method.routing_number,
                     vault.unseal(vault_key, method.sealed_account_number), payment.amount_minor,
                     number or str(payment.account_id), method.holder_name or name)
               for payment, method, number, name in due]
    total = sum(e.amount for e in entries)
    entries.append(Entry(CREDIT["CHECKING"], settings.ach_offset_routing,
                         vault.unseal(vault_key, settings.ach_offset_account_sealed,
                                      field="ach_offset_account"), total, "OFFSET",
                         settings.ach_company_name))
    files_today = await uow.session.scalar(select(func.count(AchFile.id)).where(
        AchFile.company_id == company.id, AchFile.created_on == today))
    if files_today >= len(MODIFIERS):
        raise DomainError("A bank takes at most 36 files a day from one originator.",
                          field="date")
    created = uow.clock.now().astimezone(ZoneInfo(company.time_zone))
    effective = next_business_day(max(day, today))
    modifier = MODIFIERS[files_today]
    row = AchFile(company_id=company.id, created_on=today, effective_on=effective,
                  file_id_modifier=modifier, entry_count=len(entries), total_minor=total,
                  sealed_content=vault.seal(vault_key, render(
                      settings, entries, created=created, effective=effective,
                      modifier=modifier), field="company_id"),
                  created_at=uow.clock.now(), user_id=uow.actor.user_id)
    uow.session.add(row)
    await uow.session.flush()
    for payment, _method, _number, _name in due:
        payment.ach_file_id = row.id
        await payments.complete(uow, payment, company)
    record_event(uow, "ach_file.created", company_id=company.id, entity=row, payload={
        "entries": len(due), "total": amount_text(total, company.currency),
        "effective_on": effective.isoformat(), "file_id_modifier": modifier})
    return row
