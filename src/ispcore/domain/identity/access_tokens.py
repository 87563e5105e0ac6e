"""Personal access tokens: the secret is shown once; a hash is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from ispcore.domain.common.errors import ErrorCode, Forbidden, NotFound, Validator
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.identity.actor import Actor
from ispcore.domain.identity.models import PersonalAccessToken, Role, User
from ispcore.domain.identity.permissions import PERMISSIONS
from ispcore.domain.identity.secrets import TokenKind, mint_token, token_hash
from ispcore.domain.identity.users import role_permissions
from ispcore.domain.identity.validation import check_permissions

DISPLAY_PREFIX_LENGTH = 12


@dataclass(frozen=True)
class CreatedToken:
    secret: str
    token: PersonalAccessToken


async def create_token(uow: UnitOfWork, *, name: str, scopes: list[str] | None,
                       expires_at: datetime | None, user_id: int | None = None) -> CreatedToken:
    """Mint a token for ``user_id`` (default: the actor).

    Scopes narrow the user's permissions; an actor cannot hand out a scope it lacks itself.
    """
    actor, now = uow.actor, uow.clock.now()
    owner = user_id if user_id is not None else actor.user_id
    if owner is None:
        raise Forbidden("Only a user can own a personal access token.")
    v = Validator()
    if not name.strip():
        v.add("name", "A token needs a name.", ErrorCode.REQUIRED)
    if scopes is None and not actor.is_system:
        # "All of the user's permissions" only if the actor holds them all itself: a scoped
        # token minting a token passes on no more than its own scopes.
        user = await uow.session.get_one(User, owner)
        full = role_permissions(await uow.session.get_one(Role, user.role_id))
        if not full <= actor.permissions:
            scopes = sorted(actor.permissions)
    if scopes is not None:
        scopes = check_permissions(v, scopes, "scopes")
        beyond = [s for s in scopes if s in PERMISSIONS and not actor.can(s)]
        if beyond:
            v.add("scopes", f"You cannot grant what you lack: {', '.join(beyond)}.",
                  ErrorCode.FORBIDDEN)
    if expires_at is not None and expires_at <= now:
        v.add("expires_at", "The expiry must be in the future.")
    v.fit_columns(PersonalAccessToken, {"name": name.strip()})
    v.raise_if_any()
    secret = mint_token(TokenKind.PERSONAL_ACCESS)
    token = PersonalAccessToken(
        user_id=owner, name=name.strip(), token_hash=token_hash(secret),
        display_prefix=secret[:DISPLAY_PREFIX_LENGTH], scopes=scopes, created_at=now,
        expires_at=expires_at,
    )
    uow.session.add(token)
    await uow.session.flush()
    return CreatedToken(secret, token)


def visible_tokens(actor: Actor) -> Select[tuple[PersonalAccessToken]]:
    """The tokens an actor may see: a user sees only their own."""
    return select(PersonalAccessToken).where(PersonalAccessToken.user_id == actor.user_id)


async def revoke_token(uow: UnitOfWork, token_id: int) -> PersonalAccessToken:
    token = await uow.session.get(PersonalAccessToken, token_id)
    if token is None or token.user_id != uow.actor.user_id:
        raise NotFound("No such token.", field="id")
    if token.revoked_at is None:
        token.revoked_at = uow.clock.now()
        await uow.session.flush()
    return token
