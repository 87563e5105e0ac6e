"""Deliveries to a real HTTP receiver on loopback, verified with the standardwebhooks verifier;
the receiver fails on purpose to drive retries (with the test clock), 410 and Retry-After."""

from __future__ import annotations

from datetime import timedelta

from tests.accounts.factories import company_setup, new_account
from tests.messaging.test_transport_smtp import configure
from tests.messaging.transport_support import smtp_server
from tests.webhooks.receiver import Reply
from tests.webhooks.support import (
    REDELIVER,
    ROTATE,
    SEND_TEST,
    UPDATE,
    create_webhook,
    deliveries,
    run_webhooks,
)

#: The schedule's waits with their largest jitter (10 %), so the next attempt is surely due.
WAITS = [timedelta(seconds=s * 1.1 + 1) for s in (5, 300, 1800, 7200, 18000, 36000, 36000)]


async def _subscribed(api, receiver, **extra):
    setup = await company_setup(api)
    created = await create_webhook(api, setup.token, companyId=setup.company,
                                   url=receiver.url, eventTypes=["account.*"], **extra)
    receiver.secrets = [created["secret"]]
    return setup, created["webhook"]


async def test_an_event_arrives_signed_with_the_entity_as_the_api_shows_it(api, receiver,
                                                                          runtime):
    setup, webhook = await _subscribed(api, receiver)
    account = await new_account(api, setup, "Jane Doe")
    await run_webhooks(runtime)

    [got] = receiver.received
    assert got.verified == [True]
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["webhook-signature"].startswith("v1,")
    body = got.payload
    assert body["type"] == "account.created"
    assert body["data"]["object"]["id"] == account["id"]
    assert body["data"]["object"]["__typename"] == "Account"
    assert body["data"]["object"]["name"] == "Jane Doe"
    assert body["data"]["changes"]["name"] == "Jane Doe"

    [delivery] = await deliveries(api, setup.token, webhook["id"])
    assert delivery["status"] == "SUCCEEDED"
    assert delivery["messageId"] == got.headers["webhook-id"]
    assert delivery["attempts"][0]["statusCode"] == 200
    assert delivery["attempts"][0]["responseExcerpt"] == "ok"


async def test_failures_are_retried_on_the_schedule_with_the_same_webhook_id(
        api, receiver, runtime, clock):
    setup, webhook = await _subscribed(api, receiver)
    receiver.script = [Reply(500, body=b"down")] * 3
    await new_account(api, setup)
    await run_webhooks(runtime)
    [delivery] = await deliveries(api, setup.token, webhook["id"])
    assert (delivery["status"], delivery["attemptCount"]) == ("PENDING", 1)

    await run_webhooks(runtime)  # not due yet: nothing sent
    assert len(receiver.received) == 1
    for wait in WAITS[:3]:
        clock.advance(wait)
        await run_webhooks(runtime)
    assert len(receiver.received) == 4
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert all(r.verified == [True] for r in receiver.received)
    [delivery] = await deliveries(api, setup.token, webhook["id"])
    assert delivery["status"] == "SUCCEEDED"
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    assert delivery["attempts"][0]["responseExcerpt"] == "down"


async def test_a_delivery_gives_up_after_eight_attempts(api, receiver, runtime, clock):
    setup, webhook = await _subscribed(api, receiver)
    receiver.script = [Reply(503)] * 10
    await new_account(api, setup)
    await run_webhooks(runtime)
    for wait in WAITS:
        clock.advance(wait)
        await run_webhooks(runtime)
    clock.advance(timedelta(days=2))
    await run_webhooks(runtime)
    assert len(receiver.received) == 8
    [delivery] = await deliveries(api, setup.token, webhook["id"])
    assert (delivery["status"], delivery["attemptCount"]) == ("FAILED", 8)


async def test_retry_after_is_honoured(api, receiver, runtime, clock):
    setup, webhook = await _subscribed(api, receiver)
    receiver.script = [Reply(429, {"retry-after": "120"})]
    await new_account(api, setup)
    await run_webhooks(runtime)
    clock.advance(WAITS[0])  # the schedule's 5 s: too early for what the receiver asked
    await run_webhooks(runtime)
    assert len(receiver.received) == 1
    clock.advance(timedelta(seconds=120))
    await run_webhooks(runtime)
    assert len(receiver.received) == 2
    [delivery] = await deliveries(api, setup.token, webhook["id"])
    assert [a["statusCode"] for a in delivery["attempts"]] == [429, 200]


async def test_410_disables_the_endpoint_and_tells_its_owner(api, receiver, runtime):
    setup, webhook = await _subscribed(api, receiver)
    receiver.script = [Reply(410)]
    await new_account(api, setup)
    await run_webhooks(runtime)
    await new_account(api, setup, "John Roe")
    await run_webhooks(runtime)
    assert len(receiver.received) == 1

    data = await api.data('query($id: ID!) { node(id: $id) { ... on Webhook { active '
                          'disabledReason createdBy { email } } } }', {"id": webhook["id"]},
                          setup.token)
    assert data["node"]["active"] is False
    assert "410" in data["node"]["disabledReason"]
    assert data["node"]["createdBy"]["email"] == "admin@example.com"
    events = await api.data('{ events(filter: {type: {eq: "webhook.disabled"}}) { edges { node '
                            '{ payload entityId } } } }', token=setup.token)
    [event] = events["events"]["edges"]
    assert event["node"]["entityId"] == webhook["id"]
    assert "410" in event["node"]["payload"]["reason"]


