"""Address arithmetic for IPAM, IPv4 and IPv6 alike: strict parsing, the 32-hex-digit keys
the tables store, usable ranges and overlap. Pure functions."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ispcore.domain.common.errors import DomainError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def to_key(value: int) -> str:
    """An address as its key: the integer in 32 lowercase hex digits (sorts numerically)."""
    return f"{value:032x}"


def from_key(key: str) -> int:
    return int(key, 16)


def parse_network(text: str | None, *, field: str) -> Network:
    """A CIDR block (``10.0.0.0/24``, ``2001:db8::/48``), normalised. Host bits set are
    refused with the network they probably meant."""
    raw = (text or "").strip()
    if "/" not in raw:
        raise DomainError(f"{raw!r} is not a CIDR block; write it as address/prefix length, "
                          "e.g. 10.0.0.0/24 or 2001:db8::/48.", field=field)
    try:
        return ipaddress.ip_network(raw, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(raw, strict=False)
    except ValueError:
        raise DomainError(f"{raw!r} is not a CIDR block; write it as address/prefix length, "
                          "e.g. 10.0.0.0/24 or 2001:db8::/48.", field=field) from None
    raise DomainError(f"{raw} has host bits set; the network is {loose}.", field=field)


def parse_address(text: str | None, *, field: str) -> Address:
    raw = (text or "").strip()
    try:
        return ipaddress.ip_address(raw)
    except ValueError:
        raise DomainError(f"{raw!r} is not an IP address.", field=field) from None


def parse_assignable(text: str | None, *, field: str) -> Network:
    """An address (``10.0.0.5``, as a /32 or /128) or a prefix (``2001:db8:0:100::/56``)."""
    raw = (text or "").strip()
    if "/" in raw:
        return parse_network(raw, field=field)
    return ipaddress.ip_network(parse_address(raw, field=field))


@dataclass(frozen=True)
class Span:
    """An inclusive range of addresses of one family, as integers."""

    family: int
    first: int
    last: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def first_key(self) -> str:
        return to_key(self.first)

    @property
    def last_key(self) -> str:
        return to_key(self.last)

    def contains(self, other: Span) -> bool:
        return self.family == other.family and self.first <= other.first <= other.last <= \
            self.last

    def overlaps(self, other: Span) -> bool:
        return self.family == other.family and self.first <= other.last and \
            other.first <= self.last


def point(address: Address) -> Span:
    return Span(address.version, int(address), int(address))


def span_of(network: Network) -> Span:
    return Span(network.version, int(network.network_address), int(network.broadcast_address))


def usable_span(network: Network) -> Span:
    """The addresses of a subnet that can be handed out: IPv4 skips the network and
    broadcast addresses (except /31 and /32, RFC 3021); IPv6 skips the subnet-router anycast
    address (the all-zero host, RFC 4291) except in a /127 or /128."""
    whole = span_of(network)
    if network.version == 4 and network.prefixlen < 31:
        return Span(4, whole.first + 1, whole.last - 1)
    if network.version == 6 and network.prefixlen < 127:
        return Span(6, whole.first + 1, whole.last)
    return whole


def bits(family: int) -> int:
    return 32 if family == 4 else 128


def block_size(family: int, prefix_length: int) -> int:
    return 1 << (bits(family) - prefix_length)


def align_up(value: int, step: int) -> int:
    return -(-value // step) * step


def text_of(first: int, family: int, prefix_length: int) -> str:
    """How an assignment shows: a plain address for a single one, else the prefix."""
    if prefix_length == bits(family):
        return str(ipaddress.ip_address(first) if family == 4 else ipaddress.IPv6Address(first))
    return str(ipaddress.ip_network((first, prefix_length)) if family == 4
               else ipaddress.IPv6Network((first, prefix_length)))
