"""A company's network settings."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.network import models as m
from ispcore.schema.companies import Company
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.relations import One, relation


@strawberry.type(description="How a company's network treats its accounts' addresses.")
@model_node(m.NetworkSettings, read_permission="network:read")
class NetworkSettings(ModelNode):
    release_on_disconnect: bool = strawberry.field(description=(
        "Release an account's addresses when it stops being active (after the hold)."))
    release_hold_days: int = strawberry.field(description=(
        "Days an inactive account keeps its addresses; active again within them, it keeps "
        "them for good."))
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))


@strawberry.input
class UpdateNetworkSettingsInput:
    company_id: relay.GlobalID
    release_on_disconnect: bool | None = UNSET
    release_hold_days: int | None = strawberry.field(default=UNSET, description="0 to 3650.")
