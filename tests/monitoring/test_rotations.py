"""Alerting rotations through the API: shifts, sites and webhook checked, events, onCall."""

from __future__ import annotations

from tests.accounts.factories import company_setup, ok, refused
from tests.monitoring.alerts_support import alerting_company, all_week, gid, rotation
from tests.webhooks.conftest import _receiver, receiver  # noqa: F401  (fixtures)
from tests.webhooks.support import create_webhook

ON_CALL = """query($id: ID!, $at: DateTime) { onCall(rotationId: $id, at: $at) { level
  user { email } } }"""


async def test_a_rotation_is_created_changed_and_deleted_with_events(
        api, runtime, receiver):  # noqa: F811
    a = await alerting_company(api)
    hook = await create_webhook(api, a.setup.token, companyId=a.setup.company,
                                url=receiver.url, eventTypes=["alert.*"])
    created = await rotation(api, a, [
        all_week(a.users["noc1@example.com"]),
        {"userId": a.users["noc2@example.com"], "level": 1, "weekdays": [5, 6],
         "startMinute": 22 * 60, "endMinute": 6 * 60},
        all_week(a.users["boss@example.com"], level=2)],
        webhookId=hook["webhook"]["id"], escalateAfterMinutes=20)
    assert (created["escalateAfterMinutes"], created["active"]) == (20, True)
    assert created["networkSiteIds"] == []
    assert created["webhook"]["id"] == hook["webhook"]["id"]
    assert [(s["level"], s["user"]["email"], s["startMinute"], s["endMinute"])
            for s in created["shifts"]] == [(1, "noc1@example.com", 0, 1440),
                                            (1, "noc2@example.com", 1320, 360),
                                            (2, "boss@example.com", 0, 1440)]

    changed = await ok(api, a.setup.token, "updateAlertingRotation", {
        "id": created["id"], "name": "Night NOC", "webhookId": None, "active": False,
        "shifts": [all_week(a.users["noc2@example.com"])]})
    assert (changed["name"], changed["webhook"], changed["active"]) == ("Night NOC", None,
                                                                       False)
    assert [s["user"]["email"] for s in changed["shifts"]] == ["noc2@example.com"]
    listed = await api.data('{ alertingRotations(filter: {active: {eq: false}}) { totalCount '
                            'edges { node { name shifts { level } } } } }', token=a.setup.token)
    assert listed["alertingRotations"]["totalCount"] == 1

    deleted = await ok(api, a.setup.token, "deleteAlertingRotation", {"id": created["id"]})
    assert deleted == created["id"]
    events = await api.data('{ events(filter: {type: {startsWith: "alerting_rotation."}}) { '
                            'edges { node { type } } } }', token=a.setup.token)
    assert [e["node"]["type"] for e in events["events"]["edges"]] == [
        "alerting_rotation.created", "alerting_rotation.updated", "alerting_rotation.deleted"]


async def test_bad_rotations_are_refused_field_by_field_and_write_nothing(
        api, runtime, receiver):  # noqa: F811
    a = await alerting_company(api)
    second = await company_setup(api, a.setup.token, name="Other ISP")
    hook = await create_webhook(api, a.setup.token, companyId=second.company,
                                url=receiver.url, eventTypes=["alert.*"])
    errors = await refused(api, a.setup.token, "createAlertingRotation", {
        "companyId": a.setup.company, "name": "NOC", "escalateAfterMinutes": 0,
        "webhookId": hook["webhook"]["id"],
        "shifts": [{"userId": a.users["noc1@example.com"], "level": 0, "weekdays": [0, 8],
                    "startMinute": 1440, "endMinute": 0},
                   {"userId": gid("User", 999_999), "weekdays": [1]}]})
    assert {(e["field"], e["code"]) for e in errors} >= {
        ("escalateAfterMinutes", "INVALID"), ("webhookId", "INVALID")}
    errors = await refused(api, a.setup.token, "createAlertingRotation", {
        "companyId": a.setup.company, "name": "NOC",
        "shifts": [{"userId": a.users["noc1@example.com"], "level": 0, "weekdays": [0, 8],
                    "startMinute": 1440, "endMinute": 0},
                   {"userId": gid("User", 999_999), "weekdays": [1]}]})
    assert {(e["field"], e["code"]) for e in errors} == {
        ("shifts.0.level", "INVALID"), ("shifts.0.weekdays", "INVALID"),
        ("shifts.0.startMinute", "INVALID"), ("shifts.0.endMinute", "INVALID"),
        ("shifts.1.userId", "NOT_FOUND")}
    errors = await refused(api, a.setup.token, "createAlertingRotation", {
        "companyId": a.setup.company, "name": " ", "shifts": []})
    assert [(e["field"], e["code"]) for e in errors] == [("name", "REQUIRED")]
    await rotation(api, a, [])
    errors = await refused(api, a.setup.token, "createAlertingRotation", {
        "companyId": a.setup.company, "name": "noc"})
    assert errors[0]["code"] == "DUPLICATE"
    listed = await api.data("{ alertingRotations { totalCount } }", token=a.setup.token)
    assert listed["alertingRotations"]["totalCount"] == 1


async def test_on_call_answers_in_the_company_time_zone(api, runtime):
    a = await alerting_company(api)  # America/Chicago
    created = await rotation(api, a, [
        {"userId": a.users["noc1@example.com"], "weekdays": [1, 2, 3, 4, 5],
         "startMinute": 8 * 60, "endMinute": 17 * 60},
        {"userId": a.users["noc2@example.com"], "weekdays": [6],
         "startMinute": 22 * 60, "endMinute": 6 * 60},
        all_week(a.users["boss@example.com"], level=2)])

    async def who(at: str | None) -> list[tuple[int, str]]:
        data = await api.data(ON_CALL, {"id": created["id"], "at": at}, a.setup.token)
        return [(e["level"], e["user"]["email"]) for e in data["onCall"]]

    # the fixed clock: Monday 2026-11-02 15:00 UTC, 09:00 in Chicago
    assert await who(None) == [(1, "noc1@example.com"), (2, "boss@example.com")]
    assert await who("2026-11-02T23:30:00Z") == [(2, "boss@example.com")]
    # Saturday night across the fall-back (2026-10-31 into 11-01): 22:00 CDT to 06:00 CST
    assert await who("2026-11-01T02:59:00Z") == [(2, "boss@example.com")]
    assert await who("2026-11-01T03:00:00Z") == [(1, "noc2@example.com"),
                                                 (2, "boss@example.com")]
    assert await who("2026-11-01T11:59:00Z") == [(1, "noc2@example.com"),
                                                 (2, "boss@example.com")]
    assert await who("2026-11-01T12:00:00Z") == [(2, "boss@example.com")]
