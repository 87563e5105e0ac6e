"""The "finding your OIDs" helper: walk a subtree of a device from the API process, with the
device's own credentials, and show every row as text."""

from __future__ import annotations

from dataclasses import dataclass

from ispcore.domain.monitoring.credentials import SnmpCredentials
from ispcore.network.snmp import SnmpClient
from ispcore.network.snmp import values as v

MAX_RESULTS = 10_000


@dataclass(frozen=True)
class WalkRow:
    oid: str
    type: str
    value: str
    counter_bits: int | None


@dataclass(frozen=True)
class WalkOutcome:
    rows: list[WalkRow]
    truncated: bool


def row_of(oid: str, value: v.SnmpValue) -> WalkRow:
    return WalkRow(oid, value.snmp_type, value.text(), value.counter_bits)


async def walk_device(address: str, credentials: SnmpCredentials, oid: str, max_results: int,
                      *, timeout: float, retries: int) -> WalkOutcome:  # noqa: ASYNC109
    """Up to ``max_results`` rows under ``oid`` (GETBULK); raises the SNMP client's errors."""
    async with SnmpClient(address, credentials, timeout, retries) as client:
        rows = await client.walk(oid, max_repetitions=min(50, max_results + 1),
                                 limit=max_results + 1)
    return WalkOutcome([row_of(o, value) for o, value in rows[:max_results]],
                       truncated=len(rows) > max_results)
