"""Webhook deliveries per second to a local receiver, and the dispatcher's lag from an event to
its first attempt.

Setup: a temporary PostgreSQL database with ENDPOINTS companies (default 1,000), one webhook
endpoint each (subscribed to ``company.*``, created through ``create_endpoint``: sealed
secret, address check), pointing at a receiver on loopback: a bare uvicorn ASGI app in its
own process that answers 200 to every POST (no verification: the receiver is not what is
measured). The dispatcher runs in this process, pinned to the first CPU (one thread, so one
core at most); the receiver is pinned to the last; PostgreSQL runs where the OS puts it.

  throughput   EVENTS outbox events (default 100,000: ``company.updated`` spread evenly over
               the companies, written with ``record_events``) are fanned out (``fan_out``:
               read, match, render the companies through ``node(id:)``, one query per chunk of
               256, bulk insert)
               and then delivered (``deliver_due``: claim, sign, POST, record) as the jobs
               do. Deliveries/s is counted over the delivery phase, and end to end (fan-out
               + delivery).
  lag          the embedded runtime's real path: commits of BURST events (default 15) every
               INTERVAL seconds (default 0.05, i.e. 300 events/s; a task of this process)
               for DURATION seconds, each enqueuing the events dispatcher after commit,
               which enqueues the fan-out, which enqueues the delivery job; the lag of an
               event is its first attempt's ``attempted_at`` minus its ``occurred_at``
               (both from the system clock).
  baseline     the same receiver driven by plain httpx and by plain aiohttp (one pooled
               client each, the same concurrency, redirects off, a body of the same size),
               without ispcore: what each client costs here, in the same run. Deliveries
               use aiohttp.

Run:  .venv/bin/python bench/webhooks.py [--endpoints 1000] [--events 100000]
      [--duration 20] [--burst 15] [--interval 0.05] [--concurrency 32]
      [--profile fan-out|delivery]
Prints figures and ratios; asserts none (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

HERE = Path(__file__).resolve()
TARGET_RATE = 500
TARGET_P99 = 2.0


# --- the receiver (a child process) ------------------------------------------------------------

async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def serve(port: int) -> None:
    import uvicorn

    uvicorn.run(receiver_app, host="127.0.0.1", port=port, log_level="warning",
                access_log=False, lifespan="off")


def spawn_receiver(port: int) -> subprocess.Popen[bytes]:
    """The receiver on the last CPU; this process (the dispatcher) keeps to the first."""
    process = subprocess.Popen([sys.executable, str(HERE), "--serve", str(port)])
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        os.sched_setaffinity(process.pid, {cpus[-1]})
        os.sched_setaffinity(0, {cpus[0]})
    return process


def loadavg() -> str:
    with open("/proc/loadavg") as file:
        return file.read().strip()


async def start_receiver() -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    port = common.free_port()
    process = spawn_receiver(port)
    url = f"http://127.0.0.1:{port}/hooks"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.post(url, content=b"{}")
                return process, url
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise SystemExit("the receiver did not start")


# --- setup ---------------------------------------------------------------------------------

async def setup(runtime: Any, endpoints: int, url: str) -> list[int]:
    from sqlalchemy import select

    from ispcore.domain.companies.models import Company
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.webhooks.endpoints import create_endpoint

    await common.seed_companies(runtime, endpoints)
    async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
        companies = list(await uow.session.scalars(select(Company.id).order_by(Company.id)))
        for company in companies:
            await create_endpoint(uow, {"company_id": company, "url": url,
                                        "event_types": ["company.*"]})
    return companies


async def write_events(runtime: Any, companies: list[int], count: int, chunk: int) -> None:
    from ispcore.domain.events.service import record_events
    from ispcore.domain.identity.actor import SYSTEM

    for start in range(0, count, chunk):
        async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
            await record_events(uow, [
                {"type": "company.updated", "company_id": companies[i % len(companies)],
                 "entity_type": "Company", "entity_id": companies[i % len(companies)],
                 "payload": {"changed": ["name"], "n": i}}
                for i in range(start, min(start + chunk, count))])


async def clear_jobs(runtime: Any) -> None:
    """Let the jobs the writes enqueued finish (the throughput phase runs the steps itself)."""
    await runtime.jobs.drain()


async def reset(runtime: Any) -> None:
    from sqlalchemy import delete

    from ispcore.domain.webhooks.models import WebhookDelivery, WebhookMessage

    async with runtime.db.engine.begin() as conn:
        await conn.execute(delete(WebhookDelivery))
        await conn.execute(delete(WebhookMessage))


# --- phases --------------------------------------------------------------------------------

async def throughput(runtime: Any, companies: list[int], events: int, concurrency: int,
                     profile: str | None = None) -> dict[str, float]:
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.webhooks.delivery import deliver_due, http_client
    from ispcore.domain.webhooks.fan_out import fan_out
    from ispcore.workers.webhooks import renderer

    # The writes below must not be fanned out and sent by the inline jobs as they happen.
    saved_enqueue = runtime.jobs.enqueue

    async def hold(*_args: Any, **_kwargs: Any) -> None:
        return None

    runtime.jobs.enqueue = hold
    try:
        await write_events(runtime, companies, events, 10_000)
        open_uow = lambda: runtime.unit_of_work(SYSTEM, action="bench")  # noqa: E731
        cpu0, t0 = time.process_time(), time.perf_counter()
        with profiled(profile == "fan-out"):
            created = await fan_out(open_uow, renderer(runtime))
        cpu1, t1 = time.process_time(), time.perf_counter()
        with profiled(profile == "delivery"):
            async with http_client(concurrency) as client:
                sent = await deliver_due(open_uow, client, concurrency=concurrency)
        cpu2, t2 = time.process_time(), time.perf_counter()
    finally:
        runtime.jobs.enqueue = saved_enqueue
    return {"created": created, "sent": sent, "fan_out_s": t1 - t0, "fan_out_cpu": cpu1 - cpu0,
            "deliver_s": t2 - t1, "deliver_cpu": cpu2 - cpu1}


@contextlib.contextmanager
def profiled(enabled: bool) -> Iterator[None]:
    """cProfile around a phase: the 30 costliest functions by own time, then ispcore's own by
    cumulative time, printed after it."""
    if not enabled:
        yield
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats("ispcore|standardwebhooks", 30)
        print(out.getvalue())


async def lag(runtime: Any, companies: list[int], duration: float, burst: int,
              interval: float) -> list[float]:
    from sqlalchemy import func, select

    from ispcore.domain.events.models import Event
    from ispcore.domain.webhooks.models import WebhookAttempt, WebhookDelivery

    async with runtime.db.session() as session:
        first_id = (await session.scalar(select(func.max(Event.id)))) or 0
    written = 0
    ticks = int(duration / interval)
    start = time.perf_counter()
    for tick in range(ticks):
        await write_events(runtime, companies[(tick * burst) % len(companies):] + companies,
                           burst, burst)
        written += burst
        delay = start + (tick + 1) * interval - time.perf_counter()
        await asyncio.sleep(max(delay, 0))  # the producer's pace, not synchronisation
    await runtime.jobs.drain()
    async with runtime.db.session() as session:
        rows = (await session.execute(
            select(Event.occurred_at, func.min(WebhookAttempt.attempted_at))
            .join(WebhookDelivery, WebhookDelivery.event_id == Event.id)
            .join(WebhookAttempt, WebhookAttempt.delivery_id == WebhookDelivery.id)
            .where(Event.id > first_id).group_by(Event.id, Event.occurred_at))).all()
    if len(rows) != written:
        print(f"  warning: {written} events written, {len(rows)} attempted")
    return [(attempted - occurred).total_seconds() for occurred, attempted in rows]


async def _bare(send: Any, requests: int, concurrency: int) -> tuple[float, float]:
    """Requests per wall second and per CPU-second of this process, ``concurrency`` at once."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await send()

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    return (requests / (time.perf_counter() - t0), requests / (time.process_time() - cpu0))


