"""The reply of a user: its own items, then its group's, merged as FreeRADIUS 3 merges
``radreply`` and ``radgroupreply`` (``radius_pairmove``), so the built-in server and
FreeRADIUS reading the same data through ``rlm_sql`` answer alike."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

Item = tuple[str, str, str]  # attribute, op, value


def merge(user_items: Iterable[Item], group_items: Iterable[Item]) -> list[tuple[str, str]]:
    """The user's items go into an empty reply, so all of them are kept. Each group item is
    compared with the user's items only (not with group items added before it): ``+=``
    always adds; ``=`` adds unless the attribute is there; ``:=`` replaces the first such
    item not replaced yet, or adds. Other operators (``-=``, comparisons) are not reply
    operators here and are skipped."""
    reply = [(attribute, value) for attribute, _op, value in user_items]
    names = [attribute.lower() for attribute, _value in reply]  # names are case-insensitive
    before = len(reply)
    replaced = [False] * before
    for attribute, op, value in group_items:
        if op not in ("=", ":=", "+="):
            log.warning("RADIUS reply operator %r of %s is not supported; skipped", op,
                        attribute)
            continue
        at = -1
        if op != "+=":
            name = attribute.lower()
            at = next((j for j in range(before) if not replaced[j] and names[j] == name), -1)
        if at < 0:
            reply.append((attribute, value))
        elif op == ":=":
            reply[at] = (attribute, value)
            replaced[at] = True
    return reply
