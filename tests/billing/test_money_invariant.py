"""The books always agree, whatever staff, customers and the jobs do, in any order.

Hypothesis draws sequences of days passing (each day: the billing run, the delinquency sweep
and autopay, as the cron runs them), services added, removed and changed, discounts, payments,
refunds, returned payments (with fees), manual debits and credits, voids of invoices and of
transactions, and write-offs, on two accounts of a company of their own. The operations go
through the domain services the API and the jobs call (the API is exercised by the other
tests; this one runs hundreds of sequences). After every step, for every account:

- the open invoices' amounts due, less the unapplied credit, equal the balance (the sum of
  the ledger);
- no invoice's amount due is negative or above its total; a credit note owes nothing; an
  invoice's amount paid is the sum of its allocations, and each payment's and credit's money
  is either on invoices or unapplied, never both gone and counted;
- credit is never left unapplied beside an open invoice (so autopay, which charges what an
  invoice has left, never charges what is not owed), and autopay's charges are all applied;
- an account is delinquent only while it has an invoice past due with money left on it.

Stripe (for autopay) is the fake of its API: the one service that cannot run here."""

from __future__ import annotations

import contextlib
import itertools
import os
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ispcore.domain.accounts import service as accounts
from ispcore.domain.accounts import settings as account_settings
from ispcore.domain.billing import (
    account_services,
    account_terms,
    catalogue,
    collect,
    delinquency,
    delinquency_settings,
    invoices,
    payment_methods,
    payments,
    runs,
    transactions,
)
from ispcore.domain.billing.collections_models import AccountDelinquency
from ispcore.domain.billing.models import (
    AccountService,
    BillingRunFailure,
    Invoice,
    LedgerEntry,
)
from ispcore.domain.billing.payment_models import Credit, Payment, PaymentAllocation
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.records import local_date
from ispcore.domain.companies import service as companies
from ispcore.domain.identity.actor import SYSTEM
from tests.billing.factories import at

SERVICES = {"fibre": ("DATA", "60.00", 1, True), "tv": ("RECURRING", "20.00", 1, False),
            "quarterly": ("RECURRING", "150.00", 3, True),
            "install": ("ONE_TIME", "99.00", 1, False)}

ACCOUNT = st.integers(0, 1)
PICK = st.integers(0, 30)
AMOUNT = st.one_of(st.integers(1, 20_000), st.sampled_from([6375, 2000, 3188, 1]))
DAYS = st.tuples(st.just("days"), st.sampled_from([1, 3, 9, 15, 30, 31, 45]))
REMOVE = st.tuples(st.just("remove"), ACCOUNT, PICK)
# Days passing and removals are drawn more often: credits come from removals, and reach
# invoices when days pass.
OPERATIONS = st.lists(st.one_of(
    DAYS, DAYS, DAYS, REMOVE,
    st.tuples(st.just("add"), ACCOUNT, st.sampled_from(sorted(SERVICES)), st.integers(1, 2)),
    st.tuples(st.just("remove"), ACCOUNT, PICK),
    st.tuples(st.just("quantity"), ACCOUNT, PICK, st.integers(1, 3)),
    st.tuples(st.just("price"), ACCOUNT, PICK, st.sampled_from(["0", "45.50", "99.99"])),
    st.tuples(st.just("discount"), ACCOUNT, st.sampled_from(["percent", "fixed"]),
              st.sampled_from([None, 1, 2])),
    st.tuples(st.just("pay"), ACCOUNT, AMOUNT),
    st.tuples(st.just("refund"), ACCOUNT, PICK, st.sampled_from([None, 0.5, 2.0])),
    st.tuples(st.just("reverse"), ACCOUNT, PICK, st.booleans()),
    st.tuples(st.just("debit"), ACCOUNT, AMOUNT),
    st.tuples(st.just("credit"), ACCOUNT, AMOUNT),
    st.tuples(st.just("void_invoice"), ACCOUNT, PICK),
    st.tuples(st.just("void_transaction"), ACCOUNT, PICK),
    st.tuples(st.just("write_off"), ACCOUNT, PICK),
    st.tuples(st.just("autopay"), ACCOUNT),
), min_size=1, max_size=12)


SERIAL = itertools.count(1)
#: At least 200 in CI; fewer to try a change quickly.
EXAMPLES = int(os.environ.get("ISPCORE_TEST_EXAMPLES", "200"))


