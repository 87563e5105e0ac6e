"""Triggered messages end to end up to the outbox: a billing run issues an invoice, the event
handler renders the template with the account's and invoice's real values for the chosen
contacts, honours their preferences, references the PDF, and queues each message once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ispcore.domain.events.models import Event
from ispcore.domain.messaging import triggers
from ispcore.domain.messaging.models import Channel
from tests.billing.factories import (
    account_view,
    add,
    billing_setup,
    ok,
    run_billing,
)
from tests.messaging.content_support import (
    attachments,
    customer_with_contacts,
    invoice_trigger,
    outbox,
    send_job,  # noqa: F401  (fixture)
)
from tests.usage.support import pk_of

pytestmark = pytest.mark.usefixtures("send_job")


async def test_an_issued_invoice_is_emailed_to_the_financial_contact_with_its_pdf(
        api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    jane = await customer_with_contacts(api, billing, name="Jane <Doe>")
    await add(api, billing, jane.account, billing.fibre)
    trigger = await invoice_trigger(api, billing.token, billing.company)
    assert trigger["template"]["name"] == "Invoice issued"

    await run_billing(api, runtime, billing)

    [invoice] = (await account_view(api, billing, jane.account))["invoices"]
    [message] = await outbox(runtime)
    assert (message.channel, message.recipient, message.origin) == (
        Channel.EMAIL, "billing.jane.doe@example.com", "trigger")
    assert message.subject == f"Invoice {invoice['number']} for Jane <Doe>"
    assert message.body_text == (
        f"Hello Jane <Doe> (billing), invoice {invoice['number']} of $63.75 is due on "
        "2026-11-16.")
    # HTML bodies escape what the variables hold.
    assert message.body_html == ("<p>Hello Jane &lt;Doe&gt; (billing), you owe $63.75.</p>")
    [attachment] = await attachments(runtime)
    assert (attachment.message_id, attachment.content_type, attachment.filename,
            attachment.content) == (message.id, "application/pdf",
                                    f"invoice-{invoice['number']}.pdf", None)
    assert attachment.invoice_id is not None


async def test_handling_an_event_twice_queues_each_message_once(
        api: Any, runtime: Any, system_uow: Any) -> None:
    billing = await billing_setup(api)
    jane = await customer_with_contacts(api, billing)
    await add(api, billing, jane.account, billing.fibre)
    await invoice_trigger(api, billing.token, billing.company, recipients="ALL")
    await run_billing(api, runtime, billing)
    first = await outbox(runtime)
    assert sorted(m.recipient for m in first) == [
        "billing.jane.doe@example.com", "jane.doe@example.com"]  # each contact's first email

    async with system_uow() as uow:
        event = await uow.session.scalar(select(Event).where(Event.type == "invoice.issued"))
        await triggers.handle_events(uow, [event])
    assert [m.id for m in await outbox(runtime)] == [m.id for m in first]


async def test_opt_outs_are_honoured_except_for_categories_customers_cannot_leave(
        api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    token = billing.token
    opted = await customer_with_contacts(api, billing, name="Opted Out")
    other = await customer_with_contacts(api, billing, name="Still In")
    for who in (opted, other):
        await add(api, billing, who.account, billing.fibre)
    news = await ok(api, token, "createMessageCategory", {"companyId": billing.company,
                                                         "name": "News"})
    bills = await ok(api, token, "createMessageCategory", {
        "companyId": billing.company, "name": "Billing", "customersCanOptOut": False})
    prefs = await ok(api, token, "updateContactNotificationPreferences", {
        "contactId": opted.financial, "emailOptOut": True, "optedOutCategoryIds": [news["id"]]})
    assert prefs["notificationPreferences"] == {
        "emailOptOut": True, "smsOptOut": False, "optedOutCategories": [{"id": news["id"]}]}
    trigger = await invoice_trigger(api, token, billing.company, categoryId=news["id"])
    await ok(api, token, "createMessageTrigger", {
        "companyId": billing.company, "eventType": "INVOICE_ISSUED",
        "templateId": trigger["template"]["id"], "categoryId": bills["id"]})

    await run_billing(api, runtime, billing)

    def sent_in(category: dict[str, Any]) -> list[str]:
        return sorted(m.recipient for m in messages if m.category_id == pk_of(category["id"]))

    messages = await outbox(runtime)
    assert sent_in(news) == ["billing.still.in@example.com"]
    assert sent_in(bills) == ["billing.opted.out@example.com", "billing.still.in@example.com"]
    assert len(messages) == 3


async def test_the_trigger_handler_costs_the_same_statements_for_2_invoices_as_for_6(
        api: Any, runtime: Any, system_uow: Any) -> None:
    """A batch of issued invoices is handled with a fixed number of statements: the
    dispatcher's claim, the triggers, each kind of record the events name, the accounts'
    values and contacts, the messages queued."""
    from ispcore.domain.common.unit_of_work import UnitOfWork
    from ispcore.domain.events.models import EventHandlerRun
    from ispcore.domain.events.service import dispatch_pending
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.messaging.models import OutboundMessage
    from tests.support import count_statements

    class Held:
        """The jobs the batch enqueues (sending) are not run: their statements are not the
        handler's."""

        async def enqueue(self, name: str, **kwargs: Any) -> None:
            pass

    def open_uow() -> UnitOfWork:
        return UnitOfWork(runtime.db, settings=runtime.settings, actor=SYSTEM,
                          clock=runtime.clock, jobs=Held(), notifier=runtime.notifier)

    billing = await billing_setup(api)
    await invoice_trigger(api, billing.token, billing.company)
    names = iter(f"Customer {n}" for n in range(6))

    async def statements(count: int) -> tuple[int, int]:
        for _ in range(count):
            who = await customer_with_contacts(api, billing, name=next(names))
            await add(api, billing, who.account, billing.fibre)
        await run_billing(api, runtime, billing)
        async with system_uow() as uow:  # as if the batch had never been handled
            await uow.session.execute(EventHandlerRun.__table__.delete())
            await uow.session.execute(OutboundMessage.__table__.delete())
        with count_statements(runtime) as seen:
            await dispatch_pending(open_uow)
        return len(seen), len(await outbox(runtime))

    few, queued_few = await statements(2)
    many, queued_many = await statements(4)
    assert (queued_few, queued_many) == (2, 6)  # each billed account's financial contact
    assert few == many
