"""Access-Requests answered per second for 10,000 users: ispcore's built-in RADIUS server
against four baselines, all measured in the same run.

  bare        an asyncio UDP server that answers every request with an Access-Accept whose
              Response Authenticator is one MD5 (no parsing, no checks): the floor of
              Python + asyncio UDP.
  pyrad       pyrad 2.6's ``server_async.ServerAsync``, the 10,000 users in a dict: PAP check
              and a Mikrotik-Rate-Limit reply, with ispcore's shipped dictionary.
  fr-files    Debian's FreeRADIUS 3 (``freeradius -f``) with a users file of the 10,000 users
              (Cleartext-Password and the same reply), minimal config in a temp dir.
  fr-sql      the same FreeRADIUS with ``rlm_sql`` and the stock postgresql queries.conf on
              the database ispcore seeded (its views: radcheck, radreply, radusergroup, …).
  ispcore     ``RadiusServer`` (what ``ispcore radius`` runs) in a child process on that
              database: answers from its in-memory cache.

The database is a temporary PostgreSQL database (127.0.0.1:5432, dropped at the end) seeded
through ispcore: a company with 10,000 accounts (``billing_run.seed``), the data service given
speeds, a NAS at 127.0.0.1 whose secret is sealed with a vault key made for the run, a RADIUS
group ``Mikrotik-Rate-Limit = "{upload}k/{download}k"`` as the company's default, and 10,000
credentials ``user00000``… / ``pw-user00000``… inserted in bulk and compiled by
``compile.compile_company`` (timed apart from the rest).

Each server runs pinned to CPU 0 and the load generator (``radius_load.py``, its own process,
requests signed before the clock starts) to CPU 1. PostgreSQL is not pinned: for fr-sql it
shares the two cores with both. Per server: a 1 s warm-up, the max rate (closed loop, window
64, 5 s), then a paced run at half that rate for latency p50/p99 (5 s). Every reply must be an
Access-Accept (a reject means a broken setup: the script stops). The server's CPU time per
1,000 requests of the max run comes from /proc/<pid>/stat (all its threads).

Run:  PYTHONPATH=src .venv/bin/python bench/radius_auth.py [--seconds 5] [--only ispcore,...]
      [--profile]  (cProfile in the ispcore server during its runs; prints the top functions)
Prints figures and ratios; asserts none (the machine is shared and noisy). About 2 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common
import billing_run
import freeradius_conf

HERE = Path(__file__).resolve().parent
DICTIONARY = HERE.parent / "src/ispcore/network/radius/dictionary/dictionary"
USERS = 10_000
SECRET = "bench-radius-secret"
DOWN_KBPS, UP_KBPS = 100_000, 20_000
RATE_LIMIT = f"{UP_KBPS}k/{DOWN_KBPS}k"
SERVER_CPU, LOAD_CPU = 0, 1
WINDOW = 64
TARGETS = ("bare", "pyrad", "fr-files", "fr-sql", "ispcore")
LABELS = {"bare": "bare asyncio responder", "pyrad": "plain pyrad (ServerAsync)",
          "fr-files": "FreeRADIUS files", "fr-sql": "FreeRADIUS rlm_sql (PostgreSQL)",
          "ispcore": "ispcore radius (PostgreSQL)"}


# --- the Python servers, each run as ``radius_auth.py --serve KIND`` ---------------------------

class Bare:
    """Access-Accept for anything: code, id, length 20, MD5(header + request auth + secret)."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        head = b"\x02" + data[1:2] + b"\x00\x14"
        self.transport.sendto(head + hashlib.md5(head + data[4:20] + self.secret).digest(),
                              addr)

    def error_received(self, exc: Exception) -> None:
        pass

    def connection_lost(self, exc: Exception | None) -> None:
        pass


def pyrad_server(port: int) -> Any:
    from pyrad import packet
    from pyrad.dictionary import Dictionary
    from pyrad.server import RemoteHost
    from pyrad.server_async import ServerAsync

    users = {f"user{i:05d}": f"pw-user{i:05d}" for i in range(USERS)}

    class Plain(ServerAsync):
        def handle_auth_packet(self, protocol: Any, pkt: Any, addr: Any) -> None:
            name = pkt["User-Name"][0]
            ok = users.get(name) is not None and (
                pkt.PwDecrypt(pkt["User-Password"][0]) == users[name])
            if ok:
                reply = self.CreateReplyPacket(pkt, **{"Mikrotik-Rate-Limit": RATE_LIMIT})
            else:
                reply = self.CreateReplyPacket(pkt)
                reply.code = packet.AccessReject
            protocol.send_response(reply, addr)

        def handle_acct_packet(self, protocol: Any, pkt: Any, addr: Any) -> None:
            pass

        def handle_coa_packet(self, protocol: Any, pkt: Any, addr: Any) -> None:
            pass

        def handle_disconnect_packet(self, protocol: Any, pkt: Any, addr: Any) -> None:
            pass

    return Plain(auth_port=port, hosts={
        "127.0.0.1": RemoteHost("127.0.0.1", SECRET.encode(), "localhost")},
        dictionary=Dictionary(str(DICTIONARY)), enforce_ma=True)


