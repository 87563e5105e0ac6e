"""NetFlow exporters: the routers ``ispcore netflow`` takes flows from, known by the address
their datagrams come from (unique across companies: it says whose plan the flows are read
against). A running collector reloads them at once when one changes
(:mod:`ispcore.domain.usage.plan_notices`) and at each flush; its counters are written back
at each flush (:mod:`ispcore.domain.usage.netflow_flush`)."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import select

from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import company_of, load, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.usage.models import NetflowExporter

#: Largest sampling override accepted (1 in this many packets).
MAX_SAMPLING_RATE = 1_000_000


def _address(value: str | None) -> str:
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        raise DomainError(f"{value!r} is not an IP address.", field="address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # how an IPv4 exporter looks on a dual-stack socket
    return str(address)


async def _clean(uow: UnitOfWork, company_id: int, values: dict[str, Any], pk: int | None
                 ) -> dict[str, Any]:
    v = Validator()
    required_text(v, values, "name", "Name the exporter.")
    if "description" in values:
        values["description"] = (values["description"] or "").strip()
    for key, most in (("name", 200), ("description", 500)):
        if len(values.get(key) or "") > most:
            v.add(key, f"At most {most} characters.")
    rate = values.get("sampling_rate")
    if rate is not None and not 1 <= rate <= MAX_SAMPLING_RATE:
        v.add("sampling_rate", f"A sampling rate is 1 to {MAX_SAMPLING_RATE:,} (1 in N "
              "packets), or null to take the rate the exporter announces.")
    v.raise_if_any()
    if "name" in values:
        await ensure_name_free(uow.session, NetflowExporter, values["name"], what="exporter",
                               company_id=company_id, exclude_id=pk)
    if "address" in values:
        values["address"] = _address(values["address"])
        clash = await uow.session.scalar(select(NetflowExporter.id).where(
            NetflowExporter.address == values["address"], NetflowExporter.id != (pk or 0)))
        if clash:
            raise DomainError(f"Another exporter has the address {values['address']}.",
                              field="address", code=ErrorCode.DUPLICATE)
    return values


async def create_exporter(uow: UnitOfWork, values: dict[str, Any]) -> NetflowExporter:
    company_id = values.pop("company_id")
    await company_of(uow, company_id)
    values = await _clean(uow, company_id, values, None)
    now = uow.clock.now()
    row = NetflowExporter(company_id=company_id, **values, rejected={}, created_at=now,
                          updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, "netflow_exporter.created", company_id=company_id, entity=row,
                 payload={"name": row.name, "address": row.address})
    return row


async def update_exporter(uow: UnitOfWork, pk: int, values: dict[str, Any]
                          ) -> NetflowExporter:
    row = await load(uow, NetflowExporter, pk, field="id", what="exporter")
    for key, value in (await _clean(uow, row.company_id, values, pk)).items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "netflow_exporter.updated", company_id=row.company_id, entity=row,
                 payload={"changed": sorted(values)})
    return row


async def delete_exporter(uow: UnitOfWork, pk: int) -> NetflowExporter:
    """Usage already credited stays; a running collector drops the exporter's datagrams as
    soon as it hears of the deletion."""
    row = await load(uow, NetflowExporter, pk, field="id", what="exporter")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, "netflow_exporter.deleted", company_id=row.company_id, entity=row,
                 payload={"name": row.name, "address": row.address})
    return row