def cash(minor: int) -> Decimal:
    return Decimal(minor) / 100


@dataclass
class Books:
    """A company of its own, with its catalogue, and two customers."""

    runtime: Any
    clock: Any
    stripe: Any
    company: int = 0
    gl: dict[str, int] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)
    discounts: dict[str, int] = field(default_factory=dict)
    accounts: list[int] = field(default_factory=list)
    cards: int = 0

    def uow(self) -> Any:
        return self.runtime.unit_of_work(SYSTEM, action="test")

    async def open(self, serial: int) -> None:
        self.clock.set(at("2026-11-02"))
        async with self.uow() as uow:
            company = await companies.create_company(uow, {
                "name": f"Books {serial}", "currency": "USD", "time_zone": "America/Chicago",
                "country": "US", "subdivision": "IL"})
            self.company = company.id
            status = await account_settings.create_setting(
                uow, account_settings.ACCOUNT_STATUS,
                {"company_id": company.id, "name": "Active", "counts_as_active": True})
            late = await account_settings.create_setting(
                uow, account_settings.ACCOUNT_STATUS,
                {"company_id": company.id, "name": "Delinquent", "counts_as_active": True,
                 "is_delinquent": True})
            kind = await account_settings.create_setting(
                uow, account_settings.ACCOUNT_TYPE, {"company_id": company.id, "name": "Home"})
            for code in ("revenue", "tax", "discounts", "fees", "bad_debt"):
                row = await catalogue.create(uow, catalogue.GL_CODE, {
                    "company_id": company.id, "code": code, "name": code})
                self.gl[code] = row.id
            for name, (kind_, price, months, taxable) in SERVICES.items():
                row = await catalogue.create(uow, catalogue.SERVICE, {
                    "company_id": company.id, "name": name, "kind": kind_, "price": price,
                    "billing_frequency_months": months, "taxable": taxable,
                    "gl_code_id": self.gl["revenue"]})
                self.services[name] = row.id
            await catalogue.create(uow, catalogue.TAX_RATE, {
                "company_id": company.id, "name": "Illinois", "rate": Decimal("6.25"),
                "country": "US", "subdivision": "IL", "gl_code_id": self.gl["tax"]})
            for name, values in (("percent", {"kind": "PERCENT", "percent": Decimal("10")}),
                                 ("fixed", {"kind": "FIXED", "amount": Decimal("5.00")})):
                row = await catalogue.create(uow, catalogue.DISCOUNT, {
                    "company_id": company.id, "name": name, "applies_to": "ACCOUNT",
                    "gl_code_id": self.gl["discounts"], **values})
                self.discounts[name] = row.id
            await delinquency_settings.update_delinquency_settings(uow, company.id, {
                "enabled": True, "days_overdue": 5, "delinquent_status_id": late.id,
                "late_fee_kind": "FIXED", "late_fee_amount": Decimal("5.00"),
                "late_fee_days": 10, "fee_gl_code_id": self.gl["fees"]})
            await payments.update_payment_settings(uow, company.id, {
                "returned_payment_fee": Decimal("25.00")})
            for name in ("First", "Second"):
                account = await accounts.create_account(uow, {
                    "company_id": company.id, "name": name, "account_type_id": kind.id,
                    "account_status_id": status.id})
                self.accounts.append(account.id)
        # Both bill from today: fibre, and TV with it on the second account.
        for index, service in ((0, "fibre"), (1, "fibre"), (1, "tv")):
            await self._add(index, service, 1)
        await self._days(0)

    # --- the operations -------------------------------------------------------------------

    async def step(self, op: tuple[Any, ...]) -> None:
        with contextlib.suppress(DomainError):  # refused: each is one unit of work
            await getattr(self, f"_{op[0]}")(*op[1:])

    async def _days(self, days: int) -> None:
        """Days pass; then the cron's billing run (it bills every cycle due by today, as
        after days without one), delinquency sweep and autopay."""
        self.clock.set(self.clock.now() + timedelta(days=days))
        async with self.uow() as uow:
            run = await runs.request_run(uow, self.company, None)
        await self.runtime.jobs.drain()  # the run's job, and what its events set off
        async with self.uow() as uow:
            failures = list(await uow.session.scalars(select(BillingRunFailure.reason).where(
                BillingRunFailure.billing_run_id == run.id)))
        assert failures == [], failures
        await delinquency.sweep_company(self.uow, self.company)
        await self._autopay(None)

    async def _autopay(self, index: int | None) -> None:
        if index is not None:
            await self._card(self.accounts[index])
        before = await self._amounts_due()
        started = self.clock.now()
        await collect.autopay(self.uow, company_id=self.company)
        async with self.uow() as uow:
            charged = list(await uow.session.scalars(select(Payment).where(
                Payment.company_id == self.company, Payment.autopay_invoice_id.is_not(None),
                Payment.created_at >= started)))
        assert sum(p.amount_minor for p in charged) <= sum(before.values()), charged
        assert all(p.unallocated_minor == 0 for p in charged), "autopay charged unowed money"

    async def _card(self, account_id: int) -> None:
        self.cards += 1
        token = self.stripe.card(f"pm_Books{self.company}x{self.cards}",
                                 customer=f"cus_Books{self.company}x{self.cards}")
        async with self.uow() as uow:
            await payment_methods.add_payment_method(uow, {
                "account_id": account_id, "kind": "CARD", "processor": "STRIPE",
                "token": token, "autopay": True, "make_default": True})

    async def _amounts_due(self) -> dict[int, int]:
        async with self.uow() as uow:
            rows = await uow.session.execute(
                select(Invoice.account_id, func.sum(Invoice.total_minor - Invoice.paid_minor))
                .where(Invoice.company_id == self.company, Invoice.status == "ISSUED",
                       Invoice.paid_minor < Invoice.total_minor)
                .group_by(Invoice.account_id))
            return {a: int(t) for a, t in rows}

    async def _pick(self, model: Any, index: int, pick: int, *where: Any) -> int | None:
        async with self.uow() as uow:
            ids = list(await uow.session.scalars(select(model.id).where(
                model.account_id == self.accounts[index], *where).order_by(model.id)))
        return ids[pick % len(ids)] if ids else None

    async def _item(self, index: int, pick: int) -> int | None:
        return await self._pick(AccountService, index, pick, AccountService.end_date.is_(None),
                                AccountService.bundle_id.is_(None))

    async def _add(self, index: int, service: str, quantity: int) -> None:
        async with self.uow() as uow:
            await account_services.add_service(uow, {
                "account_id": self.accounts[index], "service_id": self.services[service],
                "quantity": quantity})

    async def _remove(self, index: int, pick: int) -> None:
        if (pk := await self._item(index, pick)) is not None:
            async with self.uow() as uow:
                await account_services.remove(uow, pk, None)

    async def _quantity(self, index: int, pick: int, quantity: int) -> None:
        if (pk := await self._item(index, pick)) is not None:
            async with self.uow() as uow:
                await account_services.change_quantity(uow, pk, quantity, None)

    async def _price(self, index: int, pick: int, price: str) -> None:
        if (pk := await self._item(index, pick)) is not None:
            async with self.uow() as uow:
                await account_services.change_price(uow, pk, Decimal(price), None, None)

    async def _discount(self, index: int, kind: str, cycles: int | None) -> None:
        async with self.uow() as uow:
            await account_terms.give_discount(uow, {
                "account_id": self.accounts[index], "discount_id": self.discounts[kind],
                "cycles": cycles})

    async def _pay(self, index: int, amount: int) -> None:
        async with self.uow() as uow:
            await payments.create_payment(uow, {
                "account_id": self.accounts[index], "amount": cash(amount), "method": "CASH"})

    async def _refund(self, index: int, pick: int, share: float | None) -> None:
        if (pk := await self._pick(Payment, index, pick)) is None:
            return
        async with self.uow() as uow:
            payment = await uow.session.get_one(Payment, pk)
            amount = None if share is None else cash(
                max(1, int((payment.amount_minor - payment.refunded_minor) * share)))
            await payments.refund_payment(uow, pk, amount, "test")

    async def _reverse(self, index: int, pick: int, fee: bool) -> None:
        if (pk := await self._pick(Payment, index, pick)) is not None:
            async with self.uow() as uow:
                await payments.reverse_payment(uow, pk, "NSF", None, fee)

    async def _manual(self, index: int, kind: str, amount: int) -> None:
        async with self.uow() as uow:
            await transactions.post_manual(uow, {
                "account_id": self.accounts[index], "type": kind, "amount": cash(amount),
                "gl_code_id": self.gl["fees"], "description": kind.lower()})

    async def _debit(self, index: int, amount: int) -> None:
        await self._manual(index, "DEBIT", amount)

    async def _credit(self, index: int, amount: int) -> None:
        await self._manual(index, "CREDIT", amount)

    async def _void_invoice(self, index: int, pick: int) -> None:
        if (pk := await self._pick(Invoice, index, pick)) is not None:
            async with self.uow() as uow:
                await invoices.void(uow, pk, "test")

    async def _void_transaction(self, index: int, pick: int) -> None:
        if (pk := await self._pick(LedgerEntry, index, pick, LedgerEntry.kind.in_(
                ("MANUAL_DEBIT", "MANUAL_CREDIT", "WRITE_OFF")))) is not None:
            async with self.uow() as uow:
                await transactions.void_entry(uow, pk, "test")

    async def _write_off(self, index: int, pick: int) -> None:
        if (pk := await self._pick(Invoice, index, pick, Invoice.status == "ISSUED")) is not None:
            async with self.uow() as uow:
                await transactions.write_off(uow, {"invoice_id": pk, "reason": "test",
                                                   "gl_code_id": self.gl["bad_debt"]})

    # --- the invariants -------------------------------------------------------------------

    async def check(self) -> None:
        async with self.uow() as uow:
            today = local_date(self.clock.now(), "America/Chicago")
            for account_id in self.accounts:
                await check_account(uow.session, account_id, today)


