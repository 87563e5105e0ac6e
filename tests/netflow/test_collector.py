"""The collector end to end on loopback, against the real database: flows summed per address
and interval, credited to the account that held the address at the time (IPv6: the holder of
the delegated prefix), the rest counted as unattributed, batches written once however often
they are retried, and late flows of an interval already written added to it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage.models import UsageRecord
from ispcore.domain.usage.netflow_flush import ExporterCounts, FlushEntry, apply_batch
from ispcore.network.netflow.collector import NetflowCollector
from ispcore.network.netflow.tally import BLOCK
from tests.netflow.support import (
    exporter_row,
    hold,
    hourly,
    ipfix_at,
    per_account,
    pk_of,
    plan_setup,
    ready,
    records,
    release,
    send,
    unattributed,
    utc,
    v5_at,
)

NOW = utc(2026, 11, 2, 15, 0)
ALICE, BOB = "100.64.1.10", "100.64.1.20"
WEB, DNS = "93.184.216.34", "8.8.8.8"


async def test_bytes_credited_per_account_equal_what_was_sent(api: Any, runtime: Any,
                                                              collector: Any) -> None:
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    await hold(api, plan, plan.bob, BOB)
    await ready(collector)
    end = utc(2026, 11, 2, 14, 30, 20)
    await send(collector,
               v5_at(end, [(WEB, ALICE, 1_000_000), (ALICE, WEB, 40_000),
                           (DNS, BOB, 300), (BOB, DNS, 120)], seq=0),
               v5_at(end, [(WEB, ALICE, 500_000), (ALICE, BOB, 7_000)], seq=6),
               ipfix_at(end + timedelta(minutes=2), [(WEB, BOB, 2_000_000)]))
    await collector.flush()
    assert await per_account(runtime) == {
        plan.alice_pk: (1_500_000, 40_000 + 7_000),
        plan.bob_pk: (300 + 7_000 + 2_000_000, 120),  # Alice -> Bob counts for both
    }
    # One sample per address and interval: Alice and Bob at 14:30, Bob again at 14:32.
    assert await records(runtime) == 3
    assert await unattributed(runtime) == {}
    row = await exporter_row(runtime, plan)
    assert (row.datagrams, row.flows, row.rejected, row.last_seen_at) == (3, 7, {}, NOW)


async def test_an_interval_waits_for_late_flows_then_is_written(api: Any, runtime: Any,
                                                                clock: Any,
                                                                collector: Any) -> None:
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    await ready(collector)
    await send(collector, v5_at(utc(2026, 11, 2, 14, 59, 30), [(WEB, ALICE, 100)], seq=0))
    await collector.flush()  # 14:59-15:00 ended now, the grace has not passed
    assert await records(runtime) == 0
    await send(collector, v5_at(utc(2026, 11, 2, 14, 59, 50), [(WEB, ALICE, 20)], seq=1))
    clock.set(NOW + timedelta(seconds=collector.grace))
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (120, 0)}
    assert await records(runtime) == 1


async def test_an_address_reassigned_during_the_day(api: Any, runtime: Any, clock: Any,
                                                    collector: Any) -> None:
    """Alice holds the address 08:00-12:00, Bob from 12:00; before 08:00 nobody did."""
    plan = await plan_setup(api)
    first = await hold(api, plan, plan.alice, ALICE, at=utc(2026, 11, 2, 8, 0))
    clock.set(utc(2026, 11, 2, 12, 0))
    await release(api, plan, first)
    await hold(api, plan, plan.bob, ALICE, at=None)
    clock.set(utc(2026, 11, 2, 16, 0))
    await ready(collector)
    await send(collector, v5_at(utc(2026, 11, 2, 7, 30, 5), [(WEB, ALICE, 11)], seq=0),
               v5_at(utc(2026, 11, 2, 11, 59, 10), [(WEB, ALICE, 1_000)], seq=1),
               v5_at(utc(2026, 11, 2, 12, 0, 10), [(WEB, ALICE, 2_000)], seq=2),
               v5_at(utc(2026, 11, 2, 15, 45, 0), [(ALICE, WEB, 3_000)], seq=3))
    await collector.flush()
    assert await hourly(runtime) == {
        (plan.alice_pk, utc(2026, 11, 2, 11)): (1_000, 0),
        (plan.bob_pk, utc(2026, 11, 2, 12)): (2_000, 0),
        (plan.bob_pk, utc(2026, 11, 2, 15)): (0, 3_000),
    }
    assert await unattributed(runtime) == {(ALICE, utc(2026, 11, 2, 7)): (11, 0, 1)}


async def test_ipv6_addresses_belong_to_the_holder_of_their_delegated_prefix(
        api: Any, runtime: Any, collector: Any) -> None:
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, "2001:db8:100:100::/56")
    await ready(collector)
    end = utc(2026, 11, 2, 14, 10)
    await send(collector, ipfix_at(end, [
        ("2606:4700::1111", "2001:db8:100:100::5", 5_000),      # inside Alice's /56
        ("2606:4700::1111", "2001:db8:100:1ff:a::9", 6_000),    # inside it too
        ("2001:db8:100:100::5", "2606:4700::1111", 700),
        ("2606:4700::1111", "2001:db8:100:200::1", 80),         # a subnet, nobody's prefix
        ("2606:4700::1111", "2001:db8:ffff::1", 9),             # the supernet, no subnet
        ("2606:4700::1111", "2a00:1450::1", 3)]))               # outside it: transit
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (11_000, 700)}
    assert await unattributed(runtime) == {
        ("2001:db8:100:200::1", utc(2026, 11, 2, 14)): (80, 0, 1),
        ("2001:db8:ffff::1", utc(2026, 11, 2, 14)): (9, 0, 1),
        ("", utc(2026, 11, 2, 14)): (3, 0, 1)}


async def test_unheld_addresses_and_transit_are_counted_unattributed(
        api: Any, runtime: Any, collector: Any) -> None:
    plan = await plan_setup(api)
    await ready(collector)
    await send(collector, v5_at(utc(2026, 11, 2, 13, 20), [
        (WEB, "100.64.1.77", 1_000), ("100.64.1.77", WEB, 50), (WEB, "100.64.1.77", 1),
        (DNS, WEB, 4_000), (WEB, DNS, 6_000)]))
    await send(collector, v5_at(utc(2026, 11, 2, 13, 40), [(DNS, WEB, 10)], seq=5))
    await collector.flush()
    assert await per_account(runtime) == {}
    assert await unattributed(runtime) == {
        ("100.64.1.77", utc(2026, 11, 2, 13)): (1_001, 50, 3),
        ("", utc(2026, 11, 2, 13)): (10_010, 0, 3)}
    # The query shows the same, the largest first.
    totals = (await api.data(UNATTRIBUTED, {"companyId": plan.company,
                                            "from": "2026-11-02T13:00:00Z",
                                            "to": "2026-11-02T14:00:00Z"},
                             plan.token))["unattributedUsage"]
    assert totals == [
        {"source": "NETFLOW", "address": "", "transit": True, "bytesIn": 10_010,
         "bytesOut": 0, "records": 3},
        {"source": "NETFLOW", "address": "100.64.1.77", "transit": False, "bytesIn": 1_001,
         "bytesOut": 50, "records": 3}]


UNATTRIBUTED = """query($companyId: ID!, $from: DateTime!, $to: DateTime!) {
  unattributedUsage(companyId: $companyId, from: $from, to: $to) {
    source address transit bytesIn bytesOut records } }"""


async def test_the_exporters_sampling_override_replaces_the_announced_rate(
        api: Any, runtime: Any, collector: Any) -> None:
    plan = await plan_setup(api, exporter={"samplingRate": 100})
    await hold(api, plan, plan.alice, ALICE)
    await ready(collector)
    end = utc(2026, 11, 2, 14, 0, 30)
    await send(collector,
               v5_at(end, [(WEB, ALICE, 1_500)], sampling=(1 << 14) | 10, seq=0),  # 1 in 10
               v5_at(end, [(ALICE, WEB, 40)], seq=1))                              # none
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (150_000, 4_000)}
    await api.data(UPDATE_SAMPLING, {"input": {"id": plan.exporter, "samplingRate": None}},
                   plan.token)
    await ready(collector)
    await send(collector, v5_at(end, [(WEB, ALICE, 1_500)], sampling=(1 << 14) | 10, seq=2))
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (150_000 + 15_000, 4_000)}


UPDATE_SAMPLING = """mutation($input: UpdateNetflowExporterInput!) {
  updateNetflowExporter(input: $input) { errors { code } } }"""


async def test_a_later_flush_of_the_same_interval_adds(api: Any, runtime: Any,
                                                       collector: Any) -> None:
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    await ready(collector)
    end = utc(2026, 11, 2, 14, 20, 40)
    await send(collector, v5_at(end, [(WEB, ALICE, 1_000)], seq=0))
    await collector.flush()
    await send(collector, v5_at(end, [(WEB, ALICE, 234)], seq=1))  # exported late
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (1_234, 0)}
    async with runtime.db.session() as s:
        keys = list(await s.scalars(select(UsageRecord.source_key)
                                    .order_by(UsageRecord.id)))
    assert len(keys) == 2 and keys[0] != keys[1]
    assert all(k.endswith(f":100.64.1.10:{int(utc(2026, 11, 2, 14, 20).timestamp())}")
               for k in keys)


async def rename(runtime: Any, table: str, to: str) -> None:
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text(f'ALTER TABLE "{table}" RENAME TO "{to}"'))


async def test_a_batch_that_failed_is_retried_and_counted_once(api: Any, runtime: Any,
                                                               collector: Any) -> None:
    """The write fails half-way (after the usage was credited, on the unattributed table,
    renamed away): the transaction rolls back, the batch waits, and the next flush writes
    it exactly once."""
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    await ready(collector)
    await send(collector, v5_at(utc(2026, 11, 2, 14, 0, 1), [
        (WEB, ALICE, 5_000), (WEB, "100.64.1.99", 70)]))
    await rename(runtime, "usage_unattributed", "usage_unattributed_away")
    try:
        await collector.flush()
        assert len(collector.pending) == 1
        assert collector.totals.failures == 1
        assert await records(runtime) == 0  # rolled back with the rest
    finally:
        await rename(runtime, "usage_unattributed_away", "usage_unattributed")
    await collector.flush()
    await collector.flush()
    assert not collector.pending
    assert await per_account(runtime) == {plan.alice_pk: (5_000, 0)}
    assert await unattributed(runtime) == {("100.64.1.99", utc(2026, 11, 2, 14)): (70, 0, 1)}
    row = await exporter_row(runtime, plan)
    assert (row.datagrams, row.flows) == (1, 2)
    assert collector.bound.used == 0


async def test_batches_wait_while_the_database_cannot_be_read(api: Any, runtime: Any,
                                                              collector: Any) -> None:
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    await ready(collector)
    await send(collector, v5_at(utc(2026, 11, 2, 14, 5), [(WEB, ALICE, 900)]))
    await rename(runtime, "netflow_exporters", "netflow_exporters_away")
    try:
        await collector.flush()  # the exporters cannot be reloaded: nothing is written
        await send(collector, v5_at(utc(2026, 11, 2, 14, 6), [(WEB, ALICE, 100)], seq=1))
        await collector.flush()
        assert len(collector.pending) == 2  # one per cut
    finally:
        await rename(runtime, "netflow_exporters_away", "netflow_exporters")
    await collector.flush()
    assert not collector.pending
    assert await per_account(runtime) == {plan.alice_pk: (1_000, 0)}
    assert (await exporter_row(runtime, plan)).datagrams == 2


async def test_a_retry_of_a_batch_whose_commit_went_through_writes_nothing(
        api: Any, runtime: Any) -> None:
    """The commit succeeded but the collector did not hear so (the connection dropped):
    the same batch again credits nothing and adds nothing to the unattributed totals or
    the exporter's counters."""
    plan = await plan_setup(api)
    exporter = pk_of(plan.exporter)
    start = utc(2026, 11, 2, 14, 0)
    end = start + timedelta(minutes=1)
    entries = [FlushEntry(exporter, ALICE, start, end, 800, 20, 2, plan.alice_pk),
               FlushEntry(exporter, "", start, end, 55, 0, 1, None)]
    for attempt in range(2):
        async with runtime.unit_of_work(SYSTEM, action="test") as uow:
            applied = await apply_batch(uow, plan.company_pk, "run1:1", entries,
                                        {exporter: ExporterCounts(datagrams=1, flows=3)})
        assert applied.already == (attempt == 1)
    assert await per_account(runtime) == {plan.alice_pk: (800, 20)}
    assert await unattributed(runtime) == {("", start): (55, 0, 1)}
    row = await exporter_row(runtime, plan)
    assert (row.datagrams, row.flows) == (1, 3)


