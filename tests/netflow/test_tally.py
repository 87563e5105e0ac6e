"""The collector's in-memory pieces without a database: the per-address tally (its generated
loops checked against the Flows ``decode`` gives, for every kind of template), the plan's
membership and who held an address during an interval."""

from __future__ import annotations

import ipaddress
import struct
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ispcore.domain.usage.attribution import Holding
from ispcore.network.netflow import Decoder, Flow, Malformed
from ispcore.network.netflow.plan import Holdings, Membership, key_of, key_text
from ispcore.network.netflow.tally import BLOCK, Bound, Tally
from tests.netflow import build as b

PLAN4 = (int(ipaddress.IPv4Address("100.64.0.0")), int(ipaddress.IPv4Address("100.64.0.255")))
#: A /26: its /24 is only partly in the plan (the slower path).
PART4 = (int(ipaddress.IPv4Address("100.64.1.0")), int(ipaddress.IPv4Address("100.64.1.63")))
PLAN6 = (int(ipaddress.IPv6Address("2001:db8::")), int(ipaddress.IPv6Address("2001:db8::ffff")))
INSIDE4 = [PLAN4[0] + n for n in (1, 2, 200)] + [PART4[0] + 5]
OUTSIDE4 = [int(ipaddress.IPv4Address(a)) for a in ("8.8.8.8", "100.64.1.100",
                                                     "100.63.255.255")]
INSIDE6 = [PLAN6[0] + n for n in (1, 0x100)]
OUTSIDE6 = [int(ipaddress.IPv6Address("2606:4700::1111")), PLAN6[1] + 1]
INTERVAL_MS = 60_000
SECS = 1_790_000_000


def membership() -> Membership:
    return Membership([(4, *PLAN4), (4, *PART4), (6, *PLAN6)])


def reference(flows: list[Flow], override: int | None = None
              ) -> dict[tuple[int, object], list[int]]:
    """What the tally must hold, computed from decoded Flows the plain way."""
    plan = membership()
    out: dict[tuple[int, object], list[int]] = defaultdict(lambda: [0, 0, 0])
    for f in flows:
        octets = f.octets // f.sampling * override if override else f.octets
        number = f.end // INTERVAL_MS
        src, dst = key_of(f.family, f.src), key_of(f.family, f.dst)
        inside_src, inside_dst = plan.learn(src), plan.learn(dst)
        for key, inside, slot in ((dst, inside_dst, 0), (src, inside_src, 1)):
            if inside:
                out[(number, key)][slot] += octets
                out[(number, key)][2] += 1
        if not (inside_src or inside_dst):
            out[(number, "")][0] += octets
            out[(number, "")][2] += 1
    return dict(out)


def tallied(datagrams: list[bytes], override: int | None = None
            ) -> tuple[dict[tuple[int, object], list[int]], list[Flow]]:
    """The tally's contents after feeding the datagrams, and the Flows decode() gives."""
    tally = Tally(membership(), INTERVAL_MS, Bound(10**6), override)
    fed, decoded = Decoder(), Decoder()
    flows: list[Flow] = []
    for datagram in datagrams:
        fed.feed(datagram, "r", tally)
        flows += decoded.decode(datagram, "r")
    found = {(n, key): sums for n, totals in tally.take(lambda n: True)
             for key, sums in totals.items()}
    assert tally.tables == {} and tally.bound.used == 0
    return found, flows


addresses4 = st.sampled_from(INSIDE4 + OUTSIDE4)
addresses6 = st.sampled_from(INSIDE6 + OUTSIDE6)
ends = st.integers(0, 300_000)  # ms after the start: several intervals
octets = st.integers(0, 2**32 - 1)
flows4 = st.lists(st.tuples(addresses4, addresses4, octets, ends), min_size=1, max_size=30)
flows6 = st.lists(st.tuples(addresses6, addresses6, octets, ends), min_size=1, max_size=30)
CHECK = settings(max_examples=150, deadline=None)


def v5_datagram(flows: list[tuple[int, int, int, int]], sampling: int) -> bytes:
    return b.v5([b.v5_record(s, d, 1, o, e, e) for s, d, o, e in flows], uptime=0,
                secs=SECS, sampling=sampling)


