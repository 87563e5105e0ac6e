"""What ispcore's GraphQL stack costs over plain graphql-core, and over raw SQL + JSON.

One query, 10 scalar fields x 500 companies = 5000 resolved leaf fields:

    { companies(first: 500) { edges { node { id name currency timeZone contactEmail city
                                              subdivision postalCode country createdAt } } } }

Variants, interleaved round by round (the order rotates) so machine noise hits all alike:

  ispcore         ispcore's schema, in process: ``schema.execute`` with a Context holding the
                  runtime and the authenticated admin Actor (the guard extension: caches,
                  limits, masking; permission; keyset pagination; the row query; nodes built
                  from rows with their global ids).
  ispcore-nodb    the same, except that the companies resolver's row connection is a stand-in
                  that returns the 500 result rows loaded once before: all of ispcore's Python
                  work, none of the database's.
  db-fetch        only the database side of ispcore's path: a row connection from the runtime,
                  the exact statement ispcore builds (captured from the nodb run), ``.all()``.
  strawberry      a plain strawberry schema of the same shape (no relay, no extensions, no
                  permissions) over the same rows as dataclass-like objects in memory.
  graphql-core    baseline A: a hand-written ``GraphQLSchema`` of the same shape, default
                  resolvers, rows as dicts in memory, ``graphql.execute`` of a pre-parsed,
                  pre-validated document.
  raw-sql         baseline B: the SQL ispcore runs (captured), sent by ``exec_driver_sql`` on the
                  same async engine, rows ``json.dumps``-ed.

Run:  .venv/bin/python bench/graphql_overhead.py [--db sqlite|postgresql] [--rounds 40]
      .venv/bin/python bench/graphql_overhead.py --profile pyinstrument|cprofile [--nodb]

Prints figures and ratios; asserts none (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import pstats
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

ROWS = 500
FIELDS = ("id", "name", "currency", "timeZone", "contactEmail", "city", "subdivision",
          "postalCode", "country", "createdAt")
LEAVES = ROWS * len(FIELDS)
QUERY = f"{{ companies(first: {ROWS}) {{ edges {{ node {{ {' '.join(FIELDS)} }} }} }} }}"
TARGET = 1.25  # "ispcore adds <= 25% over plain graphql-core"


# --- baseline A: plain graphql-core ----------------------------------------------------------

def graphql_core_schema(rows: list[dict[str, Any]]) -> Any:
    from graphql import (
        GraphQLArgument,
        GraphQLField,
        GraphQLID,
        GraphQLInt,
        GraphQLList,
        GraphQLNonNull,
        GraphQLObjectType,
        GraphQLScalarType,
        GraphQLSchema,
        GraphQLString,
    )

    date_time = GraphQLScalarType("DateTime", serialize=lambda value: value.isoformat())
    nn_string = GraphQLNonNull(GraphQLString)
    company = GraphQLObjectType("Company", {
        "id": GraphQLField(GraphQLNonNull(GraphQLID)),
        "name": GraphQLField(nn_string),
        "currency": GraphQLField(nn_string),
        "timeZone": GraphQLField(nn_string),
        "contactEmail": GraphQLField(GraphQLString),
        "city": GraphQLField(GraphQLString),
        "subdivision": GraphQLField(GraphQLString),
        "postalCode": GraphQLField(GraphQLString),
        "country": GraphQLField(GraphQLString),
        "createdAt": GraphQLField(GraphQLNonNull(date_time)),
    })
    edge = GraphQLObjectType("CompanyEdge", {"node": GraphQLField(GraphQLNonNull(company))})
    connection = GraphQLObjectType("CompanyConnection", {
        "edges": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(edge)))),
    })

    def resolve_companies(_root: Any, _info: Any, first: int | None = None) -> dict[str, Any]:
        return {"edges": [{"node": row} for row in rows[:first]]}

    query = GraphQLObjectType("Query", {
        "companies": GraphQLField(GraphQLNonNull(connection),
                                  args={"first": GraphQLArgument(GraphQLInt)},
                                  resolve=resolve_companies),
    })
    return GraphQLSchema(query)


# --- a plain strawberry schema of the same shape ---------------------------------------------

import strawberry  # noqa: E402


@strawberry.type(name="Company")
class PlainCompany:
    id: strawberry.ID
    name: str
    currency: str
    time_zone: str
    contact_email: str | None
    city: str | None
    subdivision: str | None
    postal_code: str | None
    country: str | None
    created_at: datetime


@strawberry.type(name="CompanyEdge")
class PlainEdge:
    node: PlainCompany


@strawberry.type(name="CompanyConnection")
class PlainConnection:
    edges: list[PlainEdge]


_PLAIN_NODES: list[PlainCompany] = []


@strawberry.type(name="Query")
class PlainQuery:
    @strawberry.field
    def companies(self, first: int | None = None) -> PlainConnection:
        return PlainConnection(edges=[PlainEdge(node=n) for n in _PLAIN_NODES[:first]])


def strawberry_schema(objects: list[dict[str, Any]]) -> Any:
    _PLAIN_NODES[:] = [PlainCompany(**o) for o in objects]
    return strawberry.Schema(query=PlainQuery)


# --- the "no database" stand-in for ispcore's read session -----------------------------------

class _Result:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def all(self) -> list[Any]:
        return list(self._rows)


class PrefetchedSession:
    """Answers ``execute(statement)`` with result rows loaded beforehand; records the
    statement."""

    def __init__(self, rows: list[Any], seen: list[Any]) -> None:
        self._rows, self._seen = rows, seen

    async def execute(self, statement: Any) -> _Result:
        self._seen.append(statement)
        return _Result(self._rows)


def prefetched_context_class(rows: list[Any], seen: list[Any]) -> type:
    from ispcore.schema.context import Context

    class PrefetchedContext(Context):
        @asynccontextmanager
        async def rows(self) -> AsyncIterator[Any]:
            yield PrefetchedSession(rows, seen)

    return PrefetchedContext


# --- setup --------------------------------------------------------------------------------

class Bench:
    """Everything the variants need, built once on a seeded temporary database."""

    async def setup(self, runtime: Any) -> None:
        from sqlalchemy import event, select

        from ispcore.domain.companies.models import Company as CompanyModel
        from ispcore.domain.identity.auth import authenticate
        from ispcore.schema import build_schema
        from ispcore.schema.context import Context

        self.runtime = runtime
        await common.seed_companies(runtime, ROWS)
        _, token = await common.admin_with_token(runtime)
        async with runtime.db.session() as session:
            self.actor = (await authenticate(session, token, ip="127.0.0.1",
                                             now=runtime.clock.now())).actor
        self.schema = build_schema(runtime.settings)
        self.Context = Context

        # The SQL ispcore sends for this query, captured from one real execution.
        sent: list[tuple[str, Any]] = []

        def record(conn: Any, cursor: Any, statement: str, parameters: Any, *a: Any) -> None:
            sent.append((statement, parameters))

        engine = runtime.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            result = await self.run_ispcore()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        selects = [s for s in sent if "FROM companies" in s[0]]
        assert len(selects) == 1, sent
        self.sql, self.sql_params = selects[0]
        self.ispcore_data = result.data

        # The rows, loaded once, for the nodb variant and the in-memory baselines. The page
        # statement is captured from one nodb run (answered with no rows), then run for real.
        async with runtime.db.session() as session:
            orm_rows = list((await session.scalars(
                select(CompanyModel).order_by(CompanyModel.id).limit(ROWS))).all())
        self.orm_rows = orm_rows
        self.result_rows: list[Any] = []
        self.statements: list[Any] = []
        self.PrefetchedContext = prefetched_context_class(self.result_rows, self.statements)
        await self.run_ispcore_nodb()
        self.page_statement = self.statements[0]
        async with runtime.db.read_rows() as conn:
            self.result_rows.extend((await conn.execute(self.page_statement)).all())

        self.dict_rows = [{
            "id": r.id, "name": r.name, "currency": r.currency, "timeZone": r.time_zone,
            "contactEmail": r.contact_email, "city": r.city, "subdivision": r.subdivision,
            "postalCode": r.postal_code, "country": r.country, "createdAt": r.created_at,
        } for r in orm_rows]
        from graphql import parse, validate

        self.gql_schema = graphql_core_schema(self.dict_rows)
        self.gql_document = parse(QUERY)
        assert not validate(self.gql_schema, self.gql_document)
        self.sb_schema = strawberry_schema([{
            "id": str(r.id), "name": r.name, "currency": r.currency, "time_zone": r.time_zone,
            "contact_email": r.contact_email, "city": r.city, "subdivision": r.subdivision,
            "postal_code": r.postal_code, "country": r.country, "created_at": r.created_at,
        } for r in orm_rows])
        self.check()

    # Each variant returns something to check; timing wraps the whole call.

    async def run_ispcore(self) -> Any:
        context = self.Context(runtime=self.runtime, actor=self.actor, request_id="bench")
        return await self.schema.execute(QUERY, context_value=context)

    async def run_ispcore_nodb(self) -> Any:
        context = self.PrefetchedContext(runtime=self.runtime, actor=self.actor,
                                         request_id="bench")
        return await self.schema.execute(QUERY, context_value=context)

    async def run_orm_fetch(self) -> Any:
        async with self.runtime.db.read_rows() as conn:
            return list((await conn.execute(self.page_statement)).all())

    async def run_strawberry(self) -> Any:
        return await self.sb_schema.execute(QUERY)

    async def run_graphql_core(self) -> Any:
        from graphql import execute

        return execute(self.gql_schema, self.gql_document)

    async def run_raw_sql(self) -> Any:
        async with self.runtime.db.engine.connect() as conn:
            result = await conn.exec_driver_sql(self.sql, self.sql_params)
            keys = list(result.keys())
            rows = result.all()
        return json.dumps([dict(zip(keys, row, strict=True)) for row in rows], default=_iso)

    def check(self) -> None:
        """Every variant returns the same 500 rows (ids aside: ispcore's are relay ids)."""
        from graphql import execute
        from strawberry.relay import GlobalID

        assert self.ispcore_data is not None
        ispcore_nodes = [e["node"] for e in self.ispcore_data["companies"]["edges"]]
        assert len(ispcore_nodes) == ROWS
        plain = execute(self.gql_schema, self.gql_document)
        assert not plain.errors, plain.errors
        plain_nodes = [e["node"] for e in plain.data["companies"]["edges"]]
        for mine, theirs in zip(ispcore_nodes, plain_nodes, strict=True):
            assert GlobalID.from_id(mine["id"]).node_id == theirs["id"], (mine, theirs)
            assert {k: v for k, v in mine.items() if k != "id"} == \
                   {k: v for k, v in theirs.items() if k != "id"}, (mine, theirs)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value))