async def baseline_httpx(url: str, requests: int, concurrency: int, body: bytes
                         ) -> tuple[float, float]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, follow_redirects=False, timeout=15) as client:
        async def send() -> None:
            response = await client.post(url, content=body,
                                         headers={"content-type": "application/json"})
            response.raise_for_status()

        return await _bare(send, requests, concurrency)


async def baseline_aiohttp(url: str, requests: int, concurrency: int, body: bytes
                           ) -> tuple[float, float]:
    import aiohttp

    async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency),
            timeout=aiohttp.ClientTimeout(total=15)) as session:
        async def send() -> None:
            async with session.post(url, data=body, allow_redirects=False,
                                    headers={"content-type": "application/json"}) as response:
                await response.read()
                response.raise_for_status()

        return await _bare(send, requests, concurrency)


async def main(args: argparse.Namespace) -> None:
    from cryptography.fernet import Fernet

    from ispcore import migrate
    from ispcore.runtime import build_runtime

    print(common.machine_line())
    load_at_start = loadavg()
    process, url = await start_receiver()
    try:
        async with common.temp_database("postgresql") as db:
            settings = common.bench_settings(
                db.url, vault_key=Fernet.generate_key().decode(), webhooks_allow_private=True,
                webhooks_concurrency=args.concurrency)
            runtime = await build_runtime(settings)
            await migrate.upgrade(runtime.db.engine)
            try:
                companies = await setup(runtime, args.endpoints, url)
                await clear_jobs(runtime)
                print(f"{len(companies)} endpoints; receiver {url} (pid {process.pid})")

                result = await throughput(runtime, companies, args.events, args.concurrency,
                                          args.profile)
                body = b'{"type":"company.updated","timestamp":"2026-12-06T03:00:00Z",' \
                       b'"data":{"object":' + b'{"x":"' + b"y" * 400 + b'"}},"changes":{}}'
                bare_requests = min(args.events, 20_000)
                bare = {"httpx": await baseline_httpx(url, bare_requests, args.concurrency,
                                                      body),
                        "aiohttp": await baseline_aiohttp(url, bare_requests,
                                                          args.concurrency, body)}
                await reset(runtime)
                lags = await lag(runtime, companies, args.duration, args.burst, args.interval)
            finally:
                await runtime.close()
    finally:
        process.terminate()
        process.wait()

    delivered = result["sent"] / result["deliver_s"]
    end_to_end = result["sent"] / (result["fan_out_s"] + result["deliver_s"])
    print(f"\nthroughput: {args.events:,} events -> {result['created']:,} deliveries, "
          f"{result['sent']:,} attempts (concurrency {args.concurrency})")
    common.print_table(
        ["phase", "wall s", "cpu s", "per s", "per cpu-s"],
        [["fan-out (read, match, render, insert)", f"{result['fan_out_s']:.2f}",
          f"{result['fan_out_cpu']:.2f}", f"{result['created'] / result['fan_out_s']:,.0f}",
          f"{result['created'] / result['fan_out_cpu']:,.0f}"],
         ["delivery (claim, sign, POST, record)", f"{result['deliver_s']:.2f}",
          f"{result['deliver_cpu']:.2f}", f"{delivered:,.0f}",
          f"{result['sent'] / result['deliver_cpu']:,.0f}"],
         ["end to end", f"{result['fan_out_s'] + result['deliver_s']:.2f}",
          f"{result['fan_out_cpu'] + result['deliver_cpu']:.2f}", f"{end_to_end:,.0f}", "-"],
         *[[f"baseline: bare {name} to the receiver", "-", "-", f"{rate:,.0f}",
            f"{rate_cpu:,.0f}"] for name, (rate, rate_cpu) in bare.items()]])
    per_cpu = result["sent"] / result["deliver_cpu"]
    print(f"  deliveries/s against bare aiohttp (the client used): "
          f"{delivered / bare['aiohttp'][0]:.3f}; target >= {TARGET_RATE}/s on one core: "
          f"{'met' if min(delivered, per_cpu) >= TARGET_RATE else 'NOT met'} "
          f"({delivered:,.0f} per wall second, {per_cpu:,.0f} per CPU-second)")
    print(f"\n/proc/loadavg at start: {load_at_start}; at end: "
          f"{loadavg()}")
    p50, p99 = common.percentile(lags, 50), common.percentile(lags, 99)
    print(f"\nlag at {args.burst / args.interval:.0f} events/s for {args.duration:g} s "
          f"({len(lags):,} events): p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {max(lags) * 1000:.0f} ms (target p99 < {TARGET_P99:g} s: "
          f"{'met' if p99 < TARGET_P99 else 'NOT met'})")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--burst", type=int, default=15)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--profile", choices=["fan-out", "delivery"])
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(parser.parse_args()))