@CHECK
@given(flows4, st.sampled_from([0, 10, (1 << 14) | 3]), st.sampled_from([None, 7]))
def test_v5(flows: list[tuple[int, int, int, int]], sampling: int,
            override: int | None) -> None:
    found, decoded = tallied([v5_datagram(flows, sampling)], override)
    assert found == reference(decoded, override)


@CHECK
@given(flows4, st.sampled_from([None, 4]))
def test_v9_fixed_template(flows: list[tuple[int, int, int, int]], override: int | None
                           ) -> None:
    rows = b"".join(b.V4_RECORD.pack(s, d, o, 1, e, e, 1, 2, 6) for s, d, o, e in flows)
    datagram = b.v9([b.flow_set(0, b.template_record(256, b.V4_FIELDS)),
                     b.flow_set(256, rows, pad=1)], uptime=0, secs=SECS)
    found, decoded = tallied([datagram], override)
    assert found == reference(decoded, override)


@CHECK
@given(flows6)
def test_v9_ipv6(flows: list[tuple[int, int, int, int]]) -> None:
    rows = b"".join(b.V6_RECORD.pack(s.to_bytes(16, "big"), d.to_bytes(16, "big"), o, 1, e, e,
                                     1, 2, 6) for s, d, o, e in flows)
    datagram = b.v9([b.flow_set(0, b.template_record(300, b.V6_FIELDS)),
                     b.flow_set(300, rows)], uptime=0, secs=SECS)
    found, decoded = tallied([datagram])
    assert found == reference(decoded)


@CHECK
@given(flows4, st.sampled_from([1, 16]))
def test_ipfix_with_a_sampling_option(flows: list[tuple[int, int, int, int]], rate: int
                                      ) -> None:
    options = b.flow_set(3, b.ipfix_options_record(400, [(149, 4)], [(34, 4)]))
    rate_set = b.flow_set(400, struct.pack("!II", 1, rate))
    rows = b"".join(b.IPFIX_RECORD.pack(s, d, o, 1, SECS * 1000 + e, SECS * 1000 + e, 1, 2, 6)
                    for s, d, o, e in flows)
    datagram = b.ipfix([options, rate_set, b.flow_set(2, b.template_record(256,
                                                                           b.IPFIX_FIELDS)),
                        b.flow_set(256, rows)])
    found, decoded = tallied([datagram])
    assert found == reference(decoded)


