"""The variables a message template may use, per trigger event type, and their values for an
account (and the event's invoice, payment, usage or service), read from the database.

Values are plain: strings, numbers, dates and money as :class:`Amount` (prints in the
company's currency, ``.value`` is the Decimal for conditions such as
``{% if account.balance.value > 0 %}``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ispcore.db import among
from ispcore.domain.accounts.models import Account
from ispcore.domain.billing.documents_render import amount
from ispcore.domain.billing.ledger import balances
from ispcore.domain.billing.models import Invoice, Package, Service
from ispcore.domain.billing.money import to_minor
from ispcore.domain.common.records import today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.models import Event


class EventType(StrEnum):
    """What a trigger fires on: the events ispcore records (exact names), and
    ``invoice.due_soon``, fired by a daily job ``days_before`` an invoice is due."""

    INVOICE_ISSUED = "invoice.issued"
    INVOICE_DUE_SOON = "invoice.due_soon"
    PAYMENT_RECEIVED = "payment.received"
    PAYMENT_FAILED = "payment.failed"
    ACCOUNT_DELINQUENT = "account.delinquent"
    USAGE_THRESHOLD_REACHED = "usage.threshold_reached"
    SERVICE_ADDED = "account_service.added"


class VariableType(StrEnum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    MONEY = "MONEY"
    DATE = "DATE"


@dataclass(frozen=True)
class Variable:
    name: str
    type: VariableType
    description: str
    example: str


def _v(name: str, kind: VariableType, description: str, example: str) -> Variable:
    return Variable(name, kind, description, example)


T, N, M, D = VariableType.TEXT, VariableType.NUMBER, VariableType.MONEY, VariableType.DATE

#: Every message may use these (mass messages and saved messages only these).
ACCOUNT_VARIABLES = (
    _v("account.name", T, "The account's name.", "Jane Doe"),
    _v("account.number", T, "The account number (empty if none).", "A-1001"),
    _v("account.balance", M, "What the account owes now (negative: in credit).", "$64.00"),
    _v("company.name", T, "Your company's name.", "Acme Fibre"),
    _v("contact.name", T, "The contact the message is written to.", "Jane Doe"),
    _v("today", D, "Today's date in the company's time zone.", "2026-12-01"),
)
_INVOICE = (
    _v("invoice.number", T, "The invoice number.", "INV-000042"),
    _v("invoice.total", M, "The invoice total.", "$64.00"),
    _v("invoice.remaining", M, "What is still to pay on it.", "$64.00"),
    _v("invoice.due_date", D, "When it is due.", "2026-12-15"),
)
EVENT_VARIABLES: dict[EventType, tuple[Variable, ...]] = {
    EventType.INVOICE_ISSUED: _INVOICE,
    EventType.INVOICE_DUE_SOON: (*_INVOICE, _v("invoice.days_until_due", N,
                                               "Days from today to the due date.", "3")),
    EventType.PAYMENT_RECEIVED: (
        _v("payment.amount", M, "The amount received.", "$50.00"),
        _v("payment.method", T, "How it was paid.", "CREDIT_CARD")),
    EventType.PAYMENT_FAILED: (
        _v("payment.amount", M, "The amount that failed.", "$50.00"),
        _v("payment.method", T, "How it was to be paid.", "CREDIT_CARD"),
        _v("payment.reason", T, "Why it failed.", "Card declined")),
    EventType.ACCOUNT_DELINQUENT: (
        _v("delinquency.overdue", M, "The overdue amount.", "$128.00"),
        _v("delinquency.invoice_numbers", T, "The overdue invoices, comma separated.",
           "INV-000041, INV-000042")),
    EventType.USAGE_THRESHOLD_REACHED: (
        _v("usage.percent", N, "The threshold reached, in percent of the allowance.", "80"),
        _v("usage.used_gb", N, "Billable GB used this period.", "412.5"),
        _v("usage.allowance_gb", N, "The period's allowance in GB.", "500"),
        _v("usage.period_end", D, "The period's last day.", "2026-12-31")),
    EventType.SERVICE_ADDED: (
        _v("service.name", T, "The service (or package) added.", "Fibre 100"),
        _v("service.quantity", N, "How many.", "1"),
        _v("service.start_date", D, "When it starts.", "2026-12-01")),
}


def catalogue(event_type: str | None) -> tuple[Variable, ...]:
    """What a template for ``event_type`` may use (None: a mass or saved message)."""
    extra = EVENT_VARIABLES.get(EventType(event_type), ()) if event_type else ()
    return (*ACCOUNT_VARIABLES, *extra)


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"account.name": x}`` -> ``{"account": {"name": x}}``."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, leaf = name.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


async def account_values(uow: UnitOfWork, company: Any, account_ids: list[int]
                         ) -> dict[int, dict[str, Any]]:
    """The account variables of many accounts at once (no contact)."""
    owed = await balances(uow.session, account_ids)
    rows = await uow.session.execute(select(Account.id, Account.name, Account.account_number)
                                     .where(among(uow.session, Account.id, account_ids)))
    today = today_in(uow, company)
    return {pk: {"account.name": name, "account.number": number or "",
                 "account.balance": amount(owed[pk], company.currency),
                 "company.name": company.name, "today": today}
            for pk, name, number in rows}


def _money(value: str | None, currency: str) -> Any:
    return amount(to_minor(value or "0", currency), currency)


async def invoice_values(uow: UnitOfWork, company: Any, invoice: Invoice) -> dict[str, Any]:
    due = invoice.due_on
    values = {"invoice.number": invoice.number or "",
              "invoice.total": amount(invoice.total_minor, invoice.currency),
              "invoice.remaining": amount(invoice.total_minor - invoice.paid_minor,
                                          invoice.currency),
              "invoice.due_date": due}
    if due is not None:
        values["invoice.days_until_due"] = (due - today_in(uow, company)).days
    return values


def _named(event: Event) -> tuple[Any, int] | None:
    """The record whose variables the event's message shows (its model and id), if any."""
    from ispcore.domain.billing.payment_models import Payment

    kind, p = EventType(event.type), event.payload
    if kind is EventType.INVOICE_ISSUED:
        return Invoice, event.entity_id
    if kind in (EventType.PAYMENT_RECEIVED, EventType.PAYMENT_FAILED):
        return Payment, event.entity_id
    if kind is EventType.SERVICE_ADDED:
        return (Service, p["service_id"]) if "service_id" in p else (Package, p["package_id"])
    return None


