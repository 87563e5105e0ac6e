"""How full the address plan is: usable, held and free addresses of subnets and pools, and
how much of a supernet is carved into subnets. Counts are addresses (a delegated /56 holds
2^72 of them); IPv6 figures exceed 64 bits, so they are Python integers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ispcore.domain.network import addressing as a
from ispcore.domain.network.models import IpAssignment, Subnet


@dataclass(frozen=True)
class Usage:
    total: int
    used: int

    @property
    def free(self) -> int:
        return self.total - self.used


def assignable(cidr: str, delegated_prefix_length: int | None) -> a.Span:
    """The range a subnet hands out: all of it when it delegates prefixes, else its usable
    addresses."""
    network = a.parse_network(cidr, field="cidr")
    return a.span_of(network) if delegated_prefix_length else a.usable_span(network)


async def held_in(conn: AsyncConnection, subnet_id: int, span: a.Span) -> int:
    """Addresses held in ``span`` of the subnet, counted per prefix length in SQL."""
    rows = await conn.execute(
        select(IpAssignment.prefix_length, func.count())
        .where(IpAssignment.subnet_id == subnet_id, IpAssignment.released_at.is_(None),
               IpAssignment.first_key >= span.first_key,
               IpAssignment.first_key <= span.last_key)
        .group_by(IpAssignment.prefix_length))
    return sum(count * a.block_size(span.family, length) for length, count in rows)


async def subnet_usage(conn: AsyncConnection, subnet_id: int, cidr: str,
                       delegated_prefix_length: int | None, gateway: str | None = None
                       ) -> Usage:
    """The gateway, when it is one of the assignable addresses, is not counted: it is never
    handed out."""
    span = assignable(cidr, delegated_prefix_length)
    reserved = int(gateway is not None and not delegated_prefix_length
                   and span.first <= int(ipaddress.ip_address(gateway)) <= span.last)
    return Usage(span.size - reserved, await held_in(conn, subnet_id, span))


async def pool_usage(conn: AsyncConnection, subnet_id: int, family: int, first_key: str,
                     last_key: str) -> Usage:
    span = a.Span(family, a.from_key(first_key), a.from_key(last_key))
    return Usage(span.size, await held_in(conn, subnet_id, span))


async def supernet_usage(conn: AsyncConnection, supernet_id: int, cidr: str) -> Usage:
    """All addresses of the supernet, and those inside its subnets."""
    rows = await conn.execute(select(Subnet.first_key, Subnet.last_key).where(
        Subnet.supernet_id == supernet_id))
    carved = sum(a.from_key(last) - a.from_key(first) + 1 for first, last in rows)
    return Usage(a.span_of(a.parse_network(cidr, field="cidr")).size, carved)
