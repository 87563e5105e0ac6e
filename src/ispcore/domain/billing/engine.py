"""What an account's next invoice holds: a pure function of its billing plan (terms, items,
pending charges, discounts, vacations, tax rates) and a date. The billing run, the billing
calculator and every service change use it; nothing here reads or writes the database.

Taxes are levied afterwards (:func:`levy`, through a tax engine), since where an account is
taxed and what it is exempt from live outside its plan.

An *item* is something billed per cycle (a service or a package on the account). Each item
remembers ``billed_until``: the day its billing has reached. A run bills every item from there
up to the run's horizon; a change to an item (quantity, price, removal) first *settles* it at
the day of the change under its old terms (a credit for days billed ahead, a debit for days
not billed yet), so the run bills the new terms from that day on.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from ispcore.domain.billing.calendar import Period, cycle_containing
from ispcore.domain.billing.discounts import allocate, percent_off
from ispcore.domain.billing.money import Rounding
from ispcore.domain.billing.proration import portion
from ispcore.domain.billing.taxes import Rate, tax_on


class BillingMode(StrEnum):
    ANNIVERSARY = "ANNIVERSARY"
    FIXED_DAY = "FIXED_DAY"


class VacationBilling(StrEnum):
    NOTHING = "NOTHING"
    VACATION_PRICE = "VACATION_PRICE"


class LineKind(StrEnum):
    SERVICE = "SERVICE"
    PRORATED = "PRORATED"
    VACATION = "VACATION"
    ONE_TIME = "ONE_TIME"
    ADJUSTMENT = "ADJUSTMENT"
    MANUAL = "MANUAL"
    #: Data usage over the allowance (or a late-usage correction of it).
    USAGE = "USAGE"


@dataclass(frozen=True)
class Terms:
    anchor_day: int
    in_advance: bool
    prorate: bool
    rounding: Rounding
    vacation_billing: VacationBilling


@dataclass
class Item:
    id: int
    account_id: int
    description: str
    unit_price: int
    quantity: int
    months: int
    one_time: bool
    start: date
    end: date | None
    billed_until: date | None
    taxable: bool
    gl_code_id: int
    cycles_billed: int = 0
    max_cycles: int | None = None
    vacation_price: int | None = None
    service_id: int | None = None
    package_id: int | None = None


@dataclass
class Charge:
    """A charge or credit waiting for the next invoice (from a change, or added by staff)."""

    id: int | None
    account_id: int
    description: str
    amount: int
    quantity: int
    unit_price: int
    gl_code_id: int
    taxable: bool
    period: Period | None = None
    item_id: int | None = None
    service_id: int | None = None
    package_id: int | None = None
    #: The usage period a usage charge bills.
    usage_period_id: int | None = None

    @property
    def kind(self) -> LineKind:
        if self.usage_period_id is not None:
            return LineKind.USAGE
        return LineKind.ADJUSTMENT if self.item_id else LineKind.MANUAL


@dataclass
class Grant:
    """A discount given to an account: on its whole bill, or on one service or package."""

    id: int
    account_id: int
    name: str
    gl_code_id: int
    percent_scaled: int | None
    amount: int | None
    service_id: int | None
    package_id: int | None
    cycles: int | None
    cycles_applied: int
    until: date | None


@dataclass
class Line:
    account_id: int
    kind: LineKind
    description: str
    quantity: int
    unit_price: int
    amount: int
    gl_code_id: int
    taxable: bool
    period: Period | None = None
    item_id: int | None = None
    charge_id: int | None = None
    service_id: int | None = None
    package_id: int | None = None
    #: The account service the line is about (an item's, or a change's); ``item_id`` is set
    #: only on lines that bill an item (discounts apply to those).
    account_service_id: int | None = None
    #: (grant, amount) per discount taken off this line.
    discounts: list[tuple[Grant, int]] = field(default_factory=list)
    #: (rate, amount) per tax levied on this line.
    taxes: list[tuple[Rate, int]] = field(default_factory=list)

    @property
    def discount(self) -> int:
        return sum(amount for _grant, amount in self.discounts)

    @property
    def tax(self) -> int:
        return sum(amount for _rate, amount in self.taxes)

    @property
    def total(self) -> int:
        return self.amount - self.discount + self.tax


@dataclass
class Plan:
    account_id: int
    next_bill_date: date
    terms: Terms
    items: list[Item]
    charges: list[Charge] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    vacations: list[Period] = field(default_factory=list)
    #: Charged on every invoice the plan makes, but never making one alone (a printed
    #: invoice fee); not discounted.
    invoice_fees: list[Charge] = field(default_factory=list)


@dataclass
class ItemState:
    billed_until: date | None
    cycles_billed: int
    end: date | None


#: Lines that bill the account's service for a span of days (not adjustments of earlier
#: periods, one-time charges or fees).
SERVICE_KINDS = frozenset({LineKind.SERVICE, LineKind.PRORATED, LineKind.VACATION,
                           LineKind.USAGE})


@dataclass
class Bill:
    #: The cycle the bill date closes or opens (what discounts' ``until`` is compared with).
    window: Period
    next_bill_date: date
    lines: list[Line]
    items: dict[int, ItemState]
    grants_used: list[int]

    @property
    def period(self) -> Period | None:
        """The service the invoice bills: from the earliest service line's first day to the
        latest one's end (a quarterly service billed with monthly ones spans the quarter);
        None when no line bills a service period (credits only, fees, one-time charges)."""
        spans = [line.period for line in self.lines
                 if line.kind in SERVICE_KINDS and line.period is not None]
        if not spans:
            return None
        return Period(min(p.start for p in spans), max(p.end for p in spans))

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def discount_total(self) -> int:
        return sum(line.discount for line in self.lines)

    @property
    def tax_total(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)


def first_bill_date(activation: date, terms: Terms) -> date:
    """In advance, an account is first billed on its activation day (a first, partial cycle
    up to the bill day when the mode is a fixed day); in arrears, at the end of that cycle."""
    return activation if terms.in_advance else cycle_containing(activation, terms.anchor_day).end


def window(bill_date: date, terms: Terms) -> tuple[Period, date, date]:
    """(the invoice's period, the day items are billed up to, the next bill date)."""
    cycle = cycle_containing(bill_date, terms.anchor_day)
    if terms.in_advance:
        return Period(bill_date, cycle.end), cycle.end, cycle.end
    previous = cycle_containing(bill_date - timedelta(days=1), terms.anchor_day)
    return Period(previous.start, bill_date), bill_date, cycle.end


def _vacation_split(part: Period, vacations: list[Period]) -> list[tuple[Period, bool]]:
    """``part`` cut into runs of days off and on vacation."""
    if not vacations:
        return [(part, False)]
    cuts = {part.start, part.end}
    for v in vacations:
        for day in (v.start, v.end):
            if part.start < day < part.end:
                cuts.add(day)
    points = sorted(cuts)
    out = []
    for lo, hi in itertools.pairwise(points):
        on_vacation = any(v.start <= lo < v.end for v in vacations)
        out.append((Period(lo, hi), on_vacation))
    return out


def item_lines(item: Item, cycle: Period, part: Period, terms: Terms,
               vacations: list[Period]) -> list[Line]:
    """The lines billing ``part`` of one ``cycle`` of ``item`` costs."""
    lines = []
    segments = _vacation_split(part, vacations)
    for segment, on_vacation in segments:
        if on_vacation:
            unit = (item.vacation_price or 0
                    if terms.vacation_billing is VacationBilling.VACATION_PRICE else 0)
            if unit == 0:
                continue
        else:
            unit = item.unit_price
        full = unit * item.quantity
        whole = segment == cycle
        if whole or (not terms.prorate and len(segments) == 1):
            amount = full
        else:
            amount = portion(full, cycle, segment, terms.rounding)
        kind = (LineKind.VACATION if on_vacation else
                LineKind.SERVICE if whole or amount == full else LineKind.PRORATED)
        if amount == 0 and unit != 0:
            continue
        lines.append(Line(item.account_id, kind, item.description, item.quantity, unit, amount,
                          item.gl_code_id, item.taxable, segment, item_id=item.id,
                          account_service_id=item.id,
                          service_id=item.service_id, package_id=item.package_id))
    return lines


def bill_item(item: Item, through: date, terms: Terms, vacations: list[Period], *,
              whole_cycles_only: bool) -> tuple[list[Line], ItemState]:
    """Bill ``item`` from where its billing stands up to ``through``. With
    ``whole_cycles_only`` (in arrears) a cycle is billed only once it has ended."""
    state = ItemState(item.billed_until, item.cycles_billed, item.end)
    if item.one_time:
        if item.billed_until is None and item.start < through and (
                item.end is None or item.end > item.start):
            state.billed_until = item.start
            return [Line(item.account_id, LineKind.ONE_TIME, item.description, item.quantity,
                         item.unit_price, item.unit_price * item.quantity, item.gl_code_id,
                         item.taxable, item_id=item.id, account_service_id=item.id,
                         service_id=item.service_id,
                         package_id=item.package_id)], state
        return [], state
    lines: list[Line] = []
    start = item.billed_until or item.start
    billed = False
    while start < through and (state.end is None or start < state.end):
        cycle = cycle_containing(start, terms.anchor_day, item.months)
        # The rest of a cycle whose start was billed already (a change settled it part-way)
        # is not a new cycle: it does not count towards an expiring service's cycles.
        continuing = (not billed and item.billed_until is not None
                      and start not in (cycle.start, item.start))
        if (not continuing and item.max_cycles is not None
                and state.cycles_billed >= item.max_cycles):
            break
        part = cycle.clip(start, state.end)
        assert part is not None
        if whole_cycles_only and part.end > through:
            break
        lines += item_lines(item, cycle, part, terms, vacations)
        state.cycles_billed += 0 if continuing else 1
        billed = True
        start = part.end
        if item.max_cycles is not None and state.cycles_billed >= item.max_cycles:
            state.end = start if start == cycle.end else state.end
    if billed:
        state.billed_until = start
    return lines, state


def cycles_beginning(item: Item, lo: date, hi: date, terms: Terms) -> int:
    """How many of ``item``'s cycles begin on a day in ``[lo, hi)`` (its first one begins on
    its start day, even mid-cycle): what billing those days counts, or un-billing them
    takes back, towards an expiring service's cycles."""
    count, day = 0, lo
    while day < hi:
        cycle = cycle_containing(day, terms.anchor_day, item.months)
        count += day in (cycle.start, item.start)
        day = cycle.end
    return count


def settle(item: Item, on: date, terms: Terms, vacations: list[Period]) -> list[Charge]:
    """Charges that bring ``item``'s billing to exactly ``on`` under its current terms: a
    debit for days not billed yet, a credit for days billed ahead. Sets ``billed_until`` to
    ``on``. Without proration a change waits for the next cycle and nothing is settled."""
    if item.one_time or not terms.prorate:
        return []
    start = item.billed_until or item.start
    if on == start or (item.billed_until is None and on <= item.start):
        return []
    sign = 1 if on > start else -1
    lo, hi = (start, on) if sign > 0 else (on, start)
    item.cycles_billed += sign * cycles_beginning(item, lo, hi, terms)
    charges: list[Charge] = []
    day = lo
    while day < hi:
        cycle = cycle_containing(day, terms.anchor_day, item.months)
        part = cycle.clip(day, hi)
        assert part is not None
        for line in item_lines(item, cycle, part, terms, vacations):
            what = "Charge" if sign > 0 else "Credit"
            charges.append(Charge(
                None, item.account_id, f"{what}: {line.description}", sign * line.amount,
                line.quantity, sign * line.unit_price, line.gl_code_id, line.taxable,
                line.period, item_id=item.id, service_id=item.service_id,
                package_id=item.package_id))
        day = part.end
    item.billed_until = on
    return charges


@dataclass(frozen=True)
class Charged:
    """What an account was charged for an item over a period (an invoice line, or a charge
    still pending), with the discounts taken off it as (name, ledger code, amount)."""

    amount: int
    period: Period
    gl_code_id: int
    taxable: bool
    discounts: tuple[tuple[str, int, int], ...] = ()


def refund(item: Item, on: date, charged: list[Charged], terms: Terms) -> list[Charge]:
    """Credits for ``item``'s days from ``on`` to where its billing stands, from what was
    actually charged for them (at the prices, quantities, vacations and discounts of the
    time): each charge's share of those days, and back each discount's share. Sets
    ``billed_until`` to ``on``."""
    assert item.billed_until is not None and on < item.billed_until
    days = Period(on, item.billed_until)
    item.cycles_billed -= cycles_beginning(item, on, item.billed_until, terms)
    credits: list[Charge] = []
    for source in charged:
        overlap = source.period.clip(days.start, days.end)
        if overlap is None:
            continue
        share = portion(source.amount, source.period, overlap, terms.rounding)
        if share:
            credits.append(Charge(None, item.account_id, f"Credit: {item.description}",
                                  -share, item.quantity, -share, source.gl_code_id,
                                  source.taxable, overlap, item_id=item.id,
                                  service_id=item.service_id, package_id=item.package_id))
        for name, gl_code_id, amount in source.discounts:
            returned = portion(amount, source.period, overlap, terms.rounding)
            if returned:
                credits.append(Charge(None, item.account_id, f"Discount returned: {name}",
                                      returned, 1, returned, gl_code_id, source.taxable,
                                      overlap, item_id=item.id))
    item.billed_until = on
    return credits


def _apply_discounts(lines: list[Line], grants: list[Grant], period: Period,
                     rule: Rounding) -> list[int]:
    used = []
    for grant in grants:
        if grant.cycles is not None and grant.cycles_applied >= grant.cycles:
            continue
        if grant.until is not None and period.start > grant.until:
            continue
        targets = [line for line in lines
                   if line.item_id is not None and line.account_id == grant.account_id
                   and line.amount - line.discount > 0
                   and (grant.service_id is None or line.service_id == grant.service_id)
                   and (grant.package_id is None or line.package_id == grant.package_id)]
        if grant.percent_scaled is not None:
            shares = [percent_off(t.amount - t.discount, grant.percent_scaled, rule)
                      for t in targets]
        else:
            shares = allocate(grant.amount or 0, [t.amount - t.discount for t in targets])
        for target, share in zip(targets, shares, strict=True):
            if share:
                target.discounts.append((grant, share))
        if any(shares):
            used.append(grant.id)
    return used


def bill(plan: Plan) -> Bill:
    """The invoice ``plan``'s account gets on its next bill date, and where each item's
    billing stands afterwards."""
    terms = plan.terms
    cycle, through, next_date = window(plan.next_bill_date, terms)
    lines: list[Line] = []
    states: dict[int, ItemState] = {}
    for item in plan.items:
        item_lines_, state = bill_item(item, through, terms, plan.vacations,
                                       whole_cycles_only=not terms.in_advance)
        lines += item_lines_
        states[item.id] = state
    for charge in plan.charges:
        lines.append(Line(charge.account_id, charge.kind, charge.description, charge.quantity,
                          charge.unit_price, charge.amount, charge.gl_code_id, charge.taxable,
                          charge.period, item_id=None, charge_id=charge.id,
                          account_service_id=charge.item_id,
                          service_id=charge.service_id, package_id=charge.package_id))
    used = _apply_discounts(lines, plan.grants, cycle, terms.rounding)
    if lines:
        lines += [Line(fee.account_id, LineKind.MANUAL, fee.description, fee.quantity,
                       fee.unit_price, fee.amount, fee.gl_code_id, fee.taxable)
                  for fee in plan.invoice_fees]
    return Bill(cycle, next_date, lines, states, used)


def levy(lines: list[Line], rates: list[Rate], rule: Rounding) -> None:
    """Tax each taxable line's net amount at every one of ``rates`` (replacing its taxes)."""
    for line in lines:
        line.taxes = []
        if line.taxable:
            for rate in rates:
                amount = tax_on(line.amount - line.discount, rate.rate_scaled, rule)
                if amount:
                    line.taxes.append((rate, amount))
