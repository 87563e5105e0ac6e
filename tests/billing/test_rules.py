"""The pure billing rules: money, the calendar, proration, discounts, taxes and the engine
that combines them. Property tests (hypothesis) check the invariants over many cases."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ispcore.domain.billing.calendar import Period, add_months, cycle_containing
from ispcore.domain.billing.discounts import allocate, percent_off
from ispcore.domain.billing.engine import (
    Grant,
    Item,
    LineKind,
    Plan,
    Terms,
    VacationBilling,
    bill,
    first_bill_date,
    levy,
    settle,
    window,
)
from ispcore.domain.billing.money import Rounding, from_minor, round_minor, to_minor
from ispcore.domain.billing.proration import portion
from ispcore.domain.billing.taxes import Place, Rate, rates_for, tax_on
from ispcore.domain.common.errors import DomainError

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
anchors = st.integers(min_value=1, max_value=31)
prices = st.integers(min_value=0, max_value=10**9)
rules = st.sampled_from(list(Rounding))


def terms(anchor: int = 1, *, advance: bool = True, prorate: bool = True,
          vacation: VacationBilling = VacationBilling.NOTHING) -> Terms:
    return Terms(anchor, advance, prorate, Rounding.HALF_UP, vacation)


def item(**kw: object) -> Item:
    base = dict(id=1, account_id=10, description="Fibre 100", unit_price=6000, quantity=1,
                months=1, one_time=False, start=date(2026, 1, 1), end=None, billed_until=None,
                taxable=True, gl_code_id=7, service_id=3)
    base.update(kw)
    return Item(**base)  # type: ignore[arg-type]


# --- money ------------------------------------------------------------------------------

def test_amounts_convert_exactly_to_minor_units_by_currency() -> None:
    assert to_minor(Decimal("19.99"), "USD") == 1999
    assert to_minor("1500", "JPY") == 1500
    assert to_minor("1.234", "KWD") == 1234
    assert from_minor(1999, "USD") == Decimal("19.99")
    assert str(from_minor(5, "USD")) == "0.05"
    assert str(from_minor(1234, "KWD")) == "1.234"


@pytest.mark.parametrize(("amount", "message"), [
    ("1.999", "at most 2 decimal"), ("-1", "negative"), ("abc", "not a number"),
    ("NaN", "finite"), ("1e20", "too large")])
def test_bad_amounts_are_refused_not_rounded(amount: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        to_minor(amount, "USD")


def test_zero_decimal_currency_refuses_cents() -> None:
    with pytest.raises(DomainError, match="at most 0 decimal"):
        to_minor("10.5", "JPY")


def test_the_rounding_rule_decides_halves() -> None:
    assert round_minor(Decimal("2.5"), Rounding.HALF_UP) == 3
    assert round_minor(Decimal("2.5"), Rounding.HALF_EVEN) == 2
    assert round_minor(Decimal("-2.5"), Rounding.HALF_UP) == -3
    assert round_minor(Decimal("3.5"), Rounding.HALF_EVEN) == 4


# --- calendar ---------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "months", "anchor", "expected"), [
    (date(2026, 1, 31), 1, 31, date(2026, 2, 28)),
    (date(2026, 2, 28), 1, 31, date(2026, 3, 31)),
    (date(2028, 1, 31), 1, 31, date(2028, 2, 29)),   # leap year
    (date(2026, 1, 30), 1, 30, date(2026, 2, 28)),
    (date(2026, 11, 15), 3, 15, date(2027, 2, 15)),
    (date(2026, 12, 1), -1, 1, date(2026, 11, 1)),
])
def test_months_keep_their_anchor_through_short_months(day: date, months: int, anchor: int,
                                                       expected: date) -> None:
    assert add_months(day, months, anchor) == expected


def test_cycles_follow_the_anchor_across_february() -> None:
    assert cycle_containing(date(2026, 2, 10), 31) == Period(date(2026, 1, 31),
                                                            date(2026, 2, 28))
    assert cycle_containing(date(2026, 2, 28), 31) == Period(date(2026, 2, 28),
                                                            date(2026, 3, 31))
    assert cycle_containing(date(2028, 2, 29), 30) == Period(date(2028, 2, 29),
                                                            date(2028, 3, 30))
    assert cycle_containing(date(2026, 5, 15), 1, 3) == Period(date(2026, 5, 1),
                                                              date(2026, 8, 1))


@given(days, anchors)
def test_a_cycle_contains_its_day_and_the_next_begins_where_it_ends(day: date, anchor: int
                                                                    ) -> None:
    cycle = cycle_containing(day, anchor)
    assert day in cycle
    assert 28 <= cycle.days <= 31
    assert cycle_containing(cycle.end, anchor).start == cycle.end


# --- proration ----------------------------------------------------------------------------

@given(prices, days, anchors, st.lists(st.integers(min_value=1, max_value=30), max_size=6),
       rules)
def test_prorated_parts_of_a_period_sum_exactly_to_the_full_price(
        price: int, day: date, anchor: int, cut_offsets: list[int], rule: Rounding) -> None:
    period = cycle_containing(day, anchor)
    cuts = sorted({period.start + timedelta(days=o) for o in cut_offsets
                   if o < period.days} | {period.start, period.end})
    parts = [Period(a, b) for a, b in itertools.pairwise(cuts)]
    assert sum(portion(price, period, p, rule) for p in parts) == price
    assert all(portion(price, period, p, rule) >= 0 for p in parts)


def test_proration_counts_days_in_the_actual_month() -> None:
    feb = Period(date(2028, 2, 1), date(2028, 3, 1))  # 29 days, leap year
    assert portion(2900, feb, Period(date(2028, 2, 1), date(2028, 2, 11)), Rounding.HALF_UP
                   ) == 1000
    jan = Period(date(2026, 1, 1), date(2026, 2, 1))
    assert portion(3100, jan, Period(date(2026, 1, 21), date(2026, 2, 1)), Rounding.HALF_UP
                   ) == 1100


# --- discounts and taxes ----------------------------------------------------------------------

@given(st.integers(min_value=0, max_value=10**7),
       st.lists(st.integers(min_value=-500, max_value=10**6), min_size=1, max_size=8))
def test_an_allocated_discount_sums_exactly_and_takes_no_line_below_zero(
        amount: int, weights: list[int]) -> None:
    shares = allocate(amount, weights)
    assert sum(shares) == min(amount, sum(w for w in weights if w > 0))
    assert all(0 <= s <= max(w, 0) for s, w in zip(shares, weights, strict=True))


def test_percent_discounts_round_and_never_exceed_the_base() -> None:
    assert percent_off(999, 100_000, Rounding.HALF_UP) == 100   # 10% of 9.99 = 0.999
    assert percent_off(999, 1_000_000, Rounding.HALF_UP) == 999
    assert percent_off(-500, 500_000, Rounding.HALF_UP) == 0


def test_tax_rates_match_the_jurisdiction_and_skip_exemptions() -> None:
    state = Rate(1, "Texas", 62_500, 9, "US", "TX")
    county = Rate(2, "Travis", 20_000, 9, "US", "TX")
    federal = Rate(3, "USF", 10_000, 9, "US", None)
    other = Rate(4, "Ohio", 57_500, 9, "US", "OH")
    rates = [state, county, federal, other]
    on = date(2026, 11, 1)
    assert rates_for(Place("US", "TX"), rates, {}, on) == [state, county, federal]
    assert rates_for(Place("US", "TX"), rates, {1: date(2026, 10, 31)}, on) == [
        state, county, federal]
    assert rates_for(Place("US", "TX"), rates, {1: None, 2: on}, on) == [federal]
    assert rates_for(Place(None, None), rates, {}, on) == []
    assert tax_on(6000, 62_500, Rounding.HALF_UP) == 375
    assert tax_on(-6000, 62_500, Rounding.HALF_UP) == -375


# --- the engine -----------------------------------------------------------------------------

def test_in_advance_a_fixed_day_account_is_first_billed_a_prorated_part_cycle() -> None:
    t = terms(anchor=1)
    start = date(2026, 11, 10)
    plan = Plan(10, first_bill_date(start, t), t, [item(start=start)])
    result = bill(plan)
    assert result.period == Period(start, date(2026, 12, 1))
    assert result.next_bill_date == date(2026, 12, 1)
    [line] = result.lines
    assert line.kind is LineKind.PRORATED
    assert line.amount == 4200  # 21 of 30 days of 60.00
    assert result.items[1].billed_until == date(2026, 12, 1)


def test_in_arrears_a_cycle_is_billed_once_it_has_ended() -> None:
    t = terms(anchor=1, advance=False)
    start = date(2026, 11, 10)
    assert first_bill_date(start, t) == date(2026, 12, 1)
    result = bill(Plan(10, date(2026, 12, 1), t, [item(start=start)]))
    assert [(li.amount, li.period) for li in result.lines] == [
        (4200, Period(start, date(2026, 12, 1)))]
    assert result.next_bill_date == date(2027, 1, 1)


def test_billing_the_same_plan_twice_bills_nothing_more() -> None:
    t = terms(anchor=15)
    it = item(start=date(2026, 1, 15))
    first = bill(Plan(10, date(2026, 1, 15), t, [it]))
    it.billed_until = first.items[1].billed_until
    again = bill(Plan(10, date(2026, 1, 15), t, [it]))
    assert [li.amount for li in first.lines] == [6000]
    assert again.lines == []


def test_multi_month_services_bill_every_n_months() -> None:
    t = terms(anchor=1)
    it = item(months=3, unit_price=15000, start=date(2026, 1, 1))
    totals = []
    bill_date = date(2026, 1, 1)
    for _ in range(6):
        result = bill(Plan(10, bill_date, t, [it]))
        totals.append(result.total)
        it.billed_until = result.items[1].billed_until
        bill_date = result.next_bill_date
    assert totals == [15000, 0, 0, 15000, 0, 0]


def test_expiring_services_stop_after_their_cycles() -> None:
    t = terms(anchor=1)
    it = item(max_cycles=2, start=date(2026, 1, 1))
    amounts = []
    bill_date = date(2026, 1, 1)
    for _ in range(4):
        result = bill(Plan(10, bill_date, t, [it]))
        amounts.append(result.subtotal)
        state = result.items[1]
        it.billed_until, it.cycles_billed, it.end = (state.billed_until, state.cycles_billed,
                                                     state.end)
        bill_date = result.next_bill_date
    assert amounts == [6000, 6000, 0, 0]
    assert it.end == date(2026, 3, 1)


@given(st.integers(min_value=1, max_value=27), st.integers(min_value=1, max_value=5),
       st.integers(min_value=1, max_value=5), anchors, prices.filter(lambda p: p < 10**6))
@settings(max_examples=200)
def test_a_mid_cycle_quantity_change_bills_each_day_at_the_quantity_it_had(
        change_offset: int, old_qty: int, new_qty: int, anchor: int, price: int) -> None:
    t = terms(anchor=anchor)
    first = cycle_containing(date(2026, 3, 1), anchor)
    it = item(start=first.start, unit_price=price, quantity=old_qty)
    result = bill(Plan(10, first.start, t, [it]))
    it.billed_until = result.items[1].billed_until
    change_day = first.start + timedelta(days=change_offset)
    charges = settle(it, change_day, t, [])
    it.quantity = new_qty
    after = bill(Plan(10, result.next_bill_date, t, [it], charges=charges))
    expected = (portion(price * old_qty, first, Period(first.start, change_day),
                        Rounding.HALF_UP)
                + portion(price * new_qty, first, Period(change_day, first.end),
                          Rounding.HALF_UP)
                + price * new_qty)  # the next cycle, in advance
    assert result.total + after.total == expected


def test_removal_credits_the_days_billed_ahead() -> None:
    t = terms(anchor=1)
    it = item(start=date(2026, 11, 1), billed_until=date(2026, 12, 1))
    charges = settle(it, date(2026, 11, 21), t, [])
    it.end = date(2026, 11, 21)
    assert [(c.amount, c.period) for c in charges] == [
        (-2000, Period(date(2026, 11, 21), date(2026, 12, 1)))]
    result = bill(Plan(10, date(2026, 12, 1), t, [it], charges=charges))
    assert result.total == -2000
    assert result.lines[0].kind is LineKind.ADJUSTMENT


def test_without_proration_changes_wait_for_the_next_cycle() -> None:
    t = terms(anchor=1, prorate=False)
    it = item(start=date(2026, 11, 10))
    result = bill(Plan(10, date(2026, 11, 10), t, [it]))
    assert result.total == 6000  # a part cycle at the full price
    assert settle(it, date(2026, 11, 20), t, []) == []


def test_vacation_days_cost_the_vacation_price_or_nothing() -> None:
    cycle = Period(date(2026, 11, 1), date(2026, 12, 1))
    away = [Period(date(2026, 11, 16), date(2026, 12, 20))]
    nothing = bill(Plan(10, cycle.start, terms(), [item(start=cycle.start)], vacations=away))
    assert [(li.kind, li.amount) for li in nothing.lines] == [(LineKind.PRORATED, 3000)]
    priced = bill(Plan(10, cycle.start, terms(vacation=VacationBilling.VACATION_PRICE),
                       [item(start=cycle.start, vacation_price=1000)], vacations=away))
    assert [(li.kind, li.amount) for li in priced.lines] == [
        (LineKind.PRORATED, 3000), (LineKind.VACATION, 500)]


def test_discounts_apply_to_their_service_for_their_cycles_and_taxes_follow_the_net() -> None:
    t = terms()
    tv = item(id=2, service_id=4, unit_price=2000, description="TV", taxable=False)
    grant = Grant(1, 10, "Loyalty", 8, 500_000, None, 3, None, 1, 0, None)
    account_wide = Grant(2, 10, "Goodwill", 8, None, 10_000, None, None, None, 0, None)
    rate = Rate(1, "VAT", 100_000, 9, "US", None)
    plan = Plan(10, date(2026, 1, 1), t, [item(start=date(2026, 1, 1)), tv],
                grants=[grant, account_wide])
    result = bill(plan)
    levy(result.lines, [rate], Rounding.HALF_UP)
    fibre, tv_line = result.lines
    assert fibre.discount == 3000 + 3000 and tv_line.discount == 2000
    assert fibre.tax == 0 and tv_line.tax == 0
    assert result.total == 0
    partial = bill(Plan(10, date(2026, 1, 1), t, [item(start=date(2026, 1, 1))],
                        grants=[Grant(3, 10, "Tenner", 8, None, 1000, None, None, None, 0,
                                      None)]))
    levy(partial.lines, [rate], Rounding.HALF_UP)
    assert [(li.discount, li.tax, li.total) for li in partial.lines] == [(1000, 500, 5500)]
    assert sorted(result.grants_used) == [1, 2]
    assert result.total == result.subtotal - result.discount_total + result.tax_total
    expired = Grant(1, 10, "Loyalty", 8, 500_000, None, 3, None, 1, 1, None)
    assert bill(Plan(10, date(2026, 1, 1), t, [item(start=date(2026, 1, 1))],
                     grants=[expired])).discount_total == 0


def test_window_in_advance_and_in_arrears() -> None:
    assert window(date(2026, 11, 1), terms()) == (
        Period(date(2026, 11, 1), date(2026, 12, 1)), date(2026, 12, 1), date(2026, 12, 1))
    assert window(date(2026, 12, 1), terms(advance=False)) == (
        Period(date(2026, 11, 1), date(2026, 12, 1)), date(2026, 12, 1), date(2027, 1, 1))


# --- random plans ------------------------------------------------------------------------------

@st.composite
def plans(draw: st.DrawFn) -> Plan:
    anchor = draw(st.integers(min_value=1, max_value=31))
    bill_date = cycle_containing(draw(days), anchor).start
    items = []
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        start = bill_date + timedelta(days=draw(st.integers(min_value=-40, max_value=25)))
        end = draw(st.none() | st.integers(min_value=1, max_value=90))
        items.append(item(
            id=index + 1, start=start,
            end=None if end is None else start + timedelta(days=end),
            unit_price=draw(st.integers(min_value=0, max_value=50_000)),
            quantity=draw(st.integers(min_value=1, max_value=5)),
            months=draw(st.sampled_from([1, 1, 3, 12])), one_time=draw(st.booleans()),
            taxable=draw(st.booleans()), gl_code_id=draw(st.sampled_from([7, 8])),
            service_id=draw(st.sampled_from([3, 4]))))
    grants = [Grant(i + 1, 10, f"D{i}", 9, draw(st.none() | st.integers(1, 1_000_000)),
                    draw(st.integers(min_value=1, max_value=5000)),
                    draw(st.sampled_from([None, 3, 4])), None, None, 0, None)
              for i in range(draw(st.integers(min_value=0, max_value=2)))]
    t = Terms(anchor, draw(st.booleans()), draw(st.booleans()), draw(rules),
              VacationBilling.NOTHING)
    return Plan(10, bill_date, t, items, grants=grants)


@given(plans(), st.integers(min_value=0, max_value=200_000))
@settings(max_examples=300)
def test_an_invoice_total_is_its_lines_and_its_ledger_postings(plan: Plan, rate: int) -> None:
    from ispcore.domain.billing.invoices import _postings

    result = bill(plan)
    levy(result.lines, [Rate(1, "T", rate, 5, "US", None)], plan.terms.rounding)
    assert result.total == sum(li.total for li in result.lines)
    assert result.total == result.subtotal - result.discount_total + result.tax_total
    assert all(li.discount <= max(li.amount, 0) for li in result.lines)
    postings = _postings([(li.gl_code_id, li.amount) for li in result.lines],
                         [(g.gl_code_id, a) for li in result.lines for g, a in li.discounts],
                         [(r.gl_code_id, a) for li in result.lines for r, a in li.taxes])
    assert sum(postings.values()) == result.total


@given(plans())
@settings(max_examples=300)
def test_billing_a_plan_again_after_saving_its_state_bills_nothing(plan: Plan) -> None:
    first = bill(plan)
    for it in plan.items:
        state = first.items[it.id]
        it.billed_until, it.cycles_billed, it.end = (state.billed_until, state.cycles_billed,
                                                     state.end)
    assert bill(plan).lines == []


@pytest.mark.parametrize(("change_on", "expected"), [
    (date(2026, 2, 15), 3100 + (1550 + 3100) + 6200),        # half of February at 2
    (date(2026, 3, 15), 3100 + 3100 + (1400 + 3400))])      # 17 of March's 31 days at 2
def test_a_change_part_way_through_an_expiring_service_keeps_its_cycles(
        change_on: date, expected: int) -> None:
    t = terms(anchor=1)
    it = item(max_cycles=3, start=date(2026, 1, 1), unit_price=3100)
    bill_date, charged, charges = date(2026, 1, 1), 0, []

    def run() -> None:
        nonlocal bill_date, charged
        result = bill(Plan(10, bill_date, t, [it], charges=charges))
        state = result.items[1]
        it.billed_until, it.cycles_billed, it.end = (state.billed_until, state.cycles_billed,
                                                     state.end)
        charged += result.total
        bill_date = result.next_bill_date

    while bill_date <= change_on:
        run()
    charges = settle(it, change_on, t, [])
    it.quantity = 2
    for _ in range(3):
        run()
        charges = []
    assert (it.end, it.cycles_billed, charged) == (date(2026, 4, 1), 3, expected)


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**6),
       st.integers(min_value=1, max_value=29), anchors)
def test_a_refund_and_the_days_kept_add_up_to_what_was_charged(
        amount: int, discount: int, offset: int, anchor: int) -> None:
    from ispcore.domain.billing.engine import Charged, refund

    cycle = cycle_containing(date(2026, 5, 20), anchor)
    on = min(cycle.start + timedelta(days=offset), cycle.end - timedelta(days=1))
    discount = min(discount, amount)
    it = item(start=cycle.start, billed_until=cycle.end)
    credits = refund(it, on, [Charged(amount, cycle, 7, True, (("D", 9, discount),))],
                     Terms(anchor, True, True, Rounding.HALF_EVEN, VacationBilling.NOTHING))
    kept = portion(amount - discount, cycle, Period(cycle.start, on), Rounding.HALF_EVEN)
    returned = -sum(c.amount for c in credits)
    assert it.billed_until == on
    # What stays charged and what comes back make the net charged, within a cent of
    # rounding on each of the two parts.
    assert abs(kept + returned - (amount - discount)) <= 1


def test_an_expiring_service_in_arrears_changed_before_its_first_bill_keeps_two_cycles() -> None:
    t = terms(anchor=1, advance=False)
    it = item(max_cycles=2, start=date(2026, 1, 1), unit_price=3100)
    charges = settle(it, date(2026, 1, 10), t, [])      # 9 days at the old terms
    total, bill_date = 0, date(2026, 2, 1)   # the first bill carries the 9 days
    for _ in range(4):
        result = bill(Plan(10, bill_date, t, [it], charges=charges))
        state = result.items[1]
        it.billed_until, it.cycles_billed, it.end = (state.billed_until, state.cycles_billed,
                                                     state.end)
        total, bill_date, charges = total + result.total, result.next_bill_date, []
    assert (total, it.end) == (6200, date(2026, 3, 1))


def test_un_billing_a_cycle_start_gives_the_cycle_back() -> None:
    from ispcore.domain.billing.engine import Charged, refund

    t = terms(anchor=1)
    it = item(max_cycles=3, start=date(2026, 1, 1), unit_price=3100,
              billed_until=date(2026, 4, 1), cycles_billed=3, end=date(2026, 4, 1))
    charged = [Charged(3100, cycle_containing(date(2026, m, 1), 1), 7, True) for m in (2, 3)]
    refund(it, date(2026, 2, 10), charged, t)
    assert (it.billed_until, it.cycles_billed) == (date(2026, 2, 10), 2)
    result = bill(Plan(10, date(2026, 4, 1), t, [it]))
    assert [li.period for li in result.lines] == [
        Period(date(2026, 2, 10), date(2026, 3, 1)), Period(date(2026, 3, 1), date(2026, 4, 1))]
