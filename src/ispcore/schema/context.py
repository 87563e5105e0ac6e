"""What every resolver sees: the runtime, the actor, the request id and per-request loaders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.identity.actor import Actor

if TYPE_CHECKING:
    from ispcore.resolvers.loaders import Loaders
    from ispcore.runtime import Runtime


@dataclass
class Context:
    runtime: Runtime
    actor: Actor
    request_id: str
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    #: The signed-in user's record, loaded by authentication (saves a query for ``me``).
    user: Any = None
    _loaders: Loaders | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        from ispcore.schema.relations import CURRENT_CONTEXT

        CURRENT_CONTEXT.set(self)

    @property
    def viewer_id(self) -> int | None:
        """The signed-in user, including one who signed in during this very request."""
        return self.user.id if self.user is not None else self.actor.user_id

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from ispcore.resolvers.loaders import Loaders
            from ispcore.schema.nodes import NODE_TYPES

            self._loaders = Loaders(self.runtime.db, self.actor)
            if self.user is not None:
                self._loaders.nodes(NODE_TYPES[type(self.user)]).prime(self.user.id, self.user)
        return self._loaders

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A short read-only session (resolvers run concurrently, so each takes its own)."""
        async with self.runtime.db.session() as session:
            yield session

    def rows(self) -> AsyncContextManager[AsyncConnection]:
        """A connection for reading plain rows (lists and counts): no ORM, no transaction."""
        return self.runtime.db.read_rows()

    def unit_of_work(self, action: str) -> UnitOfWork:
        return self.runtime.unit_of_work(self.actor, request_id=self.request_id, action=action)
