"""Numeric OIDs, the only kind ispcore takes: no MIB names, so nothing is looked up at
poll time. Pure."""

from __future__ import annotations

from ispcore.domain.common.errors import DomainError

#: SNMP sub-identifiers are unsigned 32-bit (RFC 2578); an OID has at most 128 of them.
MAX_ARC = 2**32 - 1
MAX_ARCS = 128


def parse_oid(text: str | None, *, field: str) -> str:
    """A dotted numeric OID in canonical form (``.1.3.6.1`` -> ``1.3.6.1``, no leading
    zeros). At least two arcs, the first 0..2 (and the second under 40 below 2, X.690)."""
    raw = (text or "").strip()
    body = raw[1:] if raw.startswith(".") else raw
    arcs = body.split(".")
    if not body or not all(a.isascii() and a.isdigit() for a in arcs):
        raise DomainError(f"{raw!r} is not a numeric OID: write it dotted, e.g. "
                          "1.3.6.1.2.1.1.3.0 (MIB names are not looked up).", field=field)
    numbers = [int(a) for a in arcs]
    if len(numbers) < 2 or len(numbers) > MAX_ARCS:
        raise DomainError(f"An OID has 2 to {MAX_ARCS} arcs.", field=field)
    if numbers[0] > 2 or (numbers[0] < 2 and numbers[1] >= 40):
        raise DomainError(f"{raw!r} is not a valid OID: it starts with 0, 1 or 2 (and the "
                          "second arc is under 40 after 0 or 1).", field=field)
    if any(n > MAX_ARC for n in numbers):
        raise DomainError(f"An OID's arcs are at most {MAX_ARC}.", field=field)
    return ".".join(str(n) for n in numbers)
