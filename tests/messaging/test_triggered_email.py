"""Triggered email end to end: a billing run issues an invoice, the trigger renders its
template for the financial contact, and the email with the invoice's PDF reaches a real SMTP
server on loopback (aiosmtpd), which the test reads back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.billing.factories import account_view, add, billing_setup, run_billing
from tests.messaging.content_support import customer_with_contacts, invoice_trigger
from tests.messaging.test_transport_smtp import configure
from tests.messaging.transport_support import sent_log, smtp_server

pytestmark = pytest.mark.usefixtures("private_targets_allowed")  # SMTP on loopback


async def test_an_issued_invoice_reaches_the_customers_mailbox_with_its_pdf(
        api: Any, runtime: Any, vault_key: str) -> None:
    billing = await billing_setup(api)
    jane = await customer_with_contacts(api, billing, name="Jane Doe")
    await add(api, billing, jane.account, billing.fibre)
    await invoice_trigger(api, billing.token, billing.company)
    with smtp_server() as (inbox, port):
        await configure(api, billing.token, billing.company, port)
        await run_billing(api, runtime, billing)  # drains: the handler, then messaging.send
        await runtime.jobs.drain()

    [invoice] = (await account_view(api, billing, jane.account))["invoices"]
    [received] = inbox.messages
    assert received["To"] == "billing.jane.doe@example.com"
    assert received["Subject"] == f"Invoice {invoice['number']} for Jane Doe"
    text = received.get_body(("plain",)).get_content()
    assert f"invoice {invoice['number']} of $63.75 is due on 2026-11-16" in text
    html = received.get_body(("html",)).get_content()
    assert "you owe $63.75" in html
    [pdf] = list(received.iter_attachments())
    assert pdf.get_filename() == f"invoice-{invoice['number']}.pdf"
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")
    [logged] = await sent_log(api, billing.token)
    assert (logged["status"], logged["origin"]) == ("SENT", "trigger")
    assert logged["providerId"] == received["Message-ID"]
