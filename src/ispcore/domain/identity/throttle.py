"""Sign-in throttling without a lockout: failed sign-ins are counted per login and client
address. Past ``ISPCORE_LOGIN_FREE_FAILURES`` each further failure makes the next try with
that login from that address wait, 2 s doubling up to ``ISPCORE_LOGIN_BACKOFF_MAX_SECONDS``;
a try during the wait is refused unchecked. Another address (the real user's) never waits,
so nobody can lock a known login out, and a login that does not exist is counted exactly as
one that does, so the answers tell nothing about which exist.

The counts are rows (``sign_in_failures``) written in the sign-in's own transaction: every
API replica sees them. A success clears its row; a row with no failure for a day starts
over, and housekeeping deletes it."""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import case, delete, select, update

from ispcore.db import bulk_upsert
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.identity.models import SignInFailure

FIRST_WAIT = timedelta(seconds=2)
#: Failures older than this are forgotten.
FORGET_AFTER = timedelta(days=1)
#: The doubling stops growing here (2 s x 2**30 is decades: any cap is below it).
_MAX_DOUBLINGS = 30


class LoginKind(StrEnum):
    STAFF = "staff"
    PORTAL = "portal"


def address_key(ip: str | None) -> str:
    """The client as throttling counts it: an IPv4 address (IPv4-mapped IPv6 unwrapped), or
    the /64 of an IPv6 address (one subscriber's network: a host there picks any address)."""
    if ip is None:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:45]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def wait_after(failures: int, free: int, longest: timedelta) -> timedelta:
    """How long the next try waits after ``failures`` counted failures."""
    if failures < free:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** min(failures - free, _MAX_DOUBLINGS), longest)


@dataclass(frozen=True)
class SignIn:
    """One try: a login (canonical, as typed) of a kind, from a client address."""

    kind: LoginKind
    login: str
    ip: str | None

    @property
    def login_key(self) -> str:
        return hashlib.sha256(f"{self.kind.value}:{self.login}".encode()).hexdigest()

    @property
    def address(self) -> str:
        return address_key(self.ip)

    def where(self) -> tuple[object, object]:
        return (SignInFailure.login_key == self.login_key,
                SignInFailure.address == self.address)


async def refuse_if_waiting(uow: UnitOfWork, attempt: SignIn) -> None:
    """Raise ``TOO_MANY_ATTEMPTS`` while this login from this address must wait."""
    retry_at = await uow.session.scalar(select(SignInFailure.retry_at).where(*attempt.where()))
    now = uow.clock.now()
    if retry_at is not None and retry_at > now:
        seconds = math.ceil((retry_at - now).total_seconds())
        raise DomainError(f"Too many failed sign-ins with this login from your address; try "
                          f"again in {seconds} s.", code=ErrorCode.TOO_MANY_ATTEMPTS)


async def count_failure(uow: UnitOfWork, attempt: SignIn) -> None:
    """Count a failed try (atomically: parallel guesses each count) and set the wait."""
    now, settings = uow.clock.now(), uow.settings
    table = SignInFailure.__table__
    [(pk, failures)] = await bulk_upsert(
        uow.session, table, [{"login_key": attempt.login_key, "address": attempt.address,
                              "failures": 1, "last_failed_at": now, "retry_at": None}],
        ("login_key", "address"), returning=("id", "failures"),
        update=lambda excluded: {
            "failures": case((table.c.last_failed_at < now - FORGET_AFTER, 1),
                             else_=table.c.failures + 1),
            "last_failed_at": excluded.last_failed_at})
    wait = wait_after(failures, settings.login_free_failures,
                      timedelta(seconds=settings.login_backoff_max_seconds))
    await uow.session.execute(update(SignInFailure).where(SignInFailure.id == pk)
                              .values(retry_at=now + wait if wait else None))


async def clear(uow: UnitOfWork, attempt: SignIn) -> None:
    """A success: this login from this address starts over."""
    await uow.session.execute(delete(SignInFailure).where(*attempt.where()))


async def prune(uow: UnitOfWork) -> int:
    """Delete the counts nobody added to for ``FORGET_AFTER`` (housekeeping); how many."""
    result = await uow.session.execute(delete(SignInFailure).where(
        SignInFailure.last_failed_at < uow.clock.now() - FORGET_AFTER))
    return result.rowcount or 0
