"""ICMP echo probes through icmplib's asyncio API: latency (mean of the replies, ms) and
loss (percent unanswered). Raw sockets when running as root, else ICMP datagram sockets
(which need the group in ``net.ipv4.ping_group_range``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from icmplib import async_ping
from icmplib.exceptions import (
    ICMPLibError,
    NameLookupError,
    SocketAddressError,
    SocketPermissionError,
)


class IcmpError(Exception):
    """The probe could not be sent (not: the host did not answer, that is 100% loss)."""


class IcmpPermissionError(IcmpError):
    """Neither raw sockets (root or CAP_NET_RAW) nor ICMP datagram sockets
    (net.ipv4.ping_group_range) are allowed to this process."""


class IcmpAddressError(IcmpError):
    """The address does not resolve or cannot be used."""


@dataclass(frozen=True)
class PingResult:
    sent: int
    received: int
    latency_ms: float | None  # None when nothing answered
    loss_percent: float

    @property
    def reachable(self) -> bool:
        return self.received > 0


def privileged() -> bool:
    return os.geteuid() == 0


async def ping(address: str, *, count: int = 3, timeout: float = 1.0,  # noqa: ASYNC109
               interval: float = 0.2) -> PingResult:
    """``count`` echo requests ``interval`` seconds apart, each waiting up to ``timeout``."""
    try:
        host = await async_ping(address, count=count, interval=interval, timeout=timeout,
                                privileged=privileged())
    except SocketPermissionError as exc:
        raise IcmpPermissionError(
            "ICMP not permitted: run as root, grant CAP_NET_RAW, or add the group to "
            f"net.ipv4.ping_group_range ({exc})") from None
    except (NameLookupError, SocketAddressError) as exc:
        raise IcmpAddressError(str(exc)) from None
    except (ICMPLibError, OSError) as exc:
        raise IcmpError(str(exc)) from None
    received = host.packets_received
    return PingResult(sent=host.packets_sent, received=received,
                      latency_ms=round(host.avg_rtt, 3) if received else None,
                      loss_percent=round(host.packet_loss * 100, 2))
