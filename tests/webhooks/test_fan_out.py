"""The fan-out: which endpoints get which events, once each, late committers included."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from strawberry import relay

from ispcore.domain.events.models import Event
from ispcore.domain.webhooks.fan_out import FAN_OUT_JOB
from ispcore.domain.webhooks.models import WebhookDelivery
from ispcore.workers.registry import run_job
from tests.accounts.factories import company_setup, new_account, ok
from tests.webhooks.support import create_webhook, deliveries, run_webhooks


async def _delivered_types(api, token, webhook_id):
    return sorted(d["eventType"] for d in await deliveries(api, token, webhook_id))


async def test_endpoints_get_their_company_s_subscribed_events_and_instance_wide_get_all(
        api, receiver, runtime):
    acme = await company_setup(api)
    other = await company_setup(api, acme.token, name="Other Net")
    mine = (await create_webhook(api, acme.token, companyId=acme.company, url=receiver.url,
                                 eventTypes=["account.created"]))["webhook"]
    everything = (await create_webhook(api, acme.token, url=receiver.url + "/all",
                                       eventTypes=["account.*"]))["webhook"]
    await new_account(api, acme, "Acme customer")
    await new_account(api, other, "Other customer")
    await run_webhooks(runtime)

    assert await _delivered_types(api, acme.token, mine["id"]) == ["account.created"]
    assert await _delivered_types(api, acme.token, everything["id"]) == [
        "account.created", "account.created"]
    names = sorted(r.payload["data"]["object"]["name"] for r in receiver.received)
    assert names == ["Acme customer", "Acme customer", "Other customer"]


async def test_events_before_an_endpoint_existed_are_not_sent_to_it(api, receiver, runtime,
                                                                    clock):
    setup = await company_setup(api)
    first = (await create_webhook(api, setup.token, companyId=setup.company, url=receiver.url,
                                  eventTypes=["account.created"]))["webhook"]
    await new_account(api, setup, "Early")
    clock.advance(timedelta(seconds=1))
    late = (await create_webhook(api, setup.token, companyId=setup.company,
                                 url=receiver.url + "/late",
                                 eventTypes=["account.created"]))["webhook"]
    await run_webhooks(runtime)
    assert len(await deliveries(api, setup.token, first["id"])) == 1
    assert await deliveries(api, setup.token, late["id"]) == []


async def test_a_deleted_entity_is_sent_as_null_with_the_event_payload(api, receiver, runtime):
    setup = await company_setup(api)
    await create_webhook(api, setup.token, companyId=setup.company, url=receiver.url,
                         eventTypes=["account_group.*"])
    group = await ok(api, setup.token, "createAccountGroup",
                     {"companyId": setup.company, "name": "VIP"})
    await ok(api, setup.token, "deleteAccountGroup", {"id": group["id"]})
    await run_webhooks(runtime)
    by_type = {r.payload["type"]: r.payload["data"] for r in receiver.received}
    assert by_type["account_group.deleted"]["object"] is None
    assert by_type["account_group.deleted"]["changes"]
    # Rendered when fanned out: by then the group was gone for the created event too.
    assert by_type["account_group.created"]["changes"]["name"] == "VIP"


async def test_a_late_committer_is_fanned_out_and_nothing_twice(api, receiver, runtime,
                                                                system_uow, clock):
    setup = await company_setup(api)
    webhook = (await create_webhook(api, setup.token, companyId=setup.company,
                                    url=receiver.url, eventTypes=["account.updated"]))["webhook"]
    await runtime.jobs.drain()
    company_pk = int(relay.from_base64(setup.company)[1])

    def event(pk: int) -> Event:
        return Event(id=pk, type="account.updated", company_id=company_pk, payload={"n": pk},
                     occurred_at=clock.now() + timedelta(seconds=1))

    async with system_uow() as uow:
        last = await uow.session.scalar(select(func.max(Event.id)))
        uow.session.add(event(last + 2))  # committed before last + 1, which is still open
    await run_job(runtime, FAN_OUT_JOB)
    assert len(await deliveries(api, setup.token, webhook["id"])) == 1
    async with system_uow() as uow:
        uow.session.add(event(last + 1))
    await run_job(runtime, FAN_OUT_JOB)
    await run_job(runtime, FAN_OUT_JOB)
    async with runtime.db.session() as session:
        count = await session.scalar(select(func.count()).select_from(WebhookDelivery))
    assert count == 2
    await run_webhooks(runtime)
    assert sorted(r.payload["data"]["changes"]["n"] for r in receiver.received) == [
        last + 1, last + 2]
