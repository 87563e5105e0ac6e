"""The arithmetic of usage-based billing, as pure functions: how a period's billable bytes
draw on its allowance, what is over it and what that costs, what rolls over, and how late
usage re-settles a period already billed.

A period's bytes are drawn oldest allowance first: rollover grants (oldest first), then the
period's own cap, then the top-ups bought for it; the rest is overage, billed per started
block. The part of the own cap left unused rolls over (when the policy says so); top-ups
never do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

GB = 10**9
#: Typography of charge descriptions ("1\u201330 Nov: 3 \u00d7 10 GB over 500 GB").
DASH, TIMES = "\u2013", "\u00d7"


def blocks_for(overage: int, block: int | None) -> int:
    """Started blocks of ``block`` bytes that cover ``overage`` bytes (none without a block
    size: overage not billed)."""
    if overage <= 0 or not block:
        return 0
    return -(-overage // block)


@dataclass(frozen=True, slots=True)
class Price:
    """How a policy bills overage: per started block of ``block`` bytes at ``price`` minor
    units (``block`` None: overage is not billed)."""

    block: int | None
    price: int

    def blocks(self, overage: int) -> int:
        return blocks_for(overage, self.block)

    def of(self, blocks: int) -> int:
        return blocks * self.price if self.block else 0


@dataclass(frozen=True, slots=True)
class Settlement:
    """A period settled for the first time."""

    #: The period's own cap, its top-ups and the rollover it drew: fixed from now on.
    allowance: int
    #: (grant key, bytes) drawn from each rollover grant, oldest first.
    drawn: tuple[tuple[int, int], ...]
    from_cap: int
    from_top_ups: int
    overage: int
    blocks: int
    charge: int
    #: Unused own cap granted to later periods (0 when the policy does not roll over).
    rolls_over: int


def settle(billable: int, cap: int, top_ups: int, grants: Sequence[tuple[int, int]],
           price: Price, *, rollover: bool) -> Settlement:
    """Settle ``billable`` bytes against ``cap`` bytes, ``top_ups`` bytes and ``grants``
    ((key, bytes still unused) of the rollover usable in the period, oldest first)."""
    left = max(billable, 0)
    drawn = []
    for key, remaining in grants:
        take = min(left, max(remaining, 0))
        if take:
            drawn.append((key, take))
            left -= take
    from_cap = min(left, cap)
    left -= from_cap
    from_top_ups = min(left, top_ups)
    overage = left - from_top_ups
    blocks = price.blocks(overage)
    return Settlement(cap + top_ups + sum(b for _key, b in drawn), tuple(drawn), from_cap,
                      from_top_ups, overage, blocks, price.of(blocks),
                      cap - from_cap if rollover else 0)


@dataclass(frozen=True, slots=True)
class Resettlement:
    """A settled period settled again after late usage."""

    #: The allowance still the period's: what it was given less its unused cap that later
    #: periods have used (rolled over) since.
    allowance: int
    overage: int
    blocks: int
    charge: int
    #: What the charge changes by: the correction to bill (negative: to credit).
    correction: int
    #: How much the period's own rollover grant shrinks: late usage takes back what is still
    #: unused of the cap it had rolled over.
    grant_cut: int


def resettle(billable: int, settled_billable: int, allowance: int, charged: int,
             price: Price, grant: tuple[int, int] | None) -> Resettlement:
    """Settle a period again at ``billable`` bytes against the ``allowance`` fixed when it
    was first settled (at ``settled_billable`` bytes, ``charged`` minor units so far).
    ``grant`` is (granted, used) of the rollover grant the period made, if any: what later
    periods used of it is not the period's any more, and late usage draws what is left of
    it before the period's top-ups and overage."""
    granted, used = grant or (0, 0)
    own = allowance - used
    overage = max(billable - own, 0)
    blocks = price.blocks(overage)
    charge = price.of(blocks)
    extra = max(billable - settled_billable, 0)
    return Resettlement(own, overage, blocks, charge, charge - charged,
                        min(extra, max(granted - used, 0)))


# --- how charges are described ----------------------------------------------------------------

def span(start: date, end: date) -> str:
    """A period (``end`` exclusive) as an invoice line says it: 1-30 Nov, 15 Nov-14 Dec (with
    an en dash)."""
    last = end - timedelta(days=1)
    if (start.year, start.month) == (last.year, last.month):
        return f"{start.day}{DASH}{last.day} {last:%b}"
    return f"{start.day} {start:%b}{DASH}{last.day} {last:%b}"


def format_gb(count: int) -> str:
    """Bytes as decimal gigabytes, to two places when not whole: "500 GB", "512.35 GB"."""
    value = Decimal(count) / GB
    if value == value.to_integral_value():
        return f"{value:,.0f} GB"
    return f"{value.quantize(Decimal('0.01'), ROUND_HALF_UP):,} GB"


def overage_text(blocks: int, block: int, allowance: int) -> str:
    return f"{blocks} {TIMES} {format_gb(block)} over {format_gb(allowance)}"