async def serve(args: argparse.Namespace) -> None:
    os.sched_setaffinity(0, {SERVER_CPU})
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    profiler = None
    result: dict[str, Any] = {}
    if args.serve == "bare":
        transport, _ = await loop.create_datagram_endpoint(
            lambda: Bare(SECRET.encode()), local_addr=("127.0.0.1", args.port))
        print("READY", flush=True)
        await done.wait()
        transport.close()
    elif args.serve == "pyrad":
        server = pyrad_server(args.port)
        await server.initialize_transports(enable_auth=True, addresses=["127.0.0.1"])
        print("READY", flush=True)
        await done.wait()
        await server.deinitialize_transports(deinit_coa=False, deinit_acct=False)
    else:
        from ispcore.network.radius.server import RadiusServer

        runtime = await common.open_runtime(args.database_url, migrate=False)
        server = RadiusServer(runtime, host="127.0.0.1", auth_port=args.port, acct_port=0)
        await server.start()
        result["users"] = len(server.cache.users)
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        print("READY", flush=True)
        await done.wait()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        await server.stop()
        c = server.counters
        result |= {"received": c.received, "accepted": c.accepted, "rejected": c.rejected,
                   "duplicates": c.duplicates, "dropped": dict(c.dropped)}
        await runtime.close()
    print("RESULT " + json.dumps(result), flush=True)


# --- seeding ----------------------------------------------------------------------------------

async def seed(url: str) -> dict[str, Any]:
    from sqlalchemy import insert, select, update

    from ispcore.domain.billing.models import AccountService, Service
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.network import compile, nas, radius_groups, settings
    from ispcore.domain.network.freeradius import clients_conf
    from ispcore.domain.network.models import RadiusCredential

    runtime = await common.open_runtime(url, migrate=True)
    try:
        t0 = time.perf_counter()
        company = await billing_run.seed(runtime, "Bench RADIUS ISP", USERS, 1)
        t1 = time.perf_counter()
        async with runtime.db.engine.begin() as conn:
            fibre = (await conn.execute(
                update(Service).where(Service.company_id == company, Service.kind == "DATA")
                .values(download_kbps=DOWN_KBPS, upload_kbps=UP_KBPS)
                .returning(Service.id))).scalar_one()
            held = (await conn.execute(
                select(AccountService.account_id, AccountService.id)
                .where(AccountService.service_id == fibre)
                .order_by(AccountService.account_id))).all()
        async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
            await nas.create_nas(uow, {"company_id": company, "name": "bench-nas",
                                       "address": "127.0.0.1", "secret": SECRET})
            group = await radius_groups.create_group(uow, {
                "company_id": company, "name": "Default", "attributes": [
                    {"attribute": "Mikrotik-Rate-Limit", "value": "{upload}k/{download}k"}]})
            await settings.update_network_settings(uow, company,
                                                   {"default_radius_group_id": group.id})
        now = runtime.clock.now()
        rows = [{"company_id": company, "account_id": account, "account_service_id": service,
                 "username": f"user{n:05d}", "password": f"pw-user{n:05d}",
                 "radius_group_id": None, "access": "REJECT", "access_state": "ACTIVE",
                 "revision": 0, "created_at": now, "updated_at": now}
                for n, (account, service) in enumerate(held)]
        assert len(rows) == USERS, len(rows)
        t2 = time.perf_counter()
        async with runtime.db.engine.begin() as conn:
            await conn.execute(insert(RadiusCredential), rows)
        async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
            await compile.compile_company(uow, company)
        t3 = time.perf_counter()
        async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
            clients = await clients_conf(uow)
        async with runtime.db.engine.connect() as conn:
            accepted = (await conn.exec_driver_sql(
                "SELECT count(*) FROM radius_credentials WHERE access = 'ACCEPT'")).scalar_one()
            sample = (await conn.exec_driver_sql(
                "SELECT attribute, value FROM radius_replies r JOIN radius_credentials c "
                "ON c.id = r.credential_id WHERE c.username = 'user00042'")).all()
        await common.analyze(url)
        return {"accounts_s": t1 - t0, "credentials_s": t3 - t2, "accepted": accepted,
                "sample": [tuple(r) for r in sample], "clients": clients}
    finally:
        await runtime.close()


