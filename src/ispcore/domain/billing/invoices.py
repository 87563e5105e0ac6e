"""Invoices: written in bulk from bills, numbered and posted to the ledger when issued,
edited only as drafts, and voided by reversing entries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import aliased

from ispcore.db import among, bulk_insert, bulk_update
from ispcore.domain.accounts.models import Account
from ispcore.domain.billing import allocation, credits, fees, tax_engine
from ispcore.domain.billing.calendar import Period
from ispcore.domain.billing.engine import Bill, Line, LineKind
from ispcore.domain.billing.ledger import EntryKind, announce_balances, reverse
from ispcore.domain.billing.models import (
    AccountBilling,
    AccountDiscount,
    AccountService,
    BillingSettings,
    GlCode,
    Invoice,
    InvoiceLine,
    InvoiceLineDiscount,
    InvoiceLineTax,
    LedgerEntry,
    PendingCharge,
)
from ispcore.domain.billing.money import amount_text, to_minor
from ispcore.domain.billing.plans import Catalogue, Payer, load_catalogue
from ispcore.domain.billing.settings import company_settings, format_number
from ispcore.domain.billing.taxes import Rate
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event, record_events


class InvoiceStatus(StrEnum):
    DRAFT = "DRAFT"
    ISSUED = "ISSUED"
    VOID = "VOID"


class InvoiceKind(StrEnum):
    INVOICE = "INVOICE"
    #: Its lines come to less than nothing: it owes nothing and its credit goes to the
    #: account's open invoices, oldest first.
    CREDIT_NOTE = "CREDIT_NOTE"


async def _reserve_numbers(uow: UnitOfWork, company_id: int, count: int) -> int:
    """The first of ``count`` consecutive invoice numbers, taken atomically."""
    await company_settings(uow, company_id)  # the counter's row exists from now on
    last = await uow.session.scalar(
        update(BillingSettings).where(BillingSettings.company_id == company_id)
        .values(next_invoice_number=BillingSettings.next_invoice_number + count)
        .returning(BillingSettings.next_invoice_number)
        .execution_options(synchronize_session=False))
    return int(last) - count


def _line_row(company_id: int, invoice_id: int, position: int, line: Line) -> dict[str, Any]:
    discount, tax = line.discount, line.tax
    return {
        "company_id": company_id, "invoice_id": invoice_id, "account_id": line.account_id,
        "position": position, "kind": line.kind.value, "description": line.description[:300],
        "period_start": line.period.start if line.period else None,
        "period_end": line.period.end if line.period else None, "quantity": line.quantity,
        "unit_price_minor": line.unit_price, "amount_minor": line.amount,
        "discount_minor": discount, "tax_minor": tax,
        "total_minor": line.amount - discount + tax,
        "gl_code_id": line.gl_code_id, "taxable": line.taxable,
        "account_service_id": line.account_service_id,
        "service_id": line.service_id, "package_id": line.package_id}


def _ledger_rows(company_id: int, account_id: int, invoice_id: int, label: str,
                 amounts: dict[tuple[str, int], int], on: date, now: Any
                 ) -> list[dict[str, Any]]:
    """One entry per kind and general ledger code of an invoice."""
    return [{"company_id": company_id, "account_id": account_id, "kind": kind,
             "amount_minor": amount, "gl_code_id": gl, "description": f"{label} ({kind.lower()})"
             if kind != EntryKind.INVOICE else label, "invoice_id": invoice_id,
             "reverses_id": None, "posted_on": on, "created_at": now, "user_id": None}
            for (kind, gl), amount in sorted(amounts.items()) if amount]


def _postings(lines: list[tuple[int, int]], discounts: list[tuple[int, int]],
              taxes: list[tuple[int, int]]) -> dict[tuple[str, int], int]:
    """(gl, amount) of lines, discounts and taxes summed per (kind, gl): debits for lines and
    taxes, credits for discounts."""
    out: dict[tuple[str, int], int] = defaultdict(int)
    for gl, amount in lines:
        out[(EntryKind.INVOICE.value, gl)] += amount
    for gl, amount in discounts:
        out[(EntryKind.DISCOUNT.value, gl)] -= amount
    for gl, amount in taxes:
        out[(EntryKind.TAX.value, gl)] += amount
    return out


async def write_bills(uow: UnitOfWork, catalogue: Catalogue, bills: list[tuple[Payer, Bill]],
                      *, run_id: int | None, on: date) -> int:
    """Save ``bills`` (issued, or drafts when the company reviews them), move each item's
    billing, each discount's count and each account's next bill date. Returns the number of
    invoices written. Statements are set-based: a handful per call, whatever its size."""
    session = uow.session
    company = catalogue.company
    settings = catalogue.settings
    draft = settings.review_drafts
    now = uow.clock.now()
    invoiced = [(payer, bill) for payer, bill in bills if bill.lines]
    await tax_engine.ENGINE.levy(uow, catalogue, [(p.account_id, b.lines) for p, b in invoiced],
                                 on)
    first = 0 if draft or not invoiced else await _reserve_numbers(uow, company.id,
                                                                   len(invoiced))
    invoice_rows = []
    for index, (payer, bill) in enumerate(invoiced):
        invoice_rows.append({
            "company_id": company.id, "account_id": payer.account_id,
            "billing_run_id": run_id, "currency": company.currency,
            "number": None if draft else format_number(settings.invoice_number_format,
                                                       first + index, on),
            "status": InvoiceStatus.DRAFT if draft else InvoiceStatus.ISSUED,
            "bill_date": payer.plan.next_bill_date,
            "period_start": bill.period.start if bill.period else None,
            "period_end": bill.period.end if bill.period else None,
            "issued_on": None if draft else on,
            "due_on": None if draft else on + timedelta(days=payer.due_days),
            "subtotal_minor": bill.subtotal, "discount_minor": bill.discount_total,
            "tax_minor": bill.tax_total, "total_minor": bill.total, "paid_minor": 0,
            "message": catalogue.message_for(payer.account_type_id, on)[:4000],
            "created_at": now, "voided_at": None, "void_reason": None})
    invoice_ids = await bulk_insert(session, Invoice, invoice_rows, ids=True)
    line_rows, flat_lines = [], []
    for invoice_id, (_payer, bill) in zip(invoice_ids, invoiced, strict=True):
        for position, line in enumerate(bill.lines, start=1):
            line_rows.append(_line_row(company.id, invoice_id, position, line))
            flat_lines.append((invoice_id, line))
    line_ids = await bulk_insert(session, InvoiceLine, line_rows, ids=True)
    tax_rows, discount_rows = [], []
    for line_id, (invoice_id, line) in zip(line_ids, flat_lines, strict=True):
        for rate, amount in line.taxes:
            tax_rows.append({"company_id": company.id, "invoice_id": invoice_id,
                             "invoice_line_id": line_id, "tax_rate_id": rate.id,
                             "gl_code_id": rate.gl_code_id, "amount_minor": amount})
        for grant, amount in line.discounts:
            discount_rows.append({"company_id": company.id, "invoice_id": invoice_id,
                                  "invoice_line_id": line_id, "account_discount_id": grant.id,
                                  "name": grant.name[:200], "gl_code_id": grant.gl_code_id,
                                  "amount_minor": amount})
    await bulk_insert(session, InvoiceLineTax, tax_rows)
    await bulk_insert(session, InvoiceLineDiscount, discount_rows)
    if not draft and invoiced:
        ledger_rows = []
        for row, invoice_id, (payer, bill) in zip(invoice_rows, invoice_ids, invoiced,
                                                  strict=True):
            postings = _postings(
                [(li.gl_code_id, li.amount) for li in bill.lines],
                [(g.gl_code_id, a) for li in bill.lines for g, a in li.discounts],
                [(r.gl_code_id, a) for li in bill.lines for r, a in li.taxes])
            ledger_rows += _ledger_rows(company.id, payer.account_id, invoice_id,
                                        f"Invoice {row['number']}", postings, on, now)
        await bulk_insert(session, LedgerEntry, ledger_rows)
        await credits.note_credits(uow, company, [
            (pk, row["account_id"], row["total_minor"], row["number"])
            for pk, row in zip(invoice_ids, invoice_rows, strict=True)])
        credited = await allocation.apply_credits(
            uow, [payer.account_id for payer, _bill in invoiced])
        await allocation.money_applied(uow, company.id, credited)
        await _announce_issued(uow, company, list(zip(invoice_ids, invoice_rows,
                                                      strict=True)))
    await _move_billing(uow, bills, dict(zip([id(b) for _p, b in invoiced], invoice_ids,
                                             strict=True)))
    return len(invoice_ids)


async def _announce_issued(uow: UnitOfWork, company: Any,
                           invoices: list[tuple[int, dict[str, Any]]]) -> None:
    currency = company.currency
    await record_events(uow, [
        {"type": "invoice.issued", "company_id": company.id, "entity_type": "Invoice",
         "entity_id": pk, "payload": {
             "account_id": row["account_id"], "number": row["number"],
             "total": amount_text(row["total_minor"], currency), "currency": currency,
             "due_on": row["due_on"].isoformat()}} for pk, row in invoices])
    await announce_balances(uow, company.id, currency,
                            sorted({row["account_id"] for _pk, row in invoices}))


async def _move_billing(uow: UnitOfWork, bills: list[tuple[Payer, Bill]],
                        invoice_of: dict[int, int]) -> None:
    """Record where billing now stands: items, pending charges, discounts, bill dates."""
    session = uow.session
    items, charges, grants, accounts = [], [], [], []
    for payer, bill in bills:
        for item in payer.plan.items:
            state = bill.items.get(item.id)
            if state is not None and (state.billed_until, state.cycles_billed, state.end) != (
                    item.billed_until, item.cycles_billed, item.end):
                items.append({"id": item.id, "billed_until": state.billed_until,
                              "cycles_billed": state.cycles_billed, "end_date": state.end})
        invoice_id = invoice_of.get(id(bill))
        charges += [{"id": c.id, "invoice_id": invoice_id} for c in payer.plan.charges
                    if c.id is not None and invoice_id is not None]
        used = set(bill.grants_used)
        grants += [{"id": g.id, "cycles_applied": g.cycles_applied + 1}
                   for g in payer.plan.grants if g.id in used]
        accounts += [{"id": pk, "next_bill_date": bill.next_bill_date}
                     for pk in payer.member_ids]
    for model, rows in ((AccountService, items), (PendingCharge, charges),
                        (AccountDiscount, grants), (Account, accounts)):
        await bulk_update(session, model, rows)


# --- invoicing a charge at once -----------------------------------------------------------------

@dataclass(frozen=True)
class ImmediateCharge:
    """A charge invoiced the moment it is made (a manual debit, a returned-payment fee), so
    that every debit the account owes is on an invoice."""

    #: The account whose invoice it is (the payer), and the one the line is for.
    payer_id: int
    account_id: int
    description: str
    amount: int
    gl_code_id: int
    entry_kind: EntryKind


async def invoice_now(uow: UnitOfWork, company: Any, charge: ImmediateCharge, *,
                      payment_id: int | None = None) -> tuple[Invoice, LedgerEntry]:
    """Issue an invoice of the one ``charge`` today (numbered, due after the payer's due
    days, untaxed), post it to the ledger as ``charge.entry_kind`` and put the account's
    credit on it. It has no bill date and no service period."""
    session = uow.session
    # The account, then the invoice counter: the order a billing run takes them in.
    await allocation.lock_account(uow, charge.payer_id)
    today, now = today_in(uow, company), uow.clock.now()
    settings = await company_settings(uow, company.id)
    due_days = await session.scalar(select(AccountBilling.due_days).where(
        AccountBilling.account_id == charge.payer_id))
    first = await _reserve_numbers(uow, company.id, 1)
    invoice = Invoice(
        company_id=company.id, account_id=charge.payer_id, billing_run_id=None,
        number=format_number(settings.invoice_number_format, first, today),
        status=InvoiceStatus.ISSUED, currency=company.currency, bill_date=None,
        period_start=None, period_end=None, issued_on=today,
        due_on=today + timedelta(days=settings.due_days if due_days is None else due_days),
        subtotal_minor=charge.amount, discount_minor=0, tax_minor=0,
        total_minor=charge.amount, paid_minor=0, message="", created_at=now)
    session.add(invoice)
    await session.flush()
    session.add(InvoiceLine(
        company_id=company.id, invoice_id=invoice.id, account_id=charge.account_id, position=1,
        kind=LineKind.MANUAL.value, description=charge.description[:300], quantity=1,
        unit_price_minor=charge.amount, amount_minor=charge.amount, discount_minor=0,
        tax_minor=0, total_minor=charge.amount, gl_code_id=charge.gl_code_id, taxable=False))
    entry = LedgerEntry(
        company_id=company.id, account_id=charge.payer_id, kind=charge.entry_kind,
        amount_minor=charge.amount, gl_code_id=charge.gl_code_id,
        description=charge.description[:300],
        invoice_id=invoice.id, payment_id=payment_id, posted_on=today, created_at=now,
        user_id=uow.actor.user_id)
    session.add(entry)
    await session.flush()
    await allocation.apply_credit(uow, charge.payer_id)
    await _announce_issued(uow, company, [(invoice.id, {
        "account_id": invoice.account_id, "number": invoice.number,
        "total_minor": invoice.total_minor, "due_on": invoice.due_on})])
    return invoice, entry


# --- issuing drafts, voiding ------------------------------------------------------------------

async def _invoice(uow: UnitOfWork, pk: int, field: str = "id") -> Invoice:
    return await load(uow, Invoice, pk, field=field, what="invoice")


async def _take(uow: UnitOfWork, invoice: Invoice, current: InvoiceStatus,
                new: InvoiceStatus) -> bool:
    """Move ``invoice`` from ``current`` to ``new`` only if it is still ``current``: of two
    concurrent issues (or voids) of one invoice, one wins and the other is refused."""
    result = await uow.session.execute(
        update(Invoice).where(Invoice.id == invoice.id, Invoice.status == current)
        .values(status=new).execution_options(synchronize_session=False))
    return result.rowcount == 1


async def issue(uow: UnitOfWork, ids: list[int]) -> list[Invoice]:
    """Issue drafts: number them, post them to the ledger, announce them."""
    if not ids:
        raise DomainError("Name at least one draft invoice.", field="ids",
                          code=ErrorCode.REQUIRED)
    # In id order: two issues of overlapping sets take their row locks in the same order.
    invoices = [await _invoice(uow, pk, "ids") for pk in sorted(set(ids))]
    company_ids = {i.company_id for i in invoices}
    if len(company_ids) > 1:
        raise DomainError("Issue the invoices of one company at a time.", field="ids")
    taken = [await _take(uow, i, InvoiceStatus.DRAFT, InvoiceStatus.ISSUED) for i in invoices]
    if not all(taken):
        raise DomainError(f"Only drafts are issued; {taken.count(False)} of these are not.",
                          field="ids")
    company = await company_of(uow, company_ids.pop())
    catalogue = await load_catalogue(uow, company.id)
    today = today_in(uow, company)
    first = await _reserve_numbers(uow, company.id, len(invoices))
    now = uow.clock.now()
    ledger_rows, announced = [], []
    due_days = dict((await uow.session.execute(
        select(AccountBilling.account_id, AccountBilling.due_days)
        .where(among(uow.session, AccountBilling.account_id,
                         [i.account_id for i in invoices])))).all())
    for index, invoice in enumerate(invoices):
        invoice.number = format_number(catalogue.settings.invoice_number_format,
                                       first + index, today)
        invoice.status = InvoiceStatus.ISSUED
        invoice.issued_on = today
        invoice.due_on = today + timedelta(days=due_days.get(invoice.account_id, 0))
        lines = (await uow.session.execute(select(InvoiceLine.gl_code_id,
                                                  InvoiceLine.amount_minor)
                                           .where(InvoiceLine.invoice_id == invoice.id))).all()
        discounts = (await uow.session.execute(
            select(InvoiceLineDiscount.gl_code_id, InvoiceLineDiscount.amount_minor)
            .where(InvoiceLineDiscount.invoice_id == invoice.id))).all()
        taxes = (await uow.session.execute(
            select(InvoiceLineTax.gl_code_id, InvoiceLineTax.amount_minor)
            .where(InvoiceLineTax.invoice_id == invoice.id))).all()
        ledger_rows += _ledger_rows(company.id, invoice.account_id, invoice.id,
                                    f"Invoice {invoice.number}",
                                    _postings(lines, discounts, taxes), today, now)
        announced.append((invoice.id, {"account_id": invoice.account_id,
                                       "number": invoice.number,
                                       "total_minor": invoice.total_minor,
                                       "due_on": invoice.due_on}))
    await uow.session.flush()
    await bulk_insert(uow.session, LedgerEntry, ledger_rows)
    await credits.note_credits(uow, company, [(i.id, i.account_id, i.total_minor, i.number or "")
                                              for i in invoices])
    credited = await allocation.apply_credits(uow, [i.account_id for i in invoices])
    await allocation.money_applied(uow, company.id, credited)
    await _announce_issued(uow, company, announced)
    return invoices


async def void(uow: UnitOfWork, pk: int, reason: str | None) -> Invoice:
    """Void an invoice: an issued one by reversing its ledger entries; a draft is discarded
    (its period stays billed: the charges it held are not billed again)."""
    invoice = await _invoice(uow, pk)
    text = (reason or "").strip()
    if not text:
        raise DomainError("Give a reason for voiding.", field="reason", code=ErrorCode.REQUIRED)
    # The account first, then the invoice: the order payments take them in (no deadlock).
    await allocation.lock_account(uow, invoice.account_id)
    await uow.session.refresh(invoice)
    was_issued = invoice.status == InvoiceStatus.ISSUED
    if invoice.status == InvoiceStatus.VOID or not await _take(
            uow, invoice, InvoiceStatus(invoice.status), InvoiceStatus.VOID):
        raise DomainError("The invoice is already void.", field="id")
    company = await company_of(uow, invoice.company_id)
    today = today_in(uow, company)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = uow.clock.now()
    invoice.void_reason = text[:500]
    if was_issued:
        await reverse_entries(uow, invoice.id, text, today)
        note = await credits.note_of(uow, invoice)
        if note is not None:
            await credits.withdraw(uow, note)
        for write_off in await allocation.release_invoice(uow, invoice):
            write_off.voided_at = uow.clock.now()  # its entry was the invoice's, reversed
        await fees.waive_late_fee(uow, invoice.id)
    await uow.session.flush()
    record_event(uow, "invoice.voided", company_id=invoice.company_id, entity=invoice,
                 payload={"account_id": invoice.account_id, "number": invoice.number,
                          "reason": text})
    if was_issued:
        await announce_balances(uow, invoice.company_id, company.currency,
                                [invoice.account_id])
        await allocation.money_applied(uow, invoice.company_id, [invoice.account_id])
    return invoice


async def reverse_entries(uow: UnitOfWork, invoice_id: int, reason: str, on: date) -> None:
    """Reverse the invoice's ledger entries not reversed yet (its lines', and a write-off's
    of it)."""
    reversal = aliased(LedgerEntry)
    entries = await uow.session.scalars(select(LedgerEntry).where(
        LedgerEntry.invoice_id == invoice_id, LedgerEntry.kind != EntryKind.REVERSAL,
        ~exists().where(reversal.reverses_id == LedgerEntry.id)))
    for entry in entries:
        uow.session.add(reverse(uow, entry, reason, on))


# --- editing drafts -----------------------------------------------------------------------------

async def _draft_of_line(uow: UnitOfWork, line_id: int) -> tuple[InvoiceLine, Invoice]:
    line = await load(uow, InvoiceLine, line_id, field="id", what="invoice line")
    return line, await _locked_draft(uow, line.invoice_id, "id")


async def _locked_draft(uow: UnitOfWork, pk: int, field: str) -> Invoice:
    """The draft ``pk``, locked for the edit: issuing it waits for the edit to commit (and an
    edit waiting for an issue then finds it issued)."""
    invoice = await _invoice(uow, pk, field)
    await uow.session.execute(select(Invoice.id).where(Invoice.id == invoice.id)
                              .with_for_update())
    await uow.session.refresh(invoice)
    _require_draft(invoice)
    return invoice


def _require_draft(invoice: Invoice) -> None:
    if invoice.status != InvoiceStatus.DRAFT:
        raise DomainError("Only a draft invoice can be edited; an issued one is corrected by "
                          "a credit or a void.", field="id")


async def update_draft_line(uow: UnitOfWork, line_id: int, values: dict[str, Any]
                            ) -> Invoice:
    line, invoice = await _draft_of_line(uow, line_id)
    _apply_line_values(line, values, invoice.currency)
    await _recompute(uow, invoice)
    return invoice


async def add_draft_line(uow: UnitOfWork, values: dict[str, Any]) -> Invoice:
    invoice = await _locked_draft(uow, values["invoice_id"], "invoice_id")
    gl = await load(uow, GlCode, values["gl_code_id"], field="gl_code_id",
                    what="general ledger code", company_id=invoice.company_id)
    positions = await uow.session.scalars(select(InvoiceLine.position).where(
        InvoiceLine.invoice_id == invoice.id))
    line = InvoiceLine(company_id=invoice.company_id, invoice_id=invoice.id,
                       account_id=invoice.account_id, position=max(positions, default=0) + 1,
                       kind=LineKind.MANUAL.value, description="", quantity=1,
                       unit_price_minor=0, amount_minor=0, discount_minor=0, tax_minor=0,
                       total_minor=0, gl_code_id=gl.id,
                       taxable=bool(values.get("taxable", True)))
    _apply_line_values(line, {k: values[k] for k in ("description", "quantity", "unit_price")
                              if k in values}, invoice.currency)
    uow.session.add(line)
    await uow.session.flush()
    await _recompute(uow, invoice)
    return invoice


async def remove_draft_line(uow: UnitOfWork, line_id: int) -> Invoice:
    line, invoice = await _draft_of_line(uow, line_id)
    await uow.session.delete(line)
    await uow.session.flush()
    await _recompute(uow, invoice)
    return invoice


def _apply_line_values(line: InvoiceLine, values: dict[str, Any], currency: str) -> None:
    if "description" in values:
        text = (values["description"] or "").strip()
        if not text:
            raise DomainError("A line needs a description.", field="description",
                              code=ErrorCode.REQUIRED)
        line.description = text[:300]
    if values.get("quantity") is not None:
        if not 1 <= values["quantity"] <= 1_000_000:
            raise DomainError("A quantity is between 1 and 1,000,000.", field="quantity")
        line.quantity = values["quantity"]
    if values.get("unit_price") is not None:
        line.unit_price_minor = to_minor(values["unit_price"], currency, field="unit_price",
                                         allow_negative=True)
    if not line.description:
        raise DomainError("A line needs a description.", field="description",
                          code=ErrorCode.REQUIRED)
    if {"quantity", "unit_price"} & values.keys():
        line.amount_minor = line.quantity * line.unit_price_minor


async def _recompute(uow: UnitOfWork, invoice: Invoice) -> None:
    """After an edit: discounts no larger than their line, taxes again, totals."""
    session = uow.session
    await session.flush()
    lines = list(await session.scalars(select(InvoiceLine).where(
        InvoiceLine.invoice_id == invoice.id).order_by(InvoiceLine.position)))
    discounts = list(await session.scalars(select(InvoiceLineDiscount).where(
        InvoiceLineDiscount.invoice_id == invoice.id)))
    by_line: dict[int, list[InvoiceLineDiscount]] = defaultdict(list)
    for d in discounts:
        by_line[d.invoice_line_id].append(d)
    catalogue = await load_catalogue(uow, invoice.company_id)
    company = await company_of(uow, invoice.company_id)
    engine_lines = []
    for row in lines:
        room = max(row.amount_minor, 0)
        for d in by_line[row.id]:
            d.amount_minor = min(d.amount_minor, room)
            room -= d.amount_minor
        row.discount_minor = sum(d.amount_minor for d in by_line[row.id])
        engine_lines.append(Line(row.account_id, LineKind(row.kind), row.description,
                                 row.quantity, row.unit_price_minor, row.amount_minor,
                                 row.gl_code_id, row.taxable,
                                 Period(row.period_start, row.period_end)
                                 if row.period_start and row.period_end else None))
        engine_lines[-1].discounts = [(None, row.discount_minor)]  # type: ignore[list-item]
    await tax_engine.ENGINE.levy(uow, catalogue, [(invoice.account_id, engine_lines)],
                                 today_in(uow, company))
    existing = list(await session.scalars(select(InvoiceLineTax).where(
        InvoiceLineTax.invoice_id == invoice.id)))
    for tax in existing:
        await session.delete(tax)
    for row, line in zip(lines, engine_lines, strict=True):
        rates: list[tuple[Rate, int]] = line.taxes
        for rate, amount in rates:
            session.add(InvoiceLineTax(company_id=invoice.company_id, invoice_id=invoice.id,
                                       invoice_line_id=row.id, tax_rate_id=rate.id,
                                       gl_code_id=rate.gl_code_id, amount_minor=amount))
        row.tax_minor = line.tax
        row.total_minor = row.amount_minor - row.discount_minor + row.tax_minor
    invoice.subtotal_minor = sum(r.amount_minor for r in lines)
    invoice.discount_minor = sum(r.discount_minor for r in lines)
    invoice.tax_minor = sum(r.tax_minor for r in lines)
    invoice.total_minor = sum(r.total_minor for r in lines)
    await session.flush()
