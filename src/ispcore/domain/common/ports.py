"""What domain code needs from the outside world, as small protocols."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol


class JobQueue(Protocol):
    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None: ...


class Notifier(Protocol):
    """Fan-out of small messages to every API process (in memory, or Redis pub/sub)."""

    async def publish(self, channel: str, message: str) -> None: ...

    def subscribe(self, channel: str, ready: Callable[[], None] | None = None
                  ) -> AsyncIterator[str]:
        """Messages of ``channel``; ``ready`` is called whenever the subscription is (again)
        in place: what was published before it was not heard."""
        ...
