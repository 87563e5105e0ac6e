"""A page of accounts with nested contacts, addresses, type and status costs the same number
of SQL statements whatever its size: each relation is one query for the whole page."""

from __future__ import annotations

from tests.accounts.factories import company_setup, new_account, new_address, ok
from tests.support import count_statements

NESTED = """id name accountNumber accountType { name } accountStatus { name countsAsActive }
  contacts { name isPrimary emails phoneNumbers { number phoneNumberType { name } }
             customFields { value } }
  physicalAddress { line1 unit city currentAccount { id } }
  groups { name } statusHistory { kind toStatus { name } user { email } }
  customFields { customField { name } value }"""


def page(size: int) -> str:
    return f"{{ accounts(first: {size}) {{ edges {{ node {{ {NESTED} }} }} }} }}"


async def _seed(api, setup, count: int) -> None:
    group = (await ok(api, setup.token, "createAccountGroup",
                      {"companyId": setup.company, "name": "Tower 7"}))["id"]
    for i in range(count):
        address = await new_address(api, setup, line1=f"{100 + i} Main St")
        await new_account(
            api, setup, name=f"Customer {i:02d}", accountNumber=f"C-{i:02d}",
            accountGroupIds=[group], serviceableAddressId=address["id"],
            primaryContact={"name": f"Person {i}", "emails": [f"p{i}@example.com"],
                            "phoneNumbers": [{"number": f"+1217555{i:04d}",
                                              "phoneNumberTypeId": setup.mobile}]})


async def test_statements_per_page_do_not_grow_with_the_page(api, runtime):
    setup = await company_setup(api)
    await _seed(api, setup, 12)

    counts = {}
    for size in (2, 12):
        with count_statements(runtime) as seen:
            data = await api.data(page(size), token=setup.token)
        nodes = [edge["node"] for edge in data["accounts"]["edges"]]
        assert len(nodes) == size
        assert all(n["contacts"][0]["emails"] and n["physicalAddress"]["currentAccount"]["id"]
                   == n["id"] and n["groups"] == [{"name": "Tower 7"}] for n in nodes)
        assert nodes[-1]["contacts"][0]["phoneNumbers"][0]["phoneNumberType"]["name"] == \
            "Mobile"
        counts[size] = len(seen)
    assert counts[2] == counts[12], counts


async def test_node_by_id_loads_its_relations_too(api, runtime):
    setup = await company_setup(api)
    await _seed(api, setup, 3)
    first = (await api.data(page(1), token=setup.token))["accounts"]["edges"][0]["node"]
    query = f"""query($id: ID!) {{ node(id: $id) {{ ... on Account {{ {NESTED} }} }} }}"""
    node = (await api.data(query, {"id": first["id"]}, setup.token))["node"]
    assert node == first
