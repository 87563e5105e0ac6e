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


async def test_a_request_overtaken_by_its_twin_answers_with_the_twins_result(api, monkeypatch):
    """Deterministic form of the race: the twin commits between this request's key check and
    its own work, so this one's name check says DUPLICATE; it must answer as the twin did."""
    from ispcore.domain.companies import service

    token = await api.admin_token()
    real = service.create_company
    twin_answer: list[dict] = []
    calls: list[int] = []

    async def overtaken(uow, values):
        calls.append(1)
        if len(calls) == 1:  # this request: let its twin run to the end first
            twin_answer.append(await api.data(CREATE, {"key": "retry-2"}, token))
        return await real(uow, values)

    monkeypatch.setattr(service, "create_company", overtaken)
    mine = await api.data(CREATE, {"key": "retry-2"}, token)
    assert mine == twin_answer[0]
    assert mine["createCompany"]["errors"] == []
    count = await api.data("{ companies { totalCount } }", token=token)
    assert count["companies"]["totalCount"] == 1
