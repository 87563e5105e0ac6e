"""Emails leave through a real SMTP server on loopback (aiosmtpd): the ``messaging.send`` job
claims queued messages, sends them over one connection per company, and records SENT, a retry
or FAILED. The tests parse what the server received."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ispcore.domain.messaging import sending
from ispcore.domain.messaging.models import Channel, OutboundMessage
from ispcore.domain.messaging.outbox import Attachment, queue_message
from ispcore.domain.messaging.transport_models import EmailSettings
from ispcore.schema.nodes import encode_global_id
from ispcore.workers.registry import run_job
from tests.accounts.factories import company_setup, ok, refused
from tests.billing.test_documents import invoiced
from tests.conftest import free_port
from tests.messaging.transport_support import (
    SEND_JOB,
    pk_of,
    queue,
    self_signed,
    sent_log,
    smtp_server,
)
from tests.outbound_support import REFUSED_HOSTS

pytestmark = pytest.mark.usefixtures("private_targets_allowed")  # SMTP on loopback


async def configure(api: Any, token: str, company: str, port: int, **fields: Any
                    ) -> dict[str, Any]:
    return await ok(api, token, "updateEmailSettings", {
        "companyId": company, "smtpHost": "127.0.0.1", "smtpPort": port, "security": "NONE",
        "fromAddress": "billing@acme-fibre.example", "fromName": "Acme Fibre Billing",
        "replyTo": "support@acme-fibre.example", **fields})


async def test_an_invoice_email_arrives_with_both_parts_and_the_invoice_pdf(
        api: Any, runtime: Any, vault_key: str) -> None:
    billing, [invoice] = await invoiced(api, runtime)
    token, company = billing.token, billing.company
    with smtp_server() as (inbox, port):
        await configure(api, token, company, port)
        message_id = await queue(
            runtime, company, "invoice-1", to="Pat.Payer@example.net",
            subject=f"Invoice {invoice['number']}", body_text="Your invoice is attached.",
            body_html="<p>Your invoice is <b>attached</b>.</p>",
            account_id=pk_of(invoice["account"]["id"]),
            attachments=(Attachment(f"invoice-{invoice['number']}.pdf", "application/pdf",
                                    invoice_id=pk_of(invoice["id"])),))
        await runtime.jobs.drain()  # queue_message enqueued the send job after its commit

    [received] = inbox.messages
    assert inbox.envelopes == [("billing@acme-fibre.example", ["Pat.Payer@example.net"])]
    assert str(received["From"]) == "Acme Fibre Billing <billing@acme-fibre.example>"
    assert received["To"] == "Pat.Payer@example.net"
    assert received["Reply-To"] == "support@acme-fibre.example"
    assert received["Subject"] == f"Invoice {invoice['number']}"
    assert received["Date"].datetime == runtime.clock.now().replace(microsecond=0)
    assert received["Message-ID"].endswith("@acme-fibre.example>")
    assert received.get_content_type() == "multipart/mixed"
    body = received.get_body(preferencelist=("plain",))
    assert body.get_content().strip() == "Your invoice is attached."
    html = received.get_body(preferencelist=("html",))
    assert "<b>attached</b>" in html.get_content()
    [pdf] = list(received.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == f"invoice-{invoice['number']}.pdf"
    assert pdf.get_content().startswith(b"%PDF")

    [logged] = await sent_log(api, token)
    assert logged["id"] == encode_global_id("OutboundMessage", message_id)
    assert (logged["status"], logged["attempts"], logged["lastError"]) == ("SENT", 1, None)
    assert logged["providerId"] == received["Message-ID"]
    assert logged["account"] == {"id": invoice["account"]["id"]}
    account = (await api.data(
        """query($id: ID!) { node(id: $id) { ... on Account { outboundMessages { id status }
        } } }""", {"id": invoice["account"]["id"]}, token))["node"]
    assert account["outboundMessages"] == [{"id": logged["id"], "status": "SENT"}]


async def test_the_ssrf_guard_runs_again_when_connecting(
        api: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each address saved while private targets are allowed, then refused once they are not
    # (as a name that resolves elsewhere by then would be), though a server listens on
    # 127.0.0.1.
    setup = await company_setup(api)
    with smtp_server() as (inbox, port):
        for n, (host, reason) in enumerate(REFUSED_HOSTS):
            monkeypatch.setattr(runtime.settings, "webhooks_allow_private", True)
            await configure(api, setup.token, setup.company, port, smtpHost=host)
            monkeypatch.setattr(runtime.settings, "webhooks_allow_private", False)
            await queue(runtime, setup.company, f"guarded-{n}")
            await runtime.jobs.drain()
            [message] = await sent_log(api, setup.token, subject={"eq": f"Hello guarded-{n}"})
            assert (message["status"], message["attempts"]) == ("QUEUED", 1), host  # retried
            assert reason in message["lastError"], host
    assert inbox.messages == []


async def test_smtp_down_retries_with_backoff_then_fails_and_a_retry_delivers_once(
        api: Any, runtime: Any, clock: Any) -> None:
    setup = await company_setup(api)
    port = free_port()  # nothing listens there yet
    await configure(api, setup.token, setup.company, port)
    await queue(runtime, setup.company, "down-1")
    await runtime.jobs.drain()
    [message] = await sent_log(api, setup.token)
    assert (message["status"], message["attempts"]) == ("QUEUED", 1)
    assert f"Cannot connect to 127.0.0.1:{port}" in message["lastError"]

    for attempt, wait in enumerate(sending.BACKOFF, start=2):
        clock.advance(wait - timedelta(seconds=1))
        assert await run_job(runtime, SEND_JOB) == {}  # not due yet
        clock.advance(timedelta(seconds=1))
        counted = await run_job(runtime, SEND_JOB)
        [message] = await sent_log(api, setup.token)
        assert message["attempts"] == attempt
        if attempt < sending.MAX_ATTEMPTS:
            assert (counted, message["status"]) == ({"retrying": 1}, "QUEUED")
    assert (counted, message["status"]) == ({"failed": 1}, "FAILED")
    assert "Cannot connect" in message["lastError"]

    with smtp_server(port) as (inbox, _):
        retried = await ok(api, setup.token, "retryOutboundMessage", {"id": message["id"]})
        assert (retried["status"], retried["attempts"]) == ("QUEUED", 0)
        await runtime.jobs.drain()
        clock.advance(timedelta(hours=1))
        assert await run_job(runtime, SEND_JOB) == {}
    assert [m["Subject"] for m in inbox.messages] == ["Hello down-1"]
    [message] = await sent_log(api, setup.token)
    assert (message["status"], message["attempts"]) == ("SENT", 1)
    errors = await refused(api, setup.token, "retryOutboundMessage", {"id": message["id"]})
    assert errors[0]["field"] == "id" and "Only failed" in errors[0]["message"]


async def test_a_refused_recipient_fails_at_once_a_busy_one_is_retried_the_others_go(
        api: Any, runtime: Any, system_uow: Any) -> None:
    setup = await company_setup(api)
    with smtp_server() as (inbox, port):
        inbox.unknown.add("nobody@example.net")
        inbox.busy.add("busy@example.net")
        await configure(api, setup.token, setup.company, port)
        async with system_uow() as uow:  # one batch, so one connection for all three
            for key, to in (("a", "nobody@example.net"), ("b", "busy@example.net"),
                            ("c", "pat@example.net")):
                await queue_message(uow, company_id=pk_of(setup.company),
                                    channel=Channel.EMAIL, recipient=to, origin="manual",
                                    origin_key=key, subject=key)
        await runtime.jobs.drain()
    by_recipient = {m["recipient"]: m for m in await sent_log(api, setup.token)}
    bad, busy = by_recipient["nobody@example.net"], by_recipient["busy@example.net"]
    assert (bad["status"], bad["attempts"]) == ("FAILED", 1)
    assert "550 5.1.1 No such user here" in bad["lastError"]
    assert (busy["status"], busy["attempts"]) == ("QUEUED", 1)
    assert "451 4.3.0 Mailbox busy" in busy["lastError"]
    assert by_recipient["pat@example.net"]["status"] == "SENT"
    assert [envelope[1] for envelope in inbox.envelopes] == [["pat@example.net"]]


async def test_the_login_uses_the_unsealed_password(api: Any, runtime: Any, vault_key: str
                                                    ) -> None:
    setup = await company_setup(api)
    with smtp_server(login=("mailer", "s3cret pass")) as (inbox, port):
        settings = await configure(api, setup.token, setup.company, port, username="mailer",
                                   password="wrong")
        assert settings["hasPassword"] is True
        await queue(runtime, setup.company, "first")
        await runtime.jobs.drain()
        [message] = await sent_log(api, setup.token)
        assert message["status"] == "QUEUED" and "refused the login" in message["lastError"]

        await configure(api, setup.token, setup.company, port, password="s3cret pass")
        await queue(runtime, setup.company, "second")
        await runtime.jobs.drain()
    # aiosmtplib tries each offered mechanism (PLAIN, LOGIN) before giving up
    assert set(inbox.logins) == {("mailer", "wrong"), ("mailer", "s3cret pass")}
    assert inbox.logins[-1] == ("mailer", "s3cret pass")
    assert [m["Subject"] for m in inbox.messages] == ["Hello second"]
    async with runtime.db.session() as session:
        sealed = await session.scalar(select(EmailSettings.password_sealed))
    assert sealed and "s3cret" not in sealed


async def test_two_workers_at_once_send_each_message_once(api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    with smtp_server() as (inbox, port):
        await configure(api, setup.token, setup.company, port)
        for n in range(2 * sending.BATCH_SIZE + 5):
            await queue(runtime, setup.company, f"m{n}")
        first, second = await asyncio.gather(run_job(runtime, SEND_JOB),
                                             run_job(runtime, SEND_JOB))
        await runtime.jobs.drain()
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == len(set(ids)) == 2 * sending.BATCH_SIZE + 5
    assert first.get("sent", 0) + second.get("sent", 0) <= len(ids)
    async with runtime.db.session() as session:
        attempts = set(await session.scalars(select(OutboundMessage.attempts)))
    assert attempts == {1}


async def test_without_email_settings_messages_fail_with_the_reason(api: Any, runtime: Any
                                                                    ) -> None:
    setup = await company_setup(api)
    await queue(runtime, setup.company, "nowhere")
    await runtime.jobs.drain()
    [message] = await sent_log(api, setup.token, status={"eq": "FAILED"})
    assert message["lastError"] == "The company has no active email settings."
    assert message["attempts"] == 1


async def test_send_test_email_goes_through_the_settings(api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    errors = await refused(api, setup.token, "sendTestEmail",
                           {"companyId": setup.company, "to": "ops@example.net"})
    assert [(e["field"], e["code"]) for e in errors] == [("companyId", "REQUIRED")]
    with smtp_server() as (inbox, port):
        await configure(api, setup.token, setup.company, port)
        bad = await refused(api, setup.token, "sendTestEmail",
                            {"companyId": setup.company, "to": "not an address"})
        assert bad[0]["field"] == "to"
        queued = await ok(api, setup.token, "sendTestEmail",
                          {"companyId": setup.company, "to": "ops@example.net"})
        assert (queued["status"], queued["origin"]) == ("QUEUED", "test")
        await runtime.jobs.drain()
    [received] = inbox.messages
    assert received["To"] == "ops@example.net"
    assert received["Subject"] == "Test email from Acme Fibre"


async def test_messages_a_dead_worker_claimed_are_sent_when_its_lease_ends(
        api: Any, runtime: Any, clock: Any, system_uow: Any) -> None:
    """At least once: a worker that claimed messages and died (here: claimed, then nothing)
    holds them for ``LEASE``; then the next run sends them, and the dead worker's late
    outcome, were it to come, is not written over the newer attempt."""
    setup = await company_setup(api)
    with smtp_server() as (inbox, port):
        await configure(api, setup.token, setup.company, port)
        async with system_uow() as uow:
            message_id = (await queue_message(
                uow, company_id=pk_of(setup.company), channel=Channel.EMAIL,
                recipient="pat@example.net", origin="manual", origin_key="orphan",
                subject="Hello orphan")).id
            # the worker that dies claims it before anyone else can see it
            assert await sending.claim(uow) == [(message_id, 1)]
        await runtime.jobs.drain()
        assert inbox.messages == []  # leased to the dead worker
        clock.advance(sending.LEASE)
        assert await run_job(runtime, SEND_JOB) == {"sent": 1}
    assert [m["Subject"] for m in inbox.messages] == ["Hello orphan"]
    [message] = await sent_log(api, setup.token)
    assert (message["status"], message["attempts"]) == ("SENT", 2)
    async with system_uow() as uow:
        row = await uow.session.get(OutboundMessage, message_id)
    late = sending.Outcome(error="the dead worker's timeout", transient=True)
    assert await sending._record(system_uow, row, 1, late) == "superseded"
    [message] = await sent_log(api, setup.token)
    assert (message["status"], message["lastError"]) == ("SENT", None)


@pytest.mark.parametrize("security", ["STARTTLS", "TLS"])
async def test_tls_as_set_with_the_servers_certificate_checked(
        api: Any, runtime: Any, vault_key: str, tmp_path: Path, security: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's self-signed certificate is refused until it is trusted (here through
    SSL_CERT_FILE, as an operator would add a private CA); then the login and the email go
    over TLS."""
    setup = await company_setup(api)
    certificate = self_signed(tmp_path)
    with smtp_server(login=("mailer", "pw"), tls=security.lower(),
                     certificate=certificate) as (inbox, port):
        await configure(api, setup.token, setup.company, port, security=security,
                        username="mailer", password="pw")
        await queue(runtime, setup.company, "untrusted")
        await runtime.jobs.drain()
        [message] = await sent_log(api, setup.token)
        assert message["status"] == "QUEUED"
        assert "CERTIFICATE_VERIFY_FAILED" in message["lastError"]

        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
        runtime.clock.advance(sending.BACKOFF[0])
        assert await run_job(runtime, SEND_JOB) == {"sent": 1}
    assert inbox.logins == [("mailer", "pw")]
    assert inbox.encrypted == [True]
    assert [m["Subject"] for m in inbox.messages] == ["Hello untrusted"]
