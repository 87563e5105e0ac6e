"""Relation fields of node types: loaded for a whole page from the selection (fragments and
aliases included), in mutation payloads and node(id:), guarded by the related type's
permission, and loaded on demand for a node that was not prefetched."""

from __future__ import annotations

from ispcore.domain.accounts.models import Account as AccountModel
from ispcore.domain.identity.actor import SYSTEM
from ispcore.schema.accounts import Account
from ispcore.schema.context import Context
from tests.accounts.factories import company_setup, new_account, new_address, ok
from tests.support import count_statements

FRAGMENTS = """
query { accounts(first: 50) { edges { node { ...Card ... on Account { kind: accountType {
  name } } } } } }
fragment Card on Account { name who: contacts { name } address: physicalAddress { line1 } }
"""


async def _accounts(api, setup, count: int, start: int = 0) -> list[dict]:
    made = []
    for i in range(start, start + count):
        address = await new_address(api, setup, line1=f"{i + 1} Elm St")
        made.append(await new_account(api, setup, f"Customer {i}",
                                      serviceableAddressId=address["id"],
                                      primaryContact={"name": f"Person {i}"}))
    return made


async def test_fragments_and_aliases_are_prefetched_once_per_relation(api, runtime):
    setup = await company_setup(api)
    await _accounts(api, setup, 2)
    with count_statements(runtime) as few:
        small = await api.data(FRAGMENTS, token=setup.token)
    await _accounts(api, setup, 6, start=2)
    with count_statements(runtime) as many:
        large = await api.data(FRAGMENTS, token=setup.token)
    assert len(few) == len(many)
    nodes = [edge["node"] for edge in large["accounts"]["edges"]]
    assert len(nodes) == 8 and len(small["accounts"]["edges"]) == 2
    assert nodes[3] == {"name": "Customer 3", "who": [{"name": "Person 3"}],
                        "address": {"line1": "4 Elm St"}, "kind": {"name": "Residential"}}


async def test_mutation_payloads_and_node_load_nested_relations(api):
    setup = await company_setup(api)
    account = await new_account(api, setup, primaryContact={"name": "Jane"})
    query = """mutation($input: UpdateAccountInput!) { updateAccount(input: $input) {
      account { name contacts { name account { name accountStatus { name } } } } } }"""
    data = await api.data(query, {"input": {"id": account["id"], "name": "Jane Q"}},
                          setup.token)
    assert data["updateAccount"]["account"] == {"name": "Jane Q", "contacts": [
        {"name": "Jane", "account": {"name": "Jane Q", "accountStatus": {"name": "Active"}}}]}
    node = await api.data("""query($id: ID!) { node(id: $id) { ... on Account {
      primaryContact { name } } } }""", {"id": account["id"]}, setup.token)
    assert node["node"] == {"primaryContact": {"name": "Jane"}}


async def test_a_relation_to_a_type_the_caller_may_not_read_is_null(api):
    setup = await company_setup(api)
    account = await new_account(api, setup, primaryContact={"name": "Jane"})
    await ok(api, setup.token, "createNote", {"accountId": account["id"], "body": "Hi"})
    _, token = await api.user_with_token("reader@example.com", permissions=["accounts:read"])
    data = await api.data("""query($id: ID!) { account(id: $id) { notes { body }
      company { name } contacts { name } } }""", {"id": account["id"]}, token)
    assert data["account"] == {"notes": None, "company": None, "contacts": [{"name": "Jane"}]}


async def test_a_node_that_was_not_prefetched_loads_its_relation_on_demand(api, runtime):
    setup = await company_setup(api)
    await new_account(api, setup, "Solo", primaryContact={"name": "Sam"})
    Context(runtime=runtime, actor=SYSTEM, request_id="test")  # the request's context
    async with runtime.db.session() as session:
        row = (await session.execute(AccountModel.__table__.select())).one()
    node = Account.from_model(row)
    contacts = await node.contacts  # not prefetched: an awaitable that loads it
    assert [c.name for c in contacts] == ["Sam"]
    assert node.contacts == contacts  # and remembered
    status = await node.account_status
    assert status.name == "Active"
