"""Address lists for MikroTik firewalls (the seeds' "controlling access"): the held addresses
of delinquent and of suspended accounts, as data and as a RouterOS script that replaces each
list on the router."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select

from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network.models import IpAssignment
from ispcore.domain.network.settings import network_settings


@dataclass(frozen=True)
class AddressList:
    name: str
    state: str
    entries: list[tuple[str, int]]  # (address, account id)


async def address_lists(uow: UnitOfWork, company_id: int) -> list[AddressList]:
    settings = await network_settings(uow, company_id, create=False)
    rows = (await uow.session.execute(
        select(IpAssignment.address, IpAssignment.account_id, AccountStatus.is_delinquent)
        .join(Account, Account.id == IpAssignment.account_id)
        .join(AccountStatus, AccountStatus.id == Account.account_status_id)
        .where(IpAssignment.company_id == company_id, IpAssignment.released_at.is_(None),
               (AccountStatus.is_delinquent
                | and_(~AccountStatus.counts_as_active, ~AccountStatus.is_lead)))
        .order_by(IpAssignment.family, IpAssignment.first_key))).all()
    return [
        AddressList(settings.delinquent_address_list, "DELINQUENT",
                    [(a, pk) for a, pk, delinquent in rows if delinquent]),
        AddressList(settings.suspended_address_list, "SUSPENDED",
                    [(a, pk) for a, pk, delinquent in rows if not delinquent]),
    ]


def routeros_script(lists: list[AddressList]) -> str:
    """``/import``-able: empties each list, then adds its addresses (IPv6 ones under
    ``/ipv6 firewall``)."""
    lines = ["# ispcore address lists: run with /import on the router"]
    for family, menu in ((4, "/ip firewall address-list"), (6, "/ipv6 firewall address-list")):
        lines.append(menu)
        for lst in lists:
            lines.append(f':foreach i in=[find list="{lst.name}"] do={{ remove $i }}')
            for address, account_id in lst.entries:
                if (":" in address) == (family == 6):
                    lines.append(f'add list="{lst.name}" address={address} '
                                 f'comment="ispcore account {account_id}"')
    return "\n".join(lines) + "\n"
