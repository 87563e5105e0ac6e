"""Usage from RADIUS accounting: the built-in server credits the difference between each
report's cumulative counters and what the session had counted (Gigawords folded in, a
counter reset counted from zero, replays and late copies ignored, nothing after the Stop),
and the ``usage.collect_radacct`` job does the same for FreeRADIUS's ``radacct``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.network.models import FreeradiusAccounting, RadiusSession
from ispcore.domain.usage import radacct
from ispcore.domain.usage.models import RadacctProgress, UsageRecord
from ispcore.network.radius import accounting
from ispcore.workers.registry import run_job
from tests.accounts.factories import ok
from tests.billing.factories import add, customer
from tests.network.radius_support import Radius
from tests.support import count_statements
from tests.usage.accounting_support import (
    GIGAWORD,
    Metered,
    acct,
    in_turn,
    interim,
    radacct_report,
    radacct_start,
    radacct_stopped,
    send,
    used,
)
from tests.usage.support import pk_of

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
SESSIONS = """query($id: ID!) { account(id: $id) { radiusSessions { acctSessionId inputOctets
  countedInputOctets countedOutputOctets countedAt stoppedAt } } }"""


def hour(h: int) -> datetime:
    return T0.replace(hour=h)


async def session_row(runtime: Any, name: str = "s-1") -> RadiusSession:
    async with runtime.db.session() as s:
        return await s.scalar(select(RadiusSession)
                              .where(RadiusSession.acct_session_id == name))


# --- the built-in server ----------------------------------------------------------------------


async def test_start_interims_and_stop_credit_the_deltas_over_their_time(
        api: Any, runtime: Any, clock: Any, metered: Metered) -> None:
    server = metered.server
    first = (3 * GIGAWORD + 1000, 8 * 10**9)  # (input, output): past 4 GiB
    second = (first[0] + 2000, first[1] + 4 * 10**9)
    final = (second[0] + 500, second[1] + 10**9)
    await send(server, acct("Start"))
    clock.advance(timedelta(minutes=40))
    await send(server, interim(2400, *first))
    clock.advance(timedelta(minutes=40))
    await send(server, interim(4800, *second))
    clock.advance(timedelta(minutes=10))
    await send(server, interim(5400, *final, status="Stop", Acct_Terminate_Cause="User-Request"))

    usage = await used(runtime, metered.account_pk)
    # Output-Octets went to the customer (download), Input-Octets came from them (upload).
    assert (usage.download, usage.upload) == (final[1], final[0])
    # 15:40-16:20 is split evenly across the hour; each report covers the time since the last.
    assert usage.hourly == {hour(15): (8 * 10**9 + 2 * 10**9, first[0] + 1000),
                            hour(16): (2 * 10**9 + 10**9, 1000 + 500)}
    assert usage.records == 3
    [session] = (await api.data(SESSIONS, {"id": metered.radius.account},
                                metered.radius.token))["account"]["radiusSessions"]
    assert session == {"acctSessionId": "s-1", "inputOctets": str(final[0]),
                       "countedInputOctets": final[0], "countedOutputOctets": final[1],
                       "countedAt": "2026-11-02T16:30:00+00:00",
                       "stoppedAt": "2026-11-02T16:30:00+00:00"}
    assert server.counters.usage.credited == 3
    assert not server.counters.usage.not_credited


async def test_a_counter_reset_counts_the_new_value(runtime: Any, clock: Any,
                                                    metered: Metered) -> None:
    server = metered.server
    await in_turn(server, clock, acct("Start"), interim(300, 5000, 9000),
                  interim(600, 1200, 3000),  # below what was counted, later: a reset
                  interim(900, 2200, 3500))
    usage = await used(runtime, metered.account_pk)
    assert (usage.upload, usage.download) == (5000 + 1200 + 1000, 9000 + 3000 + 500)
    assert server.counters.usage.resets == 1


async def test_a_replayed_or_late_interim_credits_nothing(runtime: Any, clock: Any,
                                                          metered: Metered) -> None:
    server = metered.server
    await in_turn(server, clock, acct("Start"), interim(300, 1000, 2000),
                  interim(600, 4000, 8000))
    clock.advance(timedelta(minutes=1))
    # The first interim again, as a new packet (the NAS sent it twice, or someone replays
    # it), with and without Acct-Session-Time: these counters were credited already.
    await send(server, interim(300, 1000, 2000))
    await send(server, acct("Interim-Update", Acct_Input_Octets=1000, Acct_Output_Octets=2000))
    assert server.counters.usage.not_credited == {"replayed": 2}
    row = await session_row(runtime)
    assert (row.input_octets, row.output_octets, row.session_time) == (4000, 8000, 600)
    assert row.interim_count == 2

    clock.advance(timedelta(minutes=1))
    await send(server, interim(720, 4500, 8800, status="Stop"))
    usage = await used(runtime, metered.account_pk)
    assert (usage.upload, usage.download, usage.records) == (4500, 8800, 3)


async def test_an_interim_overtaken_by_a_later_one_is_late(runtime: Any, clock: Any,
                                                           metered: Metered) -> None:
    server = metered.server
    clock.advance(timedelta(minutes=10))
    await send(server, interim(600, 4000, 8000))  # the session first seen here
    await send(server, interim(300, 1000, 2000))  # an earlier report, delivered late
    usage = await used(runtime, metered.account_pk)
    assert (usage.upload, usage.download) == (4000, 8000)
    # Seen first through an Interim, the session started Acct-Session-Time before it.
    assert usage.hourly == {hour(15): (8000, 4000)}
    assert server.counters.usage.not_credited == {"late": 1}


async def test_nothing_is_credited_after_the_stop(runtime: Any, clock: Any,
                                                  metered: Metered) -> None:
    server = metered.server
    await in_turn(server, clock, acct("Start"), interim(300, 1000, 2000, status="Stop"),
                  interim(600, 5000, 9000), interim(700, 6000, 9500, status="Stop"))
    usage = await used(runtime, metered.account_pk)
    assert (usage.upload, usage.download, usage.records) == (1000, 2000, 1)
    row = await session_row(runtime)
    assert (row.input_octets, row.counted_in) == (1000, 1000)


async def test_accounting_on_ends_the_sessions_and_their_later_reports_count_nothing(
        runtime: Any, clock: Any, metered: Metered) -> None:
    server = metered.server
    await in_turn(server, clock, acct("Start"), interim(300, 1000, 2000),
                  acct("Accounting-On", session="0"), interim(600, 3000, 4000))
    usage = await used(runtime, metered.account_pk)
    assert (usage.upload, usage.download) == (1000, 2000)
    assert (await session_row(runtime)).terminate_cause == "NAS-Reboot"


async def test_a_session_of_an_unknown_username_is_counted_not_credited(
        runtime: Any, clock: Any, metered: Metered) -> None:
    server = metered.server
    await in_turn(server, clock, acct("Start", user="nobody"),
                  interim(300, 1000, 2000, user="nobody"))
    assert server.counters.usage.not_credited == {"unknown_user": 1}
    async with runtime.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(UsageRecord)) == 0
    row = await session_row(runtime)
    assert (row.account_id, row.counted_in, row.counted_out) == (None, 1000, 2000)


async def test_a_report_ingest_refuses_is_counted_and_not_credited(
        runtime: Any, clock: Any, metered: Metered) -> None:
    server = metered.server
    absurd = 300_000 * GIGAWORD  # 1.3 PB in five minutes
    await in_turn(server, clock, acct("Start"), interim(300, absurd, 2000),
                  interim(600, absurd + 700, 2500))
    assert server.counters.usage.not_credited == {"absurd_bytes": 1}
    usage = await used(runtime, metered.account_pk)
    assert (usage.upload, usage.download) == (700, 500)


async def test_one_batch_with_a_new_session_and_a_repeated_report(
        runtime: Any, clock: Any, metered: Metered, system_uow: Any) -> None:
    """Records of one transaction, as the server batches them: the session is created by
    the first and its usage keyed once it has an id; a repeated report counts once."""
    nas = metered.server.cache.nas["127.0.0.1"]

    def record(status: int, session_time: int | None, octets: int) -> accounting.Record:
        return accounting.Record(
            status, nas.id, nas.company_id, "pat", "batch-1", session_time, octets,
            2 * octets, None, None, None, None, None, None)

    clock.advance(timedelta(minutes=30))
    tally = await accounting.store(system_uow, [
        record(accounting.INTERIM, 600, 1000), record(accounting.INTERIM, 1200, 3000),
        record(accounting.INTERIM, 1200, 3000),  # the same counters again: nothing new
        record(accounting.INTERIM, None, 1000),  # an earlier report again
        record(accounting.STOP, 1500, 3500)])
    assert (tally.credited, tally.not_credited) == (3, {"replayed": 1})
    row = await session_row(runtime, "batch-1")
    async with runtime.db.session() as s:
        keys = sorted(await s.scalars(select(UsageRecord.source_key)))
    assert keys == sorted(f"{row.id}:{n}:{2 * n}" for n in (1000, 3000, 3500))
    usage = await used(runtime, metered.account_pk)
    assert (usage.upload, usage.download) == (3500, 7000)
    # Usage of a session seen first at 15:30 with 600 s behind it starts at 15:20.
    assert row.started_at == T0 + timedelta(minutes=20)


# --- FreeRADIUS's radacct ----------------------------------------------------------------------


async def collect(runtime: Any) -> dict[str, int]:
    return await run_job(runtime, radacct.COLLECT_JOB)


async def progress(runtime: Any) -> list[tuple[int, int, datetime]]:
    async with runtime.db.session() as s:
        return [(p.counted_in, p.counted_out, p.counted_until) for p in await s.scalars(
            select(RadacctProgress).order_by(RadacctProgress.radacct_id))]


async def test_radacct_sessions_are_credited_once(runtime: Any, clock: Any,
                                                  login: Radius) -> None:
    first = (GIGAWORD + 5, 3 * GIGAWORD + 7)
    final = (first[0] + 1000, first[1] + 6000)
    await radacct_start(runtime, "u-1", "pat", T0)
    assert (await collect(runtime))["credited"] == 0
    clock.advance(timedelta(minutes=40))
    await radacct_report(runtime, "u-1", T0 + timedelta(minutes=40), 2400, *first)
    assert (await collect(runtime))["credited"] == 1
    assert (await collect(runtime))["credited"] == 0  # nothing new: nothing credited
    clock.advance(timedelta(minutes=40))
    await radacct_report(runtime, "u-1", T0 + timedelta(minutes=80), 4800, *final, stop=True)
    assert (await collect(runtime)) == {"sessions": 1, "credited": 1, "duplicates": 0,
                                        "resets": 0}
    assert (await collect(runtime)) == {"sessions": 0, "credited": 0, "duplicates": 0,
                                        "resets": 0}

    usage = await used(runtime, pk_of(login.account))
    assert (usage.upload, usage.download, usage.records) == (final[0], final[1], 2)
    assert usage.hourly == {hour(15): (first[1] + 3000, first[0] + 500),
                            hour(16): (3000, 500)}
    assert await progress(runtime) == [(*final, T0 + timedelta(minutes=80))]


async def test_radacct_reset_late_report_and_changes_after_the_stop(
        runtime: Any, clock: Any, login: Radius) -> None:
    await radacct_start(runtime, "u-2", "pat", T0)
    clock.advance(timedelta(minutes=30))
    await radacct_report(runtime, "u-2", T0 + timedelta(minutes=10), 600, 5000, 9000)
    await collect(runtime)
    # An older report written over it (a replay FreeRADIUS took): ignored, nothing moves.
    await radacct_report(runtime, "u-2", T0 + timedelta(minutes=5), 300, 2000, 4000)
    assert (await collect(runtime))["late"] == 1
    assert await progress(runtime) == [(5000, 9000, T0 + timedelta(minutes=10))]
    # Lower counters at a later time: the NAS restarted them.
    await radacct_report(runtime, "u-2", T0 + timedelta(minutes=20), 1200, 700, 800)
    assert (await collect(runtime))["resets"] == 1
    await radacct_report(runtime, "u-2", T0 + timedelta(minutes=25), 1500, 900, 1000,
                         stop=True)
    await collect(runtime)
    # After the Stop, PostgreSQL's interim query leaves the row alone; SQLite's writes it.
    assert await radacct_report(runtime, "u-2", T0 + timedelta(minutes=26), 1560, 1900,
                                2000) == 0
    assert await radacct_report(runtime, "u-2", T0 + timedelta(minutes=26), 1560, 1900,
                                2000, open_only=False) == 1
    assert (await collect(runtime))["credited"] == 0
    usage = await used(runtime, pk_of(login.account))
    assert (usage.upload, usage.download) == (5000 + 900, 9000 + 1000)


async def test_radacct_session_first_seen_at_its_stop_and_unknown_usernames(
        runtime: Any, clock: Any, login: Radius) -> None:
    clock.advance(timedelta(hours=1))
    big = 5 * GIGAWORD + 3
    await radacct_stopped(runtime, "u-3", "pat", T0 + timedelta(minutes=50), 1200, big, 40)
    await radacct_stopped(runtime, "u-4", "nobody", T0 + timedelta(minutes=50), 1200, 10, 10)
    assert await collect(runtime) == {"sessions": 2, "credited": 1, "duplicates": 0,
                                      "resets": 0, "unknown_user": 1}
    assert (await collect(runtime))["sessions"] == 0  # the unknown one's progress is kept
    usage = await used(runtime, pk_of(login.account))
    assert (usage.upload, usage.download) == (big, 40)
    assert usage.hourly == {hour(15): (40, big)}  # 15:30-15:50


async def test_radacct_rows_written_by_ispcore_itself(runtime: Any, clock: Any,
                                                      login: Radius) -> None:
    """Times stored through the model (ISO text on SQLite) read like FreeRADIUS's."""
    clock.advance(timedelta(minutes=20))
    async with runtime.db.session() as s, s.begin():
        s.add(FreeradiusAccounting(
            acctsessionid="x", acctuniqueid="u-5", username="pat", nasipaddress="127.0.0.1",
            acctstarttime=T0, acctupdatetime=T0 + timedelta(minutes=10), acctinputoctets=60,
            acctoutputoctets=600))
    await collect(runtime)
    usage = await used(runtime, pk_of(login.account))
    assert (usage.upload, usage.download, usage.records) == (60, 600, 1)
    assert await progress(runtime) == [(60, 600, T0 + timedelta(minutes=10))]