@CHECK
@given(flows4)
def test_ipfix_variable_length_and_seconds(flows: list[tuple[int, int, int, int]]) -> None:
    """A template with a variable-length field, times in seconds: the generic path."""
    fields = [(8, 4), (96, 65535), (12, 4), (1, 8), (150, 4), (151, 4)]
    rows = b"".join(struct.pack("!I", s) + b.varlen(b"app") + struct.pack("!IQII", d, o,
                                                                         SECS + e // 1000,
                                                                         SECS + e // 1000)
                    for s, d, o, e in flows)
    datagram = b.ipfix([b.flow_set(2, b.template_record(256, fields)),
                        b.flow_set(256, rows)])
    found, decoded = tallied([datagram], 3)
    assert found == reference(decoded, 3)


def test_records_without_times_take_the_export_time() -> None:
    fields = [(8, 4), (12, 4), (1, 4)]
    rows = struct.pack("!III", OUTSIDE4[0], INSIDE4[0], 700)
    datagram = b.ipfix([b.flow_set(2, b.template_record(256, fields)), b.flow_set(256, rows)],
                       export=SECS)
    found, _ = tallied([datagram])
    assert found == {(SECS * 1000 // INTERVAL_MS, INSIDE4[0]): [700, 0, 1]}


def test_a_malformed_datagram_adds_nothing() -> None:
    rows = b.V4_RECORD.pack(OUTSIDE4[0], INSIDE4[0], 5, 1, 1, 1, 1, 2, 6)
    datagram = b.v9([b.flow_set(0, b.template_record(256, b.V4_FIELDS)),
                     b.flow_set(256, rows), struct.pack("!HH", 256, 2)])  # a bad last set
    tally = Tally(membership(), INTERVAL_MS, Bound(10))
    with pytest.raises(Malformed):
        Decoder().feed(datagram, "r", tally)
    assert tally.tables == {} and tally.bound.used == 0


def test_the_bound_drops_new_entries_and_counts_them() -> None:
    """Room for one /24 block and one remembered /24 outside the plan: a second /24 of the
    plan finds none."""
    plan = Membership([(4, PLAN4[0], PLAN4[0] + 511)])  # two /24s
    tally = Tally(plan, INTERVAL_MS, Bound(BLOCK + 1))
    second = PLAN4[0] + 256 + 9
    flows = [(OUTSIDE4[0], INSIDE4[0], 10, 0), (OUTSIDE4[0], second, 20, 0),
             (OUTSIDE4[0], INSIDE4[1], 30, 0), (OUTSIDE4[0], second, 5, 0),
             (INSIDE4[0], OUTSIDE4[0], 7, 0)]
    Decoder().feed(v5_datagram(flows, 0), "r", tally)
    assert (tally.dropped, tally.bound.used) == (2, BLOCK + 1)
    [(_, totals)] = tally.take(lambda n: True)
    assert totals == {INSIDE4[0]: [10, 7, 2], INSIDE4[1]: [30, 0, 1]}
    assert tally.bound.used == 0


def test_a_24_partly_in_the_plan() -> None:
    plan = Membership([(4, *PART4)])
    tally = Tally(plan, INTERVAL_MS, Bound(10**4))
    inside, outside = PART4[0] + 5, PART4[1] + 40
    flows = [(OUTSIDE4[0], inside, 10, 0), (outside, inside, 20, 0),
             (OUTSIDE4[0], outside, 30, 0), (inside, PART4[0] + 6, 4, 0)]
    Decoder().feed(v5_datagram(flows, 0), "r", tally)
    [(_, totals)] = tally.take(lambda n: True)
    assert totals == {inside: [30, 4, 3], PART4[0] + 6: [4, 0, 1], "": [30, 0, 1]}


def test_membership_merges_ranges_and_caches_answers() -> None:
    plan = Membership([(4, 10, 19), (4, 20, 29), (4, 40, 49), (6, 10, 19)])
    assert [plan.learn(n) for n in (9, 10, 29, 30, 45, 50)] == [
        False, True, True, False, True, False]
    assert plan.learn((15).to_bytes(16, "big")) and not plan.learn((25).to_bytes(16, "big"))
    assert plan.member[10] is True and plan.member[30] is False
    assert plan.signature == Membership([(4, 40, 49), (6, 10, 19), (4, 20, 29),
                                         (4, 10, 19)]).signature


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 2, hour, minute, tzinfo=UTC)


def test_holdings_find_the_holder_of_an_address_or_of_the_prefix_it_is_in() -> None:
    prefix = int(ipaddress.IPv6Address("2001:db8:0:100::"))
    held = Holdings([(4, INSIDE4[0], 32, Holding(1, 1, at(8), at(12, 0))),
                     (4, INSIDE4[0], 32, Holding(1, 2, at(12, 0), None)),
                     (6, prefix, 56, Holding(1, 3, at(9), None))])

    def holder(key: object, hour: int, minute: int, second: int = 0) -> int | None:
        start = at(hour, minute).replace(second=second)
        return held.holder(key, start, start + timedelta(seconds=60))  # type: ignore[arg-type]

    assert holder(INSIDE4[0], 7, 59) is None
    assert holder(INSIDE4[0], 11, 59) == 1
    assert holder(INSIDE4[0], 12, 0) == 2
    assert holder(INSIDE4[1], 12, 0) is None
    inside = key_of(6, prefix + (0xAB << 64) + 5)  # 2001:db8:0:1ab::5, in the /56
    assert holder(inside, 10, 0) == 3 and holder(inside, 8, 0) is None
    assert holder(key_of(6, prefix + (1 << 72)), 10, 0) is None  # the next /56
    # The one rule: a minute across the handover is the holder's at its start.
    assert holder(INSIDE4[0], 11, 59, 20) == 1
    assert holder(inside, 8, 59, 30) == 3  # nobody's at its start, 3's from 09:00


def test_key_text() -> None:
    assert key_text(INSIDE4[0]) == "100.64.0.1"
    assert key_text(key_of(6, INSIDE6[1])) == "2001:db8::100"
    assert key_text("") == ""
