"""NetFlow types: the exporters ``ispcore netflow`` listens to, and traffic no account
could be credited with."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.usage import models as m
from ispcore.schema.filtering import (
    BooleanFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.scalars import BigInt

READ = "usage:read"


@strawberry.type(description="How many datagrams, records or samples of an exporter were "
                 "refused for one reason.")
class NetflowRejectCount:
    reason: str = strawberry.field(description="unknown_version, short, bad_set, "
                                   "no_template, replayed, memory_full, in_future, "
                                   "absurd_bytes, … (see the README).")
    count: BigInt


@strawberry.type(description="A router exporting NetFlow v5/v9 or IPFIX to `ispcore "
                 "netflow`, with the collector's counters (written at each flush).")
@model_node(m.NetflowExporter, read_permission=READ)
class NetflowExporter(ModelNode):
    name: str
    address: str = strawberry.field(description="Where its datagrams come from; datagrams "
                                    "from other addresses are dropped.")
    sampling_rate: int | None = strawberry.field(description="Overrides the sampling rate "
                                                 "the exporter announces (1 in N packets); "
                                                 "null: as announced.")
    description: str
    active: bool
    last_seen_at: datetime | None = strawberry.field(description="The flush after its "
                                                     "latest datagram.")
    datagrams: BigInt = strawberry.field(description="Datagrams received from it.")
    flows: BigInt = strawberry.field(description="Flow records decoded.")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    rejected: strawberry.Private[dict[str, Any]]

    @strawberry.field(name="rejected", description="What was refused, per reason.")
    def rejected_counts(self) -> list[NetflowRejectCount]:
        return [NetflowRejectCount(reason=reason, count=BigInt(count))
                for reason, count in sorted(self.rejected.items())]


@strawberry.type(description="Traffic over a time range that no account was credited with: "
                 "an address of the company's address space (its supernets) nobody held "
                 "then, or transit (flows with neither end in it, address empty).")
class UnattributedUsage:
    source: str = strawberry.field(description="NETFLOW, RADIUS, RADACCT, PRESEEM or API.")
    address: str
    transit: bool
    bytes_in: BigInt = strawberry.field(description="Bytes to the address (transit: all).")
    bytes_out: BigInt = strawberry.field(description="Bytes from the address.")
    records: BigInt = strawberry.field(description="Flow records (or other records) counted.")


EXPORTER_LISTING = listing_inputs(
    "NetflowExporter", {"id": IdOf("NetflowExporter"), "company_id": IdOf("Company"),
                        "name": StringFilter, "address": StringFilter,
                        "active": BooleanFilter, "last_seen_at": DateTimeFilter},
    order_by=["name", "created_at"])


@strawberry.input
class CreateNetflowExporterInput:
    company_id: relay.GlobalID
    name: str
    address: str = strawberry.field(description="The source address of its datagrams "
                                     "(unique across companies).")
    sampling_rate: int | None = strawberry.field(default=UNSET, description="Null: the "
                                                 "rate the exporter announces.")
    description: str | None = UNSET
    active: bool | None = UNSET


@strawberry.input(description="Omitted fields stay; a null samplingRate takes the rate the "
                  "exporter announces again.")
class UpdateNetflowExporterInput:
    id: relay.GlobalID
    name: str | None = UNSET
    address: str | None = UNSET
    sampling_rate: int | None = UNSET
    description: str | None = UNSET
    active: bool | None = UNSET
