"""The collector's batch path (numpy, :mod:`ispcore.network.netflow.vector`) against its
per-record path: the same datagrams give the same totals, and a batch through the
collector is written as one datagram at a time would be."""

from __future__ import annotations

import ipaddress
import random
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ispcore.network.netflow import Decoder
from ispcore.network.netflow import vector as v
from ispcore.network.netflow.plan import Membership
from ispcore.network.netflow.tally import BLOCK, Bound, Tally
from tests.netflow import build as b
from tests.netflow.support import per_account, unattributed, utc, v5_at
from tests.netflow.test_collector_input import ALICE, WEB, alice_plan, flushed


def a4(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


#: A /24, a /26 (its /24 partly in the plan), a range over several /24s not aligned on
#: them (its blocks straddle two ranges), and an IPv6 /112.
RANGES = [(4, a4("100.64.0.0"), a4("100.64.0.255")), (4, a4("100.64.1.0"), a4("100.64.1.63")),
          (4, a4("100.65.0.100"), a4("100.65.3.20")),
          (6, int(ipaddress.IPv6Address("2001:db8::")),
           int(ipaddress.IPv6Address("2001:db8::ffff")))]
ADDRESSES4 = [0, 1, a4("8.8.8.8"), a4("100.63.255.255"), a4("100.64.0.0"), a4("100.64.0.7"),
              a4("100.64.0.255"), a4("100.64.1.5"), a4("100.64.1.63"), a4("100.64.1.64"),
              a4("100.65.0.99"), a4("100.65.0.100"), a4("100.65.2.77"), a4("100.65.3.20"),
              a4("100.65.3.21"), 2**32 - 1]
ADDRESSES6 = [int(ipaddress.IPv6Address(a)) for a in ("2001:db8::1", "2606:4700::1111")]
INTERVAL_MS = 60_000
SECS = 1_790_000_000
#: v9 with a 2-octet octet count and the end time before the start; IPFIX with 64-bit
#: counters and times in ms; the same IPFIX fields in seconds.
V9_FIELDS = [(4, 1), (12, 4), (21, 4), (1, 2), (8, 4), (22, 4), (2, 4)]
IPFIX_MS = b.IPFIX_FIELDS
IPFIX_S = [(8, 4), (12, 4), (1, 8), (2, 4), (150, 4), (151, 4)]

address = st.sampled_from(ADDRESSES4) | st.integers(0, 2**32 - 1)
octets = st.sampled_from([0, 1, 2**31, 2**32 - 1]) | st.integers(0, 1 << 20)
big = octets | st.sampled_from([2**40 - 1, 2**40, 2**62, 2**64 - 1])
uptime_time = st.integers(3_000_000, 3_700_000) | st.sampled_from([0, 2**32 - 1])
ms_time = (st.integers(SECS * 1000 - 200_000, SECS * 1000 + 200_000)
           | st.sampled_from([0, 2**50, 2**64 - 1]))


@st.composite
def datagram(draw: Any, seq: int) -> bytes:
    kind = draw(st.sampled_from(["v5", "v9", "ipfix_ms", "ipfix_s", "ipfix6"]))
    count = draw(st.integers(0, 12))
    secs = draw(st.integers(SECS - 100, SECS + 100))
    if kind == "v5":
        return b.v5([b.v5_record(draw(address), draw(address), 1, draw(octets),
                                 0, draw(uptime_time)) for _ in range(count)],
                    uptime=3_600_000, secs=secs, seq=seq,
                    sampling=draw(st.sampled_from([0, 1, 7, 0x4000 | 100])))
    if kind == "v9":
        rows = b"".join(struct.pack("!BIIHIII", 6, draw(address), draw(uptime_time),
                                      draw(st.integers(0, 2**16 - 1)), draw(address), 0, 1)
                        for _ in range(count))
        return b.v9([b.flow_set(0, b.template_record(300, V9_FIELDS)),
                     b.flow_set(300, rows, pad=draw(st.integers(0, 3)))],
                    uptime=3_600_000, secs=secs, seq=seq)
    if kind == "ipfix6":
        fields = [(27, 16), (28, 16), (1, 8), (2, 8), (152, 8), (153, 8)]
        rows = b"".join(struct.pack("!16s16sQQQQ", *(draw(st.sampled_from(ADDRESSES6))
                                                       .to_bytes(16, "big") for _ in "sd"),
                                      draw(octets), 1, 0, draw(ms_time))
                        for _ in range(count))
        return b.ipfix([b.flow_set(2, b.template_record(302, fields)),
                        b.flow_set(302, rows)], export=secs, seq=seq)
    if kind == "ipfix_ms":
        rows = b"".join(b.IPFIX_RECORD.pack(draw(address), draw(address), draw(big), 1, 0,
                                            draw(ms_time), 1, 2, 6) for _ in range(count))
        return b.ipfix([b.flow_set(2, b.template_record(256, IPFIX_MS)),
                        b.flow_set(256, rows)], export=secs, seq=seq)
    rows = b"".join(struct.pack("!IIQIII", draw(address), draw(address), draw(big), 1, 0,
                                  draw(st.integers(SECS - 200, SECS + 200)
                                       | st.sampled_from([0, 2**32 - 1])))
                    for _ in range(count))
    return b.ipfix([b.flow_set(2, b.template_record(301, IPFIX_S)), b.flow_set(301, rows)],
                   export=secs, seq=seq)


def per_record(datagrams: list[bytes], override: int | None) -> Tally:
    tally = Tally(Membership(RANGES), INTERVAL_MS, Bound(10**7), override)
    decoder = Decoder()
    for data in datagrams:
        decoder.feed(data, "r", tally)
    return tally


def batched(datagrams: list[bytes], override: int | None, sizes: list[int]) -> Tally:
    """Through a BatchSink that folds every layout with numpy (``least`` 1)."""
    tally = Tally(Membership(RANGES), INTERVAL_MS, Bound(10**7), override)
    decoder, sink = Decoder(), v.BatchSink(tally, least=1)
    lo = 0
    for size in sizes * len(datagrams):
        for data in datagrams[lo:lo + size]:
            decoder.feed(data, "r", sink)
        sink.fold()
        lo += size
        if lo >= len(datagrams):
            break
    return tally


def contents(tally: Tally) -> list[tuple[int, dict[Any, list[int]]]]:
    found = tally.take(lambda n: True)
    assert tally.bound.used == 0 and tally.dropped == 0
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.integers(1, 12), st.lists(st.integers(1, 6), min_size=1, max_size=4),
       st.sampled_from([None, 3]))
