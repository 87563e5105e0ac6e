"""Alerts end to end: events recorded as producers record them, the dispatcher's handler,
the email reaching a real SMTP server and the rotation's webhook reaching a real receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ispcore.domain.events.models import Event
from ispcore.domain.events.service import (
    dispatch_pending,
    register_handler,
    unregister_handler,
)
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.monitoring import alerts as domain_alerts
from ispcore.domain.monitoring.models import Alert
from tests.messaging.transport_support import smtp_server
from tests.monitoring.alerts_support import (
    add_check,
    add_device,
    add_poller,
    alerting_company,
    alerts,
    all_week,
    down,
    poller_event,
    rotation,
    settle,
    threshold,
    up,
)
from tests.webhooks.conftest import _receiver, receiver  # noqa: F401  (fixtures)
from tests.webhooks.support import create_webhook

pytestmark = pytest.mark.usefixtures("private_targets_allowed")  # SMTP on loopback


async def _events(api: Any, token: str, kind: str) -> list[dict[str, Any]]:
    data = await api.data('query($t: String!) { events(filter: {type: {eq: $t}}) { edges { '
                          'node { payload } } } }', {"t": kind}, token)
    return [edge["node"]["payload"] for edge in data["events"]["edges"]]



@asynccontextmanager
async def handler_held(runtime: Any) -> AsyncIterator[None]:
    """The alerts handler away: events recorded meanwhile wait for it."""
    await runtime.jobs.drain()  # a dispatcher at work would hold on to the handler
    unregister_handler(domain_alerts.HANDLER)
    try:
        yield
    finally:
        register_handler(domain_alerts.HANDLER, domain_alerts.EVENT_TYPES, domain_alerts.handle)

async def test_a_device_down_opens_an_alert_that_reaches_email_and_the_rotation_webhook(
        api, runtime, receiver):  # noqa: F811  (the fixture imported above)
    with smtp_server() as (inbox, port):
        a = await alerting_company(api, port)
        hook = await create_webhook(api, a.setup.token, companyId=a.setup.company,
                                    url=receiver.url, eventTypes=["device.*"])
        receiver.secrets = [hook["secret"]]
        await rotation(api, a, [all_week(a.users["noc1@example.com"]),
                                all_week(a.users["boss@example.com"], level=2)],
                       webhookId=hook["webhook"]["id"])
        device = await add_device(runtime, a.company_id)
        await down(runtime, device)
        await settle(runtime)

        [alert] = await alerts(api, a.setup.token)
        assert (alert["kind"], alert["status"], alert["subjectKey"]) == (
            "DEVICE_DOWN", "OPEN", f"device:{device}")
        assert alert["message"] == "core-router-1 is down"
        assert alert["notifiedLevel"] == 1 and alert["rotation"] is not None
        assert alert["device"]["name"] == "core-router-1"
        [email] = inbox.messages
        assert email["To"] == "noc1@example.com"
        assert email["Subject"] == "[CRITICAL] core-router-1 is down"
        notified = [r.payload for r in receiver.received if r.payload["type"] == "alert.notified"]
        assert len(notified) == 1 and all(r.verified == [True] for r in receiver.received)
        changes = notified[0]["data"]["changes"]
        assert (changes["notice"], changes["level"]) == ("OPENED", 1)
        assert changes["alert"]["subjectKey"] == f"device:{device}"
        # the endpoint subscribes to device.* only: alert.opened is not fanned out to it
        assert {r.payload["type"] for r in receiver.received} == {"device.down",
                                                                 "alert.notified"}
        [opened] = await _events(api, a.setup.token, "alert.opened")
        assert (opened["kind"], opened["deviceId"], opened["closedAt"]) == (
            "DEVICE_DOWN", device, None)

        await up(runtime, device)
        await settle(runtime)
        [alert] = await alerts(api, a.setup.token)
        assert alert["status"] == "CLOSED" and alert["closedAt"] is not None
        assert [m["Subject"] for m in inbox.messages] == [
            "[CRITICAL] core-router-1 is down", "[RESOLVED] core-router-1 is down"]
        assert inbox.messages[1]["To"] == "noc1@example.com"
        notices = [r.payload["data"]["changes"]["notice"] for r in receiver.received
                   if r.payload["type"] == "alert.notified"]
        assert notices == ["OPENED", "RESOLVED"]
        [closed] = await _events(api, a.setup.token, "alert.closed")
        assert closed["closedAt"] is not None and closed["status"] == "CLOSED"


async def test_handling_an_event_twice_opens_one_alert(api, runtime):
    a = await alerting_company(api)
    device = await add_device(runtime, a.company_id)
    await down(runtime, device)
    await settle(runtime)
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        event = await uow.session.scalar(select(Event).where(Event.type == "device.down"))
        assert event is not None
        await domain_alerts.handle(uow, [event])  # the same event again, as a retry would
    await down(runtime, device)  # and a second down report
    await settle(runtime)
    assert await dispatch_pending(lambda: runtime.unit_of_work(SYSTEM)) == 0
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Alert)) == 1
    # after it closes, a new down opens a new alert
    await up(runtime, device)
    await down(runtime, device)
    await settle(runtime)
    assert [x["status"] for x in await alerts(api, a.setup.token)] == ["CLOSED", "OPEN"]


async def test_a_down_handled_after_its_up_opens_nothing(api, runtime, clock):
    """A handler run that failed is retried later, after the next event's: a device.down
    handled once the device is back up (the up handled first) must not open an alert."""
    a = await alerting_company(api)
    device = await add_device(runtime, a.company_id)
    async with handler_held(runtime):  # the dispatcher must not handle them first
        await down(runtime, device)
        clock.advance(timedelta(minutes=2))
        await up(runtime, device)
        await runtime.jobs.drain()
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        events = list(await uow.session.scalars(
            select(Event).where(Event.type.in_(("device.down", "device.up")))
            .order_by(Event.id.desc())))
        assert [e.type for e in events] == ["device.up", "device.down"]
        for event in events:
            await domain_alerts.handle(uow, [event])
    assert await alerts(api, a.setup.token) == []


async def test_a_breach_handled_after_its_clearing_opens_nothing(api, runtime):
    """The same for thresholds: a CRITICAL breach whose run is retried after the later
    clearing of the same check and instance was handled must not reopen the alert; a
    breach of another instance is not affected."""
    a = await alerting_company(api)
    device = await add_device(runtime, a.company_id)
    check = await add_check(runtime, a.company_id)
    async with handler_held(runtime):  # the dispatcher must not handle them first
        await threshold(runtime, device, check, "CRITICAL", "OK", 950.0)
        await threshold(runtime, device, check, "CRITICAL", "OK", 951.0, instance="3")
        await threshold(runtime, device, check, "OK", "CRITICAL", 100.0)
        await runtime.jobs.drain()
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        events = list(await uow.session.scalars(
            select(Event).where(Event.type.in_(domain_alerts.THRESHOLD_EVENTS))
            .order_by(Event.id.desc())))
        assert [e.type for e in events] == ["device.threshold_cleared",
                                            "device.threshold_breached",
                                            "device.threshold_breached"]
        for event in events:
            await domain_alerts.handle(uow, [event])
    [alert] = await alerts(api, a.setup.token)
    assert (alert["subjectKey"], alert["status"]) == (f"check:{device}:{check}:3", "OPEN")


async def test_only_a_critical_threshold_opens_and_any_other_state_closes(api, runtime):
    a = await alerting_company(api)
    device = await add_device(runtime, a.company_id)
    check = await add_check(runtime, a.company_id)
    await threshold(runtime, device, check, "WARNING", "OK", 850.0)
    await settle(runtime)
    assert await alerts(api, a.setup.token) == []

    await threshold(runtime, device, check, "CRITICAL", "WARNING", 950.5)
    await threshold(runtime, device, check, "CRITICAL", "OK", 951.0, instance="3")
    await settle(runtime)
    first, second = await alerts(api, a.setup.token)
    assert first["subjectKey"] == f"check:{device}:{check}:2"
    assert (first["kind"], first["value"]) == ("THRESHOLD", 950.5)
    assert first["message"] == "core-router-1 ifInRate eth1 is 950.5 (at or above 900)"
    assert first["check"]["id"] is not None
    assert second["subjectKey"] == f"check:{device}:{check}:3"

    await threshold(runtime, device, check, "WARNING", "CRITICAL", 899.0)  # breached, not critical
    await threshold(runtime, device, check, "OK", "CRITICAL", 100.0, instance="3")
    await settle(runtime)
    assert [x["status"] for x in await alerts(api, a.setup.token)] == ["CLOSED", "CLOSED"]


async def test_a_silent_poller_alerts_every_rotation_whatever_its_sites(api, runtime):
    with smtp_server() as (inbox, port):
        a = await alerting_company(api, port)
        site = await api.data(
            'mutation($input: CreateNetworkSiteInput!) { createNetworkSite(input: $input) '
            '{ networkSite { id } errors { message } } }',
            {"input": {"companyId": a.setup.company, "name": "North", "kind": "TOWER"}},
            a.setup.token)
        site_id = site["createNetworkSite"]["networkSite"]["id"]
        await rotation(api, a, [all_week(a.users["noc2@example.com"])], name="North only",
                       networkSiteIds=[site_id])
        poller = await add_poller(runtime, a.company_id)
        await poller_event(runtime, "poller.down", poller)
        await settle(runtime)
        [alert] = await alerts(api, a.setup.token, kind={"eq": "POLLER_DOWN"})
        assert alert["message"] == "poller poller-east is down"
        assert alert["poller"] is not None and alert["status"] == "OPEN"
        assert [m["Subject"] for m in inbox.messages] == ["[CRITICAL] poller poller-east is down"]

        # a device at another site is not that rotation's business
        device = await add_device(runtime, a.company_id)
        await down(runtime, device)
        await poller_event(runtime, "poller.up", poller)
        await settle(runtime)
        assert len(inbox.messages) == 2  # the poller's resolved, no device email
        assert inbox.messages[1]["Subject"] == "[RESOLVED] poller poller-east is down"
        by_kind = {x["kind"]: x for x in await alerts(api, a.setup.token)}
        assert by_kind["POLLER_DOWN"]["status"] == "CLOSED"
        assert by_kind["DEVICE_DOWN"]["notifiedLevel"] == 0
        assert by_kind["DEVICE_DOWN"]["rotation"] is None


async def test_alerts_are_filtered(api, runtime):
    a = await alerting_company(api)
    one = await add_device(runtime, a.company_id)
    two = await add_device(runtime, a.company_id, "core-router-2", address="192.0.2.2")
    await down(runtime, one)
    await down(runtime, two)
    await up(runtime, one)
    await settle(runtime)
    token = a.setup.token
    assert len(await alerts(api, token)) == 2
    assert [x["device"]["name"] for x in await alerts(api, token, status={"eq": "OPEN"})] == [
        "core-router-2"]
    [only] = await alerts(api, token, deviceId={"eq": (await alerts(api, token))[0]["device"]
                                                ["id"]})
    assert only["status"] == "CLOSED"
    assert await alerts(api, token, kind={"eq": "THRESHOLD"}) == []
    assert len(await alerts(api, token, companyId={"eq": a.setup.company},
                            openedAt={"gte": "2026-11-02T00:00:00Z"})) == 2


async def test_alert_events_reach_subscribers_with_the_alert_as_the_api_shows_it(
        api, runtime, receiver):  # noqa: F811
    a = await alerting_company(api)
    await create_webhook(api, a.setup.token, companyId=a.setup.company, url=receiver.url,
                         eventTypes=["alert.*"])
    device = await add_device(runtime, a.company_id)
    await down(runtime, device)
    await settle(runtime)
    [received] = receiver.received
    body = received.payload
    assert body["type"] == "alert.opened"
    assert body["data"]["object"]["__typename"] == "Alert"
    assert (body["data"]["object"]["kind"], body["data"]["object"]["status"]) == (
        "DEVICE_DOWN", "OPEN")
    assert body["data"]["changes"]["message"] == "core-router-1 is down"
