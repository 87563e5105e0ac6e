"""Housekeeping deletes finished deliveries after 30 days, not pending ones."""

from __future__ import annotations

from datetime import timedelta

from ispcore.workers.jobs import HOUSEKEEPING_JOB
from ispcore.workers.registry import run_job
from tests.accounts.factories import company_setup, new_account
from tests.webhooks.receiver import Reply
from tests.webhooks.support import create_webhook, deliveries, run_webhooks


async def test_old_finished_deliveries_are_pruned(api, receiver, runtime, clock):
    setup = await company_setup(api)
    webhook = (await create_webhook(api, setup.token, companyId=setup.company,
                                    url=receiver.url, eventTypes=["account.created"]))["webhook"]
    receiver.script = [Reply(200), Reply(500)]
    await new_account(api, setup, "Delivered")
    await run_webhooks(runtime)
    await new_account(api, setup, "Failing")
    await run_webhooks(runtime)
    clock.advance(timedelta(days=31))
    result = await run_job(runtime, HOUSEKEEPING_JOB)
    assert result["webhook_deliveries"] == 1
    [left] = await deliveries(api, setup.token, webhook["id"])
    assert left["status"] == "PENDING"