async def test_what_is_held_is_written_when_the_collector_stops(api: Any, runtime: Any,
                                                                 clock: Any) -> None:
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    stopping = NetflowCollector(runtime, host="127.0.0.1", port=0, flush_seconds=3600,
                                metrics_port=0)
    await stopping.start()
    await send(stopping, v5_at(utc(2026, 11, 2, 14, 59, 59), [(WEB, ALICE, 42)]))
    await stopping.flush()
    assert await records(runtime) == 0  # not due yet
    await stopping.stop()
    assert await per_account(runtime) == {plan.alice_pk: (42, 0)}


async def test_memory_is_bounded_and_what_did_not_fit_is_counted(api: Any, runtime: Any
                                                                 ) -> None:
    """Room for one IPv4 /24 of totals (256) and one remembered /24 outside the plan: the
    IPv6 addresses that come next find none until the flush has written the rest."""
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    await hold(api, plan, plan.bob, "2001:db8:100:100::/56")
    small = NetflowCollector(runtime, host="127.0.0.1", port=0, flush_seconds=3600,
                             metrics_port=0, max_entries=BLOCK + 1)
    await small.start()
    try:
        end = utc(2026, 11, 2, 14, 0, 30)
        await send(small, v5_at(end, [(WEB, ALICE, 10), (WEB, "100.64.1.5", 20),
                                      (WEB, ALICE, 5), (DNS, WEB, 40)]))
        assert small.bound.used == BLOCK + 1
        await send(small, ipfix_at(end, [(WEB6, BOB6, 70), (WEB6, BOB6_2, 80)]))
        await small.flush()
        assert small.bound.used == 0
        await send(small, ipfix_at(end, [(WEB6, BOB6, 9)], seq=7))  # room again
        await small.flush()
    finally:
        await small.stop()
    assert await per_account(runtime) == {plan.alice_pk: (15, 0), plan.bob_pk: (9, 0)}
    assert await unattributed(runtime) == {("100.64.1.5", utc(2026, 11, 2, 14)): (20, 0, 1),
                                           ("", utc(2026, 11, 2, 14)): (40, 0, 1)}
    row = await exporter_row(runtime, plan)
    assert row.rejected == {"memory_full": 2}


WEB6, BOB6, BOB6_2 = "2606:4700::1111", "2001:db8:100:100::5", "2001:db8:100:100::6"
