"""FreeRADIUS against the ispcore database: its ``rlm_sql`` reads the views (``radcheck``,
``radreply``, ``radusergroup``, ``radgroupreply``, ``radgroupcheck``) and writes ``radacct``;
only its clients come from here, as a ``clients.conf``, because NAS secrets are sealed and the
``nas`` view shows none."""

from __future__ import annotations

import ipaddress

from sqlalchemy import select

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network.models import NasClient
from ispcore.domain.network.nas import secret_of


def _fits(value: str, mark: str) -> bool:
    """Whether ``value`` survives in ``mark`` quotes. FreeRADIUS 3 reads a backslash and the
    character after it as they are, except that a backslash before the quote mark stands for
    the mark: an odd run of backslashes before the mark, or at the end, cannot be written."""
    run = 0
    for char in value:
        if char == "\\":
            run += 1
            continue
        if char == mark and run % 2:
            return False
        run = 0
    return run % 2 == 0


def quote(value: str) -> str:
    """``value`` as a FreeRADIUS configuration string that reads back as ``value``: in single
    quotes (nothing is expanded in them), else in double quotes when it has no ``$`` (they
    expand ``${...}`` and ``$ENV{...}`` as the file is read). Raises ValueError for a value no
    quoting can carry (control characters; backslashes before both kinds of quote)."""
    if not value.isprintable():
        raise ValueError("control characters cannot be written in a FreeRADIUS string")
    if _fits(value, "'"):
        return "'" + value.replace("'", "\\'") + "'"
    if "$" not in value and _fits(value, '"'):
        return '"' + value.replace('"', '\\"') + '"'
    raise ValueError("FreeRADIUS cannot read this value back from its configuration")


def clients_conf_entry(nas: NasClient, secret: str) -> str:
    address = ipaddress.ip_address(nas.address)  # stored normalised; bare words are safe
    key = "ipaddr" if address.version == 4 else "ipv6addr"
    try:
        secret_text = quote(secret)
    except ValueError:
        raise DomainError(f"FreeRADIUS cannot read the shared secret of NAS {nas.name!r} from "
                          "clients.conf (a backslash before both kinds of quote, or at the "
                          "end): give it another secret.", field="secret") from None
    try:
        shortname = quote(nas.name)
    except ValueError:
        shortname = f"nas-{nas.id}"
    return "\n".join([
        f"client nas-{nas.id} {{",
        f"\t{key} = {address}",
        f"\tsecret = {secret_text}",
        f"\tshortname = {shortname}",
        f"\tnas_type = {quote(nas.kind.lower())}",
        "}",
    ])


async def clients_conf(uow: UnitOfWork) -> str:
    """A ``clients.conf`` for every active NAS, secrets opened with the vault key."""
    rows = await uow.session.scalars(
        select(NasClient).where(NasClient.active).order_by(NasClient.id))
    entries = [clients_conf_entry(nas, secret_of(uow, nas)) for nas in rows]
    head = ("# FreeRADIUS clients: the active NAS clients in ispcore (`ispcore "
            "freeradius-clients`).\n# Holds the shared secrets: keep it readable by FreeRADIUS "
            "only.\n")
    return head + "".join(f"\n{entry}\n" for entry in entries)
