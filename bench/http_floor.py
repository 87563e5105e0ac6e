"""The HTTP floor: requests/s of a trivial GraphQL query through uvicorn serving ispcore's real
app, against a bare Starlette app returning JSON, served by uvicorn the same way, same run.

Scenarios (POST JSON to /graphql, keep-alive, loopback only):

  starlette          a bare Starlette route: reads the body, parses it, returns a fixed JSON
                     response (the floor of uvicorn + Starlette on this machine)
  ispcore typename   ispcore.app.create_app, ``{ __typename }``, anonymous
  ispcore me         ispcore.app.create_app, ``{ me { email } }`` with a personal access token
                     (a token lookup in the database per request, then the ``me`` loader)

Each server is its own process (``python bench/http_floor.py --serve ...``, uvicorn with
uvloop/httptools when installed, log level warning); the load comes from another process:
``wrk`` when installed (``apt-get install -y wrk``), else a small asyncio keep-alive load
generator in this file (``--loader python``). The runs alternate (round 1 in one order,
round 2 in the reverse) so that noise from the shared machine hits all scenarios alike. Besides
requests/s, each server's CPU time (utime+stime from /proc) per request is printed: it is
less sensitive than requests/s to the load generator competing for the same 2 cores.

The ispcore runtime uses a temporary SQLite file and ``rate_limit_per_minute=10**9`` so this
measures the stack, not the limiter.

Run:  .venv/bin/python bench/http_floor.py [--duration 10] [--connections 32] [--rounds 2]
      .venv/bin/python bench/http_floor.py --profile      (pyinstrument in the ispcore server)

Prints figures and ratios; asserts none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

HERE = Path(__file__).resolve()
TYPENAME = {"query": "{ __typename }"}
ME = {"query": "{ me { email } }"}
TARGET = 0.25  # ispcore/starlette for { __typename }


# --- the servers (child processes) ---------------------------------------------------------

def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def graphql(request: Request) -> JSONResponse:
        json.loads(await request.body())
        return JSONResponse({"data": {"__typename": "Query"}})

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


async def serve(kind: str, port: int, database_url: str, profile_out: str | None) -> None:
    import uvicorn

    runtime = None
    if kind == "ispcore":
        from ispcore.app import create_app
        from ispcore.logging_setup import configure_logging

        configure_logging("WARNING")
        runtime = await common.open_runtime(database_url, migrate=False)
        app = create_app(runtime=runtime)
    else:
        app = starlette_app()
    # As `ispcore serve` runs uvicorn (proxy_headers, websockets-sansio), at log level warning.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            proxy_headers=True, ws="websockets-sansio", lifespan="on")
    server = uvicorn.Server(config)
    profiler = None
    if profile_out:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
    try:
        await server.serve()
    finally:
        if profiler is not None:
            from pyinstrument.renderers import ConsoleRenderer

            profiler.stop()
            session = profiler.last_session
            flat = ConsoleRenderer(flat=True, time="percent_of_total", show_all=True)
            tree = ConsoleRenderer(time="percent_of_total", processor_options={
                "filter_threshold": 0.01, "show_regex": common.PROFILE_SHOW_REGEX})
            text = flat.render(session) + "\n\n" + tree.render(session)
            await asyncio.to_thread(Path(profile_out).write_text, text)
        if runtime is not None:
            await runtime.close()


def run_server_process(args: argparse.Namespace) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.serve, args.port, args.database_url, args.profile_out))
    else:
        uvloop.run(serve(args.serve, args.port, args.database_url, args.profile_out))


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    log: Any

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    def cpu_seconds(self) -> float:
        """utime + stime of the server process (all its threads)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start_server(kind: str, database_url: str, workdir: Path, profile_out: str | None = None
                 ) -> Server:
    port = common.free_port()
    log = open(workdir / f"{kind}.log", "wb")  # noqa: SIM115  (closed by Server.stop)
    cmd = [sys.executable, str(HERE), "--serve", kind, "--port", str(port),
           "--database-url", database_url]
    if profile_out:
        cmd += ["--profile-out", profile_out]
    process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    return Server(kind, port, process, log)


async def wait_ready(server: Server, workdir: Path) -> None:
    import httpx

    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise SystemExit(f"{server.kind} server exited:\n"
                                 + (workdir / f"{server.kind}.log").read_text())
            try:
                await client.post(server.url, json=TYPENAME, timeout=2)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise SystemExit(f"{server.kind} server did not start in 60 s")


