"""CoA and Disconnect actions (RFC 5176): when a credential's answer changes while it has live
sessions, each session's NAS is told, once the change has committed. Every action and what
came of it is kept (``radius_actions``) and shown on the account."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from ispcore.db import among
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.network.compile import Change
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
    if after in ("ACTIVE", "OVER_CAP"):
        if before == "DELINQUENT":
            return "DELINQUENCY_CLEARED"
        if before in ("ACTIVE", "OVER_CAP"):  # over the usage cap, or a new allowance
            return "USAGE_CAP" if after == "OVER_CAP" else "USAGE_CAP_RESET"
        return "RESTORED"
    return after if access == "ACCEPT" or after != "NO_SERVICE" else "SERVICE_ENDED"


def _session_items(username: str, session_id: str, framed_ip: str | None
                   ) -> list[list[str]]:
    items = [["User-Name", username], ["Acct-Session-Id", session_id]]
    if framed_ip:
        items.append(["Framed-IP-Address", framed_ip.split("/")[0]])
    return items


@dataclass(frozen=True)
class OpenSession:
    nas_id: int
    #: The built-in server's row (None: a FreeRADIUS ``radacct`` session).
    session_id: int | None
    #: The name the session was opened with (the credential may have been renamed since).
    username: str
    acct_session_id: str
    framed_ip: str | None


def _chunks(values: list[Any], size: int = 1000) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


async def _open_sessions(uow: UnitOfWork, credentials: list[RadiusCredential]
                         ) -> dict[int, list[OpenSession]]:
    """Per credential, the sessions the built-in server or FreeRADIUS has open."""
    s = uow.session
    out: dict[int, list[OpenSession]] = {c.id: [] for c in credentials}
    for row in await s.scalars(select(RadiusSession).where(
            among(s, RadiusSession.credential_id, list(out)),
            RadiusSession.stopped_at.is_(None))):
        assert row.credential_id is not None
        out[row.credential_id].append(OpenSession(row.nas_id, row.id, row.username,
                                                  row.acct_session_id, row.framed_ip_address))
    by_name = {c.username: c.id for c in credentials}
    nas_by_address = {n.address: n.id for n in await s.scalars(select(NasClient).where(
        NasClient.company_id.in_({c.company_id for c in credentials})))}
    for names in _chunks(sorted(by_name)):
        for row in (await s.execute(select(
                FreeradiusAccounting.username, FreeradiusAccounting.nasipaddress,
                FreeradiusAccounting.acctsessionid, FreeradiusAccounting.framedipaddress).where(
                FreeradiusAccounting.username.in_(names),
                FreeradiusAccounting.acctstoptime.is_(None)))).all():
            nas_id = nas_by_address.get(str(row[1]).split("/")[0])
            if nas_id is not None:
                out[by_name[row[0]]].append(OpenSession(
                    nas_id, None, row[0], row[2], None if row[3] is None else str(row[3])))
    return out


async def queue_actions(uow: UnitOfWork, changes: list[Change],
                        group_items: dict[int, list[RadiusGroupAttribute]]) -> None:
    """One action per open session of each changed credential. Actions still waiting for
    the same session are superseded: only the newest answer is worth sending."""
    sessions = await _open_sessions(uow, [change.credential for change in changes])
    nas_ids = {session.nas_id for rows in sessions.values() for session in rows}
    if not nas_ids:
        return
    nas_modes = {n.id: n.coa_mode for n in await uow.session.scalars(
        select(NasClient).where(NasClient.id.in_(nas_ids)))}
    await uow.session.execute(
        update(RadiusAction).where(
            among(uow.session, RadiusAction.credential_id,
                  [change.credential.id for change in changes]),
            RadiusAction.status == "PENDING")
        .values(status="SUPERSEDED", completed_at=uow.clock.now()))
    now = uow.clock.now()
    for change in changes:
        credential, answer = change.credential, change.answer
        reason = reason_for(change.state_before, answer.state, answer.access)
        replies = merge(answer.replies, [(i.attribute, i.op, i.value) for i in group_items.get(
            answer.group_id or 0, []) if not i.templated])
        for session in sessions[credential.id]:
            kind = ("DISCONNECT" if answer.access == "REJECT" or change.reconnect
                    or nas_modes[session.nas_id] == "DISCONNECT" else "COA")
            items = _session_items(session.username, session.acct_session_id,
                                   session.framed_ip)
            if kind == "COA":
                items += [[attribute, value] for attribute, value in replies]
            uow.session.add(RadiusAction(
                company_id=credential.company_id, account_id=credential.account_id,
                nas_id=session.nas_id, session_id=session.session_id,
                acct_session_id=session.acct_session_id, credential_id=credential.id,
                kind=kind, reason=reason, attributes=items, status="PENDING", created_at=now))
    await uow.session.flush()
    uow.enqueue(SEND_JOB, job_id=f"{SEND_JOB}:{int(now.timestamp())}")


async def _claim(open_uow: Callable[[], UnitOfWork], limit: int) -> list[int]:
    """Take up to ``limit`` actions to send: waiting ones, and ones whose sender died.
    Each row is taken by one UPDATE that repeats the whole condition, so two senders never
    take the same action (the second finds it already claimed)."""
    async with open_uow() as uow:
        now = uow.clock.now()
        due = (RadiusAction.status == "PENDING") | (
            (RadiusAction.status == "SENDING") & (RadiusAction.claimed_at < now - STALE_AFTER))
        ids = list(await uow.session.scalars(
            select(RadiusAction.id).where(due).order_by(RadiusAction.id).limit(limit)))
        claimed = []
        for pk in ids:
            result = await uow.session.execute(
                update(RadiusAction).where(RadiusAction.id == pk, due)
                .values(status="SENDING", claimed_at=now, attempts=RadiusAction.attempts + 1))
            if result.rowcount:
                claimed.append(pk)
        return claimed


async def _superseded(open_uow: Callable[[], UnitOfWork], pk: int) -> bool:
    """A newer action for the same session exists (it carries the newer answer)."""
    async with open_uow() as uow:
        action = await uow.session.get_one(RadiusAction, pk)
        newer = await uow.session.scalar(select(RadiusAction.id).where(
            RadiusAction.nas_id == action.nas_id,
            RadiusAction.acct_session_id == action.acct_session_id,
            RadiusAction.credential_id == action.credential_id, RadiusAction.id > pk).limit(1))
        if newer is not None:
            action.status, action.completed_at = "SUPERSEDED", uow.clock.now()
        return newer is not None


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
            if await _superseded(open_uow, pk):
                continue
            try:
                address, port, secret, kind, items = await _target(open_uow, pk)
                async with open_uow() as uow:
                    timeout, retries = (uow.settings.coa_timeout_seconds,
                                        uow.settings.coa_retries)
                outcome = await send_change(address, port, secret, kind, items,
                                            timeout=timeout, retries=retries)
            except Exception as exc:  # one action's failure must not strand the others
                log.warning("CoA action %s not sent: %s", pk, exc)
                await _record(open_uow, pk, "ERROR", None, str(exc))
            else:
                await _record(open_uow, pk, outcome.status, outcome.error_cause,
                              outcome.message or "")
            sent += 1
        if len(ids) < limit:
            break
    return sent
