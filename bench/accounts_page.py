"""A page of accounts with their contacts, address, type and status; and global search.

Seeds ACCOUNTS accounts (default 100,000), each with a primary contact (one email, one phone
number), every third with a second contact, and each living at its own serviceable address,
plus the search documents the services keep. Then measures, interleaved round by round:

  ispcore        the query below through ispcore's schema in process (context with the
                 authenticated admin), database included: 1 page query + one query per
                 relation (DataLoaders), whatever the page size.
  ispcore-nodb   the same with every statement answered from rows fetched beforehand: the
                 Python side of ispcore alone (strawberry, loaders, nodes).
  strawberry     a plain strawberry schema of the same shape (no relay, no permissions, no
                 extensions) over the same data as objects in memory: the framework's floor.
  graphql-core   baseline: a hand-written graphql-core schema of the same shape over the same
                 data already in memory (nested dicts), default resolvers.

    { accounts(first: PAGE) { edges { node { id name accountNumber
        accountType { name } accountStatus { name countsAsActive }
        contacts { name isPrimary emails phoneNumbers { number } }
        physicalAddress { line1 unit city postalCode } } } } }

It also prints the SQL statements per query at page sizes 10 and 100 (they must be equal; a
test asserts it too), and p50/p99 of `search(query:)` for typical queries over the seeded data.

Run:  .venv/bin/python bench/accounts_page.py [--db sqlite|postgresql] [--accounts 100000]
                                              [--rounds 30]
Prints figures and ratios; asserts none (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

PAGE = 100
TARGET = 1.25  # "ispcore adds <= 25% over graphql-core"
SEARCH_TARGET_MS = 50.0
NODE = """id name accountNumber accountType { name } accountStatus { name countsAsActive }
  contacts { name isPrimary emails phoneNumbers { number } }
  physicalAddress { line1 unit city postalCode }"""


def page_query(size: int) -> str:
    return f"{{ accounts(first: {size}) {{ edges {{ node {{ {NODE} }} }} }} }}"


SEARCHES = ["smith", "jane smi", "4417", "acct-0042", "oak ave", "user1234@", "555-01",
            "(312) 555-0142", "springfield 62701", "zzzz-no-match"]
FIRST_NAMES = ["Jane", "John", "Maria", "Wei", "Aisha", "Lars", "Priya", "Tom", "Ana", "Omar"]
LAST_NAMES = ["Smith", "Garcia", "Chen", "Okafor", "Nielsen", "Patel", "Brown", "Silva",
              "Kowalski", "Haddad", "Ivanova", "Murphy"]
STREETS = ["Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Pine Rd", "Lake View Blvd"]


# --- seeding ---------------------------------------------------------------------------------

async def seed(runtime: Any, accounts: int) -> None:
    """Bulk rows through Core (the write path is not what this measures)."""
    from sqlalchemy import insert

    from ispcore.domain.accounts import models as m
    from ispcore.domain.addresses.models import AddressOccupancy, ServiceableAddress
    from ispcore.domain.common.models import name_key
    from ispcore.domain.companies.models import Company
    from ispcore.domain.search.models import SearchDocument

    now = datetime(2026, 1, 1, tzinfo=UTC)
    stamps = {"created_at": now, "updated_at": now}
    async with runtime.db.engine.begin() as conn:
        company = (await conn.execute(insert(Company).returning(Company.id), [{
            "name": "Bench Fibre", "name_key": "bench fibre", "currency": "USD",
            "time_zone": "America/Chicago", "country": "US", **stamps}])).scalar_one()
        type_ids = (await conn.execute(insert(m.AccountType).returning(m.AccountType.id), [
            {"company_id": company, "name": n, "name_key": name_key(n), "description": "",
             **stamps} for n in ("Residential", "Business")])).scalars().all()
        status_ids = (await conn.execute(insert(m.AccountStatus).returning(m.AccountStatus.id), [
            {"company_id": company, "name": n, "name_key": name_key(n), "counts_as_active": a,
             "is_delinquent": False, "is_lead": False, "is_disconnect_default": not a,
             "color": "#00aa00", **stamps} for n, a in (("Active", True),
                                                          ("Inactive", False))])).scalars().all()
        mobile = (await conn.execute(insert(m.PhoneNumberType).returning(m.PhoneNumberType.id),
                                     [{"company_id": company, "name": "Mobile",
                                       "name_key": "mobile", "can_receive_sms": True,
                                       **stamps}])).scalar_one()
    chunk = 5000
    for start in range(1, accounts + 1, chunk):
        ids = range(start, min(start + chunk, accounts + 1))
        await _seed_chunk(runtime, ids, company, type_ids, status_ids, mobile, stamps,
                          m, ServiceableAddress, AddressOccupancy, SearchDocument)


async def _seed_chunk(runtime: Any, ids: range, company: int, type_ids: list[int],
                      status_ids: list[int], mobile: int, stamps: dict[str, Any], m: Any,
                      address_model: Any, occupancy_model: Any, document_model: Any) -> None:
    from sqlalchemy import insert

    from ispcore.domain.addresses.service import address_key

    accounts, addresses, occupancies, contacts, emails, phones, documents = ([] for _ in range(7))
    contact_id = (ids.start - 1) * 2  # ids are assigned in order on a fresh database
    for i in ids:
        first, last = FIRST_NAMES[i % 10], LAST_NAMES[(i // 10) % 12]
        name = f"{first} {last} {i}"
        number = f"ACCT-{i:06d}"
        accounts.append({"id": i, "company_id": company, "account_number": number,
                         "name": name, "account_type_id": type_ids[i % 7 == 0],
                         "account_status_id": status_ids[i % 20 == 0],
                         "parent_account_id": None, "bill_to_parent": False,
                         "activation_date": date(2025, 1, 1) + timedelta(days=i % 365),
                         **stamps})
        address = {"line1": f"{i % 9000 + 100} {STREETS[i % 7]}", "line2": None,
                   "unit": f"{i % 40 + 1}" if i % 3 == 0 else None, "city": "Springfield",
                   "subdivision": "IL", "postal_code": f"627{i % 100:02d}", "country": "US"}
        addresses.append({"id": i, "company_id": company, **address, "latitude": None,
                          "longitude": None, "fcc_location_id": str(1_000_000_000 + i),
                          "serviceable": True, "address_key": address_key(address) + f"|{i}",
                          **stamps})
        occupancies.append({"id": i, "company_id": company, "serviceable_address_id": i,
                            "account_id": i, "moved_in_on": date(2025, 1, 1),
                            "created_at": stamps["created_at"]})
        people = [(f"{first} {last}", True)] + ([(f"Alex {last}", False)] if i % 3 == 0 else [])
        for person, primary in people:
            contact_id += 1
            email = f"user{contact_id}@example.net"
            phone = f"+1312555{contact_id % 10000:04d}"
            contacts.append({"id": contact_id, "company_id": company, "account_id": i,
                             "name": person, "role": None, "is_primary": primary,
                             "is_financial": primary, **stamps})
            emails.append({"company_id": company, "contact_id": contact_id, "email": email,
                           "position": 0})
            phones.append({"company_id": company, "contact_id": contact_id,
                           "phone_number_type_id": mobile, "number": phone, "extension": None,
                           "position": 0})
            documents.append({"company_id": company, "entity_type": "Contact",
                              "entity_id": contact_id, "account_id": i, "title": person,
                              "subtitle": name,
                              "text": f"{person} {email} {phone[1:]} {phone[2:]}".lower()})
        documents.append({"company_id": company, "entity_type": "Account", "entity_id": i,
                          "account_id": i, "title": name, "subtitle": f"Account {number}",
                          "text": f"{name} {number} {i}".lower()})
        line = f"{address['line1']}, Springfield, IL {address['postal_code']}"
        documents.append({"company_id": company, "entity_type": "ServiceableAddress",
                          "entity_id": i, "account_id": None, "title": line,
                          "subtitle": "Serviceable", "text": f"{line} us".lower()})
    async with runtime.db.engine.begin() as conn:
        for model, rows in ((m.Account, accounts), (address_model, addresses),
                            (occupancy_model, occupancies), (m.Contact, contacts),
                            (m.ContactEmail, emails), (m.ContactPhoneNumber, phones),
                            (document_model, documents)):
            await conn.execute(insert(model), rows)


# --- baselines -------------------------------------------------------------------------------

def graphql_core_schema(data: list[dict[str, Any]]) -> Any:
    from graphql import (
        GraphQLArgument,
        GraphQLBoolean,
        GraphQLField,
        GraphQLID,
        GraphQLInt,
        GraphQLList,
        GraphQLNonNull,
        GraphQLObjectType,
        GraphQLSchema,
        GraphQLString,
    )

    def nn(t: Any) -> Any:
        return GraphQLNonNull(t)

    named = GraphQLObjectType("AccountType", {"name": GraphQLField(nn(GraphQLString))})
    status = GraphQLObjectType("AccountStatus", {
        "name": GraphQLField(nn(GraphQLString)),
        "countsAsActive": GraphQLField(nn(GraphQLBoolean))})
    phone = GraphQLObjectType("PhoneNumber", {"number": GraphQLField(nn(GraphQLString))})
    contact = GraphQLObjectType("Contact", {
        "name": GraphQLField(nn(GraphQLString)), "isPrimary": GraphQLField(nn(GraphQLBoolean)),
        "emails": GraphQLField(nn(GraphQLList(nn(GraphQLString)))),
        "phoneNumbers": GraphQLField(nn(GraphQLList(nn(phone))))})
    address = GraphQLObjectType("ServiceableAddress", {
        "line1": GraphQLField(nn(GraphQLString)), "unit": GraphQLField(GraphQLString),
        "city": GraphQLField(nn(GraphQLString)), "postalCode": GraphQLField(GraphQLString)})
    account = GraphQLObjectType("Account", {
        "id": GraphQLField(nn(GraphQLID)), "name": GraphQLField(nn(GraphQLString)),
        "accountNumber": GraphQLField(GraphQLString), "accountType": GraphQLField(named),
        "accountStatus": GraphQLField(status), "contacts": GraphQLField(GraphQLList(nn(contact))),
        "physicalAddress": GraphQLField(address)})
    edge = GraphQLObjectType("AccountEdge", {"node": GraphQLField(nn(account))})
    connection = GraphQLObjectType("AccountConnection",
                                   {"edges": GraphQLField(nn(GraphQLList(nn(edge))))})

    def resolve(_root: Any, _info: Any, first: int = 100) -> Any:
        return {"edges": [{"node": node} for node in data[:first]]}

    query = GraphQLObjectType("Query", {"accounts": GraphQLField(
        nn(connection), args={"first": GraphQLArgument(GraphQLInt)}, resolve=resolve)})
    return GraphQLSchema(query)


# --- the framework floor: a plain strawberry schema of the same shape ---------------------

import strawberry  # noqa: E402


@strawberry.type(name="AccountType")
class PlainNamed:
    name: str


@strawberry.type(name="AccountStatus")
class PlainStatus:
    name: str
    counts_as_active: bool


@strawberry.type(name="PhoneNumber")
class PlainPhone:
    number: str


@strawberry.type(name="Contact")
class PlainContact:
    name: str
    is_primary: bool
    emails: list[str]
    phone_numbers: list[PlainPhone]


@strawberry.type(name="ServiceableAddress")
class PlainAddress:
    line1: str
    unit: str | None
    city: str
    postal_code: str | None


@strawberry.type(name="Account")
class PlainAccount:
    id: strawberry.ID
    name: str
    account_number: str | None
    account_type: PlainNamed | None
    account_status: PlainStatus | None
    contacts: list[PlainContact] | None
    physical_address: PlainAddress | None


@strawberry.type(name="AccountEdge")
class PlainEdge:
    node: PlainAccount


@strawberry.type(name="AccountConnection")
class PlainConnection:
    edges: list[PlainEdge]


_PLAIN: list[PlainAccount] = []


@strawberry.type(name="Query")
class PlainQuery:
    @strawberry.field
    def accounts(self, first: int = 100) -> PlainConnection:
        return PlainConnection(edges=[PlainEdge(node=n) for n in _PLAIN[:first]])


def strawberry_schema(data: list[dict[str, Any]]) -> Any:
    _PLAIN[:] = [PlainAccount(
        id=n["id"], name=n["name"], account_number=n["accountNumber"],
        account_type=PlainNamed(name=n["accountType"]["name"]),
        account_status=PlainStatus(name=n["accountStatus"]["name"],
                                   counts_as_active=n["accountStatus"]["countsAsActive"]),
        contacts=[PlainContact(name=c["name"], is_primary=c["isPrimary"], emails=c["emails"],
                               phone_numbers=[PlainPhone(number=p["number"])
                                              for p in c["phoneNumbers"]])
                  for c in n["contacts"]],
        physical_address=PlainAddress(**{"line1": n["physicalAddress"]["line1"],
                                         "unit": n["physicalAddress"]["unit"],
                                         "city": n["physicalAddress"]["city"],
                                         "postal_code": n["physicalAddress"]["postalCode"]}))
        for n in data]
    return strawberry.Schema(query=PlainQuery)


class Recorder:
    """Statements the engine runs (text and parameters) while active."""

    def __init__(self, runtime: Any) -> None:
        self.engine = runtime.db.engine.sync_engine
        self.seen: list[tuple[str, Any]] = []

    def record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *a: Any) -> None:
        self.seen.append((statement, parameters))

    def __enter__(self) -> Recorder:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self.record)
        return self

    def __exit__(self, *exc: Any) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self.record)


class Bench:
    async def setup(self, runtime: Any) -> None:
        from graphql import parse, validate

        from ispcore.domain.identity.auth import authenticate
        from ispcore.schema import build_schema
        from ispcore.schema.context import Context

        self.runtime = runtime
        _, token = await common.admin_with_token(runtime)
        async with runtime.db.session() as session:
            self.actor = (await authenticate(session, token, ip="127.0.0.1",
                                             now=runtime.clock.now())).actor
        self.schema = build_schema(runtime.settings)
        self.Context = Context
        self.query = page_query(PAGE)

        result = _checked(await self.run_ispcore())
        self.data = [edge["node"] for edge in result.data["accounts"]["edges"]]
        self.gql_schema = graphql_core_schema(self.data)
        self.gql_document = parse(self.query)
        assert not validate(self.gql_schema, self.gql_document)
        self.sb_schema = strawberry_schema(self.data)
        self.check()
        self.nodb_context = await self._prefetched_context()

    async def _prefetched_context(self) -> Any:
        """A Context whose database answers each statement with the rows it gave the first
        time (keyed by statement text and parameters)."""
        from ispcore.schema.context import Context

        answers: dict[str, list[Any]] = {}
        runtime = self.runtime

        class Result:
            def __init__(self, rows: list[Any]) -> None:
                self.rows = rows

            def all(self) -> list[Any]:
                return list(self.rows)

            def scalars(self) -> Any:
                return [row[0] for row in self.rows]

            def __iter__(self) -> Any:
                return iter(self.rows)

        def key(statement: Any) -> str:
            compiled = statement.compile(runtime.db.engine)
            return f"{compiled}|{sorted(compiled.params.items(), key=str)}"

        class Session:
            async def execute(self, statement: Any) -> Result:
                k = key(statement)
                if k not in answers:
                    async with runtime.db.read_rows() as real:
                        answers[k] = list((await real.execute(statement)).all())
                return Result(answers[k])

            async def scalars(self, statement: Any) -> list[Any]:
                return [row[0] for row in (await self.execute(statement)).rows]

        class PrefetchedContext(Context):
            @asynccontextmanager
            async def rows(self) -> AsyncIterator[Any]:
                yield Session()

            @asynccontextmanager
            async def read(self) -> AsyncIterator[Any]:
                yield Session()

        return PrefetchedContext

    async def run_ispcore(self) -> Any:
        context = self.Context(runtime=self.runtime, actor=self.actor, request_id="bench")
        return await self.schema.execute(self.query, context_value=context)

    async def run_ispcore_nodb(self) -> Any:
        context = self.nodb_context(runtime=self.runtime, actor=self.actor, request_id="bench")
        return await self.schema.execute(self.query, context_value=context)

    async def run_strawberry(self) -> Any:
        return await self.sb_schema.execute(self.query)

    async def run_graphql_core(self) -> Any:
        from graphql import execute

        return execute(self.gql_schema, self.gql_document)

    def check(self) -> None:
        from graphql import execute

        plain = execute(self.gql_schema, self.gql_document)
        assert not plain.errors, plain.errors
        assert [e["node"] for e in plain.data["accounts"]["edges"]] == self.data
        assert len(self.data) == PAGE and all(n["contacts"] and n["physicalAddress"]
                                              for n in self.data)

    async def statements_per_query(self, size: int) -> int:
        context = self.Context(runtime=self.runtime, actor=self.actor, request_id="bench")
        with Recorder(self.runtime) as recorder:
            _checked(await self.schema.execute(page_query(size), context_value=context))
        return len(recorder.seen)


def _checked(result: Any) -> Any:
    if getattr(result, "errors", None):
        raise SystemExit(f"query failed: {result.errors}")
    return result


async def measure(variants: dict[str, Callable[[], Awaitable[Any]]], rounds: int,
                  warmup: int) -> dict[str, list[float]]:
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            _checked(await variants[name]())
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            gc.collect()
            started = time.perf_counter()
            _checked(await variants[name]())
            times[name].append((time.perf_counter() - started) * 1000)
    return times


async def search_figures(bench: Bench, rounds: int) -> list[list[str]]:
    from ispcore.domain.search import service

    rows = []
    for query in SEARCHES:
        times = []
        hits = 0
        for _ in range(rounds):
            started = time.perf_counter()
            async with bench.runtime.db.read_rows() as conn:
                found = await service.search(conn, query, entity_types=[
                    "Account", "Contact", "ServiceableAddress"], company_id=None, limit=20)
            times.append((time.perf_counter() - started) * 1000)
            hits = len(found)
        rows.append([repr(query), str(hits), f"{common.median(times):.1f}",
                     f"{common.percentile(times, 99):.1f}"])
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    async with common.temp_database(args.db) as db:
        runtime = await common.open_runtime(db.url, migrate=True)
        try:
            started = time.perf_counter()
            await seed(runtime, args.accounts)
            await common.analyze(db.url)
            print(f"seeded {args.accounts} accounts in {time.perf_counter() - started:.0f} s "
                  f"({args.db})")
            bench = Bench()
            await bench.setup(runtime)
            gc.collect()
            gc.freeze()
            small, large = (await bench.statements_per_query(10),
                            await bench.statements_per_query(PAGE))
            times = await measure({"ispcore": bench.run_ispcore,
                                   "ispcore-nodb": bench.run_ispcore_nodb,
                                   "strawberry": bench.run_strawberry,
                                   "graphql-core": bench.run_graphql_core},
                                  args.rounds, args.warmup)
            med = {n: common.median(v) for n, v in times.items()}
            print(f"\naccounts(first: {PAGE}) with type, status, contacts (emails, phones) and "
                  f"address; {args.rounds} interleaved rounds; {args.accounts} accounts")
            print(f"  {common.machine_line()}\n")
            common.print_table(
                ["variant", "p50 ms", "p99 ms", "min ms", "vs graphql-core"],
                [[n, f"{med[n]:.2f}", f"{common.percentile(v, 99):.2f}", f"{min(v):.2f}",
                  f"{med[n] / med['graphql-core']:.2f}x"] for n, v in times.items()])
            print(f"\n  SQL statements per query: first: 10 -> {small}, first: {PAGE} -> {large}"
                  f" ({'constant' if small == large else 'GROWS'})")
            ratio = med["ispcore"] / med["graphql-core"]
            nodb = med["ispcore-nodb"] / med["graphql-core"]
            print(f"  ispcore / graphql-core       = {ratio:.2f}x (database included)")
            print(f"  ispcore-nodb / graphql-core  = {nodb:.2f}x (Python side alone)")
            floor = med["strawberry"] / med["graphql-core"]
            print(f"  strawberry / graphql-core    = {floor:.2f}x (the framework floor: a plain "
                  "strawberry schema of the same shape over the same data in memory)")
            print(f"  target <= {TARGET:.2f}x: end to end {'MET' if ratio <= TARGET else 'NOT MET'}"
                  f", Python side {'MET' if nodb <= TARGET else 'NOT MET'}")
            print(f"\nsearch(query:) over {args.accounts} accounts (and their contacts and "
                  f"addresses), first 20, {args.rounds} runs each")
            rows = await search_figures(bench, args.rounds)
            common.print_table(["query", "hits", "p50 ms", "p99 ms"], rows)
            worst = max(float(r[2]) for r in rows)
            print(f"\n  target p50 < {SEARCH_TARGET_MS:.0f} ms: "
                  f"{'MET' if worst < SEARCH_TARGET_MS else 'NOT MET'} (worst p50 {worst:.1f} ms)")
        finally:
            await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