def test_the_batch_path_gives_the_per_record_totals(data: Any, n: int, sizes: list[int],
                                                    override: int | None) -> None:
    """Random datagrams of every layout (addresses on the plan's edges, octets and times up
    to 2**64 - 1, several intervals, sampling) in random batch sizes."""
    datagrams = [data.draw(datagram(seq)) for seq in range(n)]
    assert contents(batched(datagrams, override, sizes)) == contents(
        per_record(datagrams, override))


def burst(records: int, rnd: random.Random) -> list[bytes]:
    return [b.v5([b.v5_record(rnd.choice(ADDRESSES4), rnd.choice(ADDRESSES4), 1,
                              rnd.randrange(1 << 20), 0, 3_500_000) for _ in range(30)],
                  uptime=3_600_000, secs=SECS, seq=seq) for seq in range(records // 30)]


def test_a_large_batch_is_folded_with_numpy_and_a_small_one_record_by_record() -> None:
    datagrams = burst(300, random.Random(1))
    large = batched(datagrams, None, [10])
    ((table),) = large.tables.values()
    assert any(type(value) is v.VectorTotals for value in table.values())
    small = Tally(Membership(RANGES), INTERVAL_MS, Bound(10**7))
    decoder, sink = Decoder(), v.BatchSink(small)  # the collector's threshold
    decoder.feed(datagrams[0], "r", sink)  # 30 records: fewer than LEAST
    sink.fold()
    ((table),) = small.tables.values()
    assert not any(type(value) is v.VectorTotals for value in table.values())
    assert contents(large) == contents(per_record(datagrams, None))


def test_counters_that_could_overflow_take_the_exact_path(monkeypatch: Any) -> None:
    monkeypatch.setattr(v, "FULL_OCTETS", 1 << 22)  # a few batches' worth
    datagrams = burst(600, random.Random(2))
    assert contents(batched(datagrams, None, [2])) == contents(per_record(datagrams, None))


def test_blocks_past_the_bound_are_dropped_and_counted() -> None:
    """Room for one block of 256: the ends whose block finds none are counted; the others,
    and transit, are kept."""
    inside = [a4("100.64.0.7"), a4("100.65.2.77")]  # two blocks
    datagram = b.v5([b.v5_record(a4("8.8.8.8"), inside[i % 2], 1, 10, 0, 3_500_000)
                     for i in range(64)] + [b.v5_record(1, 2, 1, 5, 0, 3_500_000)],
                    uptime=3_600_000, secs=SECS)
    tally = Tally(Membership(RANGES), INTERVAL_MS, Bound(BLOCK))
    decoder, sink = Decoder(), v.BatchSink(tally, least=1)
    decoder.feed(datagram, "r", sink)
    sink.fold()
    assert (tally.dropped, tally.bound.used) == (32, BLOCK)
    ((_, totals),) = tally.take(lambda n: True)
    assert totals == {inside[0]: [320, 0, 32], "": [5, 0, 1]}
    assert tally.bound.used == 0


@pytest.mark.parametrize("sampling", [0, 10])
async def test_a_batch_through_the_collector_is_written_as_single_datagrams_would_be(
        sampling: int, api: Any, runtime: Any, collector: Any) -> None:
    """A burst of datagrams read at one wake-up (``take_many``): enough records for numpy;
    the customer's bytes are credited, the rest is transit, a replay inside the batch is
    dropped."""
    plan = await alice_plan(api, collector)
    end = utc(2026, 11, 2, 14, 30, 15)
    datagrams = [v5_at(end, [(WEB, ALICE, 100), (ALICE, WEB, 7)] * 10
                      + [(WEB, "8.8.8.8", 1)] * 10, seq=seq, sampling=sampling)
                 for seq in range(10)]
    collector.take_many([(d, ("127.0.0.1", 2055)) for d in [*datagrams, datagrams[3]]])
    assert collector.bound.used == BLOCK  # Alice's block, made by the batch path
    rate = sampling or 1
    assert await flushed(collector, runtime, plan) == (
        {plan.alice_pk: (10 * 10 * 100 * rate, 10 * 10 * 7 * rate)}, {"replayed": 1})
    assert await unattributed(runtime) == {("", utc(2026, 11, 2, 14)): (100 * rate, 0, 100)}
    assert await per_account(runtime) == {plan.alice_pk: (10_000 * rate, 700 * rate)}


def test_sums_past_64_bits_stay_whole_on_both_paths() -> None:
    """Two records of 2**64 - 1 octets to one address: 2**65 - 2 bytes and 2 records (for
    the validity check to refuse), not bytes wrapped into the record count."""
    rows = b"".join(b.IPFIX_RECORD.pack(a4("8.8.8.8"), a4("100.64.0.7"), 2**64 - 1, 1, 0,
                                        SECS * 1000, 1, 2, 6) for _ in range(2))
    datagrams = [b.ipfix([b.flow_set(2, b.template_record(256, IPFIX_MS)),
                          b.flow_set(256, rows)], export=SECS)]
    expected = [(SECS * 1000 // INTERVAL_MS, {a4("100.64.0.7"): [2**65 - 2, 0, 2]})]
    assert contents(per_record(datagrams, None)) == expected
    assert contents(batched(datagrams, None, [1])) == expected
