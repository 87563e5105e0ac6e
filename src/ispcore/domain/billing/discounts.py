"""Discount arithmetic. A discount never takes a line below zero, and an amount shared over
several lines is split so the shares sum exactly to it."""

from __future__ import annotations

from decimal import Decimal

from ispcore.domain.billing.money import Rounding, round_minor

#: Percentages are stored as millionths of the whole: 12.5% is 125_000.
PERCENT_SCALE = 10_000


def percent_off(base: int, percent_scaled: int, rule: Rounding) -> int:
    """``percent_scaled / PERCENT_SCALE`` percent of ``base``, rounded, never more than it."""
    if base <= 0:
        return 0
    share = round_minor(Decimal(base) * percent_scaled / (100 * PERCENT_SCALE), rule)
    return min(share, base)


def allocate(amount: int, weights: list[int]) -> list[int]:
    """Split ``amount`` over ``weights`` in proportion (largest remainder first), each share
    at most its weight, so a fixed discount over several lines sums exactly and takes no line
    below zero. Returns zeros when there is nothing to take from."""
    total = sum(w for w in weights if w > 0)
    amount = min(amount, total)
    if amount <= 0:
        return [0] * len(weights)
    shares: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, weight in enumerate(weights):
        if weight <= 0:
            shares.append(0)
            continue
        whole, rest = divmod(amount * weight, total)
        shares.append(whole)
        remainders.append((rest, index))
    left = amount - sum(shares)
    for _rest, index in sorted(remainders, key=lambda r: (-r[0], r[1]))[:left]:
        shares[index] += 1
    return shares
