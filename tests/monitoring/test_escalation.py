"""Acknowledging and escalating alerts, with the fixed clock moved forward."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.accounts.factories import ok, refused
from tests.messaging.transport_support import smtp_server
from tests.monitoring.alerts_support import (
    add_device,
    alerting_company,
    alerts,
    all_week,
    down,
    escalate,
    rotation,
    settle,
    up,
)

pytestmark = pytest.mark.usefixtures("private_targets_allowed")  # SMTP on loopback


async def _escalated(api, token):
    data = await api.data('{ events(filter: {type: {eq: "alert.escalated"}}) { edges { node '
                          '{ payload } } } }', token=token)
    return [edge["node"]["payload"]["level"] for edge in data["events"]["edges"]]


async def test_an_unacknowledged_alert_goes_to_the_next_staffed_level_then_stops(
        api, runtime, clock):
    with smtp_server() as (inbox, port):
        a = await alerting_company(api, port)
        # nobody at level 2: escalation skips to level 3
        await rotation(api, a, [all_week(a.users["noc1@example.com"]),
                                all_week(a.users["boss@example.com"], level=3)],
                       escalateAfterMinutes=10)
        device = await add_device(runtime, a.company_id)
        await down(runtime, device)
        await settle(runtime)
        assert [m["To"] for m in inbox.messages] == ["noc1@example.com"]

        clock.advance(timedelta(minutes=9, seconds=59))
        assert (await escalate(runtime))["escalated"] == 0
        clock.advance(timedelta(seconds=1))
        assert (await escalate(runtime))["escalated"] == 1
        assert (await escalate(runtime))["escalated"] == 0  # the same minute again: nothing
        [alert] = await alerts(api, a.setup.token)
        assert (alert["status"], alert["notifiedLevel"]) == ("OPEN", 3)
        assert [m["To"] for m in inbox.messages] == ["noc1@example.com", "boss@example.com"]
        assert inbox.messages[1]["Subject"] == ("[CRITICAL] core-router-1 is down "
                                                "(escalated to level 3)")
        assert await _escalated(api, a.setup.token) == [3]

        clock.advance(timedelta(hours=2))  # nobody above level 3: nothing more
        assert (await escalate(runtime))["escalated"] == 0
        assert len(inbox.messages) == 2

        await up(runtime, device)
        await settle(runtime)  # both levels hear it is resolved
        assert sorted(m["To"] for m in inbox.messages[2:]) == ["boss@example.com",
                                                               "noc1@example.com"]
        assert {m["Subject"] for m in inbox.messages[2:]} == {
            "[RESOLVED] core-router-1 is down"}


async def test_acknowledging_stops_the_escalation_and_a_closed_alert_refuses(
        api, runtime, clock):
    with smtp_server() as (inbox, port):
        a = await alerting_company(api, port)
        await rotation(api, a, [all_week(a.users["noc1@example.com"]),
                                all_week(a.users["noc2@example.com"], level=2)],
                       escalateAfterMinutes=5)
        device = await add_device(runtime, a.company_id)
        await down(runtime, device)
        await settle(runtime)
        [alert] = await alerts(api, a.setup.token)

        clock.advance(timedelta(minutes=2))
        acked = await ok(api, a.setup.token, "acknowledgeAlert",
                         {"id": alert["id"], "note": "on my way"})
        assert acked["status"] == "ACKNOWLEDGED"
        assert acked["acknowledgedBy"]["email"] == "admin@example.com"
        again = await ok(api, a.setup.token, "acknowledgeAlert", {"id": alert["id"]})
        assert again["acknowledgedAt"] == acked["acknowledgedAt"]

        clock.advance(timedelta(minutes=30))
        assert (await escalate(runtime))["escalated"] == 0
        assert [m["To"] for m in inbox.messages] == ["noc1@example.com"]
        data = await api.data('{ events(filter: {type: {eq: "alert.acknowledged"}}) { edges '
                              '{ node { payload } } } }', token=a.setup.token)
        [event] = data["events"]["edges"]
        assert event["node"]["payload"]["note"] == "on my way"

        await up(runtime, device)
        await settle(runtime)
        errors = await refused(api, a.setup.token, "acknowledgeAlert", {"id": alert["id"]})
        assert [(e["field"], e["code"]) for e in errors] == [("id", "INVALID")]
        [closed] = await alerts(api, a.setup.token)
        assert closed["status"] == "CLOSED" and closed["acknowledgedBy"] is not None


async def test_acknowledging_needs_monitoring_write(api, runtime):
    a = await alerting_company(api)
    device = await add_device(runtime, a.company_id)
    await down(runtime, device)
    await settle(runtime)
    [alert] = await alerts(api, a.setup.token)
    _, reader = await api.user_with_token("reader@example.com",
                                          permissions=["monitoring:read"])
    body = await api.gql('mutation($i: AcknowledgeAlertInput!) { acknowledgeAlert(input: $i) '
                         '{ alert { id } } }', {"i": {"id": alert["id"]}}, reader)
    assert body["errors"] and "monitoring:write" in body["errors"][0]["message"]
    [still] = await alerts(api, a.setup.token)
    assert still["status"] == "OPEN"
