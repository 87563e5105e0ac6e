"""The SSRF guard every outbound connection passes (webhooks, Preseem, SMTP, the SMS provider,
Stripe): a URL must be http(s) without credentials, and every address its host resolves to
must be public unless private targets are allowed (``ISPCORE_WEBHOOKS_ALLOW_PRIVATE``).

A setting is checked when it is saved (a typed error on its field) and again when connecting,
on the addresses the name resolves to then (DNS can change in between: a rebinding attack);
the connection then goes to the address that was checked."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ispcore.domain.common.errors import DomainError, Validator

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Cloud metadata services (AWS, GCP, Azure: 169.254.169.254; AWS over IPv6: fd00:ec2::254).
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"),
                      ipaddress.ip_address("fd00:ec2::254")})
#: Carrier-grade NAT (RFC 6598): an ISP's own subscribers, never a partner's server.
CGNAT = ipaddress.ip_network("100.64.0.0/10")
MAX_URL_LENGTH = 2000


class RefusedAddress(DomainError):
    """The URL is malformed, or its host is or resolves to an address outbound connections
    may not reach. ``field`` names the setting."""

    def __init__(self, message: str, *, field: str = "url") -> None:
        super().__init__(message, field=field)


@dataclass(frozen=True)
class Target:
    """Where a request for a URL goes: the URL's host, and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    address: str


def forbidden_reason(ip: IpAddress) -> str | None:
    """Why ``ip`` is out of bounds for outbound connections, or None if it is public."""
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


def parse_url(url: str, *, field: str = "url") -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL with a host and no credentials."""
    url = (url or "").strip()
    if len(url) > MAX_URL_LENGTH:
        raise RefusedAddress(f"A URL is at most {MAX_URL_LENGTH} characters.", field=field)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedAddress("Not a valid URL.", field=field) from None
    if parts.scheme not in ("http", "https"):
        raise RefusedAddress("A URL starts with https:// (or http://).", field=field)
    if not parts.hostname:
        raise RefusedAddress("A URL names a host.", field=field)
    if parts.username or parts.password:
        raise RefusedAddress("A URL carries no user name or password.", field=field)
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(host: str, *, field: str = "url") -> list[IpAddress]:
    """Every address ``host`` stands for (itself, if it is an address)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(
            host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise RefusedAddress(f"The host {host} does not resolve.", field=field) from None
    return list(dict.fromkeys(ipaddress.ip_address(a[4][0].split("%")[0]) for a in answers))


async def check_host(host: str, *, allow_private: bool, field: str = "url") -> str:
    """The address to connect to for ``host``, after checking every address it resolves to."""
    addresses = await resolve(host, field=field)
    if not allow_private:
        for ip in addresses:
            reason = forbidden_reason(ip)
            if reason:
                where = f"{host} is" if host == str(ip) else f"{host} resolves to {ip},"
                raise RefusedAddress(f"{where} {reason}; outbound connections go to public "
                                     "addresses only.", field=field)
    return str(addresses[0])


async def check_url(url: str, *, allow_private: bool, field: str = "url") -> Target:
    """The target of ``url`` after checking every address its host resolves to."""
    scheme, host, port = parse_url(url, field=field)
    return Target(scheme, host, port,
                  await check_host(host, allow_private=allow_private, field=field))


async def vet(v: Validator, check: Awaitable[object]) -> None:
    """Await a check of a setting being saved; a refusal joins the input's other errors."""
    try:
        await check
    except RefusedAddress as exc:
        v.errors.append(exc)
