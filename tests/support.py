"""Helpers the tests share: calling the API, making users and tokens, counting SQL."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import event

from ispcore.domain.identity import access_tokens, users
from ispcore.domain.identity.actor import SYSTEM, Actor
from ispcore.runtime import Runtime

PASSWORD = "correct horse battery staple"


@dataclass
class Api:
    client: httpx.AsyncClient
    runtime: Runtime

    async def post(self, query: str, variables: dict[str, Any] | None = None,
                   token: str | None = None, **headers: str) -> httpx.Response:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return await self.client.post("/graphql", json={"query": query,
                                                        "variables": variables or {}},
                                      headers=headers)

    async def gql(self, query: str, variables: dict[str, Any] | None = None,
                  token: str | None = None, **headers: str) -> dict[str, Any]:
        response = await self.post(query, variables, token, **headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None,
                   token: str | None = None) -> dict[str, Any]:
        """The ``data`` of a response that must have no errors."""
        body = await self.gql(query, variables, token)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def user_with_token(self, email: str = "admin@example.com", *,
                              permissions: list[str] | None = None,
                              scopes: list[str] | None = None,
                              ip_allowlist: list[str] | None = None) -> tuple[int, str]:
        """A user (admin, or a role with ``permissions``) and a personal access token."""
        async with self.runtime.unit_of_work(SYSTEM, action="test") as uow:
            if permissions is None:
                role = await users.ensure_admin_role(uow)
            else:
                role = await users.create_role(uow, name=f"role for {email}",
                                               permissions=permissions)
            user = await users.create_user(uow, email=email, name=email.split("@")[0],
                                           password=PASSWORD, role_id=role.id,
                                           ip_allowlist=ip_allowlist)
            uow.actor = Actor(user_id=user.id, permissions=users.role_permissions(role))
            created = await access_tokens.create_token(uow, name="test", scopes=scopes,
                                                       expires_at=None)
            return user.id, created.secret

    async def admin_token(self) -> str:
        return (await self.user_with_token())[1]


@contextlib.contextmanager
def count_statements(runtime: Runtime) -> Iterator[list[str]]:
    """Collects every SQL statement the runtime's engine runs inside the block on behalf of
    the block's own code (and the tasks it starts): jobs and event handlers that earlier
    commits set running in the background are not counted."""
    seen: list[str] = []
    marker = _counting.set(seen)

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if _counting.get() is seen:
            seen.append(statement)

    engine = runtime.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        _counting.reset(marker)


#: The list the innermost ``count_statements`` block collects into, as its code's context sees it.
_counting: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "counting_statements", default=None)
