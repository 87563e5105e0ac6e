"""Mass messages: one message to every account a filter matched when it was created, queued by
a job in batches (one transaction each) that records its progress, and can be cancelled
between batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, insert, literal, select
from sqlalchemy.sql.elements import ColumnElement

from ispcore.domain.accounts.models import Account
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.records import check_owned, company_of, load, lock_row
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.messaging import templates
from ispcore.domain.messaging.content_models import (
    MassMessage,
    MassMessageAccount,
    MassMessageStatus,
    MessageCategory,
    Recipients,
    SavedMessage,
)
from ispcore.domain.messaging.models import Channel
from ispcore.domain.messaging.per_contact import Occasion, Send, send_to_accounts
from ispcore.domain.messaging.templates import Content

SEND_JOB = "messaging.send_mass_message"
#: Accounts rendered and queued per transaction.
BATCH_SIZE = 500
CONTENT = ("subject", "body_text", "body_html")


async def _content(uow: UnitOfWork, company_id: int, values: dict[str, Any]) -> None:
    """Fill what the caller left out from the saved message, then check the template."""
    v = Validator()
    await check_owned(uow, v, values, "saved_message_id", SavedMessage, what="saved message",
                      company_id=company_id)
    await check_owned(uow, v, values, "category_id", MessageCategory,
                      what="message category", company_id=company_id)
    v.raise_if_any()
    if values.get("saved_message_id") is not None:
        saved = await uow.session.get_one(SavedMessage, values["saved_message_id"])
        for key in (*CONTENT, "channel", "category_id"):
            if values.get(key) is None:
                values[key] = getattr(saved, key)
    if values.get("channel") is None:
        v.add("channel", "EMAIL or SMS (or a saved message's).", ErrorCode.REQUIRED)
    else:
        templates.check_content(v, values, None, sms=values["channel"] == Channel.SMS)
    if values.get("channel") == Channel.EMAIL and not (values.get("subject") or "").strip():
        v.add("subject", "An email needs a subject.", ErrorCode.REQUIRED)
    v.fit_columns(MassMessage, values)
    v.raise_if_any()


async def create_mass_message(uow: UnitOfWork, values: dict[str, Any],
                              accounts: ColumnElement[bool] | None) -> MassMessage:
    """Record the message and the accounts ``accounts`` (a condition on ``Account``; None:
    no filter) matches in the company now, and start the job. Every account of the company
    only with ``confirm_all_accounts``."""
    company = await company_of(uow, values.pop("company_id"))
    confirmed = values.pop("confirm_all_accounts", False)
    if accounts is None and not confirmed:
        raise DomainError("No filter: this would message every account. Set "
                          "confirmAllAccounts to do so, or give a filter.",
                          field="confirm_all_accounts", code=ErrorCode.REQUIRED)
    await _content(uow, company.id, values)
    now = uow.clock.now()
    row = MassMessage(company_id=company.id, **values, status=MassMessageStatus.PENDING,
                      total=0, processed=0, queued=0, skipped=0, last_account_id=0,
                      created_by_id=uow.actor.user_id, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    matched = select(literal(row.id), Account.id).where(Account.company_id == company.id)
    if accounts is not None:
        matched = matched.where(accounts)
    await uow.session.execute(insert(MassMessageAccount).from_select(
        ["mass_message_id", "account_id"], matched))
    row.total = await uow.session.scalar(select(func.count()).where(
        MassMessageAccount.mass_message_id == row.id)) or 0
    if row.total == 0:
        row.status, row.finished_at = MassMessageStatus.DONE, now
    else:
        uow.enqueue(SEND_JOB, job_id=f"{SEND_JOB}:{row.id}", mass_message_id=row.id)
    record_event(uow, "mass_message.created", company_id=company.id, entity=row,
                 payload={"channel": row.channel, "total": row.total})
    return row


async def cancel_mass_message(uow: UnitOfWork, pk: int) -> MassMessage:
    """Stop before the next batch; messages already queued are sent."""
    await load(uow, MassMessage, pk, field="id", what="mass message")
    row = await lock_row(uow, MassMessage, pk)
    assert row is not None
    if row.status not in (MassMessageStatus.PENDING, MassMessageStatus.RUNNING):
        raise DomainError(f"The mass message is {row.status.lower()} already.", field="id")
    row.status = MassMessageStatus.CANCELLED
    row.finished_at = row.updated_at = uow.clock.now()
    record_event(uow, "mass_message.cancelled", company_id=row.company_id, entity=row,
                 payload={"processed": row.processed, "total": row.total})
    return row


async def send_batch(uow: UnitOfWork, pk: int, batch_size: int | None = None) -> bool:
    """Queue the next batch of a mass message; False when nothing is left to do."""
    batch_size = batch_size or BATCH_SIZE
    row = await lock_row(uow, MassMessage, pk)
    if row is None or row.status in (MassMessageStatus.DONE, MassMessageStatus.CANCELLED):
        return False
    account_ids = list(await uow.session.scalars(
        select(MassMessageAccount.account_id).where(
            MassMessageAccount.mass_message_id == pk,
            MassMessageAccount.account_id > row.last_account_id)
        .order_by(MassMessageAccount.account_id).limit(batch_size)))
    now = uow.clock.now()
    row.status, row.updated_at = MassMessageStatus.RUNNING, now
    if account_ids:
        category = (await uow.session.get(MessageCategory, row.category_id)
                    if row.category_id else None)
        company = await company_of(uow, row.company_id)
        send = Send(content=Content(row.subject, row.body_text, row.body_html),
                    channel=Channel(row.channel), recipients=Recipients(row.recipients),
                    category=category, origin="mass_message")
        tally = await send_to_accounts(uow, company, send,
                                       [Occasion(pk, f"mass:{row.id}") for pk in account_ids])
        row.processed += len(account_ids)
        row.queued += tally.queued
        row.skipped += tally.skipped
        row.last_account_id = account_ids[-1]
    if len(account_ids) < batch_size:
        row.status, row.finished_at = MassMessageStatus.DONE, now
        record_event(uow, "mass_message.done", company_id=row.company_id, entity=row,
                     payload={"total": row.total, "queued": row.queued,
                              "skipped": row.skipped})
        return False
    return True


async def send_all(open_uow: Callable[[], UnitOfWork], pk: int,
                   batch_size: int | None = None) -> None:
    """The job: batches until done or cancelled. A job killed half-way is re-run from the
    last committed batch (each message's origin key is unique anyway)."""
    more = True
    while more:
        async with open_uow() as uow:
            more = await send_batch(uow, pk, batch_size)
