"""Flapping: the pure rule (count and window, the extension while flapping, repeats counting
once), then a flapping device through the alerts handler and the sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.monitoring.flapping import (
    FLAP_CHANGES,
    FLAP_WINDOW,
    dump_changes,
    is_flapping,
    parse_changes,
    record_change,
)
from ispcore.domain.monitoring.models import Alert, Device
from tests.messaging.transport_support import smtp_server
from tests.monitoring.alerts_support import (
    add_device,
    alerting_company,
    alerts,
    all_week,
    down,
    escalate,
    gid,
    rotation,
    settle,
    up,
)

pytestmark = pytest.mark.usefixtures("private_targets_allowed")  # SMTP on loopback

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def run(minutes: list[float]) -> list[tuple[bool, datetime | None]]:
    changes: list[datetime] = []
    until = None
    seen = []
    for m in minutes:
        moment = T0 + timedelta(minutes=m)
        state = record_change(changes, until, moment)
        changes, until = list(state.changes), state.flapping_until
        seen.append((state.flapping_at(moment), until))
    return seen


@pytest.mark.parametrize(("minutes", "flapping"), [
    ([0, 5, 10], [False, False, False]),
    ([0, 5, 10, 15], [False, False, False, True]),
    ([0, 5, 10, 29.9], [False, False, False, True]),
    ([0, 5, 10, 30], [False, False, False, False]),  # the first change left the window
    ([0, 10, 20, 40, 50], [False, False, False, False, False]),
    ([0, 1, 2, 3, 20], [False, False, False, True, True]),  # still inside 3 + 30
    ([0, 1, 2, 3, 34], [False, False, False, True, False]),  # stable for the window
])
def test_flapping_table(minutes, flapping):
    assert [f for f, _ in run(minutes)] == flapping


def test_a_change_while_flapping_extends_it_by_the_window():
    *_, (_, until) = run([0, 1, 2, 3, 20])
    assert until == T0 + timedelta(minutes=20) + FLAP_WINDOW


def test_the_same_change_counts_once_and_old_ones_are_dropped():
    state = record_change([T0, T0 - timedelta(hours=2)], None, T0)
    assert state.changes == (T0,)
    assert parse_changes(dump_changes(state.changes)) == [T0]


@given(st.lists(st.floats(min_value=0, max_value=600, allow_nan=False), max_size=30))
def test_flapping_means_enough_changes_in_a_window_or_too_recent_a_flap(offsets):
    changes: list[datetime] = []
    until = None
    for m in sorted(offsets):
        moment = T0 + timedelta(minutes=m)
        state = record_change(changes, until, moment)
        in_window = [c for c in state.changes if moment - FLAP_WINDOW < c <= moment]
        assert list(state.changes) == sorted(set(in_window))
        if len(in_window) >= FLAP_CHANGES:
            assert state.flapping_at(moment)
        if state.flapping_at(moment):
            # a whole quiet window ends it
            assert not is_flapping(state.flapping_until, moment + FLAP_WINDOW)
        changes, until = list(state.changes), state.flapping_until


DEVICE = 'query($id: ID!) { node(id: $id) { ... on Device { flapping } } }'


async def test_a_flapping_device_raises_nothing_until_it_settles(api, runtime, clock):
    with smtp_server() as (inbox, port):
        a = await alerting_company(api, port)
        await rotation(api, a, [all_week(a.users["noc1@example.com"])])
        device = await add_device(runtime, a.company_id)
        for change in (down, up, down, up, down, up):  # a minute apart
            await change(runtime, device)
            await settle(runtime)
            clock.advance(timedelta(minutes=1))
        # the first three changes alerted as usual; from the fourth it flaps
        assert [m["Subject"] for m in inbox.messages] == [
            "[CRITICAL] core-router-1 is down", "[RESOLVED] core-router-1 is down",
            "[CRITICAL] core-router-1 is down"]
        first, second = await alerts(api, a.setup.token)
        assert (first["status"], second["status"]) == ("CLOSED", "OPEN")
        assert second["device"]["flapping"] is True
        node = await api.data(DEVICE, {"id": gid("Device", device)}, a.setup.token)
        assert node["node"]["flapping"] is True

        # stable (UP) for the whole window after the last change: the sweep closes it
        clock.advance(FLAP_WINDOW - timedelta(minutes=2))
        assert (await escalate(runtime))["settled"] == 0
        clock.advance(timedelta(minutes=1))
        assert (await escalate(runtime))["settled"] == 1
        assert [x["status"] for x in await alerts(api, a.setup.token)] == ["CLOSED", "CLOSED"]
        assert inbox.messages[-1]["Subject"] == "[RESOLVED] core-router-1 is down"
        assert len(inbox.messages) == 4
        node = await api.data(DEVICE, {"id": gid("Device", device)}, a.setup.token)
        assert node["node"]["flapping"] is False


async def test_a_device_that_settles_down_gets_its_alert_then(api, runtime, clock):
    a = await alerting_company(api)
    device = await add_device(runtime, a.company_id)
    for change in (down, up, down, up, down):
        await change(runtime, device)
        await settle(runtime)
        clock.advance(timedelta(minutes=1))
    # closed on the second change, the third opened one, the fourth and fifth flapped
    assert [x["status"] for x in await alerts(api, a.setup.token)] == ["CLOSED", "OPEN"]
    await up(runtime, device)  # flapping: the open alert stays open
    await settle(runtime)
    await down(runtime, device)
    await settle(runtime)
    clock.advance(FLAP_WINDOW)
    await escalate(runtime)
    # still down once it stopped flapping: the alert that was open is the alert
    assert [x["status"] for x in await alerts(api, a.setup.token)] == ["CLOSED", "OPEN"]

    # a flap that ends DOWN with no alert open opens one
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        await uow.session.execute(update(Alert).values(status="CLOSED",
                                                       closed_at=clock.now()))
        row = await uow.session.get_one(Device, device)
        row.flapping_until = clock.now()
    await escalate(runtime)
    assert [x["status"] for x in await alerts(api, a.setup.token)] == [
        "CLOSED", "CLOSED", "OPEN"]
