"""Sending the outbox: the ``messaging.send`` job's work.

A run claims due messages in batches. The claim is one UPDATE that adds an attempt and moves
``next_attempt_at`` a lease ahead (``LEASE``): the rows stay QUEUED but are not due, so a second
worker skips them (PostgreSQL: ``FOR UPDATE SKIP LOCKED`` in the claim; SQLite serialises
writers). After sending, each message's outcome is written only if its ``attempts`` is still
the claimed one: a worker whose lease ran out cannot overwrite a newer attempt.

Emails of one company in a batch go over one SMTP connection; texts through the company's SMS
provider. A transient failure retries after ``BACKOFF`` (1 min, 5 min, 30 min, 2 h, 6 h),
then the message is FAILED; a permanent one (5xx recipient refused, a bad number) is FAILED at
once. A company without active settings for the channel fails its messages at once with the
reason: the sent log shows it, and ``retryOutboundMessage`` sends them once configured.

Delivery is at least once: a worker that dies after the server accepted an email but before
the SENT status was committed leaves the message QUEUED with its lease; when the lease ends
it is sent again (with the same Message-ID, so mail clients can tell)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update

from ispcore.domain.billing.documents import render_invoices
from ispcore.domain.billing.models import Invoice
from ispcore.domain.common import vault
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.records import load
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.messaging.compose import File, compose, message_id
from ispcore.domain.messaging.models import (
    Channel,
    MessageAttachment,
    MessageStatus,
    OutboundMessage,
)
from ispcore.domain.messaging.outbox import SEND_JOB
from ispcore.domain.messaging.settings import PASSWORDS, TOKENS, email_settings, sms_settings
from ispcore.domain.messaging.sms import LogOnlySmsProvider, SmsFailed, SmsProvider
from ispcore.domain.messaging.transport_models import SmsProviderKind, SmtpSecurity
from ispcore.integrations.smtp import SmtpConnection, SmtpFailed, SmtpServer
from ispcore.integrations.twilio import DEFAULT_BASE_URL as TWILIO_BASE_URL
from ispcore.integrations.twilio import TwilioSmsProvider

log = logging.getLogger(__name__)

BATCH_SIZE = 50
#: A run stops after this many batches; the next run (a minute later) goes on.
MAX_BATCHES = 20
#: How long a claimed message is left to the worker that claimed it.
LEASE = timedelta(minutes=10)
#: The waits before the 2nd, 3rd, ... attempt; after the last the message is FAILED.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2), timedelta(hours=6))
MAX_ATTEMPTS = len(BACKOFF) + 1

OpenUow = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class Transport:
    """How the job reaches the outside: timeouts, the Twilio API's address, and whether the
    SSRF guard lets connections reach private addresses."""

    smtp_timeout: float = 30.0
    twilio_base_url: str = TWILIO_BASE_URL
    sms_timeout: float = 20.0
    allow_private: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of one attempt: sent (``provider_id``) or failed (``error``)."""

    provider_id: str | None = None
    error: str | None = None
    transient: bool = False


Claim = tuple[int, int]  # message id, its attempts after the claim


async def claim(uow: UnitOfWork, limit: int = BATCH_SIZE) -> list[Claim]:
    now = uow.clock.now()
    due = (select(OutboundMessage.id)
           .where(OutboundMessage.status == MessageStatus.QUEUED,
                  OutboundMessage.next_attempt_at <= now)
           .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id).limit(limit)
           .with_for_update(skip_locked=True))
    rows = await uow.session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.id.in_(due.scalar_subquery()),
               OutboundMessage.status == MessageStatus.QUEUED,
               OutboundMessage.next_attempt_at <= now)
        .values(attempts=OutboundMessage.attempts + 1, next_attempt_at=now + LEASE)
        .returning(OutboundMessage.id, OutboundMessage.attempts)
        .execution_options(synchronize_session=False))
    return sorted((row.id, row.attempts) for row in rows)


async def send_due(open_uow: OpenUow, transport: Transport) -> Counter[str]:
    """Send every due message (up to ``MAX_BATCHES`` batches); count the outcomes."""
    totals: Counter[str] = Counter()
    for _ in range(MAX_BATCHES):
        async with open_uow() as uow:
            claimed = await claim(uow)
        if not claimed:
            break
        await _send_batch(open_uow, transport, dict(claimed), totals)
        if len(claimed) < BATCH_SIZE:
            break
    return totals