async def check_responses(servers: dict[str, Server], token: str) -> None:
    """Each scenario answers what it should before it is measured."""
    import httpx

    async with httpx.AsyncClient() as client:
        got = (await client.post(servers["starlette"].url, json=TYPENAME)).json()
        assert got == {"data": {"__typename": "Query"}}, got
        got = (await client.post(servers["ispcore"].url, json=TYPENAME)).json()
        assert got == {"data": {"__typename": "Query"}}, got
        got = (await client.post(servers["ispcore"].url, json=ME,
                                 headers={"Authorization": f"Bearer {token}"})).json()
        assert got == {"data": {"me": {"email": common.ADMIN_EMAIL}}}, got


# --- load generation -----------------------------------------------------------------------

@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int
    latency_ms: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _wrk_duration(text: str) -> float:
    value = float(re.match(r"[\d.]+", text).group())  # type: ignore[union-attr]
    unit = text[len(re.match(r"[\d.]+", text).group()):]  # type: ignore[union-attr]
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}.get(unit, 1.0)


def run_wrk(url: str, body: dict[str, Any], headers: dict[str, str], connections: int,
            duration: float, threads: int, workdir: Path) -> LoadResult:
    script = workdir / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = [[{json.dumps(body)}]]",
             'wrk.headers["Content-Type"] = "application/json"']
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency",
         "-s", str(script), url],
        capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    requests = int(re.search(r"(\d+) requests in ([\d.]+)(\w+)", out).group(1))  # type: ignore[union-attr]
    took = re.search(r"requests in ([\d.]+\w+)", out).group(1)  # type: ignore[union-attr]
    seconds = _wrk_duration(took) / 1000
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    latency = {}
    for pct in ("50", "90", "99"):
        if m := re.search(rf"^\s+{pct}%\s+([\d.]+\w+)", out, re.MULTILINE):
            latency[f"p{pct}"] = _wrk_duration(m.group(1))
    return LoadResult(requests, seconds, errors, latency)


async def _python_load(host: str, port: int, request: bytes, connections: int,
                       duration: float) -> dict[str, Any]:
    """Keep-alive HTTP/1.1 clients on raw sockets; responses need a Content-Length."""
    stop_at = time.perf_counter() + duration
    counts = {"ok": 0, "errors": 0}
    latencies: list[float] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - started) * 1000)
                counts["ok" if 200 <= status < 400 else "errors"] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pick(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(len(latencies) * q))]

    return {"requests": counts["ok"] + counts["errors"], "errors": counts["errors"],
            "seconds": elapsed, "latency_ms": {"p50": pick(0.5), "p90": pick(0.9),
                                               "p99": pick(0.99)}}


def run_loadgen_process(args: argparse.Namespace) -> None:
    spec = json.loads(args.loadgen)
    body = json.dumps(spec["body"]).encode()
    head = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{spec['port']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in spec["headers"].items()) + "\r\n").encode()
    coro = _python_load("127.0.0.1", spec["port"], head + body, spec["connections"],
                        spec["duration"])
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(coro)
    else:
        result = uvloop.run(coro)
    print(json.dumps(result))


def run_python_loader(server: Server, body: dict[str, Any], headers: dict[str, str],
                      connections: int, duration: float) -> LoadResult:
    spec = {"port": server.port, "body": body, "headers": headers, "connections": connections,
            "duration": duration}
    out = subprocess.run([sys.executable, str(HERE), "--loadgen", json.dumps(spec)],
                         capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    got = json.loads(out)
    return LoadResult(got["requests"], got["seconds"], got["errors"], got["latency_ms"])


def read_text(path: str | None) -> str:
    return Path(path).read_text() if path and Path(path).exists() else ""


# --- the comparison ------------------------------------------------------------------------

@dataclass
class Scenario:
    name: str
    server: str
    body: dict[str, Any]
    headers: dict[str, str]
    runs: list[LoadResult] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)


def load(args: argparse.Namespace, server: Server, scenario: Scenario, duration: float,
         workdir: Path) -> tuple[LoadResult, float]:
    cpu_before = server.cpu_seconds()
    if args.loader == "wrk":
        result = run_wrk(server.url, scenario.body, scenario.headers, args.connections,
                         duration, args.threads, workdir)
    else:
        result = run_python_loader(server, scenario.body, scenario.headers, args.connections,
                                   duration)
    cpu = server.cpu_seconds() - cpu_before
    return result, (cpu / result.requests * 1e6 if result.requests else float("nan"))


