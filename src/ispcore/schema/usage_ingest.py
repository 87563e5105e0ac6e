"""Types of ``ingestUsage``: usage records pushed by middleware."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET, relay
from strawberry.relay.types import GlobalIDValueError, InvalidGlobalIDError

from ispcore.schema.errors import UserError
from ispcore.schema.scalars import BigInt


@strawberry.input(description="Usage of one account over [start, end). Name the account "
                  "exactly one way: accountId, ipAddress (whoever held the address, or a "
                  "delegated prefix containing it, at the start) or radiusUsername (whoever "
                  "had that login at the start).")
class UsageRecordInput:
    start: datetime
    end: datetime
    bytes_in: BigInt = strawberry.field(description="Bytes downloaded by the customer.")
    bytes_out: BigInt = strawberry.field(description="Bytes uploaded by the customer.")
    source_record_id: str = strawberry.field(
        description="The record's id in your system (1 to 200 characters): the same id "
                    "again, in this call or a later one, counts once.")
    account_id: relay.GlobalID | None = UNSET
    ip_address: str | None = UNSET
    radius_username: str | None = UNSET


def parse_global_id(value: Any) -> Any:
    """A coerced ``ID`` input value as a GlobalID (for inputs built straight from the
    variables, which skip strawberry's own conversion)."""
    if value is UNSET or value is None:
        return value
    try:
        return relay.GlobalID.from_id(value)
    except GlobalIDValueError as error:
        raise InvalidGlobalIDError(f'Value cannot represent a GlobalID: "{value}".') from error


def _record_from_input(cls: type, value: Mapping[str, Any], _context: Any) -> Any:
    """Builds a record straight from its coerced GraphQL value (the scalars are parsed
    already). Strawberry's generic conversion resolves each field's annotation for every
    value: 60 µs a record, most of a 10,000-record call."""
    record = object.__new__(cls)
    record.__dict__.update(
        start=value["start"], end=value["end"], bytes_in=value["bytesIn"],
        bytes_out=value["bytesOut"], source_record_id=value["sourceRecordId"],
        account_id=parse_global_id(value.get("accountId", UNSET)),
        ip_address=value.get("ipAddress", UNSET),
        radius_username=value.get("radiusUsername", UNSET))
    return record


UsageRecordInput.__strawberry_definition__.from_input = _record_from_input  # type: ignore[attr-defined]


@strawberry.input(description="Up to 10,000 records; send them as a variable.")
class IngestUsageInput:
    idempotency_key: str
    records: list[UsageRecordInput]
    company_id: relay.GlobalID | None = strawberry.field(
        default=UNSET, description="Look accounts, addresses and usernames up in this "
                                  "company only (default: every company you may see).")


@strawberry.type(description="What an ingestUsage call took: all of its records, or none "
                 "(then errors name each bad one as records.<index>.<field>).")
class IngestUsagePayload:
    accepted: int | None = strawberry.field(
        default=None, description="Records stored and counted.")
    duplicates: int | None = strawberry.field(
        default=None, description="Records whose sourceRecordId was stored already (not "
                                  "counted again).")
    errors: list[UserError] = strawberry.field(default_factory=list)


def _ingest_from_input(cls: type, value: Mapping[str, Any], context: Any) -> Any:
    """The call's input, its records built by :func:`_record_from_input` directly (not
    dispatched one by one through strawberry's conversion)."""
    data = object.__new__(cls)
    data.__dict__.update(
        idempotency_key=value["idempotencyKey"],
        company_id=parse_global_id(value.get("companyId", UNSET)),
        records=[_record_from_input(UsageRecordInput, item, context)
                 for item in value["records"]])
    return data


IngestUsageInput.__strawberry_definition__.from_input = _ingest_from_input  # type: ignore[attr-defined]
