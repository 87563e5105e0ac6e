"""Reply attribute values with placeholders filled from a member's data service, e.g.
``Mikrotik-Rate-Limit = "{upload}k/{download}k"``. A plain regular expression, not
``str.format``: a template can name a value and nothing else."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ispcore.domain.common.errors import DomainError

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

#: Every placeholder a template may use, with what it stands for.
PLACEHOLDERS: dict[str, str] = {
    "download": "The service's download rate in kbit/s",
    "upload": "The service's upload rate in kbit/s",
    "download_mbps": "The download rate in Mbit/s (whole, rounded down)",
    "upload_mbps": "The upload rate in Mbit/s (whole, rounded down)",
    "download_bps": "The download rate in bit/s",
    "upload_bps": "The upload rate in bit/s",
    "username": "The credential's username",
    "account_id": "The account's number in ispcore",
}
SPEEDS = frozenset(name for name in PLACEHOLDERS if name.startswith(("download", "upload")))


@dataclass(frozen=True)
class Member:
    username: str
    account_id: int
    download_kbps: int | None
    upload_kbps: int | None


def placeholders_in(value: str, field: str = "value") -> set[str]:
    """The placeholders ``value`` uses; unknown ones are an error naming those known."""
    names = set(PLACEHOLDER.findall(value))
    unknown = names - PLACEHOLDERS.keys()
    if unknown:
        raise DomainError(f"Unknown placeholder {{{sorted(unknown)[0]}}}; known: "
                          + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS) + ".",
                          field=field)
    return names


def values_for(member: Member) -> dict[str, str]:
    values = {"username": member.username, "account_id": str(member.account_id)}
    for direction in ("download", "upload"):
        kbps = getattr(member, f"{direction}_kbps")
        if kbps is not None:
            values[direction] = str(kbps)
            values[f"{direction}_mbps"] = str(kbps // 1000)
            values[f"{direction}_bps"] = str(kbps * 1000)
    return values


def render(value: str, values: dict[str, str]) -> str | None:
    """``value`` filled in; None when it needs a value the member lacks (no speeds)."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        found = values.get(match.group(1))
        if found is None:
            missing = True
            return ""
        return found

    text = PLACEHOLDER.sub(fill, value)
    return None if missing else text
