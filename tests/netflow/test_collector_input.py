"""Bad input through the collector's real UDP socket: each is refused and counted under its
reason on the exporter (or as an unknown exporter), nothing of it is credited, and the
collector goes on taking good datagrams."""

from __future__ import annotations

import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.netflow import build as b
from tests.netflow.support import (
    exporter_row,
    hold,
    ip,
    ipfix_at,
    per_account,
    plan_setup,
    ready,
    records,
    send,
    unattributed,
    utc,
    v5_at,
)

ALICE, WEB = "100.64.1.10", "93.184.216.34"
END = utc(2026, 11, 2, 14, 30, 15)
GOOD = v5_at(END, [(WEB, ALICE, 1_000)], seq=1_000)


async def alice_plan(api: Any, collector: Any, **exporter: Any) -> Any:
    plan = await plan_setup(api, exporter=exporter or None)
    await hold(api, plan, plan.alice, ALICE)
    await ready(collector)
    return plan


async def flushed(collector: Any, runtime: Any, plan: Any) -> tuple[Any, Any]:
    """After a flush: the bytes per account, and the exporter's refusals."""
    await collector.flush()
    return await per_account(runtime), (await exporter_row(runtime, plan)).rejected


async def test_truncated_and_garbage_datagrams(api: Any, runtime: Any, collector: Any) -> None:
    plan = await alice_plan(api, collector)
    whole = v5_at(END, [(WEB, ALICE, 77)] * 3)
    await send(collector, whole[:-10], b"", b"\x00\x05", b"GET / HTTP/1.1\r\n\r\n",
               struct.pack("!H", 9) + bytes(30), ipfix_at(END, [(WEB, ALICE, 5)])[:-3], GOOD)
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (1_000, 0)}
    row = await exporter_row(runtime, plan)
    assert row.rejected == {"count_overrun": 1, "short": 2, "unknown_version": 1,
                            "bad_set": 1, "bad_length": 1}
    assert (row.datagrams, row.flows) == (7, 1)


async def test_a_v9_data_set_before_its_template_is_lost(api: Any, runtime: Any,
                                                         collector: Any) -> None:
    plan = await alice_plan(api, collector)
    uptime, secs = 3_600_000, int(END.timestamp()) + 5
    last = uptime - 5_000  # ends at END
    data = b.flow_set(256, b.V4_RECORD.pack(int(ip(WEB)), int(ip(ALICE)), 600, 1,
                                            last - 100, last, 443, 5000, 6))
    template = b.flow_set(0, b.template_record(256, b.V4_FIELDS))
    await send(collector, b.v9([data], uptime=uptime, secs=secs, seq=1))
    await send(collector, b.v9([template, data], uptime=uptime, secs=secs, seq=2))
    await send(collector, b.v9([data], uptime=uptime, secs=secs, seq=3))
    assert await flushed(collector, runtime, plan) == ({plan.alice_pk: (1_200, 0)},
                                                      {"no_template": 1})


async def test_unknown_template_ids_are_counted(api: Any, runtime: Any,
                                                collector: Any) -> None:
    plan = await alice_plan(api, collector)
    known = ipfix_at(END, [(WEB, ALICE, 10)], seq=1)
    unknown = b.ipfix([b.flow_set(999, bytes(48)), b.flow_set(4242, bytes(8))], seq=2,
                      export=int(END.timestamp()))
    await send(collector, known, unknown)
    assert await flushed(collector, runtime, plan) == ({plan.alice_pk: (10, 0)},
                                                      {"no_template": 2})


async def test_records_for_unknown_addresses_are_unattributed(api: Any, runtime: Any,
                                                              collector: Any) -> None:
    await alice_plan(api, collector)
    await send(collector, v5_at(END, [(WEB, "100.64.1.200", 31), ("100.64.1.200", WEB, 4),
                                      ("198.51.100.1", WEB, 9)]))
    await collector.flush()
    assert await per_account(runtime) == {}
    assert await unattributed(runtime) == {("100.64.1.200", utc(2026, 11, 2, 14)): (31, 4, 2),
                                           ("", utc(2026, 11, 2, 14)): (9, 0, 1)}


async def test_absurd_counts_and_times_are_refused_by_the_validity_check(
        api: Any, runtime: Any, collector: Any) -> None:
    """The check applies to each address's total per interval: a record of 10 PB spoils
    its address's minute (the good record beside it is refused with it), not the rest."""
    plan = await alice_plan(api, collector)
    spoilt = utc(2026, 11, 2, 14, 10, 5)
    await send(collector,
               ipfix_at(spoilt, [(WEB, ALICE, 10**16), (WEB, ALICE, 3)], seq=1),
               ipfix_at(utc(2027, 3, 1), [(WEB, ALICE, 5)], seq=2),          # months ahead
               ipfix_at(utc(2026, 1, 2), [(WEB, ALICE, 6)], seq=3),          # 10 months old
               ipfix_at(utc(2026, 11, 2, 15, 30), [(WEB, ALICE, 7)], seq=4),  # 30 min ahead
               GOOD)
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (1_000, 0)}
    assert (await exporter_row(runtime, plan)).rejected == {
        "absurd_bytes": 1, "in_future": 2, "too_old": 1}
    assert collector.bound.used == 0  # nothing of them is held back