def _checked(result: Any) -> Any:
    errors = getattr(result, "errors", None)
    if errors:
        raise SystemExit(f"query failed: {errors}")
    return result


# --- measuring ----------------------------------------------------------------------------

async def measure(bench: Bench, rounds: int, warmup: int) -> dict[str, list[float]]:
    variants: dict[str, Callable[[], Awaitable[Any]]] = {
        "ispcore": bench.run_ispcore,
        "ispcore-nodb": bench.run_ispcore_nodb,
        "db-fetch": bench.run_orm_fetch,
        "strawberry": bench.run_strawberry,
        "graphql-core": bench.run_graphql_core,
        "raw-sql": bench.run_raw_sql,
    }
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            _checked(await variants[name]())
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate the order
        for name in order:
            gc.collect()
            started = time.perf_counter()
            result = await variants[name]()
            elapsed = time.perf_counter() - started
            _checked(result)
            times[name].append(elapsed * 1000)
    return times


def report(times: dict[str, list[float]], kind: str, rounds: int) -> None:
    med = {n: common.median(v) for n, v in times.items()}
    print(f"\n{ROWS} companies x {len(FIELDS)} fields = {LEAVES} leaf fields; "
          f"{rounds} interleaved rounds; database {kind}")
    print(f"  {common.machine_line()}\n")
    rows = []
    for name, values in times.items():
        per_field = (f"{med[name] * 1000 / LEAVES:.2f}"
                     if name in ("ispcore", "ispcore-nodb", "strawberry", "graphql-core")
                     else "")
        rows.append([name, f"{med[name]:.2f}", f"{common.percentile(values, 90):.2f}",
                     f"{min(values):.2f}", per_field, f"{med[name] / med['graphql-core']:.2f}x"])
    common.print_table(["variant", "median ms", "p90 ms", "min ms", "us/field",
                        "vs graphql-core"], rows)

    ratio_gql = med["ispcore"] / med["graphql-core"]
    ratio_sql = med["ispcore"] / med["raw-sql"]
    db_share = med["ispcore"] - med["ispcore-nodb"]
    print(f"\n  ispcore / graphql-core      = {ratio_gql:.2f}x  "
          f"(ispcore adds {100 * (ratio_gql - 1):.0f}% over plain graphql-core)")
    print(f"  ispcore / raw SQL + JSON    = {ratio_sql:.2f}x")
    print(f"  ispcore-nodb / graphql-core = {med['ispcore-nodb'] / med['graphql-core']:.2f}x "
          "(ispcore's Python side alone)")
    print(f"  strawberry / graphql-core   = {med['strawberry'] / med['graphql-core']:.2f}x "
          "(the framework floor under ispcore)")
    print(f"  database part of ispcore    = ispcore - ispcore-nodb = {db_share:.2f} ms "
          f"({100 * db_share / med['ispcore']:.0f}%); db-fetch alone = "
          f"{med['db-fetch']:.2f} ms")
    verdict = "MET" if ratio_gql <= TARGET else "NOT MET"
    print(f"\n  target 'ispcore adds <= 25% over plain graphql-core' "
          f"(ratio <= {TARGET:.2f}): {verdict} ({ratio_gql:.2f}x)")