async def _send_batch(open_uow: OpenUow, transport: Transport, attempts: dict[int, int],
                      totals: Counter[str]) -> None:
    async with open_uow() as uow:
        messages = list(await uow.session.scalars(
            select(OutboundMessage).where(OutboundMessage.id.in_(attempts))
            .order_by(OutboundMessage.id)))
        groups: dict[tuple[int, str], list[OutboundMessage]] = defaultdict(list)
        for message in messages:
            groups[(message.company_id, message.channel)].append(message)
        jobs = [await _prepare(uow, transport, company_id, channel, group)
                for (company_id, channel), group in groups.items()]
    for send in jobs:
        async for message, outcome in send():
            totals[await _record(open_uow, message, attempts[message.id], outcome)] += 1


Sent = tuple[OutboundMessage, Outcome]
#: A prepared group: sends when iterated, yielding each message's outcome as it is known.
Sender = Callable[[], AsyncIterator[Sent]]


def _failing(group: list[OutboundMessage], error: str) -> Sender:
    async def send() -> AsyncIterator[Sent]:
        for message in group:
            yield message, Outcome(error=error)

    return send


async def _prepare(uow: UnitOfWork, transport: Transport, company_id: int, channel: str,
                   group: list[OutboundMessage]) -> Sender:
    """Everything a group needs from the database, read now (the connection is released
    before anything is sent); the returned function sends."""
    if channel == Channel.SMS:
        return await _prepare_sms(uow, transport, company_id, group)
    return await _prepare_email(uow, transport, company_id, group)


async def _prepare_email(uow: UnitOfWork, transport: Transport, company_id: int,
                         group: list[OutboundMessage]) -> Sender:
    settings = await email_settings(uow, company_id)
    if settings is None or not settings.active:
        return _failing(group, "The company has no active email settings.")
    try:
        password = (vault.unseal(uow.settings.vault_key, settings.password_sealed,
                                 field="password", what=PASSWORDS)
                    if settings.password_sealed else None)
    except DomainError as exc:
        return _failing(group, exc.message)
    server = SmtpServer(settings.smtp_host, settings.smtp_port,
                        SmtpSecurity(settings.security), settings.username, password,
                        transport.smtp_timeout, transport.allow_private)
    now = uow.clock.now()
    attachments: dict[int, list[MessageAttachment]] = defaultdict(list)
    for attachment in await uow.session.scalars(
            select(MessageAttachment).where(MessageAttachment.message_id.in_(
                [message.id for message in group])).order_by(MessageAttachment.id)):
        attachments[attachment.message_id].append(attachment)
    ready: list[tuple[OutboundMessage, EmailMessage | Outcome]] = []
    for message in group:
        try:
            validate_email(message.recipient, check_deliverability=False)
            files = await _files(uow, message, attachments[message.id])
        except EmailNotValidError as exc:
            ready.append((message, Outcome(error=f"Not an email address: {exc}")))
            continue
        except DomainError as exc:
            ready.append((message, Outcome(error=exc.message)))
            continue
        except Exception as exc:  # the PDF renderer failed: this message fails, not the batch
            log.exception("message %s: its attachments could not be made", message.id)
            ready.append((message, Outcome(error=f"Its attachments could not be made: {exc}")))
            continue
        ready.append((message, compose(message, settings, files, now)))
    domain = settings.domain

    async def send() -> AsyncIterator[Sent]:
        broken: SmtpFailed | None = None
        to_send = [(m, e) for m, e in ready if isinstance(e, EmailMessage)]
        for message, email in ready:
            if isinstance(email, Outcome):
                yield message, email
        if not to_send:
            return
        try:
            async with SmtpConnection(server) as smtp:
                for message, email in to_send:
                    if broken is not None:
                        yield message, Outcome(error=broken.message, transient=True)
                        continue
                    try:
                        await smtp.send(email)
                    except SmtpFailed as exc:
                        if exc.broken:
                            broken = exc
                        yield message, Outcome(error=exc.message, transient=exc.transient)
                    else:
                        yield message, Outcome(provider_id=message_id(message, domain))
        except SmtpFailed as exc:  # could not connect: nothing was sent
            log.warning("smtp: company %s: %s", company_id, exc.message)
            for message, _ in to_send:
                yield message, Outcome(error=exc.message, transient=True)

    return send


