"""Root fields for NetFlow: exporters and unattributed traffic. (No ``from __future__ import
annotations``: the connection's filter and order types are made at import time.)"""

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage import exporters
from ispcore.domain.usage.unattributed import unattributed_totals
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node
from ispcore.resolvers.listing import bad_input, paginate
from ispcore.schema import netflow as s
from ispcore.schema.accounts import IdInput
from ispcore.schema.companies import Company
from ispcore.schema.netflow import NetflowExporter, UnattributedUsage
from ispcore.schema.nodes import Connection, global_id
from ispcore.schema.permissions import requires
from ispcore.schema.scalars import BigInt

READ, CONFIGURE = "usage:read", "usage:configure"
IDS = {"company_id": Company}
LISTING = s.EXPORTER_LISTING


async def _create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"netflow_exporter": await exporters.create_exporter(uow, values_of(data, IDS))}


async def _update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True, nullable=("sampling_rate",))
    return {"netflow_exporter": await exporters.update_exporter(
        uow, pk(data.id, NetflowExporter), values)}


async def _delete(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await exporters.delete_exporter(uow, pk(data.id, NetflowExporter))
    return {"deleted_id": global_id(row)}


@strawberry.type
class NetflowQuery:
    @strawberry.field(extensions=requires(READ), description="Routers exporting NetFlow or "
                      "IPFIX to `ispcore netflow`, with the collector's counters.")
    async def netflow_exporters(
            self, info: Info,
            company_id: Annotated[relay.GlobalID | None, strawberry.argument(
                description="Only this company's.")] = None,
            first: int | None = None, after: str | None = None,
            filter: LISTING.filter | None = None,  # type: ignore[name-defined]
            order_by: list[LISTING.order] | None = None,  # type: ignore[name-defined]
    ) -> Connection[NetflowExporter]:
        statement = NetflowExporter.readable(info.context.actor)
        if company_id is not None:
            statement = statement.where(NetflowExporter.model.company_id == pk(
                company_id, Company, "company_id"))
        settings = info.context.runtime.settings
        return await paginate(
            info.context.rows, statement, node_type=NetflowExporter, inputs=LISTING,
            first=first, after=after, filter=filter, order_by=order_by,
            search_columns=(NetflowExporter.model.name, NetflowExporter.model.address),
            max_page_size=settings.max_page_size,
            default_page_size=settings.default_page_size)

    @strawberry.field(extensions=requires(READ), description=(
        "Traffic no account was credited with, per address, over the hours starting in "
        "[from, to): addresses of the plan nobody held then, and transit (address empty). "
        "The largest first."))
    async def unattributed_usage(
            self, info: Info, company_id: relay.GlobalID,
            from_: Annotated[datetime, strawberry.argument(name="from")], to: datetime,
            only_source: Annotated[str | None, strawberry.argument(
                name="source", description="Only this source (NETFLOW, RADIUS, …).")] = None,
            first: int = 100) -> list[UnattributedUsage]:
        settings = info.context.runtime.settings
        if not 0 <= first <= settings.max_page_size:
            raise bad_input(f"first must be between 0 and {settings.max_page_size}.")
        company = await fetch_node(info, Company, company_id)
        if company is None:
            return []
        try:
            async with info.context.unit_of_work("unattributedUsage") as uow:
                totals = await unattributed_totals(uow, company.pk, from_, to,
                                                   source=only_source, limit=first)
        except DomainError as exc:
            raise bad_input(exc.message) from None
        return [UnattributedUsage(source=t.source, address=t.address, transit=not t.address,
                                  bytes_in=BigInt(t.bytes_in), bytes_out=BigInt(t.bytes_out),
                                  records=BigInt(t.records)) for t in totals]


@strawberry.type
class NetflowMutation:
    create_netflow_exporter = command(
        _create, input_type=s.CreateNetflowExporterInput, permission=CONFIGURE,
        payload=payload_type("CreateNetflowExporter", "netflow_exporter", NetflowExporter),
        description="Add a router whose NetFlow/IPFIX `ispcore netflow` takes.")
    update_netflow_exporter = command(
        _update, input_type=s.UpdateNetflowExporterInput, permission=CONFIGURE,
        payload=payload_type("UpdateNetflowExporter", "netflow_exporter", NetflowExporter),
        description="Change an exporter (inactive: its datagrams are dropped).")
    delete_netflow_exporter = command(
        _delete, input_type=IdInput, permission=CONFIGURE,
        payload=payload_type("DeleteNetflowExporter", "deleted_id", NetflowExporter),
        description="Delete an exporter (usage already credited stays).")
