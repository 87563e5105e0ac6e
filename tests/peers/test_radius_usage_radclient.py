"""Usage from accounting sent by Debian's ``radclient``: to the built-in server on loopback,
and through a real FreeRADIUS whose stock queries write ``radacct``, counted by the
``usage.collect_radacct`` job. In both, Acct-*-Gigawords carry the counters past 4 GiB and
the account's usage equals the differences between the reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from ispcore.domain.usage.radacct import COLLECT_JOB
from ispcore.workers.registry import run_job
from tests.peers.freeradius_support import radclient as freeradius_client
from tests.peers.test_radius_radclient import radclient
from tests.usage.accounting_support import GIGAWORD, Metered, used
from tests.usage.support import pk_of

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
#: (Acct-Session-Time, input octets, output octets) at 15:40 and at the Stop at 16:20.
INTERIM = (2400, 2 * GIGAWORD + 1000, 7 * GIGAWORD + 500_000)
STOP = (4800, 2 * GIGAWORD + 3000, 9 * GIGAWORD + 700_000)


def counters(session_time: int, input_octets: int, output_octets: int) -> list[str]:
    return [f"Acct-Session-Time = {session_time}",
            f"Acct-Input-Octets = {input_octets % GIGAWORD}",
            f"Acct-Input-Gigawords = {input_octets // GIGAWORD}",
            f"Acct-Output-Octets = {output_octets % GIGAWORD}",
            f"Acct-Output-Gigawords = {output_octets // GIGAWORD}"]


def expected_hours() -> dict[datetime, tuple[int, int]]:
    """(download, upload) per hour: 15:00-15:40 in the first report, 15:40-16:20 (half in
    each hour) in the Stop."""
    down, up = STOP[2] - INTERIM[2], STOP[1] - INTERIM[1]
    return {T0: (INTERIM[2] + down // 2, INTERIM[1] + up // 2),
            T0 + timedelta(hours=1): (down // 2, up // 2)}


async def test_radclient_accounting_to_the_built_in_server_is_usage(
        runtime: Any, clock: Any, metered: Metered) -> None:
    port = metered.server.acct_port
    session = ['User-Name = "pat"', 'Acct-Session-Id = "81a00042"', "NAS-Port = 7"]
    replies = [await radclient(port, "acct", *session, "Acct-Status-Type = Start")]
    clock.advance(timedelta(minutes=40))
    replies.append(await radclient(port, "acct", *session, "Acct-Status-Type = Interim-Update",
                                   *counters(*INTERIM)))
    clock.advance(timedelta(minutes=40))
    replies.append(await radclient(port, "acct", *session, "Acct-Status-Type = Stop",
                                   *counters(*STOP), "Acct-Terminate-Cause = User-Request"))
    assert all("Received Accounting-Response" in reply for reply in replies)

    usage = await used(runtime, metered.account_pk)
    assert (usage.upload, usage.download, usage.records) == (STOP[1], STOP[2], 2)
    assert usage.hourly == expected_hours()


async def test_radclient_through_freeradius_radacct_is_usage(
        runtime: Any, clock: Any, freeradius: dict[str, Any]) -> None:
    account = pk_of(freeradius["radius"].account)
    acct = freeradius["acct"]
    session = ('User-Name = "pat", Acct-Session-Id = "81a00043", NAS-IP-Address = 127.0.0.1, '
               "NAS-Port = 7")

    async def report(minutes: int, *lines: str) -> None:
        """FreeRADIUS writes the NAS's Event-Timestamp (the test clock) into radacct."""
        moment = T0 + timedelta(minutes=minutes)
        clock.set(moment)
        code, _ = await freeradius_client(acct, "acct", ", ".join(
            [session, *lines, f"Event-Timestamp = {int(moment.timestamp())}"]))
        assert code == "Accounting-Response"

    await report(0, "Acct-Status-Type = Start")
    await report(40, "Acct-Status-Type = Interim-Update", *counters(*INTERIM))
    first = await run_job(runtime, COLLECT_JOB)
    await report(80, "Acct-Status-Type = Stop", *counters(*STOP),
                 "Acct-Terminate-Cause = User-Request")
    second = await run_job(runtime, COLLECT_JOB)
    again = await run_job(runtime, COLLECT_JOB)
    assert (first["credited"], second["credited"], again["sessions"]) == (1, 1, 0)

    usage = await used(runtime, account)
    assert (usage.upload, usage.download, usage.records) == (STOP[1], STOP[2], 2)
    assert usage.hourly == expected_hours()
    if runtime.db.is_sqlite:  # the stock SQLite queries wrote epoch numbers, not text
        async with runtime.db.engine.connect() as conn:
            assert (await conn.execute(text(
                "SELECT typeof(acctstarttime), typeof(acctstoptime) FROM radacct"))).one() == (
                "integer", "integer")