QUERY_NO_ID = QUERY.replace("{ id ", "{ ")
TYPENAME = "{ __typename }"


async def breakdown(bench: Bench, rounds: int) -> None:
    """Where ispcore-nodb's time over plain strawberry goes, piece by piece (interleaved)."""
    from graphql import execute, parse

    from ispcore.domain.companies.models import Company as CompanyModel
    from ispcore.resolvers.listing import _encode_cursor, paginate
    from ispcore.schema.companies import COMPANY_LISTING, Company

    settings = bench.runtime.settings
    seen: list[Any] = []

    @asynccontextmanager
    async def prefetched() -> AsyncIterator[Any]:
        yield PrefetchedSession(bench.result_rows, seen)

    def nodb_context() -> Any:
        return bench.PrefetchedContext(runtime=bench.runtime, actor=bench.actor,
                                       request_id="bench")

    async def paginate_only() -> Any:
        return await paginate(prefetched, Company.readable(bench.actor),
                              node_type=Company, inputs=COMPANY_LISTING,
                              first=ROWS, after=None, filter=None,
                              order_by=None, search_columns=(CompanyModel.name,),
                              max_page_size=settings.max_page_size,
                              default_page_size=settings.default_page_size)

    reader = Company.row_reader(list(bench.result_rows[0]._fields))

    async def from_model_only() -> Any:
        return [reader(r) for r in bench.result_rows]

    async def cursors_only() -> Any:
        return [_encode_cursor("id:ASC", [r.id]) for r in bench.orm_rows]

    async def core_fetch() -> Any:
        async with bench.runtime.db.engine.connect() as conn:
            return (await conn.execute(bench.page_statement)).all()

    typename_doc = parse(TYPENAME)

    async def gql_typename() -> Any:
        return execute(bench.gql_schema, typename_doc)

    pieces: dict[str, Callable[[], Awaitable[Any]]] = {
        "ispcore-nodb, 10 fields": lambda: bench.schema.execute(
            QUERY, context_value=nodb_context()),
        "ispcore-nodb, without id": lambda: bench.schema.execute(
            QUERY_NO_ID, context_value=nodb_context()),
        "strawberry, 10 fields": lambda: bench.sb_schema.execute(QUERY),
        "strawberry, without id": lambda: bench.sb_schema.execute(QUERY_NO_ID),
        "paginate() alone (no GraphQL, no DB)": paginate_only,
        "  Company.row_reader x500": from_model_only,
        "  _encode_cursor x500": cursors_only,
        "db-fetch (session.execute, result rows)": bench.run_orm_fetch,
        "core-fetch (same Select, Connection rows)": core_fetch,
        "ispcore { __typename } (per-operation floor)": lambda: bench.schema.execute(
            TYPENAME, context_value=nodb_context()),
        "graphql-core { __typename }": gql_typename,
    }
    names = list(pieces)
    for name in names:
        _checked(await pieces[name]())
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            started = time.perf_counter()
            _checked(await pieces[name]())
            times[name].append((time.perf_counter() - started) * 1000)
    med = {n: common.median(v) for n, v in times.items()}
    print(f"\nBreakdown ({rounds} interleaved rounds):\n")
    common.print_table(["piece", "median ms", "p90 ms"],
                       [[n, f"{med[n]:.3f}", f"{common.percentile(v, 90):.3f}"]
                        for n, v in times.items()])
    id_ispcore = med["ispcore-nodb, 10 fields"] - med["ispcore-nodb, without id"]
    id_plain = med["strawberry, 10 fields"] - med["strawberry, without id"]
    print(f"\n  relay id field, 500 of them: {id_ispcore:.2f} ms in ispcore "
          f"({id_ispcore * 1000 / ROWS:.1f} us each) vs {id_plain:.2f} ms for a plain ID field "
          f"({id_plain * 1000 / ROWS:.1f} us each)")
    rest = (med["ispcore-nodb, without id"] - med["strawberry, without id"]
            - med["paginate() alone (no GraphQL, no DB)"])
    print(f"  ispcore-nodb - strawberry, without id = "
          f"{med['ispcore-nodb, without id'] - med['strawberry, without id']:.2f} ms, of which "
          f"paginate() {med['paginate() alone (no GraphQL, no DB)']:.2f} ms, "
          f"other {rest:.2f} ms")


