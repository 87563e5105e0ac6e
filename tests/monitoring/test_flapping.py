"""Flapping detection (pure): the count and window, the extension while flapping, and
repeats counting once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ispcore.domain.monitoring.flapping import (
    FLAP_CHANGES,
    FLAP_WINDOW,
    dump_changes,
    is_flapping,
    parse_changes,
    record_change,
)

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def run(minutes: list[float]) -> list[tuple[bool, datetime | None]]:
    changes: list[datetime] = []
    until = None
    seen = []
    for m in minutes:
        moment = T0 + timedelta(minutes=m)
        state = record_change(changes, until, moment)
        changes, until = list(state.changes), state.flapping_until
        seen.append((state.flapping_at(moment), until))
    return seen


@pytest.mark.parametrize(("minutes", "flapping"), [
    ([0, 5, 10], [False, False, False]),
    ([0, 5, 10, 15], [False, False, False, True]),
    ([0, 5, 10, 29.9], [False, False, False, True]),
    ([0, 5, 10, 30], [False, False, False, False]),  # the first change left the window
    ([0, 10, 20, 40, 50], [False, False, False, False, False]),
    ([0, 1, 2, 3, 20], [False, False, False, True, True]),  # still inside 3 + 30
    ([0, 1, 2, 3, 34], [False, False, False, True, False]),  # stable for the window
])
def test_flapping_table(minutes, flapping):
    assert [f for f, _ in run(minutes)] == flapping


def test_a_change_while_flapping_extends_it_by_the_window():
    *_, (_, until) = run([0, 1, 2, 3, 20])
    assert until == T0 + timedelta(minutes=20) + FLAP_WINDOW


def test_the_same_change_counts_once_and_old_ones_are_dropped():
    state = record_change([T0, T0 - timedelta(hours=2)], None, T0)
    assert state.changes == (T0,)
    assert parse_changes(dump_changes(state.changes)) == [T0]


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=30))
def test_flapping_means_enough_changes_in_a_window_or_too_recent_a_flap(offsets):
    changes: list[datetime] = []
    until = None
    for m in sorted(offsets):
        moment = T0 + timedelta(minutes=m)
        state = record_change(changes, until, moment)
        in_window = [c for c in state.changes if moment - FLAP_WINDOW < c <= moment]
        assert list(state.changes) == sorted(set(in_window))
        if len(in_window) >= FLAP_CHANGES:
            assert state.flapping_at(moment)
        if state.flapping_at(moment):
            # a whole quiet window ends it
            assert not is_flapping(state.flapping_until, moment + FLAP_WINDOW)
        changes, until = list(state.changes), state.flapping_until
