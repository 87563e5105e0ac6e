"""The GraphQL endpoint: authenticates the bearer token, rate-limits, builds the context."""

from __future__ import annotations

import json
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from cross_web import HTTPException
from graphql.language.parser import MAX_NESTING_DEPTH
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET

from ispcore.domain.identity.actor import ANONYMOUS, Actor
from ispcore.domain.identity.auth import AuthenticationError, Principal
from ispcore.runtime import Runtime
from ispcore.schema.context import Context
from ispcore.web.auth import principal_for

#: Callers holding one may send bodies up to ``max_ingest_request_bytes`` (``ingestUsage``,
#: ``submitPollResults``).
INGEST_PERMISSIONS = ("usage:write", "monitoring:poll")


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None
           ) -> JSONResponse:
    return JSONResponse({"data": None, "errors": [{"message": message,
                                                   "extensions": {"code": code}}]},
                        status_code=status, headers=headers)


def _too_large(limit: int) -> JSONResponse:
    return _error(413, "PAYLOAD_TOO_LARGE", f"Request bodies are limited to {limit} bytes.")


class _BodyTooLarge(Exception):
    pass


class _Unreadable(json.JSONDecodeError):
    """JSON Python could parse only at a cost: nested past graphql-core's limit (or the
    stack), or holding a number of more digits than Python converts. Unparsable JSON to
    strawberry (a websocket message closes the socket with 4400); over HTTP a 400 saying
    why."""

    def __init__(self, why: str) -> None:
        super().__init__(why, "", 0)


TOO_DEEP = f"The JSON is nested more than {MAX_NESTING_DEPTH} levels deep."


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` (decoded JSON) nests lists and objects more than ``limit`` deep;
    level by level, without recursion."""
    level = [value]
    for _ in range(limit):
        level = [item for container in level
                 for item in (container.values() if isinstance(container, dict) else container)
                 if isinstance(item, dict | list)]
        if not level:
            return False
    return True


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
        return message

    return receive_within_limit


class GraphQLView(GraphQL):
    def __init__(self, runtime: Runtime, schema: Any) -> None:
        settings = runtime.settings
        super().__init__(
            schema,
            graphql_ide=None,  # our offline GraphiQL is served at /graphiql
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=30,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.cors_origins,
        )
        self.runtime = runtime

    def decode_json(self, data: str | bytes) -> object:
        """JSON nested no deeper than a GraphQL document may be (graphql-core's limit):
        deeper, it would exhaust the stack of whatever walks it."""
        try:
            value = json.loads(data)
        except RecursionError:
            raise _Unreadable(TOO_DEEP) from None
        except json.JSONDecodeError:
            raise
        except ValueError:  # an integer of more than 4,300 digits
            raise _Unreadable("A number in the JSON has too many digits.") from None
        if isinstance(value, dict | list) and _nested_deeper_than(value, MAX_NESTING_DEPTH):
            raise _Unreadable(TOO_DEEP)
        return value

    def parse_json(self, data: str | bytes) -> Any:
        """Request bodies and GET variables: unreadable JSON is a 400 saying why."""
        try:
            return self.decode_json(data)
        except _Unreadable as exc:
            raise HTTPException(400, exc.msg) from None
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """Strawberry's refusals of a request (bad JSON, a mutation over GET, …) as GraphQL
        errors with a code (the HTTP status's name), like every other error."""
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            if isinstance(request, WebSocket):
                raise
            return _error(exc.status_code, HTTPStatus(exc.status_code).name, exc.reason)

    async def _principal_for(self, header: str | None, ip: str | None) -> Principal | None:
        """The authenticated principal, or ``None`` for an anonymous caller."""
        return await principal_for(self.runtime, header, ip)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            ip = scope["client"][0] if scope.get("client") else None
            raw = headers.get(b"authorization")
            try:
                principal = await self._principal_for(raw.decode("latin-1") if raw else None,
                                                      ip)
            except AuthenticationError as exc:
                # Refused tokens count against the caller's address, so guessing is limited too.
                guesses = await self.runtime.rate_limiter.hit(f"ip:{ip}")
                if not guesses.allowed:
                    await self._too_many(scope, receive, send, guesses.retry_after)
                    return
                await _error(401, exc.code, exc.message,
                             {"WWW-Authenticate": 'Bearer realm="ispcore"'})(scope, receive, send)
                return
            actor = principal.actor if principal else Actor(ip=ip)
            verdict = await self.runtime.rate_limiter.hit(actor.rate_limit_key)
            if not verdict.allowed:
                await self._too_many(scope, receive, send, verdict.retry_after)
                return
            limit = self._body_limit(actor)
            if int(headers.get(b"content-length", b"0") or 0) > limit:
                await _too_large(limit)(scope, receive, send)
                return
            receive = _limited(receive, limit)  # chunked bodies have no length up front
            state = scope.setdefault("state", {})
            state["actor"] = actor
            state["user"] = principal.user if principal else None
            try:
                await super().__call__(scope, receive, send)
            except _BodyTooLarge:
                await _too_large(limit)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    def _body_limit(self, actor: Actor) -> int:
        """Bodies are small, except the usage batches middleware pushes and the results
        pollers push (the body is read only after authentication, so the larger limit needs
        a token holding usage:write or monitoring:poll)."""
        settings = self.runtime.settings
        if any(actor.can(p) for p in INGEST_PERMISSIONS):
            return max(settings.max_request_bytes, settings.max_ingest_request_bytes)
        return settings.max_request_bytes

    async def _too_many(self, scope: Scope, receive: Receive, send: Send,
                        retry_after: int) -> None:
        await _error(
            429, "RATE_LIMITED",
            f"Rate limit of {self.runtime.settings.rate_limit_per_minute} requests per minute "
            f"reached; retry in {retry_after} s.",
            {"Retry-After": str(retry_after)},
        )(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket
                          ) -> Context:
        state = request.scope.get("state", {})
        return Context(runtime=self.runtime, actor=state.get("actor", ANONYMOUS),
                       request_id=state.get("request_id", ""), request=request,
                       response=response, user=state.get("user"))

    async def on_ws_connect(self, context: Context) -> Any:
        """Websockets authenticate in ``connection_init``: ``{"Authorization": "Bearer ..."}``
        (or ``authToken``). Without a valid token the socket is closed with 4403."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if header is None and params.get("authToken"):
            header = f"Bearer {params['authToken']}"
        request = context.request
        ip = request.client.host if request.client else None
        limiter = self.runtime.rate_limiter
        # Every connection attempt counts against the address first, so tokens cannot be
        # guessed over websockets any faster than over HTTP.
        if not (await limiter.hit(f"ip:{ip}")).allowed:
            raise ConnectionRejectionError({"code": "RATE_LIMITED"})
        try:
            principal = await self._principal_for(header if isinstance(header, str) else None,
                                                  ip)
        except AuthenticationError as exc:
            raise ConnectionRejectionError({"code": exc.code}) from exc
        if principal is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        if not (await limiter.hit(principal.actor.rate_limit_key)).allowed:
            raise ConnectionRejectionError({"code": "RATE_LIMITED"})
        context.actor = principal.actor
        return None