async def profile(bench: Bench, mode: str, nodb: bool, iterations: int) -> None:
    run = bench.run_ispcore_nodb if nodb else bench.run_ispcore
    for _ in range(3):
        _checked(await run())
    label = "ispcore-nodb" if nodb else "ispcore"
    if mode == "pyinstrument":
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer

        profiler = Profiler(interval=0.0002, async_mode="disabled")
        profiler.start()
        for _ in range(iterations):
            _checked(await run())
        profiler.stop()
        session = profiler.last_session
        print(f"\n=== pyinstrument, {label}, {iterations} executions: self time by function ===")
        flat = ConsoleRenderer(flat=True, time="percent_of_total", show_all=True)
        lines = [ln for ln in flat.render(session).splitlines() if "[self]" not in ln]
        print("\n".join(lines[:45]))
        print(f"\n=== pyinstrument, {label}: call tree ===")
        tree = ConsoleRenderer(time="percent_of_total", processor_options={
            "filter_threshold": 0.015, "show_regex": common.PROFILE_SHOW_REGEX})
        print(tree.render(session))
    else:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(iterations):
            _checked(await run())
        prof.disable()
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("tottime").print_stats(35)
        stats.sort_stats("cumulative").print_stats(40)
        print(f"\n=== cProfile, {label}, {iterations} executions ===")
        print(out.getvalue())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds (each variant once)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", choices=["pyinstrument", "cprofile"],
                        help="profile ispcore's execution instead of comparing")
    parser.add_argument("--nodb", action="store_true", help="with --profile: the nodb variant")
    parser.add_argument("--iterations", type=int, default=30, help="with --profile")
    parser.add_argument("--no-breakdown", action="store_true",
                        help="skip the piece-by-piece breakdown after the comparison")
    args = parser.parse_args()
    args.rounds = max(1, min(args.rounds, 500))
    args.iterations = max(1, min(args.iterations, 500))

    async with common.temp_database(args.db) as db:
        runtime = await common.open_runtime(db.url, migrate=True)
        try:
            bench = Bench()
            await bench.setup(runtime)
            # Setup's objects (modules, schema, rows) go to the permanent generation, so the
            # gc.collect() before each timed call is cheap and collects only what runs made.
            gc.collect()
            gc.freeze()
            if args.profile:
                await profile(bench, args.profile, args.nodb, args.iterations)
            else:
                times = await measure(bench, args.rounds, args.warmup)
                report(times, args.db, args.rounds)
                if not args.no_breakdown:
                    await breakdown(bench, max(10, args.rounds // 2))
        finally:
            await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
