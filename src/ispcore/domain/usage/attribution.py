"""Whose usage a record is when the name it carries (an IP address, a RADIUS username) may
have changed hands: the one rule every source applies (API ingest, NetFlow, RADIUS
accounting), as a pure function.

**The rule: the record belongs to whoever held the name at the record's start; if nobody
did, to whoever took it first during the record.** Two accounts holding it at that same
instant is ambiguous; nobody at all, no holder.

Why the start rather than the longest overlap:

* A RADIUS session is authorised for the login's holder when it starts, and the NAS goes on
  counting that session until it ends, whoever holds the login meanwhile: its usage is the
  starting holder's. (RADIUS applies the rule to the session: its start is the session's.)
  Longest overlap would move a long session to the next holder halfway through, splitting
  one session between two accounts.
* It is decided by one instant, so it is stable: a record's owner never depends on how long
  the record turns out to be, and two holders can only tie when two accounts held the name
  at that very instant (then the record is ambiguous and says so). Longest overlap ties
  whenever a change falls in the middle and needs a second rule to break the tie.
* Its error is the same as longest overlap's, at most one record: a NetFlow interval (60 s)
  in which the address changed hands goes whole to the old holder. Sources that want less
  send shorter records.
* "If nobody did, the first to take it": a customer whose address or login is new during
  the record gets its usage, rather than the record being nobody's (router and NAS clocks
  run a little behind ours)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class Ambiguous(Enum):
    """Two or more accounts held the name at the same instant."""

    AMBIGUOUS = "AMBIGUOUS"


AMBIGUOUS = Ambiguous.AMBIGUOUS


@dataclass(frozen=True, slots=True)
class Holding:
    """An account holding a name over ``[since, until)`` (``until`` None: still), through
    the assignment or login ``holding_id``."""

    company_id: int
    account_id: int
    since: datetime
    until: datetime | None
    holding_id: int | None = None


def holder(holdings: Iterable[Holding], start: datetime, end: datetime
           ) -> Holding | Ambiguous | None:
    """The holding a record over ``[start, end)`` belongs to, by the rule above (of several
    holdings of one account at that instant, the earliest). Called for every address of
    every NetFlow interval written: kept to plain comparisons."""
    holdings = tuple(holdings)
    chosen = [h for h in holdings
              if h.since <= start and (h.until is None or start < h.until)]
    if not chosen:
        taken = [h for h in holdings if start < h.since < end]
        if not taken:
            return None
        first = min(h.since for h in taken)
        chosen = [h for h in taken if h.since == first]
    if len(chosen) == 1:
        return chosen[0]
    if len({(h.company_id, h.account_id) for h in chosen}) > 1:
        return AMBIGUOUS
    return min(chosen, key=lambda h: h.since)