async def _all(session: Any, model: Any, account_id: int) -> list[Any]:
    return list(await session.scalars(select(model).where(model.account_id == account_id)))


async def check_account(session: Any, account_id: int, today: Any) -> None:
    entries = await _all(session, LedgerEntry, account_id)
    balance = sum(e.amount_minor for e in entries)
    invoices_ = await _all(session, Invoice, account_id)
    payments_ = [p for p in await _all(session, Payment, account_id) if p.status == "COMPLETED"]
    credits_ = await _all(session, Credit, account_id)
    shares: dict[tuple[str, int], int] = {}
    on_invoice: dict[int, int] = {}
    for a in await session.scalars(select(PaymentAllocation).where(PaymentAllocation.invoice_id
                                                                   .in_([i.id for i in invoices_]
                                                                        or [0]))):
        source = ("payment", a.payment_id) if a.payment_id else ("credit", a.credit_id)
        shares[source] = shares.get(source, 0) + a.amount_minor
        on_invoice[a.invoice_id] = on_invoice.get(a.invoice_id, 0) + a.amount_minor
    open_ = [i for i in invoices_ if i.status == "ISSUED" and i.paid_minor < i.total_minor]
    due = sum(i.total_minor - i.paid_minor for i in open_)
    unapplied = (sum(p.unallocated_minor for p in payments_)
                 + sum(c.unallocated_minor for c in credits_))
    assert due - unapplied == balance, (due, unapplied, balance)
    for i in invoices_:
        assert i.paid_minor == on_invoice.get(i.id, 0), i.id
        assert i.paid_minor >= 0, i.id
        if i.status == "VOID" or i.total_minor < 0:
            assert i.paid_minor == 0, (i.id, i.status, i.total_minor, i.paid_minor)
        else:
            assert i.paid_minor <= i.total_minor, i.id
    assert not (unapplied and open_), ("credit left beside an open invoice", unapplied)
    for p in payments_:
        assert p.unallocated_minor >= 0
        assert shares.get(("payment", p.id), 0) + p.unallocated_minor == (
            p.amount_minor - p.refunded_minor), p.id
    for c in credits_:
        on = shares.get(("credit", c.id), 0)
        assert c.unallocated_minor >= 0
        assert on + c.unallocated_minor == (0 if c.voided_at else c.amount_minor), c.id
    delinquent = await session.scalar(select(AccountDelinquency.id).where(
        AccountDelinquency.account_id == account_id))
    if delinquent is not None:
        assert any(i.due_on is not None and i.due_on < today for i in open_), (
            "delinquent with nothing past due")


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPERATIONS)
async def test_the_books_always_agree(runtime: Any, clock: Any, stripe: Any,
                                      ops: list[tuple[Any, ...]]) -> None:
    start = clock.now()
    books = Books(runtime, clock, stripe)
    await books.open(next(SERIAL))
    try:
        # A month passes at the end: what the steps left pending (a removal's credit, say)
        # is billed, swept and autopaid too.
        for op in [*ops, ("days", 31)]:
            await books.step(op)
            await books.check()
    finally:
        clock.set(start)
