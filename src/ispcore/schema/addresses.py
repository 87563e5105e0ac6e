"""Serviceable addresses, who lived at them, and accounts' postal addresses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.addresses import models as m
from ispcore.domain.addresses.service import PostalKind as DomainPostalKind
from ispcore.domain.addresses.service import one_line
from ispcore.domain.custom_fields.service import EntityType
from ispcore.schema.accounts import Account
from ispcore.schema.companies import Company
from ispcore.schema.custom_fields import (
    CustomFieldValue,
    CustomFieldValueInput,
    custom_field_values,
)
from ispcore.schema.filtering import (
    BooleanFilter,
    CustomFields,
    DateFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.relations import Many, One, Via, relation

PostalKind = strawberry.enum(DomainPostalKind, name="PostalAddressKind")


@strawberry.type(description="A place the ISP can serve (or not yet), entered before any "
                 "customer lives there.")
@model_node(m.ServiceableAddress, read_permission="addresses:read")
class ServiceableAddress(ModelNode):
    line1: str
    line2: str | None
    unit: str | None
    city: str
    subdivision: str | None = strawberry.field(description="State, province or region.")
    postal_code: str | None
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    latitude: float | None
    longitude: float | None
    fcc_location_id: str | None = strawberry.field(
        description="FCC Broadband Serviceable Location Fabric id.")
    serviceable: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    @strawberry.field(description="The address on one line.")
    def formatted(self) -> str:
        return one_line(self)

    company: Company | None = relation(One("Company", "company_id"))
    current_account: Account | None = relation(
        Via("Account", m.AddressOccupancy, "serviceable_address_id", "account_id",
            where=lambda: m.AddressOccupancy.moved_out_on.is_(None), single=True),
        description="Who lives here now (null if nobody, or without accounts:read).")
    occupancies: list[AddressOccupancy] | None = relation(
        Many("AddressOccupancy", "serviceable_address_id", order_by=("moved_in_on", "id")),
        description="Everyone who lived here, oldest first.")
    custom_fields: list[CustomFieldValue] = relation(
        custom_field_values(EntityType.SERVICEABLE_ADDRESS))


@strawberry.type(description="An account living at a serviceable address, from one day "
                 "until another (movedOutOn null: still there).")
@model_node(m.AddressOccupancy, read_permission="addresses:read")
class AddressOccupancy(ModelNode):
    moved_in_on: date
    moved_out_on: date | None
    account_id: strawberry.Private[int]
    serviceable_address_id: strawberry.Private[int]

    account: Account | None = relation(One("Account", "account_id"))
    serviceable_address: ServiceableAddress | None = relation(
        One("ServiceableAddress", "serviceable_address_id"))


@strawberry.type(description="A mailing or billing address of an account.")
class PostalAddress:
    line1: str
    line2: str | None
    unit: str | None
    city: str
    subdivision: str | None
    postal_code: str | None
    country: str

    @classmethod
    def from_row(cls, row: Any) -> PostalAddress:
        return cls(line1=row.line1, line2=row.line2, unit=row.unit, city=row.city,
                   subdivision=row.subdivision, postal_code=row.postal_code,
                   country=row.country)

    @strawberry.field(description="The address on one line.")
    def formatted(self) -> str:
        return one_line(self)


SERVICEABLE_ADDRESS_LISTING = listing_inputs(
    "ServiceableAddress",
    {"id": IdOf("ServiceableAddress"), "company_id": IdOf("Company"), "line1": StringFilter,
     "unit": StringFilter, "city": StringFilter, "subdivision": StringFilter,
     "postal_code": StringFilter, "country": StringFilter, "fcc_location_id": StringFilter,
     "serviceable": BooleanFilter, "created_at": DateTimeFilter,
     "custom_fields": CustomFields("SERVICEABLE_ADDRESS")},
    order_by=["line1", "city", "created_at"],
)
OCCUPANCY_LISTING = listing_inputs(
    "AddressOccupancy",
    {"account_id": IdOf("Account"), "serviceable_address_id": IdOf("ServiceableAddress"),
     "company_id": IdOf("Company"), "moved_in_on": DateFilter, "moved_out_on": DateFilter},
    order_by=["moved_in_on"],
)


@strawberry.input
class CreateServiceableAddressInput:
    company_id: relay.GlobalID
    line1: str
    city: str
    country: str
    line2: str | None = UNSET
    unit: str | None = UNSET
    subdivision: str | None = UNSET
    postal_code: str | None = UNSET
    latitude: float | None = UNSET
    longitude: float | None = UNSET
    fcc_location_id: str | None = UNSET
    serviceable: bool | None = UNSET
    custom_fields: list[CustomFieldValueInput] | None = UNSET


@strawberry.input
class UpdateServiceableAddressInput:
    id: relay.GlobalID
    line1: str | None = UNSET
    city: str | None = UNSET
    country: str | None = UNSET
    line2: str | None = UNSET
    unit: str | None = UNSET
    subdivision: str | None = UNSET
    postal_code: str | None = UNSET
    latitude: float | None = UNSET
    longitude: float | None = UNSET
    fcc_location_id: str | None = UNSET
    serviceable: bool | None = UNSET
    custom_fields: list[CustomFieldValueInput] | None = UNSET


@strawberry.input(description="The account leaves its current address that day; an "
                  "inactive previous occupant of the new one is moved out.")
class MoveAccountToAddressInput:
    account_id: relay.GlobalID
    serviceable_address_id: relay.GlobalID
    date: date | None = strawberry.field(default=None, description="Today if omitted.")


@strawberry.input
class MoveAccountOutInput:
    account_id: relay.GlobalID
    date: date | None = strawberry.field(default=None, description="Today if omitted.")


@strawberry.input
class SetAccountPostalAddressInput:
    account_id: relay.GlobalID
    kind: PostalKind
    line1: str
    city: str
    country: str
    line2: str | None = None
    unit: str | None = None
    subdivision: str | None = None
    postal_code: str | None = None


@strawberry.input
class ClearAccountPostalAddressInput:
    account_id: relay.GlobalID
    kind: PostalKind