async def test_times_beyond_any_calendar_are_refused(api: Any, runtime: Any,
                                                     collector: Any) -> None:
    plan = await alice_plan(api, collector)
    end_ms = 2**63
    record = b.IPFIX_RECORD.pack(ip(WEB), ip(ALICE), 99, 1, end_ms - 1, end_ms, 1, 2, 6)
    await send(collector, b.ipfix([b.flow_set(2, b.template_record(256, b.IPFIX_FIELDS)),
                                   b.flow_set(256, record)]), GOOD)
    assert await flushed(collector, runtime, plan) == ({plan.alice_pk: (1_000, 0)},
                                                      {"in_future": 1})


async def test_unknown_and_inactive_exporters_are_dropped(api: Any, runtime: Any,
                                                          collector: Any) -> None:
    plan = await alice_plan(api, collector)
    await send(collector, GOOD, source="127.0.0.2")
    assert collector.totals.unknown == 1
    await api.data(DEACTIVATE, {"input": {"id": plan.exporter, "active": False}}, plan.token)
    await ready(collector)
    await send(collector, GOOD)
    assert collector.totals.unknown == 2
    await collector.flush()
    assert await records(runtime) == 0
    assert (await exporter_row(runtime, plan)).datagrams == 0


DEACTIVATE = """mutation($input: UpdateNetflowExporterInput!) {
  updateNetflowExporter(input: $input) { errors { code } } }"""


async def test_replayed_datagrams_are_counted_once(api: Any, runtime: Any,
                                                   collector: Any) -> None:
    """The same datagram again (a duplicate on the wire, a relay sending it twice) is
    dropped; a new datagram with the same flows (another sequence number) is not."""
    plan = await alice_plan(api, collector)
    again = v5_at(END, [(WEB, ALICE, 1_000)], seq=1_030)
    await send(collector, GOOD, GOOD, again, GOOD)
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (2_000, 0)}
    row = await exporter_row(runtime, plan)
    assert (row.datagrams, row.rejected) == (4, {"replayed": 2})


async def test_a_replay_is_remembered_for_one_to_two_replay_windows(
        api: Any, runtime: Any, collector: Any) -> None:
    plan = await alice_plan(api, collector)
    collector.replay_seconds = 0  # every flush starts a new window
    await send(collector, GOOD)
    await collector.flush()
    await send(collector, GOOD)  # the previous window's: still a replay
    await collector.flush()
    await send(collector, GOOD)  # two windows ago: taken again
    assert await flushed(collector, runtime, plan) == ({plan.alice_pk: (2_000, 0)},
                                                      {"replayed": 1})


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


async def test_the_collector_survives_any_bytes(api: Any, runtime: Any, collector: Any
                                                ) -> None:
    """Random datagrams and mutations of good ones, through the datagram callback: nothing
    escapes, every datagram is accounted for, and a good datagram is credited after."""
    plan = await alice_plan(api, collector)
    seeds = [GOOD, ipfix_at(END, [(WEB, ALICE, 3), ("2606:4700::1", "2001:db8:100::1", 4)]),
             b.v9([b.flow_set(0, b.template_record(256, b.V4_FIELDS))])]
    taken: list[bytes] = []

    @FUZZ
    @given(st.one_of(st.binary(max_size=300),
                     st.tuples(st.sampled_from(seeds), st.integers(0, 400),
                               st.integers(0, 255), st.integers(0, 400)).map(_mutate)))
    def feed(datagram: bytes) -> None:
        collector.take(datagram, ("127.0.0.1", 2055))
        taken.append(datagram)

    feed()
    exporter = next(iter(collector.exporters.values()))
    assert exporter.received == len(taken)
    assert exporter.errors == 0
    await send(collector, v5_at(END, [(WEB, ALICE, 1)], seq=77_777))
    await collector.flush()
    await collector.flush()
    row = await exporter_row(runtime, plan)
    assert row.datagrams == len(taken) + 1
    assert not collector.pending


def _mutate(args: tuple[bytes, int, int, int]) -> bytes:
    seed, at, value, cut = args
    data = bytearray(seed)
    if data:
        data[at % len(data)] = value
    return bytes(data[:cut] if cut < len(data) else data)
