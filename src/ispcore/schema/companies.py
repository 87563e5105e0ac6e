"""Companies: the ISP brands everything else belongs to."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.companies.models import Company as CompanyModel
from ispcore.schema.errors import UserError
from ispcore.schema.filtering import DateTimeFilter, IdOf, StringFilter, listing_inputs
from ispcore.schema.nodes import ModelNode, model_node


@strawberry.type(description="An ISP brand. Every account, invoice and device belongs to one.")
@model_node(CompanyModel, read_permission="companies:read")
class Company(ModelNode):
    name: str
    currency: str = strawberry.field(description="ISO 4217 code; all money of this company.")
    time_zone: str = strawberry.field(description="IANA zone; billing dates are local to it.")
    contact_email: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    subdivision: str | None
    postal_code: str | None
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    active: bool = strawberry.field(description="An inactive company takes no payments.")
    created_at: datetime
    updated_at: datetime


COMPANY_LISTING = listing_inputs(
    "Company",
    {"id": IdOf("Company"), "name": StringFilter, "currency": StringFilter,
     "time_zone": StringFilter, "country": StringFilter, "created_at": DateTimeFilter},
    order_by=["name", "created_at"],
)
CompanyFilter = COMPANY_LISTING.filter
CompanyOrder = COMPANY_LISTING.order


@strawberry.input
class CreateCompanyInput:
    name: str
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    time_zone: str = strawberry.field(description="IANA time zone, e.g. America/Chicago.")
    contact_email: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    subdivision: str | None = None
    postal_code: str | None = None
    country: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the first result.")


@strawberry.input
class UpdateCompanyInput:
    id: relay.GlobalID
    name: str | None = UNSET
    currency: str | None = UNSET
    time_zone: str | None = UNSET
    contact_email: str | None = UNSET
    address_line1: str | None = UNSET
    address_line2: str | None = UNSET
    city: str | None = UNSET
    subdivision: str | None = UNSET
    postal_code: str | None = UNSET
    country: str | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class DeleteCompanyInput:
    id: relay.GlobalID


@strawberry.type
class CreateCompanyPayload:
    company: Company | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateCompanyPayload:
    company: Company | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteCompanyPayload:
    deleted_id: relay.GlobalID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
