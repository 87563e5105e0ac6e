"""The address plan: network sites, supernets, the subnets carved from them and the pools of
a subnet that automatic assignment draws from. Blocks are checked against each other on
every change: a subnet lies in its supernet, subnets of a company never overlap, pools stay
in their subnet's usable range and apart."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.common.errors import DomainError, ErrorCode, InUse, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import (
    company_of,
    ensure_unused,
    load,
    lock_row,
    required_text,
    snapshot,
)
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.events.service import record_event
from ispcore.domain.network import addressing as a
from ispcore.domain.network.models import IpAssignment, IpPool, NetworkSite, Subnet, Supernet


class SiteKind(StrEnum):
    TOWER = "TOWER"
    POP = "POP"
    BUILDING = "BUILDING"
    DATA_CENTER = "DATA_CENTER"
    OTHER = "OTHER"


def _texts(v: Validator, model: type, values: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key in values:
            values[key] = (values[key] or "").strip()
    v.fit_columns(model, values)


async def _changed(uow: UnitOfWork, row: Any, values: dict[str, Any], event: str) -> Any:
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, event, company_id=row.company_id, entity=row,
                 payload={"changed": sorted(values)})
    return row


async def _new(uow: UnitOfWork, model: type, values: dict[str, Any], event: str,
               shown: tuple[str, ...]) -> Any:
    now = uow.clock.now()
    row = model(**values, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, event, company_id=row.company_id, entity=row, payload=snapshot(row, shown))
    return row


async def _deleted(uow: UnitOfWork, row: Any, event: str) -> Any:
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, event, company_id=row.company_id, payload={"id": row.id})
    return row


# --- sites ------------------------------------------------------------------------------------

def _clean_site(values: dict[str, Any]) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "name", "A site needs a name.")
    _texts(v, NetworkSite, out, "description")
    for key, limit in (("latitude", 90), ("longitude", 180)):
        if out.get(key) is not None and not -limit <= out[key] <= limit:
            v.add(key, f"A {key} is between -{limit} and {limit} degrees.")
    v.raise_if_any()
    return out


async def create_site(uow: UnitOfWork, values: dict[str, Any]) -> NetworkSite:
    company = await company_of(uow, values.pop("company_id"))
    data = _clean_site(values)
    await ensure_name_free(uow.session, NetworkSite, data["name"], what="site",
                           company_id=company.id)
    return await _new(uow, NetworkSite, {"company_id": company.id, **data},
                      "network_site.created", ("name", "kind"))


async def update_site(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> NetworkSite:
    row = await load(uow, NetworkSite, pk, field="id", what="site")
    data = _clean_site(changes)
    if "name" in data:
        await ensure_name_free(uow.session, NetworkSite, data["name"], what="site",
                               company_id=row.company_id, exclude_id=row.id)
    return await _changed(uow, row, data, "network_site.updated")


async def delete_site(uow: UnitOfWork, pk: int) -> NetworkSite:
    row = await load(uow, NetworkSite, pk, field="id", what="site")
    await ensure_unused(uow, row.id, ((Subnet, "network_site_id", "subnet"),), what="site")
    return await _deleted(uow, row, "network_site.deleted")


# --- supernets and subnets --------------------------------------------------------------------

def _block(values: dict[str, Any]) -> a.Network:
    network = a.parse_network(values.get("cidr"), field="cidr")
    values.update(cidr=str(network), **_range(a.span_of(network)))
    return network


def _range(span: a.Span) -> dict[str, Any]:
    return {"family": span.family, "first_key": span.first_key, "last_key": span.last_key}


async def _overlapping(uow: UnitOfWork, model: type, company_id: int, span: a.Span,
                       **where: Any) -> Any:
    stmt = select(model).where(model.company_id == company_id, model.family == span.family,
                               model.first_key <= span.last_key,
                               model.last_key >= span.first_key)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    return await uow.session.scalar(stmt.order_by(model.first_key).limit(1))


async def create_supernet(uow: UnitOfWork, values: dict[str, Any]) -> Supernet:
    company = await company_of(uow, values.pop("company_id"))
    v = Validator()
    _texts(v, Supernet, values, "name", "description")
    v.raise_if_any()
    span = a.span_of(_block(values))
    # Holding the company keeps two new supernets from overlapping.
    await lock_row(uow, Company, company.id)
    clash = await _overlapping(uow, Supernet, company.id, span)
    if clash is not None:
        raise DomainError(f"{values['cidr']} overlaps the supernet {clash.cidr}.", field="cidr")
    return await _new(uow, Supernet, {"company_id": company.id, **values}, "supernet.created",
                      ("cidr", "name"))


async def update_supernet(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> Supernet:
    row = await load(uow, Supernet, pk, field="id", what="supernet")
    v = Validator()
    _texts(v, Supernet, changes, "name", "description")
    v.raise_if_any()
    return await _changed(uow, row, changes, "supernet.updated")


async def delete_supernet(uow: UnitOfWork, pk: int) -> Supernet:
    row = await load(uow, Supernet, pk, field="id", what="supernet")
    await ensure_unused(uow, row.id, ((Subnet, "supernet_id", "subnet"),), what="supernet",
                        instead=" Delete its subnets first.")
    return await _deleted(uow, row, "supernet.deleted")


async def _clean_subnet(uow: UnitOfWork, company_id: int, values: dict[str, Any],
                        network: a.Network) -> None:
    v = Validator()
    _texts(v, Subnet, values, "name", "description")
    if values.get("network_site_id") is not None:
        try:
            await load(uow, NetworkSite, values["network_site_id"], field="network_site_id",
                       what="site", company_id=company_id)
        except DomainError as exc:
            v.errors.append(exc)
    if values.get("gateway") is not None:
        try:
            gateway = a.parse_address(values["gateway"], field="gateway")
            values["gateway"] = str(gateway)
            if not a.usable_span(network).contains(a.point(gateway)):
                v.add("gateway", f"The gateway {gateway} is not a usable address of "
                      f"{network}.")
        except DomainError as exc:
            v.errors.append(exc)
    length = values.get("delegated_prefix_length")
    if length is not None:
        if network.version != 6:
            v.add("delegated_prefix_length", "Only IPv6 subnets delegate prefixes.")
        elif not network.prefixlen < length <= 128:
            v.add("delegated_prefix_length", f"A delegated prefix is longer than the "
                  f"subnet's /{network.prefixlen} and at most /128.")
    v.raise_if_any()


async def create_subnet(uow: UnitOfWork, values: dict[str, Any]) -> Subnet:
    supernet = await load(uow, Supernet, values.pop("supernet_id"), field="supernet_id",
                          what="supernet")
    # Subnets lie inside their supernet: holding it keeps two new subnets from overlapping.
    await lock_row(uow, Supernet, supernet.id)
    network = _block(values)
    span = a.span_of(network)
    if not a.span_of(a.parse_network(supernet.cidr, field="supernet_id")).contains(span):
        raise DomainError(f"{network} is not inside the supernet {supernet.cidr}.",
                          field="cidr")
    await _clean_subnet(uow, supernet.company_id, values, network)
    clash = await _overlapping(uow, Subnet, supernet.company_id, span)
    if clash is not None:
        raise DomainError(f"{network} overlaps the subnet {clash.cidr}.", field="cidr")
    return await _new(uow, Subnet, {"company_id": supernet.company_id,
                                    "supernet_id": supernet.id, **values}, "subnet.created",
                      ("cidr", "name", "supernet_id", "delegated_prefix_length"))


async def update_subnet(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> Subnet:
    row = await load(uow, Subnet, pk, field="id", what="subnet")
    network = a.parse_network(row.cidr, field="id")
    await _clean_subnet(uow, row.company_id, changes, network)
    return await _changed(uow, row, changes, "subnet.updated")


async def _held(uow: UnitOfWork, column: Any, pk: int) -> int:
    return await uow.session.scalar(select(func.count()).select_from(IpAssignment).where(
        column == pk, IpAssignment.released_at.is_(None))) or 0


async def delete_subnet(uow: UnitOfWork, pk: int) -> Subnet:
    row = await load(uow, Subnet, pk, field="id", what="subnet")
    await ensure_unused(uow, row.id, ((IpPool, "subnet_id", "pool"),), what="subnet",
                        instead=" Delete its pools first.")
    held = await _held(uow, IpAssignment.subnet_id, row.id)
    if held:
        raise InUse(f"{held} address(es) of this subnet are assigned; release them first.",
                    field="id")
    await ensure_unused(uow, row.id, ((IpAssignment, "subnet_id", "past assignment"),),
                        what="subnet", instead=" The assignment history keeps it.")
    return await _deleted(uow, row, "subnet.deleted")


# --- pools ------------------------------------------------------------------------------------

async def _pool_range(uow: UnitOfWork, subnet: Subnet, values: dict[str, Any],
                      exclude_id: int | None) -> None:
    v = Validator()
    found = {}
    for key in ("first_address", "last_address"):
        try:
            found[key] = a.parse_address(values[key], field=key)
            values[key] = str(found[key])
        except DomainError as exc:
            v.errors.append(exc)
    v.raise_if_any()
    usable = a.usable_span(a.parse_network(subnet.cidr, field="subnet_id"))
    first, last = int(found["first_address"]), int(found["last_address"])
    for key, address in found.items():
        if not usable.contains(a.point(address)):
            v.add(key, f"{address} is not a usable address of {subnet.cidr}.")
    v.raise_if_any()
    if last < first:
        raise DomainError("The last address comes before the first.", field="last_address")
    span = a.Span(usable.family, first, last)
    clash = await uow.session.scalar(select(IpPool).where(
        IpPool.subnet_id == subnet.id, IpPool.id != (exclude_id or -1),
        IpPool.first_key <= span.last_key, IpPool.last_key >= span.first_key).limit(1))
    if clash is not None:
        raise DomainError(f"The range overlaps the pool {clash.first_address}-"
                          f"{clash.last_address}.", field="first_address")
    values.update(_range(span))


async def create_pool(uow: UnitOfWork, values: dict[str, Any]) -> IpPool:
    subnet = await load(uow, Subnet, values.pop("subnet_id"), field="subnet_id", what="subnet")
    v = Validator()
    _texts(v, IpPool, values, "name")
    v.raise_if_any()
    await _pool_range(uow, subnet, values, None)
    return await _new(uow, IpPool, {"company_id": subnet.company_id, "subnet_id": subnet.id,
                                    **values}, "ip_pool.created",
                      ("name", "subnet_id", "first_address", "last_address"))


async def update_pool(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> IpPool:
    row = await load(uow, IpPool, pk, field="id", what="pool")
    v = Validator()
    _texts(v, IpPool, changes, "name")
    v.raise_if_any()
    if "first_address" in changes or "last_address" in changes:
        changes.setdefault("first_address", row.first_address)
        changes.setdefault("last_address", row.last_address)
        subnet = await uow.session.get_one(Subnet, row.subnet_id)
        await _pool_range(uow, subnet, changes, row.id)
        outside = await uow.session.scalar(select(func.count()).select_from(IpAssignment).where(
            IpAssignment.pool_id == row.id, IpAssignment.released_at.is_(None),
            (IpAssignment.first_key < changes["first_key"])
            | (IpAssignment.last_key > changes["last_key"])))
        if outside:
            raise DomainError(f"{outside} address(es) assigned from this pool fall outside "
                              "the new range.", field="first_address", code=ErrorCode.IN_USE)
    return await _changed(uow, row, changes, "ip_pool.updated")


async def delete_pool(uow: UnitOfWork, pk: int) -> IpPool:
    row = await load(uow, IpPool, pk, field="id", what="pool")
    held = await _held(uow, IpAssignment.pool_id, row.id)
    if held:
        raise InUse(f"{held} address(es) of this pool are assigned; release them first.",
                    field="id")
    return await _deleted(uow, row, "ip_pool.deleted")
