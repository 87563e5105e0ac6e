"""Two requests racing with one idempotency key create one thing and answer alike."""

from __future__ import annotations

import asyncio

CREATE = """mutation($key: String) { createCompany(input: {name: "Race Fibre", currency: "USD",
  timeZone: "America/New_York", idempotencyKey: $key}) { company { id } errors { code } } }"""


async def test_concurrent_retries_with_one_key_create_one_company(api):
    token = await api.admin_token()
    answers = await asyncio.gather(*(api.data(CREATE, {"key": "retry-1"}, token)
                                     for _ in range(4)))
    ids = {a["createCompany"]["company"]["id"] for a in answers}
    assert len(ids) == 1
    assert all(a["createCompany"]["errors"] == [] for a in answers)
    count = await api.data('{ companies { totalCount } events(filter: {type: '
                           '{eq: "company.created"}}) { totalCount } }', token=token)
    assert count == {"companies": {"totalCount": 1}, "events": {"totalCount": 1}}


async def test_concurrent_creates_without_a_key_report_the_duplicate(api):
    token = await api.admin_token()
    answers = await asyncio.gather(*(api.data(CREATE, {"key": None}, token) for _ in range(3)))
    made = [a for a in answers if a["createCompany"]["company"]]
    refused = [a["createCompany"]["errors"][0]["code"] for a in answers
               if not a["createCompany"]["company"]]
    assert len(made) == 1
    assert refused == ["DUPLICATE", "DUPLICATE"]
