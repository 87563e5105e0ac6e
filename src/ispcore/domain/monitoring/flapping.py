"""Flapping: a device whose status keeps changing raises no alerts until it settles.

A device is *flapping* once its status changed ``FLAP_CHANGES`` times within ``FLAP_WINDOW``.
While it flaps, every further change pushes ``flapping_until`` to the change plus the window,
so it stops flapping only after a whole window without a change (stable); the alerts sweep
(``monitoring.escalate_alerts``) then opens or closes its DEVICE_DOWN alert to match the
status it settled on. Pure functions: the alerts handler feeds them ``Device.status_changes``
and ``Device.flapping_until``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

#: Status changes within the window that make a device flapping.
FLAP_CHANGES = 4
#: The window the changes are counted in, and how long a device must stay unchanged to stop
#: flapping.
FLAP_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class FlapState:
    #: Change times within the window, oldest first (what ``Device.status_changes`` keeps).
    changes: tuple[datetime, ...]
    flapping_until: datetime | None

    def flapping_at(self, moment: datetime) -> bool:
        return is_flapping(self.flapping_until, moment)


def is_flapping(flapping_until: datetime | None, moment: datetime) -> bool:
    return flapping_until is not None and moment < flapping_until


def record_change(changes: Iterable[datetime], flapping_until: datetime | None,
                  at: datetime, *, threshold: int = FLAP_CHANGES,
                  window: timedelta = FLAP_WINDOW) -> FlapState:
    """The state after a status change at ``at``. The same change recorded twice counts
    once (handlers may see an event again)."""
    recent = sorted({c for c in changes if at - window < c <= at} | {at})
    if len(recent) >= threshold or is_flapping(flapping_until, at):
        flapping_until = max(at + window, flapping_until or at)
    return FlapState(tuple(recent), flapping_until)


def parse_changes(stored: list[str] | None) -> list[datetime]:
    return [datetime.fromisoformat(s) for s in stored or []]


def dump_changes(changes: Iterable[datetime]) -> list[str]:
    return [c.isoformat() for c in changes]
