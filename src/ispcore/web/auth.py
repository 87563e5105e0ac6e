"""Bearer-token authentication shared by the GraphQL endpoint and the plain HTTP routes
(PDF downloads): the same tokens, sessions, rate limits and error shapes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import HTTPException, Request

from ispcore.domain.identity.actor import Actor
from ispcore.domain.identity.auth import AuthenticationError, Principal, authenticate

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ispcore"'}


def bearer(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer`` header; an empty one means anonymous."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return "\0invalid"
    return token.strip() or None


async def principal_for(runtime: Runtime, header: str | None, ip: str | None
                        ) -> Principal | None:
    """The authenticated principal, or ``None`` for an anonymous caller; a refused token
    raises :class:`AuthenticationError`."""
    token = bearer(header)
    if token is None:
        return None
    async with runtime.db.session() as session:
        principal = await authenticate(session, token, ip=ip, now=runtime.clock.now())
        await session.commit()  # the token's last-used time, when it was due
        return principal


async def request_actor(request: Request) -> Actor:
    """FastAPI dependency: the signed-in actor of a plain HTTP route. No token or a refused
    one is 401, too many requests 429 (as on ``/graphql``)."""
    runtime: Runtime = request.app.state.runtime
    ip = request.client.host if request.client else None
    limiter = runtime.rate_limiter
    try:
        principal = await principal_for(runtime, request.headers.get("authorization"), ip)
    except AuthenticationError as exc:
        guesses = await limiter.hit(f"ip:{ip}")
        if not guesses.allowed:
            raise HTTPException(429, "Rate limit reached.",
                                {"Retry-After": str(guesses.retry_after)}) from None
        raise HTTPException(401, exc.message, CHALLENGE) from None
    if principal is None:
        raise HTTPException(401, "Authentication required: send Authorization: Bearer "
                            "<token>.", CHALLENGE)
    verdict = await limiter.hit(principal.actor.rate_limit_key)
    if not verdict.allowed:
        raise HTTPException(429, "Rate limit reached.", {"Retry-After": str(verdict.retry_after)})
    return principal.actor