# --- running a target -----------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(port: int, seconds: float, *, rate: float = 0.0, pool: int = 65_536
               ) -> dict[str, Any]:
    cmd = [sys.executable, str(HERE / "radius_load.py"), "--port", str(port), "--secret",
           SECRET, "--users", str(USERS), "--cpu", str(LOAD_CPU), "--pool", str(pool),
           "--window", str(WINDOW), "--seconds", str(seconds)]
    if rate:
        cmd += ["--rate", str(rate)]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    if proc.returncode:
        raise SystemExit(f"the load generator failed ({proc.returncode})")
    return json.loads(out.decode().strip().splitlines()[-1])


def check(name: str, phase: str, result: dict[str, Any]) -> None:
    replies = result["accepts"] + result["rejects"]
    if not result["accepts"] or result["rejects"]:
        raise SystemExit(f"BROKEN SETUP: {name} {phase}: {replies} replies, "
                         f"{result['accepts']} accepts, {result['rejects']} rejects: {result}")


class Server:
    def __init__(self, name: str, proc: asyncio.subprocess.Process, log: Path | None) -> None:
        self.name, self.proc, self.log = name, proc, log
        self.result: dict[str, Any] = {}

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        if self.proc.stdout is not None:
            with contextlib.suppress(TimeoutError):
                out = await asyncio.wait_for(self.proc.stdout.read(), 20)
                for line in out.decode().splitlines():
                    if line.startswith("RESULT "):
                        self.result = json.loads(line[7:])
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def start_python(kind: str, port: int, url: str | None, profile: str | None) -> Server:
    cmd = [sys.executable, str(HERE / "radius_auth.py"), "--serve", kind, "--port", str(port)]
    if url:
        cmd += ["--database-url", url]
    if profile:
        cmd += ["--profile-to", profile]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
    except TimeoutError:
        line = b""
    if line.strip() != b"READY":
        proc.kill()
        raise SystemExit(f"{kind} did not start: {line!r}")
    return Server(kind, proc, None)


