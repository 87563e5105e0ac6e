"""Input rules for identity: emails, passwords, address allowlists, scopes."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email
from zxcvbn import zxcvbn

from ispcore.domain.common.errors import ErrorCode, Validator
from ispcore.domain.identity.permissions import unknown_permissions


def canonical_email(email: str) -> str:
    """How emails are compared and stored: trimmed, lower case."""
    return email.strip().lower()


def normalize_email(v: Validator, email: str, field: str = "email") -> str:
    try:
        normalized = validate_email(email.strip(), check_deliverability=False).normalized
        return canonical_email(normalized)
    except EmailNotValidError as exc:
        v.add(field, f"Not a valid email address: {exc}")
        return email


MAX_PASSWORD_LENGTH = 1024
#: The zxcvbn score (0-4) a password needs: 3 stands for about 10^10 guesses, out of reach
#: of an online attack and slow offline against argon2.
MIN_STRENGTH = 3
#: zxcvbn scores this many first characters (its own limit: its matching grows fast with
#: the length); a longer password is at least as hard to guess as its start.
SCORED_LENGTH = 72


def _words(personal: Iterable[str]) -> list[str]:
    """What zxcvbn should count as guessable for this person: each value (an email, a name,
    a username) and its parts."""
    words = []
    for value in personal:
        words += [value, *(part for part in re.split(r"\W+", value) if len(part) > 2)]
    return [w for w in dict.fromkeys(words) if w]


def check_password(v: Validator, password: str, *, min_length: int,
                   personal: Iterable[str] = ()) -> None:
    """Refuse a password that is too long, too short, or common or guessable (zxcvbn below
    ``MIN_STRENGTH``, ``personal`` values such as the email and name counting as known
    words); zxcvbn's advice is part of the message."""
    if len(password) > MAX_PASSWORD_LENGTH:
        v.add("password", f"Passwords have at most {MAX_PASSWORD_LENGTH} characters.")
        return
    if len(password) < min_length:
        v.add("password", f"Passwords need at least {min_length} characters.",
              ErrorCode.PASSWORD_TOO_WEAK)
        return
    strength = zxcvbn(password[:SCORED_LENGTH], user_inputs=_words(personal))
    if strength["score"] < MIN_STRENGTH:
        feedback = strength["feedback"]
        advice = [feedback["warning"], *feedback["suggestions"]]
        v.add("password", " ".join(["That password is too easy to guess.",
                                    *(a for a in advice if a)]), ErrorCode.PASSWORD_TOO_WEAK)


def normalize_allowlist(v: Validator, cidrs: list[str], field: str = "ip_allowlist") -> list[str]:
    networks = []
    for cidr in cidrs:
        try:
            networks.append(str(ipaddress.ip_network(cidr.strip(), strict=False)))
        except ValueError:
            v.add(field, f"{cidr!r} is not an IP address or CIDR block.")
    return networks


def address_allowed(allowlist: list[str], ip: str | None) -> bool:
    if not allowlist:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:192.0.2.1 from a dual-stack socket
    return any(address in ipaddress.ip_network(cidr) for cidr in allowlist)


def check_permissions(v: Validator, names: list[str], field: str) -> list[str]:
    unknown = unknown_permissions(names)
    if unknown:
        v.add(field, f"Unknown permissions: {', '.join(sorted(unknown))}.")
    return sorted(set(names))
