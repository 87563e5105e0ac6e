"""Scheduled events through the API: scheduling a status change or a disconnection for a day in
the company's time zone, the job that runs each due event exactly once (also when two runs
overlap), failures recorded on the event, cancelling, permissions and the listings."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

from ispcore.workers.registry import run_job
from tests.accounts.factories import (
    MUTATIONS,
    Setup,
    company_setup,
    new_account,
    new_address,
    ok,
    refused,
)

JOB = "accounts.scheduled_events"
#: The session clock starts here: 09:00 on 2026-11-02 in Chicago, already 2026-11-03 in Tokyo.
START = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)

EVENT_FIELDS = """id action runOn dueAt status parameters outcome executedAt createdAt
  account { id } createdBy { email }"""
EVENT = f"query($id: ID!) {{ node(id: $id) {{ ... on ScheduledEvent {{ {EVENT_FIELDS} }} }} }}"
ACCOUNT = """query($id: ID!) { account(id: $id) {
  id disconnectedOn disconnectReason accountStatus { id name }
  statusHistory { kind reason fromStatus { name } toStatus { name } user { email } }
  physicalAddress { id } addressHistory { movedInOn movedOutOn serviceableAddress { id } }
  scheduledEvents { id action runOn status } } }"""
LISTING = """query($filter: ScheduledEventFilter) {
  scheduledEvents(filter: $filter, orderBy: [{field: RUN_ON}, {field: ID}]) {
    totalCount edges { node { id runOn status action account { id } } } } }"""
EVENTS = """query($type: String!) { events(filter: {type: {eq: $type}}) {
  edges { node { type payload entityType entityId companyId } } } }"""
AUDIT = """query($action: String!) { auditLogEntries(filter: {action: {eq: $action}}) {
  edges { node { action operation entityType entityId changes user { email } } } } }"""
COUNTS = """{ scheduledEvents { totalCount } events { totalCount }
  auditLogEntries { totalCount } accountStatusChanges { totalCount } }"""


# --- helpers -------------------------------------------------------------------------------

async def schedule(api: Any, setup: Setup, account: str, run_on: str, *,
                   action: str = "CHANGE_STATUS", status: str | None = None,
                   reason: str = "Asked for it", token: str | None = None) -> dict[str, Any]:
    return await ok(api, token or setup.token, "scheduleAccountEvent",
                    _input(account, run_on, action, status, reason))


async def schedule_refused(api: Any, setup: Setup, account: str, run_on: str, *,
                           action: str = "CHANGE_STATUS", status: str | None = None,
                           reason: str = "Asked for it") -> list[dict[str, Any]]:
    return await refused(api, setup.token, "scheduleAccountEvent",
                         _input(account, run_on, action, status, reason))


def _input(account: str, run_on: str, action: str, status: str | None, reason: str
           ) -> dict[str, Any]:
    values = {"accountId": account, "action": action, "runOn": run_on, "reason": reason}
    if status is not None:
        values["accountStatusId"] = status
    return values


def fields_and_codes(errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in errors]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


async def run_scheduled(runtime: Any) -> dict[str, int]:
    return await run_job(runtime, JOB)


async def event_of(api: Any, token: str, event_id: str) -> dict[str, Any]:
    return (await api.data(EVENT, {"id": event_id}, token))["node"]


async def account_of(api: Any, token: str, account_id: str) -> dict[str, Any]:
    return (await api.data(ACCOUNT, {"id": account_id}, token))["account"]


async def events_of(api: Any, token: str, event_type: str) -> list[dict[str, Any]]:
    data = await api.data(EVENTS, {"type": event_type}, token)
    return [edge["node"] for edge in data["events"]["edges"]]


async def audit_of(api: Any, token: str, action: str) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, {"action": action}, token)
    return [edge["node"] for edge in data["auditLogEntries"]["edges"]]


async def counts(api: Any, token: str) -> dict[str, int]:
    data = await api.data(COUNTS, token=token)
    return {key: value["totalCount"] for key, value in data.items()}


async def listing(api: Any, token: str, flt: dict[str, Any] | None = None
                  ) -> tuple[int, list[dict[str, Any]]]:
    data = (await api.data(LISTING, {"filter": flt}, token))["scheduledEvents"]
    return data["totalCount"], [edge["node"] for edge in data["edges"]]


def numeric_id(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


# --- scheduling ----------------------------------------------------------------------------

async def test_scheduling_a_status_change_stores_a_pending_event(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    event = await schedule(api, setup, account["id"], "2026-11-10", status=setup.suspended,
                           reason="  Unpaid since October  ")
    assert event["action"] == "CHANGE_STATUS"
    assert event["runOn"] == "2026-11-10"
    assert event["status"] == "PENDING"
    assert event["outcome"] is None and event["executedAt"] is None
    assert event["account"] == {"id": account["id"]}
    assert event["parameters"] == {"account_status_id": numeric_id(setup.suspended),
                                   "reason": "Unpaid since October"}
    # Local midnight in Chicago, given in UTC like every other instant (and like it reads
    # back from the database).
    assert event["dueAt"] == "2026-11-10T06:00:00+00:00"

    stored = await event_of(api, setup.token, event["id"])
    assert stored["status"] == "PENDING"
    assert stored["dueAt"] == "2026-11-10T06:00:00+00:00"
    assert stored["createdBy"] == {"email": "admin@example.com"}

    [created] = await events_of(api, setup.token, "scheduled_event.created")
    assert created["entityType"] == "ScheduledEvent"
    assert created["companyId"] == setup.company
    assert created["payload"]["action"] == "CHANGE_STATUS"
    assert created["payload"]["run_on"] == "2026-11-10"
    assert created["payload"]["account_id"] == numeric_id(account["id"])
    [entry] = await audit_of(api, setup.token, "scheduleAccountEvent")
    assert entry["operation"] == "create" and entry["entityType"] == "ScheduledEvent"
    assert entry["changes"]["status"] == "PENDING"
    assert entry["changes"]["due_at"] == "2026-11-10T06:00:00+00:00"
    assert entry["user"] == {"email": "admin@example.com"}
    # Nothing happened to the account yet.
    assert (await account_of(api, setup.token, account["id"]))["accountStatus"]["name"] == (
        "Active")


async def test_scheduling_a_disconnection_keeps_the_default_or_named_inactive_status(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    default = await schedule(api, setup, account["id"], "2026-12-01", action="DISCONNECT",
                             reason="Moving away")
    assert default["action"] == "DISCONNECT"
    assert default["parameters"] == {"account_status_id": None, "reason": "Moving away"}
    named = await schedule(api, setup, account["id"], "2026-12-02", action="DISCONNECT",
                           status=setup.suspended, reason="Moving away")
    assert named["parameters"]["account_status_id"] == numeric_id(setup.suspended)
    # An active status is no place to disconnect to.
    errors = await schedule_refused(api, setup, account["id"], "2026-12-03",
                                    action="DISCONNECT", status=setup.active)
    assert fields_and_codes(errors) == [("accountStatusId", "INVALID")]
    assert (await listing(api, setup.token))[0] == 2


async def test_a_day_in_the_past_is_refused_and_nothing_is_written(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    before = await counts(api, setup.token)
    errors = await schedule_refused(api, setup, account["id"], "2026-11-01",
                                    status=setup.suspended)
    assert fields_and_codes(errors) == [("runOn", "INVALID")]
    assert "2026-11-01 is in the past" in errors[0]["message"]
    assert await counts(api, setup.token) == before
    assert await events_of(api, setup.token, "scheduled_event.created") == []


async def test_today_is_allowed_and_runs_at_the_next_job(api, runtime):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    event = await schedule(api, setup, account["id"], "2026-11-02", status=setup.suspended)
    assert instant(event["dueAt"]) == datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    assert (await event_of(api, setup.token, event["id"]))["status"] == "SUCCEEDED"


async def test_today_is_the_companys_today_not_utcs(api):
    """At 15:00 UTC on 2026-11-02 it is already the 3rd in Tokyo: the 2nd is the past there,
    and the 3rd starts at 15:00 UTC of the 2nd."""
    token = await api.admin_token()
    tokyo = await company_setup(api, token, name="Tokyo Net", time_zone="Asia/Tokyo",
                                country="JP")
    account = await new_account(api, tokyo)
    errors = await schedule_refused(api, tokyo, account["id"], "2026-11-02",
                                    status=tokyo.suspended)
    assert fields_and_codes(errors) == [("runOn", "INVALID")]
    assert "today is 2026-11-03 in Asia/Tokyo" in errors[0]["message"]
    today = await schedule(api, tokyo, account["id"], "2026-11-03", status=tokyo.suspended)
    assert instant(today["dueAt"]) == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    later = await schedule(api, tokyo, account["id"], "2026-11-10", status=tokyo.delinquent)
    assert instant(later["dueAt"]) == datetime(2026, 11, 9, 15, 0, tzinfo=UTC)


async def test_due_at_is_local_midnight_in_each_companys_zone(api):
    token = await api.admin_token()
    chicago = await company_setup(api, token, name="Prairie Net")
    tokyo = await company_setup(api, token, name="Tokyo Net", time_zone="Asia/Tokyo",
                                country="JP")
    in_chicago = await schedule(api, chicago, (await new_account(api, chicago))["id"],
                                "2026-11-10", status=chicago.suspended)
    in_tokyo = await schedule(api, tokyo, (await new_account(api, tokyo))["id"], "2026-11-10",
                              status=tokyo.suspended)
    assert instant(in_chicago["dueAt"]) == datetime(2026, 11, 10, 6, 0, tzinfo=UTC)
    assert instant(in_tokyo["dueAt"]) == datetime(2026, 11, 9, 15, 0, tzinfo=UTC)
    # Read back from the database, the same instants (in UTC).
    for event, expected in ((in_chicago, "2026-11-10T06:00:00+00:00"),
                            (in_tokyo, "2026-11-09T15:00:00+00:00")):
        assert (await event_of(api, token, event["id"]))["dueAt"] == expected


async def test_due_at_on_the_spring_forward_day_is_midnight_standard_time(api, runtime,
                                                                          clock):
    """2026-03-08 is when Chicago moves to daylight time (at 02:00): its midnight is still
    CST, 06:00 UTC; the next day starts at 05:00 UTC."""
    clock.set(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    setup = await company_setup(api)
    account = await new_account(api, setup)
    spring = await schedule(api, setup, account["id"], "2026-03-08", status=setup.suspended)
    assert spring["dueAt"] == "2026-03-08T06:00:00+00:00"
    day_after = await schedule(api, setup, account["id"], "2026-03-09",
                               status=setup.delinquent)
    assert day_after["dueAt"] == "2026-03-09T05:00:00+00:00"

    clock.set(datetime(2026, 3, 8, 5, 59, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 0, "FAILED": 0}
    clock.set(datetime(2026, 3, 8, 6, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    assert (await event_of(api, setup.token, spring["id"]))["status"] == "SUCCEEDED"
    assert (await event_of(api, setup.token, day_after["id"]))["status"] == "PENDING"


async def test_due_at_when_the_day_starts_at_one_because_midnight_is_skipped(api, clock):
    """Santiago moves to summer time at midnight: 2026-09-06 00:00 never happens, the day
    begins at 01:00 (-03), which is 04:00 UTC."""
    clock.set(datetime(2026, 8, 1, 12, 0, tzinfo=UTC))
    setup = await company_setup(api, name="Andes Net", time_zone="America/Santiago",
                                country="CL")
    account = await new_account(api, setup)
    skipped = await schedule(api, setup, account["id"], "2026-09-06", status=setup.suspended)
    assert skipped["dueAt"] == "2026-09-06T04:00:00+00:00"
    before = await schedule(api, setup, account["id"], "2026-09-05", status=setup.suspended)
    assert before["dueAt"] == "2026-09-05T04:00:00+00:00"
    after = await schedule(api, setup, account["id"], "2026-09-07", status=setup.suspended)
    assert after["dueAt"] == "2026-09-07T03:00:00+00:00"


async def test_unknown_action_is_refused(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    before = await counts(api, setup.token)
    errors = await schedule_refused(api, setup, account["id"], "2026-11-10",
                                    action="CHANGE_PLAN", status=setup.suspended)
    assert fields_and_codes(errors) == [("action", "INVALID")]
    assert await counts(api, setup.token) == before


async def test_a_status_of_another_company_is_refused(api):
    token = await api.admin_token()
    ours = await company_setup(api, token)
    theirs = await company_setup(api, token, name="Other Fibre")
    account = await new_account(api, ours)
    before = await counts(api, token)
    errors = await schedule_refused(api, ours, account["id"], "2026-11-10",
                                    status=theirs.suspended)
    assert fields_and_codes(errors) == [("accountStatusId", "INVALID")]
    errors = await schedule_refused(api, ours, account["id"], "2026-11-10",
                                    action="DISCONNECT", status=theirs.inactive)
    assert fields_and_codes(errors) == [("accountStatusId", "INVALID")]
    assert await counts(api, token) == before


async def test_a_change_without_status_or_reason_is_refused(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    before = await counts(api, setup.token)
    errors = await schedule_refused(api, setup, account["id"], "2026-11-10")
    assert fields_and_codes(errors) == [("accountStatusId", "NOT_FOUND")]
    errors = await schedule_refused(api, setup, account["id"], "2026-11-10",
                                    status=setup.suspended, reason="   ")
    assert fields_and_codes(errors) == [("reason", "REQUIRED")]
    errors = await schedule_refused(api, setup, account["id"], "2026-11-10",
                                    action="DISCONNECT", reason="")
    assert fields_and_codes(errors) == [("reason", "REQUIRED")]
    assert await counts(api, setup.token) == before


async def test_scheduling_and_cancelling_need_scheduled_events_write(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    event = await schedule(api, setup, account["id"], "2026-11-10", status=setup.suspended)
    _, reader = await api.user_with_token(
        "reader@example.com", permissions=["accounts:read", "accounts:write",
                                           "scheduled_events:read"])
    query, _ = MUTATIONS["scheduleAccountEvent"]
    body = await api.gql(query, {"input": _input(account["id"], "2026-11-11", "CHANGE_STATUS",
                                                 setup.suspended, "x")}, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["extensions"]["permission"] == "scheduled_events:write"
    cancel, _ = MUTATIONS["cancelScheduledEvent"]
    body = await api.gql(cancel, {"input": {"id": event["id"]}}, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    total, [only] = await listing(api, reader)
    assert total == 1 and only["status"] == "PENDING"

    _, writer = await api.user_with_token(
        "planner@example.com", permissions=["scheduled_events:write"])
    made = await schedule(api, setup, account["id"], "2026-11-11", status=setup.delinquent,
                          token=writer)
    assert made["status"] == "PENDING"
    # Reading them needs scheduled_events:read.
    body = await api.gql("{ scheduledEvents { totalCount } }", token=writer)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    cancelled = await ok(api, writer, "cancelScheduledEvent", {"id": made["id"]})
    assert cancelled["status"] == "CANCELLED"


async def test_account_scheduled_events_are_null_without_read_permission(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    later = await schedule(api, setup, account["id"], "2026-12-01", status=setup.suspended)
    sooner = await schedule(api, setup, account["id"], "2026-11-20", status=setup.delinquent)
    seen = (await account_of(api, setup.token, account["id"]))["scheduledEvents"]
    assert [e["id"] for e in seen] == [sooner["id"], later["id"]]  # by day
    assert [e["runOn"] for e in seen] == ["2026-11-20", "2026-12-01"]
    _, reader = await api.user_with_token("reader@example.com", permissions=["accounts:read"])
    data = await api.data("query($id: ID!) { account(id: $id) { name scheduledEvents { id } } }",
                          {"id": account["id"]}, reader)
    assert data["account"] == {"name": "Jane Doe", "scheduledEvents": None}


# --- running -------------------------------------------------------------------------------

async def test_the_job_waits_for_the_day_then_changes_the_status(api, runtime, clock):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    event = await schedule(api, setup, account["id"], "2026-11-10", status=setup.suspended,
                           reason="Seasonal pause")

    clock.set(datetime(2026, 11, 10, 5, 59, 59, tzinfo=UTC))  # 23:59:59 on the 9th locally
    assert await run_scheduled(runtime) == {"SUCCEEDED": 0, "FAILED": 0}
    assert (await event_of(api, setup.token, event["id"]))["status"] == "PENDING"
    assert (await account_of(api, setup.token, account["id"]))["accountStatus"]["name"] == (
        "Active")

    ran_at = datetime(2026, 11, 10, 6, 0, 30, tzinfo=UTC)
    clock.set(ran_at)
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    done = await event_of(api, setup.token, event["id"])
    assert done["status"] == "SUCCEEDED"
    assert done["outcome"] == "Status changed."
    assert instant(done["executedAt"]) == ran_at

    seen = await account_of(api, setup.token, account["id"])
    assert seen["accountStatus"]["name"] == "Suspended"
    last = seen["statusHistory"][-1]
    assert last == {"kind": "CHANGED", "reason": "Seasonal pause",
                    "fromStatus": {"name": "Active"}, "toStatus": {"name": "Suspended"},
                    "user": None}
    [succeeded] = await events_of(api, setup.token, "scheduled_event.succeeded")
    assert succeeded["entityType"] == "ScheduledEvent"
    assert succeeded["payload"] == {"account_id": numeric_id(account["id"]),
                                    "action": "CHANGE_STATUS", "outcome": "Status changed."}
    [changed] = await events_of(api, setup.token, "account.status_changed")
    assert changed["payload"]["reason"] == "Seasonal pause"
    assert changed["payload"]["to_status"] == "Suspended"


async def test_running_the_job_twice_acts_once(api, runtime, clock):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    await schedule(api, setup, account["id"], "2026-11-10", status=setup.suspended)
    clock.set(datetime(2026, 11, 10, 12, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    assert await run_scheduled(runtime) == {"SUCCEEDED": 0, "FAILED": 0}
    history = (await account_of(api, setup.token, account["id"]))["statusHistory"]
    assert [h["kind"] for h in history] == ["CREATED", "CHANGED"]
    assert len(await events_of(api, setup.token, "scheduled_event.succeeded")) == 1
    assert len(await events_of(api, setup.token, "account.status_changed")) == 1


async def test_two_concurrent_runs_act_exactly_once(api, runtime, clock):
    setup = await company_setup(api)
    accounts = [await new_account(api, setup, f"Customer {n}") for n in range(3)]
    for account in accounts:
        await schedule(api, setup, account["id"], "2026-11-10", status=setup.suspended)
    clock.set(datetime(2026, 11, 10, 12, 0, tzinfo=UTC))
    first, second = await asyncio.gather(run_scheduled(runtime), run_scheduled(runtime))
    assert first["SUCCEEDED"] + second["SUCCEEDED"] == 3
    assert first["FAILED"] == second["FAILED"] == 0
    for account in accounts:
        history = (await account_of(api, setup.token, account["id"]))["statusHistory"]
        assert [h["kind"] for h in history] == ["CREATED", "CHANGED"]
    assert len(await events_of(api, setup.token, "scheduled_event.succeeded")) == 3
    total, nodes = await listing(api, setup.token)
    assert total == 3 and {n["status"] for n in nodes} == {"SUCCEEDED"}


async def test_a_failing_action_is_recorded_and_the_job_carries_on(api, runtime, clock):
    """The account was disconnected by hand before its scheduled disconnection: that event
    fails with the reason; the other account's event, due the same day, still runs."""
    setup = await company_setup(api)
    gone = await new_account(api, setup, "Gone Early")
    other = await new_account(api, setup, "Still Here")
    failing = await schedule(api, setup, gone["id"], "2026-11-10", action="DISCONNECT",
                             reason="Contract ends")
    fine = await schedule(api, setup, other["id"], "2026-11-10", status=setup.suspended)
    payload = (await api.data(
        """mutation($input: DisconnectAccountInput!) { disconnectAccount(input: $input) {
             account { disconnectedOn } errors { field code } } }""",
        {"input": {"accountId": gone["id"], "reason": "Left already"}},
        setup.token))["disconnectAccount"]
    assert payload == {"account": {"disconnectedOn": "2026-11-02"}, "errors": []}

    clock.set(datetime(2026, 11, 10, 12, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 1}
    failed = await event_of(api, setup.token, failing["id"])
    assert failed["status"] == "FAILED"
    assert failed["outcome"] == "The account was already disconnected on 2026-11-02."
    assert instant(failed["executedAt"]) == datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    assert (await event_of(api, setup.token, fine["id"]))["status"] == "SUCCEEDED"

    [event] = await events_of(api, setup.token, "scheduled_event.failed")
    assert event["payload"] == {"account_id": numeric_id(gone["id"]), "action": "DISCONNECT",
                                "outcome": "The account was already disconnected on "
                                           "2026-11-02."}
    # The failed attempt changed nothing on the account: it is still as disconnected by hand.
    seen = await account_of(api, setup.token, gone["id"])
    assert seen["disconnectedOn"] == "2026-11-02"
    assert seen["disconnectReason"] == "Left already"
    assert [h["kind"] for h in seen["statusHistory"]] == ["CREATED", "DISCONNECTED"]
    # A failed event is not retried.
    assert await run_scheduled(runtime) == {"SUCCEEDED": 0, "FAILED": 0}
    assert len(await events_of(api, setup.token, "scheduled_event.failed")) == 1


async def test_a_status_deleted_before_the_day_fails_the_event(api, runtime, clock):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    extra = (await ok(api, setup.token, "createAccountStatus",
                      {"companyId": setup.company, "name": "Paused",
                       "countsAsActive": False}))["id"]
    event = await schedule(api, setup, account["id"], "2026-11-10", status=extra)
    await ok(api, setup.token, "deleteAccountStatus", {"id": extra})
    clock.set(datetime(2026, 11, 10, 12, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 0, "FAILED": 1}
    failed = await event_of(api, setup.token, event["id"])
    assert failed["status"] == "FAILED"
    assert failed["outcome"] == "No such account status."
    assert (await account_of(api, setup.token, account["id"]))["accountStatus"]["name"] == (
        "Active")


async def test_a_scheduled_disconnection_runs_on_its_day_and_frees_the_address(api, runtime,
                                                                               clock):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    address = await new_address(api, setup)
    await ok(api, setup.token, "moveAccountToAddress",
             {"accountId": account["id"], "serviceableAddressId": address["id"]})
    event = await schedule(api, setup, account["id"], "2026-11-20", action="DISCONNECT",
                           reason="Moving to Denver")
    # The job runs late (two days after the day): the dates are still the scheduled day's.
    clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    done = await event_of(api, setup.token, event["id"])
    assert (done["status"], done["outcome"]) == ("SUCCEEDED", "Account disconnected.")

    seen = await account_of(api, setup.token, account["id"])
    assert seen["disconnectedOn"] == "2026-11-20"
    assert seen["disconnectReason"] == "Moving to Denver"
    assert seen["accountStatus"]["name"] == "Inactive"
    assert seen["statusHistory"][-1]["kind"] == "DISCONNECTED"
    assert seen["statusHistory"][-1]["reason"] == "Moving to Denver"
    assert seen["physicalAddress"] is None
    assert seen["addressHistory"] == [{"movedInOn": "2026-11-02", "movedOutOn": "2026-11-20",
                                       "serviceableAddress": {"id": address["id"]}}]
    data = await api.data("query($id: ID!) { serviceableAddress(id: $id) { currentAccount "
                          "{ id } } }", {"id": address["id"]}, setup.token)
    assert data["serviceableAddress"]["currentAccount"] is None
    [disconnected] = await events_of(api, setup.token, "account.disconnected")
    assert disconnected["payload"]["date"] == "2026-11-20"
    assert disconnected["payload"]["freed_serviceable_address_id"] == numeric_id(address["id"])


async def test_disconnect_account_with_a_future_date_schedules_it(api, runtime, clock):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    payload = await ok(api, setup.token, "disconnectAccount",
                       {"accountId": account["id"], "reason": "End of lease",
                        "date": "2026-11-30", "accountStatusId": setup.suspended})
    assert payload["account"]["disconnectedOn"] is None
    scheduled = payload["scheduledEvent"]
    assert (scheduled["action"], scheduled["runOn"], scheduled["status"]) == (
        "DISCONNECT", "2026-11-30", "PENDING")
    clock.set(datetime(2026, 11, 30, 6, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    seen = await account_of(api, setup.token, account["id"])
    assert seen["disconnectedOn"] == "2026-11-30"
    assert seen["accountStatus"]["name"] == "Suspended"


async def test_events_due_in_tokyo_run_before_the_same_day_in_chicago(api, runtime, clock):
    token = await api.admin_token()
    chicago = await company_setup(api, token, name="Prairie Net")
    tokyo = await company_setup(api, token, name="Tokyo Net", time_zone="Asia/Tokyo",
                                country="JP")
    in_chicago = await schedule(api, chicago, (await new_account(api, chicago))["id"],
                                "2026-11-10", status=chicago.suspended)
    in_tokyo = await schedule(api, tokyo, (await new_account(api, tokyo))["id"], "2026-11-10",
                              status=tokyo.suspended)
    clock.set(datetime(2026, 11, 9, 15, 0, tzinfo=UTC))  # midnight in Tokyo
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    assert (await event_of(api, token, in_tokyo["id"]))["status"] == "SUCCEEDED"
    assert (await event_of(api, token, in_chicago["id"]))["status"] == "PENDING"
    clock.set(datetime(2026, 11, 10, 6, 0, tzinfo=UTC))  # midnight in Chicago
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    assert (await event_of(api, token, in_chicago["id"]))["status"] == "SUCCEEDED"


# --- cancelling ----------------------------------------------------------------------------

async def test_cancel_before_the_day_and_the_job_ignores_it(api, runtime, clock):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    event = await schedule(api, setup, account["id"], "2026-11-10", status=setup.suspended)
    cancelled = await ok(api, setup.token, "cancelScheduledEvent", {"id": event["id"]})
    assert cancelled == {"id": event["id"], "status": "CANCELLED"}
    [record] = await events_of(api, setup.token, "scheduled_event.cancelled")
    assert record["payload"] == {"account_id": numeric_id(account["id"]),
                                 "action": "CHANGE_STATUS"}
    [entry] = await audit_of(api, setup.token, "cancelScheduledEvent")
    assert (entry["operation"], entry["entityType"]) == ("update", "ScheduledEvent")
    assert entry["entityId"] == event["id"]
    assert entry["changes"] == {"status": {"from": "PENDING", "to": "CANCELLED"}}
    assert entry["user"] == {"email": "admin@example.com"}

    clock.set(datetime(2026, 11, 11, 0, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 0, "FAILED": 0}
    stored = await event_of(api, setup.token, event["id"])
    assert stored["status"] == "CANCELLED" and stored["executedAt"] is None
    seen = await account_of(api, setup.token, account["id"])
    assert seen["accountStatus"]["name"] == "Active"
    assert [h["kind"] for h in seen["statusHistory"]] == ["CREATED"]


async def test_cancel_twice_or_after_it_ran_is_refused(api, runtime, clock):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    first = await schedule(api, setup, account["id"], "2026-11-10", status=setup.suspended)
    second = await schedule(api, setup, account["id"], "2026-11-12", status=setup.delinquent)
    await ok(api, setup.token, "cancelScheduledEvent", {"id": first["id"]})
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "cancelScheduledEvent", {"id": first["id"]})
    assert fields_and_codes(errors) == [("id", "INVALID")]
    assert "cancelled" in errors[0]["message"]
    assert await counts(api, setup.token) == before

    clock.set(datetime(2026, 11, 12, 6, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "cancelScheduledEvent", {"id": second["id"]})
    assert fields_and_codes(errors) == [("id", "INVALID")]
    assert "succeeded" in errors[0]["message"]
    assert await counts(api, setup.token) == before
    assert (await event_of(api, setup.token, second["id"]))["status"] == "SUCCEEDED"
    assert len(await events_of(api, setup.token, "scheduled_event.cancelled")) == 1


async def test_cancel_of_an_unknown_event_is_not_found(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    event = await schedule(api, setup, account["id"], "2026-11-10", status=setup.suspended)
    missing = base64.b64encode(f"ScheduledEvent:{numeric_id(event['id']) + 100}".encode()
                               ).decode()
    errors = await refused(api, setup.token, "cancelScheduledEvent", {"id": missing})
    assert fields_and_codes(errors) == [("id", "NOT_FOUND")]
    assert (await event_of(api, setup.token, event["id"]))["status"] == "PENDING"


# --- listings ------------------------------------------------------------------------------

async def test_the_connection_filters_by_account_status_and_day(api, runtime, clock):
    setup = await company_setup(api)
    jane = await new_account(api, setup, "Jane Doe")
    john = await new_account(api, setup, "John Roe")
    j1 = await schedule(api, setup, jane["id"], "2026-11-05", status=setup.suspended)
    j2 = await schedule(api, setup, jane["id"], "2026-11-20", status=setup.delinquent)
    r1 = await schedule(api, setup, john["id"], "2026-11-10", action="DISCONNECT")
    r2 = await schedule(api, setup, john["id"], "2026-12-01", status=setup.suspended)
    await ok(api, setup.token, "cancelScheduledEvent", {"id": r2["id"]})
    clock.set(datetime(2026, 11, 6, 0, 0, tzinfo=UTC))
    assert await run_scheduled(runtime) == {"SUCCEEDED": 1, "FAILED": 0}

    def ids(nodes: list[dict[str, Any]]) -> list[str]:
        return [n["id"] for n in nodes]

    total, nodes = await listing(api, setup.token)
    assert total == 4 and ids(nodes) == [j1["id"], r1["id"], j2["id"], r2["id"]]
    total, nodes = await listing(api, setup.token, {"accountId": {"eq": jane["id"]}})
    assert total == 2 and ids(nodes) == [j1["id"], j2["id"]]
    total, nodes = await listing(api, setup.token, {"status": {"eq": "PENDING"}})
    assert ids(nodes) == [r1["id"], j2["id"]]
    total, nodes = await listing(api, setup.token, {"status": {"in": ["SUCCEEDED",
                                                                      "CANCELLED"]}})
    assert ids(nodes) == [j1["id"], r2["id"]]
    total, nodes = await listing(api, setup.token, {"runOn": {"gte": "2026-11-10",
                                                              "lte": "2026-11-20"}})
    assert ids(nodes) == [r1["id"], j2["id"]]
    total, nodes = await listing(api, setup.token, {"runOn": {"eq": "2026-12-01"}})
    assert ids(nodes) == [r2["id"]]
    total, nodes = await listing(api, setup.token, {"accountId": {"eq": john["id"]},
                                                    "status": {"eq": "PENDING"},
                                                    "action": {"eq": "DISCONNECT"}})
    assert total == 1 and ids(nodes) == [r1["id"]]
    assert nodes[0]["account"] == {"id": john["id"]}