async def events_values(uow: UnitOfWork, company: Any, events: list[Event]
                        ) -> dict[int, dict[str, Any]]:
    """Each event's own variables (an invoice's, a payment's, …), by event id, for many
    events of ``company``: one query per kind of record they name."""
    wanted: dict[Any, set[int]] = defaultdict(set)
    for event in events:
        named = _named(event)
        if named is not None:
            wanted[named[0]].add(named[1])
    records: dict[tuple[Any, int], Any] = {}
    for model, ids in wanted.items():
        for row in await uow.session.scalars(
                select(model).where(among(uow.session, model.id, sorted(ids)))):
            records[model, row.id] = row
    out = {}
    for event in events:
        named = _named(event)
        out[event.id] = await _event_values(uow, company, event,
                                            None if named is None else records[named])
    return out


async def _event_values(uow: UnitOfWork, company: Any, event: Event, record: Any
                        ) -> dict[str, Any]:
    p, currency = event.payload, company.currency
    kind = EventType(event.type)
    if kind is EventType.INVOICE_ISSUED:
        return await invoice_values(uow, company, record)
    if kind in (EventType.PAYMENT_RECEIVED, EventType.PAYMENT_FAILED):
        return {"payment.amount": _money(p.get("amount"), currency),
                "payment.method": record.method, "payment.reason": p.get("reason", "")}
    if kind is EventType.ACCOUNT_DELINQUENT:
        return {"delinquency.overdue": _money(p.get("overdue"), currency),
                "delinquency.invoice_numbers": ", ".join(
                    n for n in p.get("invoice_numbers", []) if n)}
    if kind is EventType.USAGE_THRESHOLD_REACHED:
        return {"usage.percent": p["percent"],
                "usage.used_gb": round(p["used_bytes"] / 10**9, 1),
                "usage.allowance_gb": round(p["allowance_bytes"] / 10**9, 1),
                "usage.period_end": (date.fromisoformat(p["period_end"])
                                     - timedelta(days=1))}
    if kind is EventType.SERVICE_ADDED:
        return {"service.name": record.name, "service.quantity": p.get("quantity", 1),
                "service.start_date": date.fromisoformat(p["start_date"])}
    return {}


def event_account_id(event: Event) -> int | None:
    if event.type == EventType.ACCOUNT_DELINQUENT:
        return event.entity_id
    return event.payload.get("account_id")


def context(values: dict[str, Any], contact_name: str) -> dict[str, Any]:
    """The template context: the flat values nested, with the contact."""
    return _nest({**values, "contact.name": contact_name})
