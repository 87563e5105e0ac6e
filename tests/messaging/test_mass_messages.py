"""Mass messages: the accounts filter of the accounts query picks the accounts, an empty
filter needs confirmation, a job queues the messages in batches with progress (idempotent per
contact), opted-out contacts are skipped, a saved message can be the content, and a mass
message can be cancelled between batches."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.messaging import mass
from ispcore.domain.messaging.content_models import MassMessage as MassMessageRow
from tests.accounts.factories import ok as ok_accounts
from tests.billing.factories import billing_setup, ok
from tests.messaging.content_support import (
    MASS_FIELDS,
    customer_with_contacts,
    outbox,
    send_job,  # noqa: F401  (fixture)
)
from tests.usage.support import pk_of

pytestmark = pytest.mark.usefixtures("send_job")
CREATE = f"""mutation($input: CreateMassMessageInput!) {{ createMassMessage(input: $input) {{
  massMessage {{ {MASS_FIELDS} }} errors {{ field code message }} }} }}"""
MASS_MESSAGE = f"""query($id: ID!) {{ node(id: $id) {{ ... on MassMessage {{ {MASS_FIELDS} }}
  }} }}"""
OUTAGE = {"channel": "EMAIL", "subject": "Planned work for {{ account.name }}",
          "bodyText": "Dear {{ contact.name }}, fibre works on Friday."}


async def _count(runtime: Any) -> int:
    async with runtime.db.session() as session:
        return await session.scalar(select(func.count()).select_from(MassMessageRow)) or 0


async def test_a_mass_message_without_a_filter_needs_confirmation(api: Any, runtime: Any
                                                                  ) -> None:
    billing = await billing_setup(api)
    await customer_with_contacts(api, billing)
    for flt in (None, {}, {"search": "  "}, {"and": [{}], "name": {}}):
        result = (await api.data(CREATE, {"input": {
            "companyId": billing.company, **OUTAGE,
            **({} if flt is None else {"filter": flt})}}, billing.token))["createMassMessage"]
        assert result["massMessage"] is None
        assert [(e["field"], e["code"]) for e in result["errors"]] == [
            ("confirmAllAccounts", "REQUIRED")]
    assert await _count(runtime) == 0
    assert await outbox(runtime) == []

    everyone = await ok(api, billing.token, "createMassMessage", {
        "companyId": billing.company, **OUTAGE, "confirmAllAccounts": True})
    await runtime.jobs.drain()
    done = (await api.data(MASS_MESSAGE, {"id": everyone["id"]}, billing.token))["node"]
    assert (done["status"], done["total"], done["processed"], done["queued"]) == (
        "DONE", 1, 1, 2)  # the primary and the financial contact


async def test_the_accounts_filter_picks_the_accounts_and_opt_outs_are_skipped(
        api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    north = [await customer_with_contacts(api, billing, name=f"North {i}") for i in range(3)]
    await customer_with_contacts(api, billing, name="South 1")
    suspended = await customer_with_contacts(api, billing, name="North Suspended")
    await ok_accounts(api, billing.token, "changeAccountStatus", {
        "accountId": suspended.account, "accountStatusId": billing.setup.suspended,
        "reason": "Moved"})
    outages = await ok(api, billing.token, "createMessageCategory", {
        "companyId": billing.company, "name": "Outages"})
    await ok(api, billing.token, "updateContactNotificationPreferences", {
        "contactId": north[0].primary, "optedOutCategoryIds": [outages["id"]]})

    made = await ok(api, billing.token, "createMassMessage", {
        "companyId": billing.company, **OUTAGE, "recipients": "PRIMARY",
        "categoryId": outages["id"],
        "filter": {"name": {"startsWith": "north"},
                   "accountStatusId": {"ne": billing.setup.suspended}}})
    assert (made["status"], made["total"], made["filter"]["name"]) == (
        "PENDING", 3, {"startsWith": "north"})
    await runtime.jobs.drain()

    done = (await api.data(MASS_MESSAGE, {"id": made["id"]}, billing.token))["node"]
    assert (done["status"], done["processed"], done["queued"], done["skipped"]) == (
        "DONE", 3, 2, 1)
    messages = await outbox(runtime)
    assert sorted(m.recipient for m in messages) == ["north.1@example.com",
                                                     "north.2@example.com"]
    assert {m.subject for m in messages} == {"Planned work for North 1",
                                             "Planned work for North 2"}
    assert {(m.origin, m.category_id) for m in messages} == {
        ("mass_message", pk_of(outages["id"]))}


async def test_batches_record_progress_resume_and_stop_when_cancelled(
        api: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    billing = await billing_setup(api)
    for i in range(5):
        await customer_with_contacts(api, billing, name=f"Customer {i}")
    saved = await ok(api, billing.token, "createSavedMessage", {
        "companyId": billing.company, "name": "Outage", "channel": "SMS",
        "bodyText": "{{ account.name }}: service is back."})
    monkeypatch.setattr(mass, "BATCH_SIZE", 2)
    monkeypatch.setitem(runtime.jobs.__dict__, "enqueue", _hold(runtime.jobs.enqueue))

    made = await ok(api, billing.token, "createMassMessage", {
        "companyId": billing.company, "savedMessageId": saved["id"],
        "confirmAllAccounts": True, "recipients": "PRIMARY"})
    assert (made["channel"], made["savedMessage"], made["total"]) == (
        "SMS", {"id": saved["id"]}, 5)
    pk = pk_of(made["id"])

    def open_uow() -> Any:
        return runtime.unit_of_work(SYSTEM, action="test")

    async with open_uow() as uow:
        assert await mass.send_batch(uow, pk) is True
    async with open_uow() as uow:  # a batch re-run after a crash: nothing queued twice
        row = await uow.session.get_one(MassMessageRow, pk)
        row.last_account_id = 0
        row.processed = 0
    async with open_uow() as uow:
        assert await mass.send_batch(uow, pk) is True
    view = (await api.data(MASS_MESSAGE, {"id": made["id"]}, billing.token))["node"]
    assert (view["status"], view["processed"], view["queued"]) == ("RUNNING", 2, 2)
    assert [m.body_text for m in await outbox(runtime)] == ["Customer 0: service is back.",
                                                            "Customer 1: service is back."]

    cancelled = await ok(api, billing.token, "cancelMassMessage", {"id": made["id"]})
    assert cancelled["status"] == "CANCELLED"
    await mass.send_all(open_uow, pk)
    assert len(await outbox(runtime)) == 2
    errors = (await api.data("""mutation($id: ID!) { cancelMassMessage(input: {id: $id})
      { errors { field code } } }""", {"id": made["id"]}, billing.token))
    assert errors["cancelMassMessage"]["errors"] == [{"field": "id", "code": "INVALID"}]


def _hold(enqueue: Any) -> Any:
    """Jobs other than the mass message's run as usual; the test drives the batches."""
    async def held(name: str, **kwargs: Any) -> None:
        if name != mass.SEND_JOB:
            await enqueue(name, **kwargs)

    return held
