"""Every error a client can get carries ``extensions.code``: parse and validation failures,
variables that do not coerce, a rule refusing a query's arguments, limits, permissions, and
the requests strawberry refuses before GraphQL runs."""

from __future__ import annotations

import logging
from typing import Any

from tests.accounts.factories import company_setup

#: (case, query, variables, the codes expected). ``{company}`` is a company's global id.
CASES: list[tuple[str, str, dict[str, Any] | None, list[str]]] = [
    ("syntax", "{ me {", None, ["GRAPHQL_PARSE_FAILED"]),
    ("nested list literal", "{ node(id: " + "[" * 10_000 + "]" * 10_000 + ") { id } }", None,
     ["GRAPHQL_PARSE_FAILED"]),
    ("nested selections", "{ " + "me { " * 3000 + "email" + " }" * 3000 + " }", None,
     ["GRAPHQL_PARSE_FAILED"]),
    ("unknown field", "{ nope }", None, ["GRAPHQL_VALIDATION_FAILED"]),
    ("unused variable", "query($d: DateTime) { __typename }", None,
     ["GRAPHQL_VALIDATION_FAILED"]),
    ("variable of the wrong type", "query($n: Int) { companies(first: $n) { totalCount } }",
     {"n": "ten"}, ["BAD_USER_INPUT"]),
    ("variable missing", "query($n: Int!) { companies(first: $n) { totalCount } }", {},
     ["BAD_USER_INPUT"]),
    ("a list where text is wanted", "query($f: CompanyFilter) { companies(filter: $f) "
     "{ totalCount } }", {"f": {"search": [[["x"]]]}}, ["BAD_USER_INPUT"]),
    ("page too large", "{ companies(first: 501) { totalCount } }", None, ["BAD_USER_INPUT"]),
    ("an Int of 5,000 digits", "{ companies(first: " + "9" * 5000 + ") { totalCount } }",
     None, ["BAD_USER_INPUT"]),
    ("an account type's id given as a company's",
     "query($id: ID) { netflowExporters(companyId: $id) { totalCount } }",
     {"id": "{account_type}"}, ["INVALID"]),
    ("a company id given as a webhook's",
     "query($id: ID) { webhookDeliveries(webhookId: $id) { totalCount } }",
     {"id": "{company}"}, ["INVALID"]),
    ("too many aliases", "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }",
     None, ["QUERY_TOO_COMPLEX"]),
    ("a mutation carrying a card number",
     'mutation { createCompany(input: {name: "\\u0034111 1111 1111 1111", currency: "USD", '
     'timeZone: "UTC"}) { errors { code } } }', None, ["CARD_NUMBER_REFUSED"]),
]


async def test_every_graphql_error_has_a_code(api, caplog):
    setup = await company_setup(api)
    token = setup.token
    ids = {"company": setup.company, "account_type": setup.residential}
    caplog.set_level(logging.ERROR, logger="ispcore.errors")
    for case, query, variables, expected in CASES:
        variables = {k: v.format(**ids) if isinstance(v, str) else v
                     for k, v in (variables or {}).items()}
        response = await api.post(query, variables, token)
        assert response.status_code == 200, (case, response.text)
        errors = response.json()["errors"]
        assert [e["extensions"]["code"] for e in errors] == expected, (case, errors)
    anonymous = await api.gql("{ companies { totalCount } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not caplog.records  # none of these is an internal failure


async def test_a_rule_refusing_a_query_argument_names_the_field(api):
    setup = await company_setup(api)
    body = await api.gql("query($id: ID) { netflowExporters(companyId: $id) { totalCount } }",
                         {"id": setup.residential}, setup.token)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "INVALID", "field": "companyId"}
    assert error["message"] == "Expected a Company id, got a AccountType id."
    assert error["path"] == ["netflowExporters"]


async def test_requests_refused_before_graphql_runs_have_a_code_too(api, caplog):
    """Bad JSON, JSON nested deeper than any GraphQL value may be (past the stack, or past
    graphql-core's 200 levels), a number longer than Python converts, a mutation over GET:
    HTTP 400 with the status's name as the code, and no trace in the log."""
    caplog.set_level(logging.DEBUG)

    def nested(levels: int) -> str:
        return "[" * levels + "]" * levels

    query = "query($v: CompanyFilter) { __typename }"
    for body in ('{"query": ', *(f'{{"query": "{query}", "variables": {{"v": {value}}}}}'
                                 for value in (nested(100_000), nested(201), "9" * 5000))):
        response = await api.client.post("/graphql", content=body.encode(),
                                          headers={"content-type": "application/json"})
        assert response.status_code == 400, body[:50]
        assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    over_get = await api.client.get("/graphql", params={"query": query,
                                                        "variables": f'{{"v": {nested(300)}}}'})
    assert over_get.status_code == 400
    assert "nested more than 200 levels" in over_get.json()["errors"][0]["message"]
    mutation = await api.client.get("/graphql", params={
        "query": "mutation { logout { errors { code } } }"})
    assert mutation.status_code == 400
    assert mutation.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
