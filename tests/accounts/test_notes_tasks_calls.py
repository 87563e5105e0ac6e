"""Notes, tasks and call logs through the API: what they store (sanitised rich text, the
author, due times, completion), how accounts list them, their connections and filters, the
refusals that write nothing, the events and audit entries they leave, and the permissions."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest

from tests.accounts.factories import (
    MUTATIONS,
    Setup,
    company_setup,
    new_account,
    new_address,
    ok,
    refused,
)

EVENTS = """query($type: String!) { events(filter: {type: {eq: $type}}, first: 100) {
  edges { node { type payload entityType entityId companyId } } } }"""
AUDIT = """query($action: String!) { auditLogEntries(filter: {action: {eq: $action}},
  first: 100) { edges { node { operation entityType entityId changes user { email } } } } }"""
RECORDS = """query($id: ID!) { account(id: $id) {
  notes { id body pinned priority createdAt }
  tasks { id title dueAt completed }
  callLogs { id direction occurredAt } } }"""
COUNTS = """{ notes { totalCount } tasks { totalCount } callLogs { totalCount }
  events { totalCount } auditLogEntries { totalCount } }"""
NOTES = """query($filter: NoteFilter) { notes(filter: $filter, first: 100) {
  totalCount edges { node { id body } } } }"""
TASKS = """query($filter: TaskFilter) { tasks(filter: $filter, first: 100) {
  totalCount edges { node { id title account { id } serviceableAddress { id } } } } }"""
CALLS = """query($filter: CallLogFilter) { callLogs(filter: $filter, first: 100) {
  totalCount edges { node { id direction account { id } } } } }"""
DEACTIVATE = """mutation($id: ID!) { updateUser(input: {id: $id, active: false}) {
  errors { field code } } }"""

RECORD_WRITER = ["accounts:read", "addresses:read", "notes:read", "notes:write", "users:read",
                 "events:read", "audit:read"]


def gid(type_name: str, pk: Any) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def pk_of(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


def codes(errors: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    assert all(e["message"] for e in errors), errors
    return [(e["field"], e["code"]) for e in errors]


async def counts(api: Any, token: str) -> dict[str, int]:
    data = await api.data(COUNTS, token=token)
    return {key: value["totalCount"] for key, value in data.items()}


async def events_of(api: Any, token: str, event_type: str) -> list[dict[str, Any]]:
    data = await api.data(EVENTS, {"type": event_type}, token)
    return [edge["node"] for edge in data["events"]["edges"]]


async def audit_of(api: Any, token: str, action: str) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, {"action": action}, token)
    return [edge["node"] for edge in data["auditLogEntries"]["edges"]]


async def records_of(api: Any, token: str, account: dict[str, Any]) -> dict[str, Any]:
    return (await api.data(RECORDS, {"id": account["id"]}, token))["account"]


async def listed(api: Any, token: str, query: str, flt: dict[str, Any]) -> list[str]:
    """Ids a connection lists for ``flt``; its totalCount must agree."""
    data = next(iter((await api.data(query, {"filter": flt}, token)).values()))
    ids = [edge["node"]["id"] for edge in data["edges"]]
    assert data["totalCount"] == len(ids)
    return ids


async def refused_unchanged(api: Any, token: str, mutation: str, input: dict[str, Any]
                            ) -> list[tuple[str | None, str]]:
    """Run a mutation that must be refused without writing a row, event or audit entry."""
    before = await counts(api, token)
    errors = await refused(api, token, mutation, input)
    assert await counts(api, token) == before
    return codes(errors)


async def forbidden(api: Any, token: str, mutation: str, input: dict[str, Any]) -> None:
    query, _ = MUTATIONS[mutation]
    body = await api.gql(query, {"input": input}, token)
    assert body["data"] is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body


@pytest.fixture
async def fx(api: Any) -> Setup:
    return await company_setup(api)


# --- notes ---------------------------------------------------------------------------------

async def test_note_body_is_sanitised_and_the_author_is_the_caller(api, fx, clock):
    account = await new_account(api, fx)
    note = await ok(api, fx.token, "createNote", {
        "accountId": account["id"], "pinned": True, "priority": "HIGH",
        "body": '<p onclick="steal()">Call <b>back</b> Friday<script>alert(1)</script></p>'})
    assert note["body"] == "<p>Call <b>back</b> Friday</p>"
    assert (note["pinned"], note["priority"]) == (True, "HIGH")
    assert note["author"] == {"email": "admin@example.com"}
    assert note["account"] == {"id": account["id"]}
    assert note["serviceableAddress"] is None

    [stored] = (await records_of(api, fx.token, account))["notes"]
    assert stored == {"id": note["id"], "body": "<p>Call <b>back</b> Friday</p>",
                      "pinned": True, "priority": "HIGH", "createdAt": clock.now().isoformat()}


async def test_a_note_defaults_to_unpinned_normal_priority(api, fx):
    account = await new_account(api, fx)
    note = await ok(api, fx.token, "createNote", {"accountId": account["id"],
                                                  "body": "Plain words"})
    assert (note["body"], note["pinned"], note["priority"]) == ("Plain words", False, "NORMAL")


async def test_the_author_is_whoever_holds_the_token(api, fx):
    _, writer = await api.user_with_token("writer@example.com", permissions=RECORD_WRITER)
    account = await new_account(api, fx)
    note = await ok(api, writer, "createNote", {"accountId": account["id"], "body": "Hi"})
    assert note["author"] == {"email": "writer@example.com"}


async def test_every_priority_is_accepted_and_others_are_not(api, fx):
    account = await new_account(api, fx)
    for priority in ("LOW", "NORMAL", "HIGH", "URGENT"):
        note = await ok(api, fx.token, "createNote", {"accountId": account["id"],
                                                      "body": priority, "priority": priority})
        assert note["priority"] == priority
    query, _ = MUTATIONS["createNote"]
    body = await api.gql(query, {"input": {"accountId": account["id"], "body": "x",
                                           "priority": "CRITICAL"}}, fx.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await counts(api, fx.token))["notes"] == 4


async def test_a_note_on_a_serviceable_address(api, fx):
    address = await new_address(api, fx)
    note = await ok(api, fx.token, "createNote", {"serviceableAddressId": address["id"],
                                                  "body": "<p>Gate code <i>1234</i></p>"})
    assert note["serviceableAddress"] == {"id": address["id"]}
    assert note["account"] is None
    assert note["body"] == "<p>Gate code <i>1234</i></p>"
    assert await listed(api, fx.token, NOTES,
                        {"serviceableAddressId": {"eq": address["id"]}}) == [note["id"]]
    [event] = await events_of(api, fx.token, "note.created")
    assert event["payload"]["serviceable_address_id"] == pk_of(address["id"])
    assert event["payload"]["account_id"] is None


@pytest.mark.parametrize("body", ["<script>alert(1)</script>", "   ", "",
                                  "<p> </p>", '<b onclick="x()"></b>', "<p><br></p>"])
async def test_a_body_empty_after_sanitising_is_refused(api, fx, body):
    account = await new_account(api, fx)
    assert await refused_unchanged(api, fx.token, "createNote",
                                   {"accountId": account["id"], "body": body}) == [
        ("body", "REQUIRED")]


async def test_a_picture_alone_is_a_note(api, fx):
    account = await new_account(api, fx)
    note = await ok(api, fx.token, "createNote", {
        "accountId": account["id"], "body": '<p><img src="cpe.png" onerror="x()"></p>'})
    assert note["body"] == '<p><img src="cpe.png"></p>'


async def test_a_body_over_the_limit_is_refused(api, fx):
    account = await new_account(api, fx)
    assert await refused_unchanged(api, fx.token, "createNote", {
        "accountId": account["id"], "body": "x" * 100_001}) == [("body", "INVALID")]
    note = await ok(api, fx.token, "createNote", {"accountId": account["id"],
                                                  "body": "x" * 100_000})
    assert len(note["body"]) == 100_000


async def test_a_note_is_about_exactly_one_subject(api, fx):
    account = await new_account(api, fx)
    address = await new_address(api, fx)
    assert await refused_unchanged(api, fx.token, "createNote", {"body": "Orphan"}) == [
        ("accountId", "REQUIRED")]
    assert await refused_unchanged(api, fx.token, "createNote", {
        "body": "Both", "accountId": account["id"],
        "serviceableAddressId": address["id"]}) == [("accountId", "INVALID")]


async def test_a_note_on_a_missing_or_mistyped_subject_is_refused(api, fx):
    account = await new_account(api, fx)
    assert await refused_unchanged(api, fx.token, "createNote", {
        "body": "x", "accountId": gid("Account", pk_of(account["id"]) + 100)}) == [
        ("accountId", "NOT_FOUND")]
    assert await refused_unchanged(api, fx.token, "createNote", {
        "body": "x", "serviceableAddressId": gid("ServiceableAddress", 999)}) == [
        ("serviceableAddressId", "NOT_FOUND")]
    assert await refused_unchanged(api, fx.token, "createNote", {
        "body": "x", "accountId": fx.company}) == [("accountId", "INVALID")]


async def test_account_notes_list_pinned_first_then_newest(api, fx, clock):
    account = await new_account(api, fx)
    other = await new_account(api, fx, "Someone Else")
    ids = {}
    for name, pinned in (("old", False), ("old pinned", True), ("new", False),
                         ("new pinned", True), ("newest", False)):
        clock.advance(timedelta(minutes=5))
        ids[name] = (await ok(api, fx.token, "createNote", {
            "accountId": account["id"], "body": name, "pinned": pinned}))["id"]
    # Two written in the same instant: the later one is the newer.
    ids["same instant"] = (await ok(api, fx.token, "createNote", {
        "accountId": account["id"], "body": "same instant"}))["id"]
    await ok(api, fx.token, "createNote", {"accountId": other["id"], "body": "elsewhere"})

    notes = (await records_of(api, fx.token, account))["notes"]
    assert [n["body"] for n in notes] == ["new pinned", "old pinned", "same instant",
                                          "newest", "new", "old"]
    assert [n["id"] for n in notes][:2] == [ids["new pinned"], ids["old pinned"]]


async def test_notes_connection_filters_by_account_pinned_and_search(api, fx):
    first = await new_account(api, fx, "First")
    second = await new_account(api, fx, "Second")

    async def note(account: dict[str, Any], body: str, pinned: bool = False) -> str:
        return (await ok(api, fx.token, "createNote", {"accountId": account["id"],
                                                       "body": body, "pinned": pinned}))["id"]

    a = await note(first, "<p>Router <b>replaced</b></p>", pinned=True)
    b = await note(first, "Asked about the invoice")
    c = await note(second, "ROUTER reboots nightly", pinned=True)

    assert await listed(api, fx.token, NOTES, {"accountId": {"eq": first["id"]}}) == [a, b]
    assert await listed(api, fx.token, NOTES, {"pinned": {"eq": True}}) == [a, c]
    assert await listed(api, fx.token, NOTES, {"pinned": {"eq": False}}) == [b]
    assert await listed(api, fx.token, NOTES, {"search": "router"}) == [a, c]
    assert await listed(api, fx.token, NOTES, {"search": "invoice"}) == [b]
    assert await listed(api, fx.token, NOTES, {"accountId": {"eq": second["id"]},
                                               "search": "router"}) == [c]
    assert await listed(api, fx.token, NOTES, {"accountId": {"eq": first["id"]},
                                               "pinned": {"eq": True}}) == [a]
    assert await listed(api, fx.token, NOTES, {"search": "nothing like it"}) == []


async def test_update_note_sanitises_and_records_the_change(api, fx, clock):
    account = await new_account(api, fx)
    note = await ok(api, fx.token, "createNote", {"accountId": account["id"], "body": "Draft"})
    clock.advance(timedelta(hours=1))
    updated = await ok(api, fx.token, "updateNote", {
        "id": note["id"], "body": '<p>Final <a href="javascript:x()" onclick="y()">link</a>'
        '<script>z()</script></p>', "pinned": True, "priority": "URGENT"})
    assert updated["body"] == '<p>Final <a rel="noopener noreferrer">link</a></p>'
    assert (updated["pinned"], updated["priority"]) == (True, "URGENT")

    [event] = await events_of(api, fx.token, "note.updated")
    assert event["entityId"] == note["id"]
    assert event["payload"] == {"account_id": pk_of(account["id"]),
                                "serviceable_address_id": None,
                                "changed": ["body", "pinned", "priority"]}
    [entry] = await audit_of(api, fx.token, "updateNote")
    assert (entry["operation"], entry["entityType"], entry["entityId"]) == (
        "update", "Note", note["id"])
    assert entry["changes"]["pinned"] == {"from": False, "to": True}
    assert entry["changes"]["priority"] == {"from": "NORMAL", "to": "URGENT"}
    assert entry["changes"]["body"]["from"] == "Draft"

    [stored] = (await records_of(api, fx.token, account))["notes"]
    assert stored["body"] == updated["body"]


async def test_update_note_changes_only_what_is_given(api, fx):
    account = await new_account(api, fx)
    note = await ok(api, fx.token, "createNote", {"accountId": account["id"], "body": "Keep",
                                                  "priority": "LOW"})
    updated = await ok(api, fx.token, "updateNote", {"id": note["id"], "pinned": True})
    assert (updated["body"], updated["pinned"], updated["priority"]) == ("Keep", True, "LOW")


async def test_update_note_refusals_change_nothing(api, fx):
    account = await new_account(api, fx)
    note = await ok(api, fx.token, "createNote", {"accountId": account["id"], "body": "Keep"})
    assert await refused_unchanged(api, fx.token, "updateNote", {
        "id": note["id"], "body": "<script>gone()</script>"}) == [("body", "REQUIRED")]
    assert await refused_unchanged(api, fx.token, "updateNote", {
        "id": note["id"], "pinned": None}) == [("pinned", "REQUIRED")]
    assert await refused_unchanged(api, fx.token, "updateNote", {
        "id": gid("Note", pk_of(note["id"]) + 1), "body": "x"}) == [("id", "NOT_FOUND")]
    [stored] = (await records_of(api, fx.token, account))["notes"]
    assert (stored["body"], stored["pinned"]) == ("Keep", False)
    assert await events_of(api, fx.token, "note.updated") == []


async def test_delete_note(api, fx):
    account = await new_account(api, fx)
    keep = await ok(api, fx.token, "createNote", {"accountId": account["id"], "body": "Keep"})
    gone = await ok(api, fx.token, "createNote", {"accountId": account["id"], "body": "Gone"})
    deleted = await ok(api, fx.token, "deleteNote", {"id": gone["id"]})
    assert deleted == gone["id"]
    assert [n["id"] for n in (await records_of(api, fx.token, account))["notes"]] == [
        keep["id"]]
    [event] = await events_of(api, fx.token, "note.deleted")
    assert event["payload"] == {"id": pk_of(gone["id"]), "account_id": pk_of(account["id"]),
                                "serviceable_address_id": None}
    [entry] = await audit_of(api, fx.token, "deleteNote")
    assert (entry["operation"], entry["entityId"]) == ("delete", gone["id"])
    assert entry["changes"]["body"] == "Gone"
    assert await refused_unchanged(api, fx.token, "deleteNote", {"id": gone["id"]}) == [
        ("id", "NOT_FOUND")]


async def test_note_created_event_and_audit_entry(api, fx):
    user_id, writer = await api.user_with_token("writer@example.com",
                                                permissions=RECORD_WRITER)
    account = await new_account(api, fx)
    note = await ok(api, writer, "createNote", {"accountId": account["id"], "body": "Hello",
                                                "pinned": True, "priority": "LOW"})
    [event] = await events_of(api, fx.token, "note.created")
    assert (event["entityType"], event["entityId"], event["companyId"]) == (
        "Note", note["id"], fx.company)
    assert event["payload"] == {"account_id": pk_of(account["id"]),
                                "serviceable_address_id": None, "pinned": True,
                                "priority": "LOW"}
    [entry] = await audit_of(api, fx.token, "createNote")
    assert (entry["operation"], entry["entityId"]) == ("create", note["id"])
    assert entry["user"] == {"email": "writer@example.com"}
    assert entry["changes"]["author_user_id"] == user_id
    assert entry["changes"]["body"] == "Hello"


async def test_notes_need_notes_write_and_reading_needs_notes_read(api, fx):
    account = await new_account(api, fx)
    note = await ok(api, fx.token, "createNote", {"accountId": account["id"], "body": "Hi"})
    task = await ok(api, fx.token, "createTask", {"accountId": account["id"], "title": "Do"})
    call = await ok(api, fx.token, "createCallLog", {"accountId": account["id"],
                                                     "direction": "INBOUND"})
    _, reader = await api.user_with_token("reader@example.com", permissions=["accounts:read"])
    _, note_reader = await api.user_with_token("noter@example.com",
                                               permissions=["accounts:read", "notes:read"])
    before = await counts(api, fx.token)
    for token in (reader, note_reader):
        await forbidden(api, token, "createNote", {"accountId": account["id"], "body": "x"})
        await forbidden(api, token, "updateNote", {"id": note["id"], "body": "x"})
        await forbidden(api, token, "deleteNote", {"id": note["id"]})
        await forbidden(api, token, "createTask", {"accountId": account["id"], "title": "x"})
        await forbidden(api, token, "completeTask", {"id": task["id"]})
        await forbidden(api, token, "deleteTask", {"id": task["id"]})
        await forbidden(api, token, "createCallLog", {"accountId": account["id"],
                                                      "direction": "OUTBOUND"})
        await forbidden(api, token, "updateCallLog", {"id": call["id"], "notes": "x"})
        await forbidden(api, token, "deleteCallLog", {"id": call["id"]})
    assert await counts(api, fx.token) == before

    assert await records_of(api, reader, account) == {"notes": None, "tasks": None,
                                                      "callLogs": None}
    body = await api.gql("{ notes { totalCount } }", token=reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    seen = await records_of(api, note_reader, account)
    assert ([n["id"] for n in seen["notes"]], [t["id"] for t in seen["tasks"]],
            [c["id"] for c in seen["callLogs"]]) == ([note["id"]], [task["id"]], [call["id"]])


# --- tasks ---------------------------------------------------------------------------------

async def test_create_task_with_an_assignee_and_a_due_time(api, fx, clock):
    assignee_id, _ = await api.user_with_token("tech@example.com", permissions=[])
    account = await new_account(api, fx)
    due = (clock.now() + timedelta(days=2)).isoformat()
    task = await ok(api, fx.token, "createTask", {
        "accountId": account["id"], "title": "  Replace the ONT  ",
        "description": "<p>Bring a <b>spare</b></p><script>x()</script>",
        "assigneeUserId": gid("User", assignee_id), "dueAt": due})
    assert task["title"] == "Replace the ONT"
    assert task["description"] == "<p>Bring a <b>spare</b></p>"
    assert (task["dueAt"], task["completed"]) == (due, False)
    assert task["assignee"] == {"email": "tech@example.com"}

    [event] = await events_of(api, fx.token, "task.created")
    assert (event["entityType"], event["entityId"]) == ("Task", task["id"])
    assert event["payload"] == {"account_id": pk_of(account["id"]),
                                "serviceable_address_id": None, "title": "Replace the ONT",
                                "assignee_user_id": assignee_id, "due_at": due}
    [entry] = await audit_of(api, fx.token, "createTask")
    assert (entry["operation"], entry["entityId"]) == ("create", task["id"])


async def test_a_task_without_assignee_or_due_time(api, fx):
    account = await new_account(api, fx)
    task = await ok(api, fx.token, "createTask", {"accountId": account["id"], "title": "Call"})
    assert (task["description"], task["dueAt"], task["assignee"]) == ("", None, None)


async def test_a_task_needs_a_title_and_one_subject(api, fx):
    account = await new_account(api, fx)
    address = await new_address(api, fx)
    assert await refused_unchanged(api, fx.token, "createTask", {
        "accountId": account["id"], "title": "   "}) == [("title", "REQUIRED")]
    assert await refused_unchanged(api, fx.token, "createTask", {
        "accountId": account["id"], "title": "x" * 201}) == [("title", "INVALID")]
    assert await refused_unchanged(api, fx.token, "createTask", {"title": "Nobody's"}) == [
        ("accountId", "REQUIRED")]
    assert await refused_unchanged(api, fx.token, "createTask", {
        "title": "Both", "accountId": account["id"],
        "serviceableAddressId": address["id"]}) == [("accountId", "INVALID")]


async def test_a_deactivated_or_unknown_assignee_is_refused(api, fx):
    gone_id, _ = await api.user_with_token("gone@example.com", permissions=[])
    payload = (await api.data(DEACTIVATE, {"id": gid("User", gone_id)}, fx.token))
    assert payload["updateUser"]["errors"] == []
    account = await new_account(api, fx)
    assert await refused_unchanged(api, fx.token, "createTask", {
        "accountId": account["id"], "title": "x",
        "assigneeUserId": gid("User", gone_id)}) == [("assigneeUserId", "INVALID")]
    assert await refused_unchanged(api, fx.token, "createTask", {
        "accountId": account["id"], "title": "x",
        "assigneeUserId": gid("User", gone_id + 50)}) == [("assigneeUserId", "NOT_FOUND")]
    assert await refused_unchanged(api, fx.token, "createTask", {
        "accountId": account["id"], "title": "x",
        "assigneeUserId": account["id"]}) == [("assigneeUserId", "INVALID")]

    task = await ok(api, fx.token, "createTask", {"accountId": account["id"], "title": "x"})
    assert await refused_unchanged(api, fx.token, "updateTask", {
        "id": task["id"], "assigneeUserId": gid("User", gone_id)}) == [
        ("assigneeUserId", "INVALID")]


async def test_update_task_sets_and_clears_assignee_and_due_time(api, fx, clock):
    tech_id, _ = await api.user_with_token("tech@example.com", permissions=[])
    account = await new_account(api, fx)
    task = await ok(api, fx.token, "createTask", {"accountId": account["id"], "title": "Old"})
    due = (clock.now() + timedelta(hours=3)).isoformat()
    updated = await ok(api, fx.token, "updateTask", {
        "id": task["id"], "title": "New", "dueAt": due, "assigneeUserId": gid("User", tech_id)})
    assert updated == {"id": task["id"], "title": "New", "dueAt": due,
                       "assignee": {"email": "tech@example.com"}}
    cleared = await ok(api, fx.token, "updateTask", {"id": task["id"], "dueAt": None,
                                                     "assigneeUserId": None})
    assert cleared == {"id": task["id"], "title": "New", "dueAt": None, "assignee": None}

    events = await events_of(api, fx.token, "task.updated")
    assert [e["payload"]["changed"] for e in events] == [
        ["assignee_user_id", "due_at", "title"], ["assignee_user_id", "due_at"]]
    assert await refused_unchanged(api, fx.token, "updateTask", {
        "id": task["id"], "title": None}) == [("title", "REQUIRED")]
    assert await refused_unchanged(api, fx.token, "updateTask", {
        "id": task["id"], "title": " "}) == [("title", "REQUIRED")]


async def test_complete_and_reopen_a_task(api, fx, clock):
    _, tech = await api.user_with_token("tech@example.com", permissions=RECORD_WRITER)
    account = await new_account(api, fx)
    task = await ok(api, fx.token, "createTask", {"accountId": account["id"], "title": "Do"})
    clock.advance(timedelta(hours=2))
    done = await ok(api, tech, "completeTask", {"id": task["id"]})
    assert done == {"id": task["id"], "completed": True,
                    "completedAt": clock.now().isoformat(),
                    "completedBy": {"email": "tech@example.com"}}

    assert await refused_unchanged(api, fx.token, "completeTask", {"id": task["id"]}) == [
        ("id", "INVALID")]
    reopened = await ok(api, fx.token, "completeTask", {"id": task["id"], "completed": False})
    assert reopened == {"id": task["id"], "completed": False, "completedAt": None,
                        "completedBy": None}
    assert await refused_unchanged(api, fx.token, "completeTask", {
        "id": task["id"], "completed": False}) == [("id", "INVALID")]

    [completed] = await events_of(api, fx.token, "task.completed")
    assert completed["entityId"] == task["id"]
    assert completed["payload"]["changed"] == ["completed_at", "completed_by_user_id"]
    [reopened_event] = await events_of(api, fx.token, "task.reopened")
    assert reopened_event["entityId"] == task["id"]
    entries = await audit_of(api, fx.token, "completeTask")
    assert [e["changes"]["completed_at"]["to"] is None for e in entries] == [False, True]


async def test_account_tasks_open_by_due_time_first_done_last(api, fx, clock):
    account = await new_account(api, fx)
    now = clock.now()

    async def task(title: str, due_in: timedelta | None = None) -> str:
        values: dict[str, Any] = {"accountId": account["id"], "title": title}
        if due_in is not None:
            values["dueAt"] = (now + due_in).isoformat()
        return (await ok(api, fx.token, "createTask", values))["id"]

    undated = await task("undated")
    later = await task("later", timedelta(days=3))
    done_soon = await task("done soon", timedelta(hours=1))
    soon = await task("soon", timedelta(hours=2))
    overdue = await task("overdue", timedelta(days=-1))
    done_undated = await task("done undated")
    for done in (done_soon, done_undated):
        await ok(api, fx.token, "completeTask", {"id": done})

    tasks = (await records_of(api, fx.token, account))["tasks"]
    assert [t["id"] for t in tasks] == [overdue, soon, later, undated, done_soon, done_undated]
    assert [t["completed"] for t in tasks] == [False] * 4 + [True] * 2


async def test_tasks_on_addresses(api, fx):
    address = await new_address(api, fx)
    other = await new_address(api, fx, "200 Oak Ave")
    account = await new_account(api, fx)
    on_address = await ok(api, fx.token, "createTask", {
        "serviceableAddressId": address["id"], "title": "Survey the pole"})
    await ok(api, fx.token, "createTask", {"serviceableAddressId": other["id"], "title": "x"})
    await ok(api, fx.token, "createTask", {"accountId": account["id"], "title": "y"})
    data = await api.data(TASKS, {"filter": {"serviceableAddressId": {"eq": address["id"]}}},
                          fx.token)
    assert data["tasks"]["totalCount"] == 1
    [node] = [edge["node"] for edge in data["tasks"]["edges"]]
    assert node == {"id": on_address["id"], "title": "Survey the pole", "account": None,
                    "serviceableAddress": {"id": address["id"]}}
    assert (await records_of(api, fx.token, account))["tasks"][0]["title"] == "y"
    [event] = [e for e in await events_of(api, fx.token, "task.created")
               if e["entityId"] == on_address["id"]]
    assert event["payload"]["serviceable_address_id"] == pk_of(address["id"])


async def test_delete_task(api, fx):
    account = await new_account(api, fx)
    task = await ok(api, fx.token, "createTask", {"accountId": account["id"], "title": "x"})
    assert await ok(api, fx.token, "deleteTask", {"id": task["id"]}) == task["id"]
    assert (await records_of(api, fx.token, account))["tasks"] == []
    [event] = await events_of(api, fx.token, "task.deleted")
    assert event["payload"] == {"id": pk_of(task["id"]), "account_id": pk_of(account["id"]),
                                "serviceable_address_id": None}
    [entry] = await audit_of(api, fx.token, "deleteTask")
    assert (entry["operation"], entry["entityId"]) == ("delete", task["id"])
    assert await refused_unchanged(api, fx.token, "deleteTask", {"id": task["id"]}) == [
        ("id", "NOT_FOUND")]


# --- call logs -----------------------------------------------------------------------------

async def test_a_call_log_defaults_to_now_and_records_who_logged_it(api, fx, clock):
    account = await new_account(api, fx)
    call = await ok(api, fx.token, "createCallLog", {"accountId": account["id"],
                                                     "direction": "INBOUND"})
    assert call == {"id": call["id"], "direction": "INBOUND", "durationSeconds": 0,
                    "notes": "", "occurredAt": clock.now().isoformat(), "contact": None,
                    "user": {"email": "admin@example.com"}}
    [event] = await events_of(api, fx.token, "call_log.created")
    assert (event["entityType"], event["entityId"], event["companyId"]) == (
        "CallLog", call["id"], fx.company)
    assert event["payload"] == {"account_id": pk_of(account["id"]), "direction": "INBOUND",
                                "contact_id": None, "duration_seconds": 0}
    [entry] = await audit_of(api, fx.token, "createCallLog")
    assert (entry["operation"], entry["entityId"]) == ("create", call["id"])


async def test_a_call_log_with_contact_duration_time_and_sanitised_notes(api, fx, clock):
    account = await new_account(api, fx)
    contact = await ok(api, fx.token, "createContact", {"accountId": account["id"],
                                                        "name": "Sam"})
    when = (clock.now() - timedelta(days=1)).isoformat()
    call = await ok(api, fx.token, "createCallLog", {
        "accountId": account["id"], "direction": "OUTBOUND", "contactId": contact["id"],
        "occurredAt": when, "durationSeconds": 420,
        "notes": '<p>Agreed a <b>visit</b></p><img src="x" onerror="steal()">'})
    assert call["contact"] == {"id": contact["id"]}
    assert (call["direction"], call["occurredAt"], call["durationSeconds"]) == (
        "OUTBOUND", when, 420)
    assert call["notes"] == '<p>Agreed a <b>visit</b></p><img src="x">'


async def test_a_contact_of_another_account_is_refused(api, fx):
    account = await new_account(api, fx)
    other = await new_account(api, fx, "Other")
    stranger = await ok(api, fx.token, "createContact", {"accountId": other["id"],
                                                         "name": "Stranger"})
    assert await refused_unchanged(api, fx.token, "createCallLog", {
        "accountId": account["id"], "direction": "INBOUND",
        "contactId": stranger["id"]}) == [("contactId", "INVALID")]
    assert await refused_unchanged(api, fx.token, "createCallLog", {
        "accountId": account["id"], "direction": "INBOUND",
        "contactId": gid("Contact", pk_of(stranger["id"]) + 10)}) == [
        ("contactId", "NOT_FOUND")]
    call = await ok(api, fx.token, "createCallLog", {"accountId": account["id"],
                                                     "direction": "INBOUND"})
    assert await refused_unchanged(api, fx.token, "updateCallLog", {
        "id": call["id"], "contactId": stranger["id"]}) == [("contactId", "INVALID")]


async def test_call_duration_bounds(api, fx):
    account = await new_account(api, fx)
    for seconds in (-1, 86_401):
        assert await refused_unchanged(api, fx.token, "createCallLog", {
            "accountId": account["id"], "direction": "INBOUND",
            "durationSeconds": seconds}) == [("durationSeconds", "INVALID")]
    for seconds in (0, 86_400):
        call = await ok(api, fx.token, "createCallLog", {
            "accountId": account["id"], "direction": "INBOUND", "durationSeconds": seconds})
        assert call["durationSeconds"] == seconds
    assert await refused_unchanged(api, fx.token, "updateCallLog", {
        "id": call["id"], "durationSeconds": -5}) == [("durationSeconds", "INVALID")]


async def test_a_call_in_the_future_is_refused(api, fx, clock):
    account = await new_account(api, fx)
    future = (clock.now() + timedelta(seconds=1)).isoformat()
    assert await refused_unchanged(api, fx.token, "createCallLog", {
        "accountId": account["id"], "direction": "INBOUND", "occurredAt": future}) == [
        ("occurredAt", "INVALID")]
    call = await ok(api, fx.token, "createCallLog", {
        "accountId": account["id"], "direction": "INBOUND",
        "occurredAt": clock.now().isoformat()})
    assert await refused_unchanged(api, fx.token, "updateCallLog", {
        "id": call["id"], "occurredAt": future}) == [("occurredAt", "INVALID")]


async def test_a_call_log_on_a_missing_account_is_refused(api, fx):
    account = await new_account(api, fx)
    assert await refused_unchanged(api, fx.token, "createCallLog", {
        "accountId": gid("Account", pk_of(account["id"]) + 7), "direction": "INBOUND"}) == [
        ("accountId", "NOT_FOUND")]


async def test_update_call_log(api, fx, clock):
    account = await new_account(api, fx)
    contact = await ok(api, fx.token, "createContact", {"accountId": account["id"],
                                                        "name": "Sam"})
    call = await ok(api, fx.token, "createCallLog", {
        "accountId": account["id"], "direction": "INBOUND", "contactId": contact["id"]})
    updated = await ok(api, fx.token, "updateCallLog", {
        "id": call["id"], "direction": "OUTBOUND", "durationSeconds": 90, "contactId": None,
        "notes": "<p>Left a <u>voicemail</u></p><script>x()</script>"})
    assert updated == {"id": call["id"], "direction": "OUTBOUND", "durationSeconds": 90,
                       "notes": "<p>Left a <u>voicemail</u></p>", "contact": None}
    [event] = await events_of(api, fx.token, "call_log.updated")
    assert event["payload"] == {"account_id": pk_of(account["id"]),
                                "changed": ["contact_id", "direction", "duration_seconds",
                                            "notes"]}
    [entry] = await audit_of(api, fx.token, "updateCallLog")
    assert entry["changes"]["direction"] == {"from": "INBOUND", "to": "OUTBOUND"}
    assert entry["changes"]["contact_id"] == {"from": pk_of(contact["id"]), "to": None}
    assert await refused_unchanged(api, fx.token, "updateCallLog", {
        "id": call["id"], "direction": None}) == [("direction", "REQUIRED")]


async def test_delete_call_log(api, fx):
    account = await new_account(api, fx)
    call = await ok(api, fx.token, "createCallLog", {"accountId": account["id"],
                                                     "direction": "INBOUND"})
    assert await ok(api, fx.token, "deleteCallLog", {"id": call["id"]}) == call["id"]
    assert (await records_of(api, fx.token, account))["callLogs"] == []
    [event] = await events_of(api, fx.token, "call_log.deleted")
    assert event["payload"] == {"id": pk_of(call["id"]), "account_id": pk_of(account["id"])}
    [entry] = await audit_of(api, fx.token, "deleteCallLog")
    assert (entry["operation"], entry["entityId"]) == ("delete", call["id"])
    assert await refused_unchanged(api, fx.token, "deleteCallLog", {"id": call["id"]}) == [
        ("id", "NOT_FOUND")]


async def test_call_logs_connection_filters_by_account_and_direction(api, fx, clock):
    first = await new_account(api, fx, "First")
    second = await new_account(api, fx, "Second")

    async def call(account: dict[str, Any], direction: str, hours_ago: int) -> str:
        return (await ok(api, fx.token, "createCallLog", {
            "accountId": account["id"], "direction": direction,
            "occurredAt": (clock.now() - timedelta(hours=hours_ago)).isoformat()}))["id"]

    a = await call(first, "INBOUND", 5)
    b = await call(first, "OUTBOUND", 1)
    c = await call(second, "INBOUND", 3)
    d = await call(first, "INBOUND", 2)

    assert await listed(api, fx.token, CALLS, {"accountId": {"eq": first["id"]}}) == [a, b, d]
    assert await listed(api, fx.token, CALLS, {"direction": {"eq": "INBOUND"}}) == [a, c, d]
    assert await listed(api, fx.token, CALLS, {"accountId": {"eq": first["id"]},
                                               "direction": {"eq": "INBOUND"}}) == [a, d]
    assert await listed(api, fx.token, CALLS, {"accountId": {"eq": second["id"]},
                                               "direction": {"eq": "OUTBOUND"}}) == []
    # The account lists its calls newest first.
    calls = (await records_of(api, fx.token, first))["callLogs"]
    assert [c["id"] for c in calls] == [b, d, a]
