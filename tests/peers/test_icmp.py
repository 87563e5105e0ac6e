"""ICMP echo through icmplib: loopback answers with a latency; a network namespace answers,
then loses everything while its link is down, then answers again."""

from __future__ import annotations

import pytest

from ispcore.network.icmp import IcmpAddressError, ping


async def test_loopback_has_latency():
    result = await ping("127.0.0.1", count=3, timeout=1)
    assert result.reachable and result.received == 3
    assert result.loss_percent == 0
    assert result.latency_ms is not None and 0 <= result.latency_ms < 1000


async def test_namespace_down_then_up(netns):
    up = await ping(netns.address, count=3, timeout=1)
    assert up.reachable and up.loss_percent == 0 and up.latency_ms is not None

    netns.link("down")
    down = await ping(netns.address, count=3, timeout=0.5, interval=0.05)
    assert not down.reachable
    assert down.loss_percent == 100 and down.latency_ms is None

    netns.link("up")
    again = await ping(netns.address, count=3, timeout=1)
    assert again.reachable and again.received >= 1


async def test_unresolvable_name_is_a_typed_error():
    with pytest.raises(IcmpAddressError):
        await ping("no-such-host.invalid", count=1, timeout=0.2)
