"""Reading committed events in order, for live subscribers.

Ids are handed out when a row is inserted, not when its transaction commits, so an event with
a lower id can become visible after a higher one. A reader that only remembered the highest id
it saw would skip such late committers forever. The feed remembers the ids it jumped over
("gaps") for a while and asks for them again; ids that never appear (rolled back) expire.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ispcore.domain.events.models import Event

#: How long a skipped id is looked for: longer than any transaction that writes events.
GAP_TTL = timedelta(minutes=2)
#: At most this many skipped ids are tracked (a burst of rollbacks must not grow it forever).
MAX_GAPS = 10_000


class EventFeed:
    def __init__(self, after_id: int) -> None:
        self.last_id = after_id
        self.gaps: dict[int, datetime] = {}

    @classmethod
    async def from_now(cls, session: AsyncSession) -> EventFeed:
        return cls(await session.scalar(select(func.max(Event.id))) or 0)

    async def next_batch(self, session: AsyncSession, now: datetime, limit: int = 500
                         ) -> list[Event]:
        """Events committed since the last call (late committers included), in id order."""
        self.gaps = {i: seen for i, seen in self.gaps.items() if now - seen < GAP_TTL}
        condition = Event.id > self.last_id
        if self.gaps:
            condition = or_(condition, Event.id.in_(list(self.gaps)))
        rows = list(await session.scalars(
            select(Event).where(condition).order_by(Event.id).limit(limit)))
        for row in rows:
            if self.gaps.pop(row.id, None) is None and row.id > self.last_id:
                for missing in range(self.last_id + 1, row.id):
                    if len(self.gaps) >= MAX_GAPS:
                        break
                    self.gaps[missing] = now
                self.last_id = row.id
        return rows
