"""Logging in and out, and turning a bearer token into an :class:`Actor`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.identity import throttle
from ispcore.domain.identity.actor import Actor
from ispcore.domain.identity.models import PersonalAccessToken, Role, User, UserSession
from ispcore.domain.identity.secrets import (
    TokenKind,
    mint_token,
    token_hash,
    token_kind,
    verify_password,
)
from ispcore.domain.identity.users import role_permissions
from ispcore.domain.identity.validation import address_allowed, canonical_email
from ispcore.domain.monitoring.models import Poller

#: How stale a token's last-used record may get before a request refreshes it.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class AuthenticationError(Exception):
    """The bearer token was refused; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """An authenticated actor and the user record the check already loaded."""

    actor: Actor
    user: User | None


@dataclass(frozen=True)
class LoginResult:
    token: str
    session: UserSession
    user: User


async def login(uow: UnitOfWork, *, email: str, password: str, ip: str | None) -> LoginResult:
    """Check the password and open a session.

    An unknown email and a wrong password answer alike (``INVALID_CREDENTIALS``, one
    message) after the same work: one argon2 check (against a dummy hash for an unknown
    email) and one failure counted for the email and the client address; while that pair
    must wait (:mod:`throttle`), tries are refused unchecked. The failure count is the one
    write a refused login makes; the caller commits it (see the ``login`` resolver).

    The slow password check runs with no database connection held: a burst of parallel
    guesses does not tie up the pool.
    """
    attempt = throttle.SignIn(throttle.LoginKind.STAFF, canonical_email(email), ip)
    await throttle.refuse_if_waiting(uow, attempt)
    found = (await uow.session.execute(select(User.id, User.password_hash)
                                       .where(User.email == attempt.login))).first()
    await uow.session.rollback()  # nothing written yet; hand the connection back meanwhile
    if not await verify_password(found.password_hash if found else None, password):
        await throttle.count_failure(uow, attempt)
        raise _wrong_credentials()
    user = await uow.session.get(User, found.id)
    if user is None:  # deleted meanwhile
        raise _wrong_credentials()
    if not user.active:
        raise DomainError("This user is deactivated.", code=ErrorCode.INVALID_CREDENTIALS)
    if not address_allowed(user.ip_allowlist, ip):
        raise DomainError("Logins from this address are not allowed for this user.",
                          code=ErrorCode.FORBIDDEN)
    uow.actor = Actor(user_id=user.id, ip=ip)  # the audit log records who signed in
    await throttle.clear(uow, attempt)
    user.last_login_at = now = uow.clock.now()
    token = mint_token(TokenKind.SESSION)
    session = UserSession(user_id=user.id, token_hash=token_hash(token), created_at=now,
                          expires_at=now + timedelta(hours=uow.settings.session_ttl_hours),
                          ip=ip)
    uow.session.add(session)
    await uow.session.flush()
    return LoginResult(token, session, user)


def _wrong_credentials() -> DomainError:
    return DomainError("Wrong email or password.", code=ErrorCode.INVALID_CREDENTIALS)


async def logout(uow: UnitOfWork) -> bool:
    """End the actor's login session; a token-authenticated actor has none to end."""
    if uow.actor.session_id is None:
        return False
    session = await uow.session.get(UserSession, uow.actor.session_id)
    if session is not None and session.revoked_at is None:
        session.revoked_at = uow.clock.now()  # through the ORM, so the audit log sees it
        await uow.session.flush()
    return True