async def _files(uow: UnitOfWork, message: OutboundMessage,
                 attachments: list[MessageAttachment]) -> list[File]:
    """The message's attachments as files; an invoice's PDF is rendered now, as the invoice
    is."""
    files = []
    for attachment in attachments:
        if attachment.invoice_id is None:
            files.append(File(attachment.filename, attachment.content_type,
                              attachment.content or b""))
            continue
        invoice = await uow.session.get(Invoice, attachment.invoice_id)
        if invoice is None or invoice.company_id != message.company_id:
            raise DomainError(f"The invoice of attachment {attachment.filename!r} is not "
                              "the company's.")
        company = await uow.session.get_one(Company, message.company_id)
        pdf, _pages = await render_invoices(uow.session, company, [invoice])
        files.append(File(attachment.filename, attachment.content_type, pdf))
    return files


def sms_provider(kind: str, account_sid: str | None, auth_token: str | None,
                 transport: Transport) -> SmsProvider:
    if kind == SmsProviderKind.TWILIO:
        return TwilioSmsProvider(account_sid or "", auth_token or "",
                                 allow_private=transport.allow_private,
                                 base_url=transport.twilio_base_url,
                                 timeout=transport.sms_timeout)
    return LogOnlySmsProvider()


async def _prepare_sms(uow: UnitOfWork, transport: Transport, company_id: int,
                       group: list[OutboundMessage]) -> Sender:
    settings = await sms_settings(uow, company_id)
    if settings is None or not settings.active:
        return _failing(group, "The company has no active SMS settings.")
    try:
        token = (vault.unseal(uow.settings.vault_key, settings.auth_token_sealed,
                              field="auth_token", what=TOKENS)
                 if settings.auth_token_sealed else None)
    except DomainError as exc:
        return _failing(group, exc.message)
    provider = sms_provider(settings.provider, settings.account_sid, token, transport)
    from_number = settings.from_number

    async def send() -> AsyncIterator[Sent]:
        for message in group:
            try:
                provider_id = await provider.send(to=message.recipient,
                                                  from_number=from_number,
                                                  body=message.body_text)
            except SmsFailed as exc:
                yield message, Outcome(error=exc.message, transient=exc.transient)
            else:
                yield message, Outcome(provider_id=provider_id)

    return send


async def _record(open_uow: OpenUow, message: OutboundMessage, attempts: int,
                  outcome: Outcome) -> str:
    """Write one attempt's outcome (in its own transaction, right after the attempt, so
    little is resent after a crash); return what it counts as. Nothing is written if the
    message was claimed again since (its lease ran out)."""
    async with open_uow() as uow:
        now = uow.clock.now()
        if outcome.error is None:
            values = {"status": MessageStatus.SENT, "sent_at": now, "next_attempt_at": None,
                      "provider_id": outcome.provider_id, "last_error": None}
            counted = "sent"
        elif outcome.transient and attempts < MAX_ATTEMPTS:
            values = {"next_attempt_at": now + BACKOFF[attempts - 1],
                      "last_error": outcome.error[:1000]}
            counted = "retrying"
        else:
            values = {"status": MessageStatus.FAILED, "next_attempt_at": None,
                      "last_error": outcome.error[:1000]}
            counted = "failed"
        written = await uow.session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message.id, OutboundMessage.attempts == attempts,
                   OutboundMessage.status == MessageStatus.QUEUED)
            .values(**values).execution_options(synchronize_session=False))
        if written.rowcount == 0:
            log.warning("message %s: attempt %s outcome (%s) not recorded: claimed again",
                        message.id, attempts, counted)
            return "superseded"
        if counted != "sent":
            log.info("message %s attempt %s: %s", message.id, attempts, outcome.error)
        return counted


async def retry_message(uow: UnitOfWork, message_id: int) -> OutboundMessage:
    """Queue a FAILED message again, now, with a fresh round of attempts."""
    message = await load(uow, OutboundMessage, message_id, field="id", what="message")
    if message.status != MessageStatus.FAILED:
        raise DomainError(f"Only failed messages can be retried; this one is "
                          f"{message.status}.", field="id")
    now = uow.clock.now()
    message.status = MessageStatus.QUEUED
    message.attempts = 0
    message.next_attempt_at = now
    await uow.session.flush()
    uow.enqueue(SEND_JOB, job_id=f"{SEND_JOB}:{int(now.timestamp())}")
    return message
