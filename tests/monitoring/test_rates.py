"""Counters into rates: wraps of 32-bit counters, resets, first and out-of-order readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ispcore.domain.monitoring.rates import MAX_RATE, rate

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
seconds = st.integers(min_value=1, max_value=86_400)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), seconds)
def test_counter32_increase_or_wrap_gives_the_true_delta(previous, increase, gap):
    raw = (previous + increase) % 2**32
    got = rate(previous, T0, raw, T0 + timedelta(seconds=gap), 32, max_rate=float("inf"))
    assert got == increase / gap


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), seconds)
def test_counter64_rises_give_a_rate_and_falls_are_resets(previous, raw, gap):
    got = rate(previous, T0, raw, T0 + timedelta(seconds=gap), 64)
    if raw >= previous:
        assert got == (raw - previous) / gap
    else:
        assert got is None


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), seconds)
def test_a_reboot_gives_no_rate(previous, raw, gap):
    assert rate(previous, T0, raw, T0 + timedelta(seconds=gap), 32, rebooted=True) is None


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1), st.integers(0, 3600))
def test_the_same_or_an_older_time_gives_no_rate(previous, raw, back):
    assert rate(previous, T0, raw, T0 - timedelta(seconds=back), 64) is None


def test_first_reading_gives_no_rate():
    assert rate(None, None, 1234, T0, 64) is None


def test_a_wrap_implying_an_impossible_rate_is_a_reset():
    # A fall from near the top in one second is a wrap of 100 octets.
    assert rate(2**32 - 50, T0, 50, T0 + timedelta(seconds=1), 32) == 100.0
    # A fall from 3e9 to 10 in one second would be 1.3e9 octets/s: plausible on 10G links.
    assert rate(3_000_000_000, T0, 10, T0 + timedelta(seconds=1), 32) == 2**32 - 3e9 + 10
    # With a ceiling of 1 Gbit/s (in octets), the same fall is taken as a reset.
    assert rate(3_000_000_000, T0, 10, T0 + timedelta(seconds=1), 32, max_rate=125e6) is None
    assert MAX_RATE == 12.5e9