async def test_the_owner_of_a_disabled_endpoint_gets_an_email(api, receiver, runtime,
                                                             vault_key):
    setup, webhook = await _subscribed(api, receiver)
    receiver.script = [Reply(410)]
    with smtp_server() as (inbox, port):
        await configure(api, setup.token, setup.company, port)
        await new_account(api, setup)
        await run_webhooks(runtime)
        await runtime.jobs.drain()  # the owner notice handler, then messaging.send
    [email] = inbox.messages
    assert email["To"] == "admin@example.com"
    assert email["Subject"] == f"Webhook disabled: {webhook['url']}"
    body = email.get_body(("plain",)).get_content()
    assert "410" in body and "updateWebhook" in body


async def test_an_endpoint_failing_for_days_is_disabled_and_reenabling_clears_it(
        api, receiver, runtime, clock):
    setup, webhook = await _subscribed(api, receiver)
    receiver.script = [Reply(500)] * 100
    for day in range(6):
        await new_account(api, setup, f"Day {day}")
        await run_webhooks(runtime)
        clock.advance(timedelta(days=1))
    await run_webhooks(runtime)
    node = (await api.data('query($id: ID!) { node(id: $id) { ... on Webhook { active '
                           'failingSince disabledReason } } }', {"id": webhook["id"]},
                           setup.token))["node"]
    assert node["active"] is False and "No delivery succeeded since" in node["disabledReason"]

    payload = (await api.data(UPDATE, {"input": {"id": webhook["id"], "active": True}},
                              setup.token))["updateWebhook"]
    assert payload["webhook"]["active"] is True
    assert payload["webhook"]["failingSince"] is None
    assert payload["webhook"]["disabledReason"] is None


async def test_redirects_are_not_followed(api, receiver, runtime):
    setup, webhook = await _subscribed(api, receiver)
    receiver.script = [Reply(302, {"location": "http://169.254.169.254/latest"})]
    await new_account(api, setup)
    await run_webhooks(runtime)
    assert len(receiver.received) == 1
    [delivery] = await deliveries(api, setup.token, webhook["id"])
    assert delivery["status"] == "PENDING"
    assert delivery["attempts"][0]["statusCode"] == 302
    assert "not followed" in delivery["attempts"][0]["error"]


async def test_during_a_rotation_both_secrets_sign(api, receiver, runtime, clock):
    setup, webhook = await _subscribed(api, receiver)
    old = receiver.secrets[0]
    payload = (await api.data(ROTATE, {"input": {"id": webhook["id"], "overlapHours": 2}},
                              setup.token))["rotateWebhookSecret"]
    new = payload["secret"]
    assert new.startswith("whsec_") and new != old
    receiver.secrets = [old, new]
    await new_account(api, setup)
    await run_webhooks(runtime)
    assert receiver.received[-1].verified == [True, True]

    clock.advance(timedelta(hours=2, seconds=1))
    await new_account(api, setup, "Later")
    await run_webhooks(runtime)
    assert receiver.received[-1].verified == [False, True]


async def test_a_test_message_goes_to_that_endpoint_only_and_can_be_redelivered(
        api, receiver, runtime):
    setup, webhook = await _subscribed(api, receiver)
    other = await create_webhook(api, setup.token, companyId=setup.company,
                                 url=receiver.url + "/other", eventTypes=["*"])
    payload = (await api.data(SEND_TEST, {"input": {"webhookId": webhook["id"]}},
                              setup.token))["sendTestWebhook"]
    assert payload["errors"] == []
    await run_webhooks(runtime)
    # The endpoint taking every event ("*") got its own webhook.created, not the test.
    assert sorted((r.path, r.payload["type"]) for r in receiver.received) == [
        ("/hooks", "webhook.test"), ("/hooks/other", "webhook.created")]
    receiver.received = [r for r in receiver.received if r.path == "/hooks"]
    assert receiver.received[0].verified == [True]
    assert [d["eventType"] for d in await deliveries(api, setup.token,
                                                     other["webhook"]["id"])] == [
        "webhook.created"]

    delivery_id = payload["webhookDelivery"]["id"]
    again = (await api.data(REDELIVER, {"input": {"deliveryId": delivery_id}},
                            setup.token))["redeliverWebhook"]
    assert again["webhookDelivery"]["status"] == "PENDING"
    await run_webhooks(runtime)
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers[
        "webhook-id"]
    [delivery] = await deliveries(api, setup.token, webhook["id"])
    assert len(delivery["attempts"]) == 2
