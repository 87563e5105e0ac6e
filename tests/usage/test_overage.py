"""The pure arithmetic of overage and rollover: examples, and properties over random
allowances and usage (blocks cover the overage, nothing is charged below zero but a
correction that lowers a charge, allowance is drawn oldest first, late usage costs what
on-time usage would have)."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from ispcore.domain.usage.overage import (
    GB,
    Price,
    blocks_for,
    format_gb,
    resettle,
    settle,
    span,
)

TEN_GB_AT_5 = Price(10 * GB, 500)

volumes = st.integers(min_value=0, max_value=5_000 * GB)
caps = st.integers(min_value=0, max_value=2_000 * GB)
prices = st.builds(Price, st.one_of(st.none(), st.integers(min_value=1, max_value=100 * GB)),
                   st.integers(min_value=0, max_value=100_000))
grant_lists = st.lists(st.integers(min_value=0, max_value=1_000 * GB), max_size=4).map(
    lambda sizes: [(key, size) for key, size in enumerate(sizes)])


def test_examples() -> None:
    assert blocks_for(21_500_000_000, 10 * GB) == 3
    assert blocks_for(10 * GB, 10 * GB) == 1
    assert blocks_for(0, 10 * GB) == blocks_for(5, None) == 0
    result = settle(521_500_000_000, 500 * GB, 0, [], TEN_GB_AT_5, rollover=True)
    assert (result.overage, result.blocks, result.charge, result.rolls_over) == (
        21_500_000_000, 3, 1500, 0)
    result = settle(300 * GB, 500 * GB, 50 * GB, [(1, 100 * GB), (2, 400 * GB)],
                    TEN_GB_AT_5, rollover=True)
    assert (result.drawn, result.from_cap, result.from_top_ups, result.rolls_over,
            result.allowance) == (((1, 100 * GB), (2, 200 * GB)), 0, 0, 500 * GB, 850 * GB)
    assert settle(100 * GB, 500 * GB, 0, [], TEN_GB_AT_5, rollover=False).rolls_over == 0
    assert span(date(2026, 11, 1), date(2026, 12, 1)) == "1\u201330 Nov"
    assert span(date(2026, 11, 15), date(2026, 12, 15)) == "15 Nov\u201314 Dec"
    assert (format_gb(500 * GB), format_gb(1_200 * GB), format_gb(512_345_678_901)) == (
        "500 GB", "1,200 GB", "512.35 GB")


@given(volumes, caps, caps, grant_lists, prices, st.booleans())
def test_a_period_draws_oldest_first_and_its_overage_is_covered_by_blocks(
        billable: int, cap: int, top_ups: int, grants: list[tuple[int, int]], price: Price,
        rollover: bool) -> None:
    result = settle(billable, cap, top_ups, grants, price, rollover=rollover)
    drawn = dict(result.drawn)
    assert sum(drawn.values()) + result.from_cap + result.from_top_ups + result.overage == (
        billable)
    # Oldest first: a grant is drawn only once every older one is used up; the cap only
    # once all grants are; top-ups only once the cap is; overage only once all are.
    for (key, size), (later, _size) in itertools.pairwise(grants):
        if drawn.get(later):
            assert drawn.get(key, 0) == size
    assert result.from_cap == 0 or sum(drawn.values()) == sum(s for _k, s in grants)
    assert result.from_top_ups == 0 or result.from_cap == cap
    assert result.overage == 0 or (result.from_cap, result.from_top_ups) == (cap, top_ups)
    assert result.overage >= 0 and result.charge >= 0
    if price.block:
        assert result.blocks * price.block >= result.overage > (result.blocks - 1) * price.block
        assert result.charge == result.blocks * price.price
    else:
        assert (result.blocks, result.charge) == (0, 0)
    assert result.rolls_over == (cap - result.from_cap if rollover else 0)
    assert result.allowance == cap + top_ups + sum(drawn.values())


@given(volumes, volumes, caps, caps, grant_lists, prices)
def test_late_usage_costs_what_it_would_have_cost_on_time(
        first: int, late: int, cap: int, top_ups: int, grants: list[tuple[int, int]],
        price: Price) -> None:
    """When nothing was left of the rollover the first time and no later period used the
    cap it rolled over, settling again after late usage charges in all exactly what
    settling everything at once would have; the correction is never negative."""
    settled = settle(first, cap, top_ups, grants, price, rollover=True)
    if sum(dict(settled.drawn).values()) < sum(s for _k, s in grants):
        return  # rollover left unused the first time: late usage does not draw on it
    again = resettle(first + late, first, settled.allowance, settled.charge, price,
                     (settled.rolls_over, 0) if settled.rolls_over else None)
    at_once = settle(first + late, cap, top_ups, grants, price, rollover=True)
    assert (again.blocks, again.charge) == (at_once.blocks, at_once.charge)
    assert again.correction == at_once.charge - settled.charge >= 0
    assert settled.rolls_over - again.grant_cut == at_once.rolls_over


@given(volumes, volumes, caps, caps, st.integers(min_value=0, max_value=2_000 * GB),
       prices)
def test_rollover_used_since_is_not_the_period_s_any_more(
        first: int, late: int, cap: int, top_ups: int, used_later: int, price: Price) -> None:
    settled = settle(first, cap, top_ups, [], price, rollover=True)
    used = min(used_later, settled.rolls_over)
    grant = (settled.rolls_over, used)
    again = resettle(first + late, first, settled.allowance, settled.charge, price, grant)
    assert again.allowance == settled.allowance - used
    assert again.overage == max(first + late - settled.allowance + used, 0)
    assert 0 <= again.grant_cut <= settled.rolls_over - used
    assert again.grant_cut == min(late, settled.rolls_over - used)
    assert again.correction >= 0 and again.charge == settled.charge + again.correction


@given(volumes, volumes, caps, prices)
def test_a_correction_is_negative_only_when_usage_went_down(
        first: int, second: int, cap: int, price: Price) -> None:
    settled = settle(first, cap, 0, [], price, rollover=False)
    again = resettle(second, first, settled.allowance, settled.charge, price, None)
    assert again.charge >= 0
    assert (again.correction < 0) <= (second < first)
    assert again.charge == settled.charge + again.correction
