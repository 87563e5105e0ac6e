"""A value against warning and critical thresholds, above or below."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ispcore.domain.monitoring.models import CheckState
from ispcore.domain.monitoring.thresholds import state_of, threshold_for

values = st.floats(allow_nan=False, allow_infinity=False, width=32)


def test_above_thresholds_are_reached_at_the_threshold():
    assert state_of(79.9, 80, 95, "ABOVE") == CheckState.OK
    assert state_of(80, 80, 95, "ABOVE") == CheckState.WARNING
    assert state_of(95, 80, 95, "ABOVE") == CheckState.CRITICAL


def test_below_thresholds_count_downwards():
    assert state_of(-60, -70, -80, "BELOW") == CheckState.OK
    assert state_of(-70, -70, -80, "BELOW") == CheckState.WARNING
    assert state_of(-85, -70, -80, "BELOW") == CheckState.CRITICAL


@given(values)
def test_no_thresholds_is_always_ok(value):
    assert state_of(value, None, None, "ABOVE") == CheckState.OK
    assert state_of(value, None, None, "BELOW") == CheckState.OK


def test_only_one_threshold_set():
    assert state_of(60, None, 50, "ABOVE") == CheckState.CRITICAL
    assert state_of(40, None, 50, "ABOVE") == CheckState.OK
    assert state_of(60, 50, None, "ABOVE") == CheckState.WARNING


def test_no_value_is_unknown():
    assert state_of(None, 1, 2, "ABOVE") == CheckState.UNKNOWN


@given(values, values, values)
def test_critical_wins_over_warning(value, warning, critical):
    state = state_of(value, warning, critical, "ABOVE")
    if value >= critical:
        assert state == CheckState.CRITICAL
    elif value >= warning:
        assert state == CheckState.WARNING
    else:
        assert state == CheckState.OK


def test_threshold_for_a_state():
    assert threshold_for("WARNING", 1.0, 2.0) == 1.0
    assert threshold_for("CRITICAL", 1.0, 2.0) == 2.0
    assert threshold_for("OK", 1.0, 2.0) is None
