"""Which poller owns a device: the one rule, used when a device is saved and when a poller's
scopes or state change.

Among the *active* pollers of the device's company, a subnet scope holding the management
address wins, the longest prefix first; failing that, a scope naming the device's network site.
Ties go to the lowest poller id. No match: nobody polls the device (``None``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.monitoring.models import Device, Poller, PollerScope

#: Ids per UPDATE: drivers cap bound parameters (asyncpg at 32767), so a company with more
#: devices moving to one poller takes a few statements.
_CHUNK = 10_000


@dataclass(frozen=True)
class Scope:
    poller_id: int
    network_site_id: int | None
    family: int | None
    first_key: str | None
    last_key: str | None
    prefix_length: int | None


def owner_of(scopes: Iterable[Scope], family: int, address_key: str,
             network_site_id: int | None) -> int | None:
    """The poller id that owns a device with this address and site, given the company's
    active pollers' scopes. Pure; keys are same-width hex, so they compare as text."""
    best_subnet: tuple[int, int] | None = None  # (-prefix length, poller id)
    best_site: int | None = None
    for s in scopes:
        if s.family is not None:
            if s.family == family and s.first_key <= address_key <= s.last_key:  # type: ignore[operator]
                rank = (-(s.prefix_length or 0), s.poller_id)
                if best_subnet is None or rank < best_subnet:
                    best_subnet = rank
        elif network_site_id is not None and s.network_site_id == network_site_id and (
                best_site is None or s.poller_id < best_site):
            best_site = s.poller_id
    return best_subnet[1] if best_subnet is not None else best_site


async def active_scopes(uow: UnitOfWork, company_id: int) -> list[Scope]:
    rows = await uow.session.execute(
        select(PollerScope.poller_id, PollerScope.network_site_id, PollerScope.family,
               PollerScope.first_key, PollerScope.last_key, PollerScope.prefix_length)
        .join(Poller, Poller.id == PollerScope.poller_id)
        .where(PollerScope.company_id == company_id, Poller.active.is_(True)))
    return [Scope(*row) for row in rows]


async def assign_owner(uow: UnitOfWork, device: Device) -> None:
    """Set ``device.poller_id`` from its address and site (before it is flushed)."""
    device.poller_id = owner_of(await active_scopes(uow, device.company_id), device.family,
                                device.address_key, device.network_site_id)


async def reassign_company(uow: UnitOfWork, company_id: int) -> int:
    """Recompute the owner of every device of the company (a poller's scopes or state
    changed): two reads, then one UPDATE per new owner. Returns how many devices moved."""
    scopes = await active_scopes(uow, company_id)
    rows = await uow.session.execute(
        select(Device.id, Device.family, Device.address_key, Device.network_site_id,
               Device.poller_id).where(Device.company_id == company_id))
    moves: dict[int | None, list[int]] = {}
    for device_id, family, key, site_id, current in rows:
        owner = owner_of(scopes, family, key, site_id)
        if owner != current:
            moves.setdefault(owner, []).append(device_id)
    for owner, ids in moves.items():
        for start in range(0, len(ids), _CHUNK):
            await uow.session.execute(
                update(Device).where(Device.id.in_(ids[start:start + _CHUNK]))
                .values(poller_id=owner).execution_options(synchronize_session="evaluate"))
    return sum(len(ids) for ids in moves.values())


#: Deleting a network site drops the pollers' scopes naming it (and the devices' link to it):
#: their owners are recomputed when the event is handled, shortly after.
SITE_DELETED_HANDLER = "monitoring.site_deleted"


async def sites_deleted(uow: UnitOfWork, events: list[Any]) -> None:
    for company_id in sorted({e.company_id for e in events if e.company_id is not None}):
        await reassign_company(uow, company_id)
