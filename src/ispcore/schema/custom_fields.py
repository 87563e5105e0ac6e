"""Custom field definitions and the values entities carry."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET, relay
from strawberry.scalars import JSON
from strawberry.types import Info

from ispcore.domain.custom_fields.models import CustomField as CustomFieldModel
from ispcore.domain.custom_fields.models import CustomFieldValue as ValueModel
from ispcore.domain.custom_fields.service import DataType as DomainDataType
from ispcore.domain.custom_fields.service import EntityType as DomainEntityType
from ispcore.domain.custom_fields.service import json_value
from ispcore.schema.filtering import BooleanFilter, IdOf, StringFilter, listing_inputs
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import Rows

CustomFieldEntity = strawberry.enum(DomainEntityType, name="CustomFieldEntity",
                                    description="Which kind of entity a custom field is on.")
CustomFieldType = strawberry.enum(DomainDataType, name="CustomFieldType",
                                  description="What a custom field holds.")


@strawberry.type(description="A field an ISP adds to accounts, contacts or addresses.")
@model_node(CustomFieldModel, read_permission="accounts:read")
class CustomField(ModelNode):
    name: str
    entity_type: CustomFieldEntity
    data_type: CustomFieldType
    options: list[str] = strawberry.field(description="The choices of a SELECT field.")
    required: bool = strawberry.field(description="Entities are created with a value, and "
                                      "a value may change but not be removed.")
    unique: bool = strawberry.field(description="No two entities share a value (text "
                                    "compared without case).")
    created_at: datetime
    updated_at: datetime


@strawberry.type(description="One custom field's value on an entity.")
class CustomFieldValue:
    custom_field_id: strawberry.Private[int]
    value: JSON = strawberry.field(description="Text, number, YYYY-MM-DD date or boolean, "
                                   "by the field's type.")

    @strawberry.field
    async def custom_field(self, info: Info) -> CustomField | None:
        return await related(info, CustomField, self.custom_field_id)


def custom_field_values(entity_type: DomainEntityType) -> Rows:
    """The ``customFields`` relation of an entity type."""
    return Rows(ValueModel, "entity_id", order_by=("custom_field_id",),
                where=lambda: ValueModel.entity_type == entity_type.value,
                build=lambda rows: [CustomFieldValue(custom_field_id=row.custom_field_id,
                                                     value=json_value(row)) for row in rows])


@strawberry.input(description="A value for one custom field; null removes it.")
class CustomFieldValueInput:
    custom_field_id: relay.GlobalID
    value: JSON | None


CUSTOM_FIELD_LISTING = listing_inputs(
    "CustomField",
    {"id": IdOf("CustomField"), "company_id": IdOf("Company"), "name": StringFilter,
     "entity_type": StringFilter, "data_type": StringFilter, "required": BooleanFilter},
    order_by=["name"],
)


@strawberry.input
class CreateCustomFieldInput:
    company_id: relay.GlobalID
    name: str
    entity_type: CustomFieldEntity
    data_type: CustomFieldType
    options: list[str] | None = UNSET
    required: bool | None = UNSET
    unique: bool | None = UNSET


@strawberry.input(description="The type and entity of a field never change.")
class UpdateCustomFieldInput:
    id: relay.GlobalID
    name: str | None = UNSET
    options: list[str] | None = UNSET
    required: bool | None = UNSET
    unique: bool | None = UNSET

