"""Triggers on other events: an SMS on a payment to the primary contact's mobile number,
reminders days before an invoice is due (a job, once per invoice), and the checks that a
trigger's template suits its event and channel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ispcore.domain.messaging.models import Channel
from ispcore.workers import registry
from ispcore.workers.messaging_content import DUE_REMINDERS_JOB
from tests.billing.factories import add, at, billing_setup, ok, refused, run_billing
from tests.billing.payment_support import pay
from tests.messaging.content_support import (
    customer_with_contacts,
    outbox,
    send_job,  # noqa: F401  (fixture)
)
from tests.usage.support import GB, attach_policy, feed, usage_setup

pytestmark = pytest.mark.usefixtures("send_job")


async def _template(api: Any, billing: Any, event_type: str | None, **content: Any) -> str:
    return (await ok(api, billing.token, "createMessageTemplate", {
        "companyId": billing.company, "name": f"{event_type} {len(content)}",
        **({"eventType": event_type} if event_type else {}), **content}))["id"]


async def test_a_payment_is_confirmed_by_sms_to_the_primary_contacts_mobile(
        api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    jane = await customer_with_contacts(api, billing)
    template = await _template(
        api, billing, "PAYMENT_RECEIVED", subject="ignored for SMS",
        bodyText="Thanks {{ contact.name }}: {{ payment.amount }} by {{ payment.method }}. "
                 "{% if account.balance.value < 0 %}Credit: {{ account.balance }}{% endif %}")
    await ok(api, billing.token, "createMessageTrigger", {
        "companyId": billing.company, "eventType": "PAYMENT_RECEIVED", "templateId": template,
        "recipients": "PRIMARY", "channel": "SMS"})

    await ok(api, billing.token, "createPayment", pay(jane.account, "50"))
    await runtime.jobs.drain()

    [message] = await outbox(runtime)
    assert (message.channel, message.recipient, message.subject, message.body_html) == (
        Channel.SMS, "+13125550101", "", None)  # the mobile number, not the home one
    assert message.body_text == "Thanks Jane Doe: $50.00 by CHECK. Credit: -$50.00"


async def test_reminders_go_days_before_the_due_date_once_per_invoice(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    owing = await customer_with_contacts(api, billing, name="Owing")
    paid = await customer_with_contacts(api, billing, name="Paid Up")
    for who in (owing, paid):
        await add(api, billing, who.account, billing.fibre)
    template = await _template(
        api, billing, "INVOICE_DUE_SOON", subject="Due in {{ invoice.days_until_due }} days",
        bodyText="{{ invoice.remaining }} of {{ invoice.number }} is due {{ invoice.due_date }}.")
    assert await refused(api, billing.token, "createMessageTrigger", {
        "companyId": billing.company, "eventType": "INVOICE_DUE_SOON",
        "templateId": template}) == [("daysBefore", "REQUIRED")]
    await ok(api, billing.token, "createMessageTrigger", {
        "companyId": billing.company, "eventType": "INVOICE_DUE_SOON", "templateId": template,
        "daysBefore": 3})
    await run_billing(api, runtime, billing)  # invoices due 2026-11-16
    await ok(api, billing.token, "createPayment", pay(paid.account, "63.75"))

    assert await registry.run_job(runtime, DUE_REMINDERS_JOB) == 0  # 14 days ahead
    clock.set(at("2026-11-13"))
    assert await registry.run_job(runtime, DUE_REMINDERS_JOB) == 1
    clock.set(at("2026-11-14"))
    assert await registry.run_job(runtime, DUE_REMINDERS_JOB) == 0  # once per invoice

    [message] = await outbox(runtime)
    assert (message.recipient, message.subject) == ("billing.owing@example.com",
                                                    "Due in 3 days")
    assert message.body_text.startswith("$63.75 of INV-")
    assert message.body_text.endswith(" is due 2026-11-16.")


async def test_a_trigger_refuses_a_template_that_does_not_suit_its_event_or_channel(
        api: Any) -> None:
    billing = await billing_setup(api)
    for_payments = await _template(api, billing, "PAYMENT_FAILED",
                                   bodyText="{{ payment.reason }}")
    html_only = await _template(api, billing, None, subject="Hi",
                                bodyHtml="<p>{{ account.name }}</p>")

    def trigger(template: str, **more: Any) -> dict[str, Any]:
        return {"companyId": billing.company, "eventType": "INVOICE_ISSUED",
                "templateId": template, **more}

    assert await refused(api, billing.token, "createMessageTrigger",
                         trigger(for_payments)) == [("templateId", "INVALID")]
    assert await refused(api, billing.token, "createMessageTrigger",
                         trigger(html_only, channel="SMS")) == [("templateId", "INVALID")]
    assert await refused(api, billing.token, "createMessageTrigger",
                         trigger(html_only, daysBefore=2)) == [("daysBefore", "INVALID")]
    made = await ok(api, billing.token, "createMessageTrigger", trigger(html_only))
    assert (made["eventType"], made["channel"], made["recipients"], made["active"]) == (
        "INVOICE_ISSUED", "EMAIL", "FINANCIAL", True)
    # A template a trigger uses cannot be deleted, nor moved to another event type.
    assert await refused(api, billing.token, "deleteMessageTemplate",
                         {"id": html_only}) == [("id", "IN_USE")]
    assert await refused(api, billing.token, "updateMessageTemplate", {
        "id": html_only, "eventType": "PAYMENT_FAILED"}) == [("id", "IN_USE")]
    await ok(api, billing.token, "deleteMessageTrigger", {"id": made["id"]})
    await ok(api, billing.token, "deleteMessageTemplate", {"id": html_only})


async def test_usage_thresholds_and_added_services_are_told_with_their_values(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    billing = usage.billing
    await ok(api, billing.token, "createContact", {
        "accountId": usage.account, "name": "Sam", "emails": ["sam@example.com"]})
    await attach_policy(runtime, usage, cap_gb=10, notify_percents=[80])
    for event_type, body in (
            ("USAGE_THRESHOLD_REACHED", "{{ usage.percent }}%: {{ usage.used_gb }} of "
             "{{ usage.allowance_gb }} GB until {{ usage.period_end }}"),
            ("SERVICE_ADDED", "{{ service.quantity }} x {{ service.name }} from "
             "{{ service.start_date }}")):
        template = await _template(api, billing, event_type, subject=event_type,
                                   bodyText=body)
        await ok(api, billing.token, "createMessageTrigger", {
            "companyId": billing.company, "eventType": event_type, "templateId": template,
            "recipients": "PRIMARY"})

    start = at("2026-11-02", 14)
    await feed(runtime, usage, ("a", start, start + timedelta(minutes=5), 8 * GB, GB // 2))
    await add(api, billing, usage.account, billing.tv, quantity=2, startDate="2026-11-05")
    await runtime.jobs.drain()

    assert [(m.recipient, m.subject, m.body_text) for m in await outbox(runtime)] == [
        ("sam@example.com", "USAGE_THRESHOLD_REACHED",
         "80%: 8.5 of 10.0 GB until 2026-11-30"),
        ("sam@example.com", "SERVICE_ADDED", "2 x TV from 2026-11-05")]
