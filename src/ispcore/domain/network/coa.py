"""CoA and Disconnect actions (RFC 5176): when a credential's answer changes while it has live
sessions, each session's NAS is told, once the change has committed. Every action and what
came of it is kept (``radius_actions``) and shown on the account."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.network.models import (
    FreeradiusAccounting,
    NasClient,
    RadiusAction,
    RadiusCredential,
    RadiusGroupAttribute,
    RadiusSession,
)
from ispcore.domain.network.nas import secret_of
from ispcore.domain.network.replies import merge

log = logging.getLogger(__name__)

SEND_JOB = "network.send_radius_actions"
#: An action claimed by a sender that never finished (killed) is sent again after this.
STALE_AFTER = timedelta(minutes=5)


def reason_for(before: str, after: str, access: str) -> str:
    if after == "REMOVED":
        return "REMOVED"
    if after == before:
        return "ATTRIBUTES_CHANGED"
    if after == "ACTIVE":
        return "DELINQUENCY_CLEARED" if before == "DELINQUENT" else "RESTORED"
    return after if access == "ACCEPT" or after != "NO_SERVICE" else "SERVICE_ENDED"


def _session_items(username: str, session_id: str, framed_ip: str | None
                   ) -> list[list[str]]:
    items = [["User-Name", username], ["Acct-Session-Id", session_id]]
    if framed_ip:
        items.append(["Framed-IP-Address", framed_ip.split("/")[0]])
    return items


async def _open_sessions(uow: UnitOfWork, credentials: list[RadiusCredential]
                         ) -> dict[int, list[tuple[int, int | None, str, str | None]]]:
    """Per credential: (nas id, session row id or None, Acct-Session-Id, framed address) of
    sessions the built-in server or FreeRADIUS (``radacct``) has open."""
    s = uow.session
    by_id = {c.id: c for c in credentials}
    out: dict[int, list[tuple[int, int | None, str, str | None]]] = {pk: [] for pk in by_id}
    for row in await s.scalars(select(RadiusSession).where(
            RadiusSession.credential_id.in_(by_id), RadiusSession.stopped_at.is_(None))):
        assert row.credential_id is not None
        out[row.credential_id].append((row.nas_id, row.id, row.acct_session_id,
                                       row.framed_ip_address))
    by_name = {c.username: c.id for c in credentials}
    nas_by_address = {n.address: n.id for n in await s.scalars(select(NasClient))}
    for row in (await s.execute(select(
            FreeradiusAccounting.username, FreeradiusAccounting.nasipaddress,
            FreeradiusAccounting.acctsessionid, FreeradiusAccounting.framedipaddress).where(
            FreeradiusAccounting.username.in_(by_name),
            FreeradiusAccounting.acctstoptime.is_(None)))).all():
        nas_id = nas_by_address.get(str(row[1]).split("/")[0])
        if nas_id is not None:
            out[by_name[row[0]]].append((nas_id, None, row[2],
                                         None if row[3] is None else str(row[3])))
    return out


async def queue_actions(uow: UnitOfWork, changes: list[tuple[RadiusCredential, Any, str]],
                        group_items: dict[int, list[RadiusGroupAttribute]]) -> None:
    sessions = await _open_sessions(uow, [c for c, _, _ in changes])
    nas_modes = {n.id: n.coa_mode for n in await uow.session.scalars(select(NasClient).where(
        NasClient.id.in_({nas for rows in sessions.values() for nas, *_ in rows})))}
    now = uow.clock.now()
    queued = 0
    for credential, answer, before in changes:
        reason = reason_for(before, answer.state, answer.access)
        replies = merge(answer.replies, [(i.attribute, i.op, i.value) for i in group_items.get(
            answer.group_id or 0, []) if not i.templated])
        for nas_id, session_id, acct_session_id, framed_ip in sessions[credential.id]:
            kind = ("DISCONNECT" if answer.access == "REJECT" or nas_modes[nas_id] == "DISCONNECT"
                    else "COA")
            items = _session_items(credential.username, acct_session_id, framed_ip)
            if kind == "COA":
                items += [[attribute, value] for attribute, value in replies]
            uow.session.add(RadiusAction(
                company_id=credential.company_id, account_id=credential.account_id,
                nas_id=nas_id, session_id=session_id, credential_id=credential.id, kind=kind,
                reason=reason, attributes=items, status="PENDING", created_at=now))
            queued += 1
    if queued:
        await uow.session.flush()
        uow.enqueue(SEND_JOB, job_id=f"{SEND_JOB}:{int(now.timestamp())}")


async def _claim(open_uow: Callable[[], UnitOfWork], limit: int) -> list[int]:
    async with open_uow() as uow:
        stale = uow.clock.now() - STALE_AFTER
        ids = list(await uow.session.scalars(
            select(RadiusAction.id).where(
                (RadiusAction.status == "PENDING")
                | ((RadiusAction.status == "SENDING") & (RadiusAction.created_at < stale)))
            .order_by(RadiusAction.id).limit(limit)))
        claimed = []
        for pk in ids:
            result = await uow.session.execute(
                update(RadiusAction).where(RadiusAction.id == pk,
                                           RadiusAction.status.in_(("PENDING", "SENDING")))
                .values(status="SENDING", attempts=RadiusAction.attempts + 1))
            if result.rowcount:
                claimed.append(pk)
        return claimed


async def _target(open_uow: Callable[[], UnitOfWork], pk: int
                  ) -> tuple[str, int, str, str, list[tuple[str, str]]]:
    async with open_uow() as uow:
        action = await uow.session.get_one(RadiusAction, pk)
        nas = await uow.session.get_one(NasClient, action.nas_id)
        return (nas.address, nas.coa_port, secret_of(uow, nas), action.kind,
                [(a, v) for a, v in action.attributes])


async def _record(open_uow: Callable[[], UnitOfWork], pk: int, status: str,
                  error_cause: int | None, message: str) -> None:
    async with open_uow() as uow:
        action = await uow.session.get_one(RadiusAction, pk)
        action.status, action.error_cause = status, error_cause
        action.error = message[:500]
        action.completed_at = uow.clock.now()
        record_event(uow, f"radius_action.{status.lower()}", company_id=action.company_id,
                     entity=action, payload={"account_id": action.account_id,
                                             "kind": action.kind, "reason": action.reason,
                                             "error_cause": error_cause})


async def send_pending(open_uow: Callable[[], UnitOfWork], *, limit: int = 200) -> int:
    """Send claimed actions one by one, outside any transaction, and record each outcome
    (a NAS whose secret cannot be opened, or a socket error, is an ERROR)."""
    from ispcore.network.radius.coa import send_change

    sent = 0
    while ids := await _claim(open_uow, limit):
        for pk in ids:
            try:
                address, port, secret, kind, items = await _target(open_uow, pk)
                async with open_uow() as uow:
                    timeout, retries = (uow.settings.coa_timeout_seconds,
                                        uow.settings.coa_retries)
                outcome = await send_change(address, port, secret, kind, items,
                                            timeout=timeout, retries=retries)
            except (DomainError, OSError) as exc:
                log.warning("CoA action %s not sent: %s", pk, exc)
                await _record(open_uow, pk, "ERROR", None, str(exc))
            else:
                await _record(open_uow, pk, outcome.status, outcome.error_cause,
                              outcome.message or "")
            sent += 1
        if len(ids) < limit:
            break
    return sent