def report(args: argparse.Namespace, scenarios: list[Scenario]) -> None:
    print(f"\n{args.connections} connections, {args.duration:g} s per run, {args.rounds} runs per "
          f"scenario (alternating), loader {args.loader}"
          + (f" ({args.threads} thread)" if args.loader == "wrk" else ""))
    print(f"  {common.machine_line()}\n")
    base = next(s for s in scenarios if s.server == "starlette")
    base_rps = sum(r.rps for r in base.runs) / len(base.runs)
    base_cpu = common.median(base.cpu_us)
    rows = []
    for s in scenarios:
        rps = sum(r.rps for r in s.runs) / len(s.runs)
        p50 = common.median([r.latency_ms.get("p50", float("nan")) for r in s.runs])
        p99 = common.median([r.latency_ms.get("p99", float("nan")) for r in s.runs])
        errors = sum(r.errors for r in s.runs)
        cpu = common.median(s.cpu_us)
        rows.append([s.name, f"{rps:,.0f}", " / ".join(f"{r.rps:,.0f}" for r in s.runs),
                     f"{p50:.2f}", f"{p99:.2f}", f"{cpu:,.0f}", str(errors),
                     f"{rps / base_rps:.3f}", f"{cpu / base_cpu:.1f}x"])
    common.print_table(["scenario", "req/s", "per run", "p50 ms", "p99 ms", "server CPU us/req",
                        "errors", "vs starlette", "CPU vs starlette"], rows)
    typename = next(s for s in scenarios if s.name == "ispcore typename")
    ratio = (sum(r.rps for r in typename.runs) / len(typename.runs)) / base_rps
    verdict = "MET" if ratio >= TARGET else "NOT MET"
    print(f"\n  ispcore/starlette for {{ __typename }}: {ratio:.3f} "
          f"(target >= {TARGET}: {verdict})")


async def compare(args: argparse.Namespace) -> None:
    async with common.temp_database("sqlite") as db:
        runtime = await common.open_runtime(db.url, migrate=True)
        try:
            _, token = await common.admin_with_token(runtime)
        finally:
            await runtime.close()
        with tempfile.TemporaryDirectory(prefix="ispcore-http-") as tmp:
            workdir = Path(tmp)
            profile_out = str(workdir / "profile.txt") if args.profile else None
            servers = {"starlette": start_server("starlette", db.url, workdir),
                       "ispcore": start_server("ispcore", db.url, workdir, profile_out)}
            try:
                for server in servers.values():
                    await wait_ready(server, workdir)
                await check_responses(servers, token)
                auth = {"Authorization": f"Bearer {token}"}
                scenarios = [Scenario("starlette", "starlette", TYPENAME, {}),
                             Scenario("ispcore typename", "ispcore", TYPENAME, {}),
                             Scenario("ispcore me", "ispcore", ME, auth)]
                if args.profile:
                    scenarios = scenarios[1:]
                for s in scenarios:  # warm up
                    load(args, servers[s.server], s, args.warmup, workdir)
                for r in range(args.rounds):
                    for s in (scenarios if r % 2 == 0 else scenarios[::-1]):
                        result, cpu_us = load(args, servers[s.server], s, args.duration,
                                              workdir)
                        s.runs.append(result)
                        s.cpu_us.append(cpu_us)
                        print(f"  round {r + 1}: {s.name:<17} {result.rps:>9,.0f} req/s  "
                              f"{cpu_us:>7,.0f} us CPU/req  errors {result.errors}", flush=True)
            finally:
                for server in servers.values():
                    server.stop()
            if args.profile:
                text = await asyncio.to_thread(read_text, profile_out)
                flat, _, tree = text.partition("\n\n\n")
                lines = [ln for ln in flat.splitlines() if "[self]" not in ln]
                print("\n=== pyinstrument in the ispcore server: self time by function ===")
                print("\n".join(lines[:50]))
                print("\n=== call tree ===")
                print(tree or text)
            else:
                report(args, scenarios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per scenario")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--loader", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--profile", action="store_true",
                        help="profile the ispcore server (pyinstrument) instead of comparing")
    # internal: the child processes
    parser.add_argument("--serve", choices=["ispcore", "starlette"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", help=argparse.SUPPRESS)
    parser.add_argument("--loadgen", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        run_server_process(args)
        return
    if args.loadgen:
        run_loadgen_process(args)
        return
    args.duration = min(max(args.duration, 1.0), 30.0)
    args.warmup = min(max(args.warmup, 0.5), 10.0)
    args.rounds = min(max(args.rounds, 1), 4)
    if args.loader == "auto":
        args.loader = "wrk" if shutil.which("wrk") else "python"
    if args.profile:
        args.rounds = 1
    asyncio.run(compare(args))


if __name__ == "__main__":
    main()