async def start_freeradius(name: str, conf: Path) -> Server:
    log = conf / "radius.log"
    proc = await asyncio.create_subprocess_exec(
        "taskset", "-c", str(SERVER_CPU), freeradius_conf.FREERADIUS, "-f", "-d", str(conf),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (log.exists() and "Ready to process requests" in log.read_text()):
        if proc.returncode is not None or time.monotonic() > deadline:
            text = log.read_text()[-3000:] if log.exists() else ""
            if proc.returncode is None:
                proc.kill()
            raise SystemExit(f"FreeRADIUS ({name}) did not start:\n{text}")
        await asyncio.sleep(0.1)
    return Server(name, proc, log)


async def measure(server: Server, port: int, seconds: float) -> dict[str, Any]:
    warm = await load(port, 1.0, pool=131_072)
    check(server.name, "warm-up", warm)
    pool = int(warm["rate"] * seconds * 1.6) + 65_536
    pid = server.proc.pid
    cpu0 = cpu_seconds(pid)
    top = await load(port, seconds, pool=pool)
    cpu1 = cpu_seconds(pid)
    check(server.name, "max", top)
    half = await load(port, seconds, rate=top["rate"] / 2, pool=pool)
    check(server.name, "paced", half)
    replies = top["accepts"] + top["rejects"]
    return {"rate": top["rate"], "lost": top["lost"] + half["lost"],
            "half_rate": half["rate"], "p50": half["p50_ms"], "p99": half["p99_ms"],
            "cpu_ms_per_1000": (cpu1 - cpu0) / replies * 1e6 if replies else float("nan"),
            "cpu_share": (cpu1 - cpu0) / seconds, "load_share": top["cpu_s"] / seconds}


async def run_target(name: str, args: argparse.Namespace, db_url: str | None,
                     clients: str, tmp: Path) -> dict[str, Any]:
    port = common.free_port()
    if name in ("bare", "pyrad", "ispcore"):
        profile = str(tmp / "ispcore.prof") if name == "ispcore" and args.profile else None
        server = await start_python(name, port, db_url if name == "ispcore" else None, profile)
    else:
        conf = tmp / name
        conf.mkdir()
        users = None
        if name == "fr-files":
            users = conf / "users"
            users.write_text("".join(
                f'user{i:05d}\tCleartext-Password := "pw-user{i:05d}"\n'
                f'\tMikrotik-Rate-Limit = "{RATE_LIMIT}"\n\n' for i in range(USERS)))
        freeradius_conf.write_config(
            conf, db_url.replace("+asyncpg", "") if name == "fr-sql" and db_url else None,
            clients, port, common.free_port(), users_file=users,
            threads=args.fr_threads, log_to="files")
        server = await start_freeradius(name, conf)
    try:
        figures = await measure(server, port, args.seconds)
    finally:
        await server.stop()
    figures["server"] = server.result
    return figures


# --- main -----------------------------------------------------------------------------------

def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return f.read().strip()


def fmt(value: float | None, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


async def main(args: argparse.Namespace) -> None:
    from cryptography.fernet import Fernet

    print(f"radius_auth: {common.machine_line()}")
    print(f"  /proc/loadavg at start: {loadavg()}")
    print(f"  servers pinned to CPU {SERVER_CPU}, load generator to CPU {LOAD_CPU}; "
          f"{USERS:,} users; window {WINDOW}; {args.seconds:g} s per run")
    os.environ["ISPCORE_VAULT_KEY"] = Fernet.generate_key().decode()
    wanted = [t for t in TARGETS if not args.only or t in args.only.split(",")]
    results: dict[str, dict[str, Any]] = {}
    async with common.temp_database("postgresql") as db:
        seeded = await seed(db.url)
        print(f"  seeding: {USERS:,} accounts with services {seeded['accounts_s']:.1f} s; "
              f"{USERS:,} credentials inserted and compiled (compile_company) "
              f"{seeded['credentials_s']:.1f} s; {seeded['accepted']:,} compiled ACCEPT; "
              f"user00042's reply {seeded['sample']}")
        with tempfile.TemporaryDirectory(prefix="ispcore-radius-") as tmp:
            for name in wanted:
                print(f"  {name} ...", flush=True)
                results[name] = await run_target(name, args, db.url, seeded["clients"],
                                                 Path(tmp))
                r = results[name]
                print(f"    {r['rate']:,.0f}/s, p50 {fmt(r['p50'], '.2f')} ms, p99 "
                      f"{fmt(r['p99'], '.2f')} ms, lost {r['lost']}, server "
                      f"{r['server'] or ''}", flush=True)
            if args.profile and "ispcore" in results:
                import pstats

                print("\ncProfile of the ispcore server (warm-up, max and paced runs):")
                pstats.Stats(str(Path(tmp) / "ispcore.prof")).sort_stats(
                    "tottime").print_stats(25)
    print()
    rows = []
    for name in wanted:
        r = results[name]
        rows.append([LABELS[name], fmt(r["rate"]), fmt(r["half_rate"]), fmt(r["p50"], ".2f"),
                     fmt(r["p99"], ".2f"), fmt(r["cpu_ms_per_1000"], ".1f"),
                     fmt(r["cpu_share"], ".2f"), fmt(r["load_share"], ".2f"), r["lost"]])
    common.print_table(["server", "max auths/s", "paced at /s", "p50 ms", "p99 ms",
                        "server CPU ms / 1,000", "server CPU busy",
                        "generator CPU busy", "lost"], rows)
    if "ispcore" not in results:
        return
    mine = results["ispcore"]
    print()

    def ratio(other: str) -> float | None:
        return mine["rate"] / results[other]["rate"] if other in results else None

    def row(label: str, value: float | None, spec: str, target: str,
            ok: Any = None) -> list[str]:
        met = "" if value is None or ok is None else ("met" if ok(value) else "NOT MET")
        return [label, fmt(value, spec), target, met]

    lines = [
        row("ispcore max auths/s", mine["rate"], ",.0f", ">= 5,000", lambda v: v >= 5000),
        row("ispcore / plain pyrad", ratio("pyrad"), ".2f", ">= 2", lambda v: v >= 2),
        row("ispcore / FreeRADIUS files", ratio("fr-files"), ".2f", ">= 0.35",
            lambda v: v >= 0.35),
        row("ispcore / FreeRADIUS rlm_sql", ratio("fr-sql"), ".2f", "> 1", lambda v: v > 1),
        row("ispcore / bare responder", ratio("bare"), ".2f", ""),
        row("ispcore p99 ms at half load", mine["p99"], ".2f", "< 5", lambda v: v < 5),
    ]
    common.print_table(["figure", "value", "target", ""], lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--only", default="", help=f"comma-separated, of {', '.join(TARGETS)}")
    parser.add_argument("--fr-threads", type=int, default=4,
                        help="FreeRADIUS worker threads (and SQL connections)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the ispcore server and print its top functions")
    parser.add_argument("--serve", choices=("bare", "pyrad", "ispcore"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.serve:
        parsed.profile = parsed.profile_to
        asyncio.run(serve(parsed))
    else:
        asyncio.run(main(parsed))