async def test_radacct_maps_a_reused_username_to_who_held_it(
        api: Any, runtime: Any, clock: Any, login: Radius) -> None:
    clock.advance(timedelta(hours=1))
    await ok(api, login.token, "removeRadiusCredential", {"id": login.credential["id"]})
    clock.advance(timedelta(hours=1))
    other = await customer(api, login.billing, name="Next Tenant")
    service = (await add(api, login.billing, other, login.billing.fibre))["id"]
    await ok(api, login.token, "createRadiusCredential", {
        "accountId": other, "accountServiceId": service, "username": "pat",
        "password": "another-pass"})
    clock.advance(timedelta(hours=1))
    await radacct_stopped(runtime, "old", "pat", T0 + timedelta(minutes=90), 3600, 100, 100)
    await radacct_stopped(runtime, "new", "pat", T0 + timedelta(hours=3), 600, 200, 200)
    await collect(runtime)
    assert (await used(runtime, pk_of(login.account))).upload == 100
    assert (await used(runtime, pk_of(other))).upload == 200


async def test_radacct_batches_take_a_fixed_number_of_statements(
        runtime: Any, clock: Any, login: Radius, monkeypatch: Any) -> None:
    monkeypatch.setattr(radacct, "BATCH", 4)
    clock.advance(timedelta(hours=1))

    async def statements(sessions: int, first: int) -> int:
        for n in range(first, first + sessions):
            await radacct_stopped(runtime, f"b-{n}", "pat", T0 + timedelta(minutes=30), 600,
                                  n, n)
        await runtime.jobs.drain()  # nothing else runs statements meanwhile
        with count_statements(runtime) as seen:
            result = await collect(runtime)
        assert result["credited"] == sessions
        return len(seen)

    # 3 sessions: one batch; 11: three batches; each batch costs the same.
    one, three = await statements(3, 1), await statements(11, 100)
    assert three == 3 * one - 2  # the first batch alone also reads how far counting got
