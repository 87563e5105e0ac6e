"""How long a document takes to be checked and validated, hostile ones included, and whether
the server keeps answering while it is sent such documents.

Part 1, per document (no database): what ApiGuard does with a document it has not seen:
parse (with the token limit), the document limits (``DocumentLimits.measured_errors``, not
the remembered answer), then, if they pass, graphql-core's rules as strawberry runs them.
Median and max CPU time of ``--rounds`` runs, in ms (CPU time, not wall time: other work on
the machine does not count), and what the document gets (valid, or the code it is refused
with). Documents:

  typical          the 500-company page of graphql_overhead.py
  introspection    graphql-core's introspection query (GraphiQL sends it)
  fragment bomb    30 fragments each spreading the previous one twice (2^30 selections)
  alias bomb       the same with an alias at the bottom
  240 x me         one field selected 240 times (graphql-core pairs fields up)
  17 x me{...}     every User field and the role, 17 times: 1,904 pairs to merge, the most
                   allowed
  relay-style      40 fragments on User, each selecting email (780 pairs)
  fan-out          fragments spreading the previous one under two list fields (cost)
  110 operations   990 tokens: 110 operations of ``me { email }``, all valid: about the most
                   graphql-core work the token limit allows

Baseline in the same run: strawberry's QueryDepthLimiter and MaxAliasesLimiter (the rules
ispcore used before) on fragment bombs of 12 to 18 levels, against ispcore's limits on the
same documents; and graphql-core's rules alone on ``240 x me`` (what the merge-pair limit
spares them).

Part 2, the app served by uvicorn in its own process as bench/http_floor.py serves it
(SQLite temp file): ``/healthz`` pinged every 5 ms for ``--seconds``, first alone, then while
8 clients send ``{ __typename }`` back to back (the baseline: the cheapest query), then while
they send fragment bombs; p50, p99 and max latency of the pings, the requests answered per
second and the server's CPU time per request.

Run:  .venv/bin/python bench/validation.py [--rounds 20] [--seconds 5]

Prints figures and ratios; asserts none (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common


def fragment_bomb(levels: int, leaf: str = "__typename") -> str:
    fragments = [f"fragment F0 on Query {{ {leaf} }}"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"query {{ ...F{levels} }} " + " ".join(fragments)


def documents() -> dict[str, str]:
    from graphql import get_introspection_query

    user = "id email name active ipAllowlist lastLoginAt createdAt updatedAt"
    fan_out = ["fragment A0 on Account { id name }"] + [
        f"fragment A{i} on Account {{ childAccounts {{ ...A{i - 1} }} "
        f"parentAccount {{ ...A{i - 1} }} }}" for i in range(1, 9)]
    relay = [f"fragment M{i} on User {{ email }}" for i in range(40)]
    return {
        "typical": "{ companies(first: 500) { edges { node { id name currency timeZone "
                   "contactEmail city subdivision postalCode country createdAt } } } }",
        "introspection": get_introspection_query(descriptions=True),
        "fragment bomb": fragment_bomb(30),
        "alias bomb": fragment_bomb(30, "a: __typename"),
        "240 x me": "{ " + "me { email } " * 240 + "}",
        "17 x me{...}": "{ " + f"me {{ {user} role {{ id name }} }} " * 17 + "}",
        "relay-style": "{ me { " + " ".join(f"...M{i}" for i in range(40)) + " } } "
                       + " ".join(relay),
        "fan-out": "{ accounts(first: 5) { edges { node { ...A8 } } } } " + " ".join(fan_out),
        "110 operations": " ".join(f"query Q{i} {{ me {{ email }} }}" for i in range(110)),
    }


def guard_pipeline(schema: Any, limits: Any, max_tokens: int) -> Any:
    from graphql import GraphQLError, parse, specified_rules
    from strawberry.schema.schema import validate_document

    rules = tuple(specified_rules)

    def check(text: str) -> str:
        try:
            document = parse(text, max_tokens=max_tokens)
        except GraphQLError:
            return "GRAPHQL_PARSE_FAILED"
        errors = limits.measured_errors(schema, document, {})
        if errors:
            return errors[0].extensions["code"]
        errors = validate_document(schema, document, rules)
        return "GRAPHQL_VALIDATION_FAILED" if errors else "valid"

    return check


def timed(run: Any, rounds: int) -> tuple[float, float, Any]:
    """Median and max CPU ms of ``rounds`` runs after one to warm up, and the outcome. A
    collection before each run (not timed) keeps the previous runs' garbage out of it."""
    outcome = run()
    times = []
    for _ in range(rounds):
        gc.collect()
        began = time.process_time()
        outcome = run()
        times.append((time.process_time() - began) * 1000)
    return common.median(times), max(times), outcome


