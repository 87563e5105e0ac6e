"""A frontend watching the `events` subscription sees an invoice as soon as a billing run
issues it."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from tests.billing.factories import add, billing_setup, customer, ok
from tests.platform.test_subscriptions import _connect, _init, _recv

SUBSCRIBE = ('subscription($c: ID!) { events(types: ["invoice.issued"], companyId: $c) '
             "{ type occurredAt entity { id ... on Invoice { number total { amount } } } } }")


async def test_a_websocket_client_sees_invoice_issued_within_a_second_of_the_run(
        api: Any, runtime: Any, live_server: str) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    async with await _connect(live_server) as ws:
        await _init(ws, {"Authorization": f"Bearer {billing.token}"})
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SUBSCRIBE, "variables": {"c": billing.company}}}))
        await asyncio.sleep(0.3)  # let the subscription start listening
        await ok(api, billing.token, "runBilling", {"companyId": billing.company})
        await runtime.jobs.drain()  # the run has committed its invoices when this returns
        issued = time.monotonic()
        message = await _recv(ws)
        seen_after = time.monotonic() - issued
    event = message["payload"]["data"]["events"]
    assert event["type"] == "invoice.issued"
    assert event["entity"]["number"] == "INV-000001"
    assert event["entity"]["total"] == {"amount": "20.00"}
    assert seen_after < 1.0, f"the event reached the client {seen_after:.2f} s after the run"