async def authenticate(session: AsyncSession, token: str, *, ip: str | None,
                       now: datetime) -> Principal:
    """Resolve a bearer token to its actor, or raise :class:`AuthenticationError`."""
    kind = token_kind(token)
    if kind is None:
        raise AuthenticationError("INVALID_TOKEN", "The token is malformed or unknown.")
    if kind is TokenKind.POLLER:
        return Principal(await poller_actor(session, token, ip), None)
    model = UserSession if kind is TokenKind.SESSION else PersonalAccessToken
    row = await session.execute(
        select(model, User, Role)
        .join(User, User.id == model.user_id)
        .join(Role, Role.id == User.role_id)
        .where(model.token_hash == token_hash(token))
    )
    found = row.first()
    if found is None:
        raise AuthenticationError("INVALID_TOKEN", "The token is malformed or unknown.")
    credential, user, role = found
    _check_credential(credential, user, ip, now)
    permissions = _permissions(credential, role)
    if kind is TokenKind.PERSONAL_ACCESS:
        await _touch_token(session, credential, ip, now)  # the caller commits it
        actor = Actor(user_id=user.id, token_id=credential.id, permissions=permissions, ip=ip)
    else:
        actor = Actor(user_id=user.id, session_id=credential.id, permissions=permissions, ip=ip)
    return Principal(actor, user)


async def poller_actor(session: AsyncSession, token: str | None, ip: str | None, *,
                       poller_id: int | None = None) -> Actor:
    """The actor of a poller token (by the token, or by the poller's id for a connection that
    authenticated earlier): it may only fetch its workload and submit results."""
    where = (Poller.token_hash == token_hash(token) if token is not None
             else Poller.id == poller_id)
    found = (await session.execute(
        select(Poller.id, Poller.company_id, Poller.active).where(where))).first()
    if found is None:
        raise AuthenticationError("INVALID_TOKEN", "The token is malformed or unknown.")
    if not found.active:
        raise AuthenticationError("TOKEN_REVOKED", "This poller is deactivated.")
    return Actor(poller_id=found.id, company_id=found.company_id,
                 permissions=frozenset({"monitoring:poll"}), ip=ip)


def _check_credential(credential: UserSession | PersonalAccessToken, user: User,
                      ip: str | None, now: datetime) -> None:
    if credential.revoked_at is not None:
        raise AuthenticationError("TOKEN_REVOKED", "The token has been revoked.")
    if credential.expires_at is not None and credential.expires_at <= now:
        raise AuthenticationError("TOKEN_EXPIRED", "The token has expired.")
    if not user.active:
        raise AuthenticationError("USER_INACTIVE", "The token's user is deactivated.")
    if not address_allowed(user.ip_allowlist, ip):
        raise AuthenticationError(
            "ADDRESS_NOT_ALLOWED", f"Requests from {ip} are not allowed for this user."
        )


def _permissions(credential: UserSession | PersonalAccessToken, role: Role) -> frozenset[str]:
    """The role's permissions, narrowed by a token's scopes."""
    permissions = role_permissions(role)
    scopes = getattr(credential, "scopes", None)
    return permissions & frozenset(scopes) if scopes is not None else permissions


async def current_permissions(session: AsyncSession, actor: Actor, now: datetime
                              ) -> frozenset[str]:
    """The actor's permissions as they stand now, for long-lived connections that
    authenticated once; raises :class:`AuthenticationError` if its credential no longer
    holds (revoked, expired, user deactivated)."""
    if actor.poller_id is not None:
        await poller_actor(session, None, actor.ip, poller_id=actor.poller_id)
        return actor.permissions
    if actor.is_system or actor.user_id is None:
        return actor.permissions
    model = UserSession if actor.session_id is not None else PersonalAccessToken
    credential_id = actor.session_id if actor.session_id is not None else actor.token_id
    found = (await session.execute(
        select(model, User, Role)
        .join(User, User.id == model.user_id).join(Role, Role.id == User.role_id)
        .where(model.id == credential_id)
    )).first()
    if found is None:
        raise AuthenticationError("TOKEN_REVOKED", "The token has been revoked.")
    credential, user, role = found
    _check_credential(credential, user, actor.ip, now)
    return _permissions(credential, role)


async def _touch_token(session: AsyncSession, token: PersonalAccessToken, ip: str | None,
                       now: datetime) -> None:
    stale = token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION
    if stale or token.last_used_ip != ip:
        await session.execute(
            update(PersonalAccessToken)
            .where(PersonalAccessToken.id == token.id)
            .values(last_used_at=now, last_used_ip=ip)
        )