def part_one(rounds: int) -> None:
    from graphql import parse, specified_rules, validate
    from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

    from ispcore.config import Settings
    from ispcore.schema import build_schema
    from ispcore.schema.document_limits import DocumentLimits

    settings = Settings()
    schema = build_schema(settings)._schema
    gc.collect()
    gc.freeze()  # the schema and modules: not walked by the collections between runs
    limits = DocumentLimits(
        max_depth=settings.max_query_depth, max_aliases=settings.max_aliases,
        max_cost=settings.max_query_cost, default_page_size=settings.default_page_size)
    check = guard_pipeline(schema, limits, settings.max_query_tokens)
    rows = []
    for name, text in documents().items():
        middle, worst, outcome = timed(lambda t=text: check(t), rounds)
        rows.append([name, f"{len(text):,}", f"{middle:.2f}", f"{worst:.2f}", outcome])
    print("\nParse + limits + graphql-core's rules, per document never seen before (CPU ms)")
    common.print_table(["document", "bytes", "median", "max", "outcome"], rows)

    old_rules = (*QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
                 *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules)
    rows = []
    for levels in (12, 14, 16, 18):
        document = parse(fragment_bomb(levels, "a: __typename"))
        old, _, _ = timed(lambda d=document: validate(schema, d, old_rules), 3)
        new, _, _ = timed(lambda d=document: limits.measured_errors(schema, d, {}), rounds)
        rows.append([levels, f"{2**levels:,}", f"{old:.2f}", f"{new:.3f}",
                     f"{old / max(new, 0.001):,.0f}x"])
    print("\nBaseline: strawberry's depth + alias rules against ispcore's limits, alias bombs "
          "(CPU ms; the old rules double per level: 30 levels would take days)")
    common.print_table(["levels", "selections", "strawberry rules", "ispcore limits",
                        "ratio"], rows)
    repeated = parse(documents()["240 x me"], max_tokens=settings.max_query_tokens)
    spared, _, _ = timed(lambda: validate(schema, repeated, tuple(specified_rules)), 3)
    refused, _, _ = timed(lambda: limits.measured_errors(schema, repeated, {}), rounds)
    print(f"\n240 x me: graphql-core's rules alone {spared:.1f} CPU ms; refused by the "
          f"merge-pair limit in {refused:.2f} ms ({spared / max(refused, 0.001):,.0f}x).")


async def part_two(seconds: float) -> None:
    import tempfile

    import http_floor

    loads = {"alone": None, "8 clients: { __typename }": "{ __typename }",
             "8 clients: fragment bombs": fragment_bomb(30)}
    rows = []
    async with common.temp_database("sqlite") as db:
        runtime = await common.open_runtime(db.url, migrate=True)
        await runtime.close()
        with tempfile.TemporaryDirectory(prefix="ispcore-bench-") as workdir:
            server = http_floor.start_server("ispcore", db.url, Path(workdir))
            try:
                await http_floor.wait_ready(server, Path(workdir))
                for label, query in loads.items():
                    cpu = server.cpu_seconds()
                    pings, answered = await _pings(server.url, seconds, query)
                    cpu = server.cpu_seconds() - cpu
                    per_request = f"{cpu / answered * 1e6:,.0f}" if answered else ""
                    rows.append([label, f"{common.percentile(pings, 50):.2f}",
                                 f"{common.percentile(pings, 99):.2f}", f"{max(pings):.2f}",
                                 f"{answered / seconds:,.0f}", per_request])
            finally:
                server.stop()
    print(f"\n/healthz every 5 ms for {seconds:.0f} s per load, uvicorn in its own process "
          "(latency in ms)")
    common.print_table(["load", "healthz p50", "p99", "max", "requests/s",
                        "server CPU µs/request"], rows)


async def _pings(url: str, seconds: float, query: str | None) -> tuple[list[float], int]:
    """``/healthz`` latencies while 8 clients post ``query`` back to back (none if it is
    None), each on its own keep-alive connection; and how many of those were answered."""
    import httpx

    health = url.replace("/graphql", "/healthz")
    stop = time.perf_counter() + seconds
    answered = 0

    async def load() -> None:
        nonlocal answered
        async with httpx.AsyncClient() as client:
            while time.perf_counter() < stop:
                response = await client.post(url, json={"query": query}, timeout=30)
                assert response.status_code == 200
                answered += 1

    async def ping() -> list[float]:
        latencies = []
        async with httpx.AsyncClient() as client:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                assert (await client.get(health, timeout=30)).status_code == 200
                latencies.append((time.perf_counter() - began) * 1000)
                await asyncio.sleep(0.005)
        return latencies

    clients = [load() for _ in range(8)] if query else []
    results = await asyncio.gather(ping(), *clients)
    return results[0], answered


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(common.machine_line())
    part_one(args.rounds)
    asyncio.run(part_two(args.seconds))


if __name__ == "__main__":
    main()
