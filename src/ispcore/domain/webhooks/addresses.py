"""The SSRF guard: a webhook URL must be http(s) and every address its host resolves to must
be public. Checked when an endpoint is saved and again before each send (DNS can change in
between: a rebinding attack), and the send then goes to the address that was checked."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ispcore.domain.common.errors import DomainError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata services (AWS, GCP, Azure: 169.254.169.254; AWS over IPv6: fd00:ec2::254).
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"),
                      ipaddress.ip_address("fd00:ec2::254")})
#: Carrier-grade NAT (RFC 6598): an ISP's own subscribers, never a partner's server.
CGNAT = ipaddress.ip_network("100.64.0.0/10")


class RefusedAddress(DomainError):
    """The URL is malformed, or its host is or resolves to an address webhooks may not reach."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="url")


@dataclass(frozen=True)
class Target:
    """Where a request for a URL goes: the URL's host, and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    address: str


def forbidden_reason(ip: IpAddress) -> str | None:
    """Why ``ip`` is out of bounds for webhooks, or None if it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return forbidden_reason(ip.ipv4_mapped)
    if ip in METADATA:
        return "a cloud metadata address"
    for flag, what in (("is_loopback", "a loopback address"),
                       ("is_link_local", "a link-local address"),
                       ("is_multicast", "a multicast address"),
                       ("is_unspecified", "an unspecified address"),
                       ("is_reserved", "a reserved address"),
                       ("is_private", "a private address")):
        if getattr(ip, flag):
            return what
    if ip in CGNAT:
        return "a carrier-grade NAT address"
    if not ip.is_global:
        return "not a public address"
    return None


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL with a host and no credentials."""
    url = (url or "").strip()
    if len(url) > 2000:
        raise RefusedAddress("A webhook URL is at most 2000 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedAddress("Not a valid URL.") from None
    if parts.scheme not in ("http", "https"):
        raise RefusedAddress("A webhook URL starts with https:// (or http://).")
    if not parts.hostname:
        raise RefusedAddress("A webhook URL names a host.")
    if parts.username or parts.password:
        raise RefusedAddress("A webhook URL carries no user name or password.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise RefusedAddress(f"The host {host} does not resolve.") from None
    return list(dict.fromkeys(ipaddress.ip_address(a[4][0].split("%")[0]) for a in answers))


async def check(url: str, *, allow_private: bool) -> Target:
    """The target of ``url`` after checking every address its host resolves to."""
    scheme, host, port = parse(url)
    addresses = await resolve(host, port)
    if not allow_private:
        for ip in addresses:
            reason = forbidden_reason(ip)
            if reason:
                raise RefusedAddress(f"{host} resolves to {ip}, {reason}; webhooks go to "
                                     "public addresses only.")
    return Target(scheme, host, port, str(addresses[0]))
