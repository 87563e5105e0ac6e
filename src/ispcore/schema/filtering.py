"""The one filter and ordering shape every connection takes.

``filter: {name: {contains: "fibre"}, and: [...], or: [...], not: {...}, search: "..."}`` and
``orderBy: [{field: NAME, direction: DESC}]``. Operator inputs are shared; each entity's
filter and order inputs are generated from a short declaration with :func:`listing_inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import UNSET, relay


@strawberry.input(description="Operators on a text field. contains/startsWith ignore case.")
class StringFilter:
    eq: str | None = UNSET
    ne: str | None = UNSET
    in_: list[str] | None = strawberry.field(name="in", default=UNSET)
    contains: str | None = UNSET
    starts_with: str | None = UNSET
    is_null: bool | None = UNSET


@strawberry.input(description="Operators on a whole-number field.")
class IntFilter:
    eq: int | None = UNSET
    ne: int | None = UNSET
    in_: list[int] | None = strawberry.field(name="in", default=UNSET)
    gt: int | None = UNSET
    gte: int | None = UNSET
    lt: int | None = UNSET
    lte: int | None = UNSET
    is_null: bool | None = UNSET


@strawberry.input(description="Operators on a timestamp field.")
class DateTimeFilter:
    eq: datetime | None = UNSET
    gt: datetime | None = UNSET
    gte: datetime | None = UNSET
    lt: datetime | None = UNSET
    lte: datetime | None = UNSET
    is_null: bool | None = UNSET


@strawberry.input(description="Operators on a calendar date field (YYYY-MM-DD).")
class DateFilter:
    eq: date | None = UNSET
    gt: date | None = UNSET
    gte: date | None = UNSET
    lt: date | None = UNSET
    lte: date | None = UNSET
    is_null: bool | None = UNSET


@strawberry.input(description="Operators on a number field.")
class FloatFilter:
    eq: float | None = UNSET
    gt: float | None = UNSET
    gte: float | None = UNSET
    lt: float | None = UNSET
    lte: float | None = UNSET
    is_null: bool | None = UNSET


@strawberry.input(description="Operators on a true/false field.")
class BooleanFilter:
    eq: bool | None = UNSET
    is_null: bool | None = UNSET


@strawberry.input(description="Operators on an id (global ids of the named type).")
class IDFilter:
    eq: relay.GlobalID | None = UNSET
    ne: relay.GlobalID | None = UNSET
    in_: list[relay.GlobalID] | None = strawberry.field(name="in", default=UNSET)
    is_null: bool | None = UNSET


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True)
class IdOf:
    """Declares an ``IDFilter`` field whose ids name ``type_name`` (e.g. ``IdOf("Company")``)."""

    type_name: str


@dataclass(frozen=True)
class Through:
    """An ``IDFilter`` on rows linked through another table, e.g. accounts by the groups
    they are in: ``Through(AccountGroupMembership, "account_id", "account_group_id",
    "AccountGroup")`` matches when some linked row's id passes the operators."""

    link_model: type
    owner_column: str
    target_column: str
    #: The global-id type of ``target_column``; ``None`` with a plain ``input`` (e.g. text).
    type_name: str | None = None
    input: type | None = None


@strawberry.input(name="CustomFieldValueFilter",  # CustomFieldFilter filters definitions
                  description="A condition on one custom field. Use the operator of the "
                  "field's type: text (TEXT, SELECT), number, date or boolean; isSet for "
                  "presence. Several operators must all hold.")
class CustomFieldFilter:
    custom_field_id: relay.GlobalID
    text: StringFilter | None = UNSET
    number: FloatFilter | None = UNSET
    date: DateFilter | None = UNSET
    boolean: bool | None = UNSET
    is_set: bool | None = UNSET


@dataclass(frozen=True)
class CustomFields:
    """A ``[CustomFieldFilter!]`` field; every condition in the list must hold."""

    entity_type: str


FilterField = type | IdOf | Through | CustomFields


def _input_type(spec: FilterField) -> Any:
    if isinstance(spec, Through):
        return spec.input or IDFilter
    if isinstance(spec, IdOf):
        return IDFilter
    if isinstance(spec, CustomFields):
        return list[CustomFieldFilter]
    return spec


@dataclass(frozen=True)
class ListingInputs:
    filter: type
    order: type
    fields: dict[str, FilterField]
    order_fields: type[Enum]


def listing_inputs(entity: str, fields: dict[str, FilterField], order_by: list[str]
                   ) -> ListingInputs:
    """Generate ``<Entity>Filter``, ``<Entity>OrderField`` and ``<Entity>Order``.

    ``fields`` maps snake_case model attributes to operator inputs; ``order_by`` names the
    attributes a caller may sort by (non-null columns: the cursor encodes their values).
    """
    filter_cls = type(f"{entity}Filter", (), {"__module__": __name__})
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    for name, spec in fields.items():
        annotations[name] = _input_type(spec) | None
        namespace[name] = UNSET
    annotations["and_"] = list[filter_cls] | None  # type: ignore[valid-type]
    namespace["and_"] = strawberry.field(name="and", default=UNSET,
                                         description="Every one of these must match.")
    annotations["or_"] = list[filter_cls] | None  # type: ignore[valid-type]
    namespace["or_"] = strawberry.field(name="or", default=UNSET,
                                        description="At least one of these must match.")
    annotations["not_"] = filter_cls | None
    namespace["not_"] = strawberry.field(name="not", default=UNSET,
                                         description="This must not match.")
    annotations["search"] = str | None
    namespace["search"] = strawberry.field(default=UNSET,
                                           description="Free text over the main text fields.")
    filter_cls.__annotations__ = annotations
    for key, value in namespace.items():
        setattr(filter_cls, key, value)
    filter_cls = strawberry.input(filter_cls, description=f"Filter for {entity} connections.")

    order_fields = Enum(f"{entity}OrderField", {n.upper(): n for n in ["id", *order_by]})
    order_fields = strawberry.enum(order_fields, description=f"Fields {entity} sorts by.")
    order_cls = type(f"{entity}Order", (), {
        "__module__": __name__,
        "__annotations__": {"field": order_fields, "direction": OrderDirection},
        "direction": OrderDirection.ASC,
    })
    order_cls = strawberry.input(order_cls, description=f"Sort order for {entity} connections.")
    return ListingInputs(filter_cls, order_cls, fields, order_fields)
