"""``ingestUsage``: usage pushed by middleware, credited through the one ingest path."""

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry import UNSET
from strawberry.types import Info

from ispcore.domain.common.errors import NotFound
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage import api_ingest
from ispcore.resolvers.commands import pk
from ispcore.resolvers.mutations import mutate
from ispcore.schema.accounts import Account
from ispcore.schema.companies import Company
from ispcore.schema.nodes import decode_pk
from ispcore.schema.permissions import requires
from ispcore.schema.usage_ingest import IngestUsageInput, IngestUsagePayload

WRITE = "usage:write"


async def visible_companies(uow: UnitOfWork, company_id: Any) -> list[int]:
    """The companies the caller may see (narrowed to ``company_id`` when given)."""
    statement = Company.readable(uow.actor).with_only_columns(Company.model.id)
    if company_id is not None:
        statement = statement.where(Company.model.id == pk(company_id, Company, "company_id"))
    ids = list(await uow.session.scalars(statement))
    if company_id is not None and not ids:
        raise NotFound("No such company.", field="company_id")
    return ids


def _given(value: Any) -> Any:
    return None if value is UNSET else value


def _account_pk(gid: Any) -> int | None:
    """The account a record names by id; 0 (no account) for an id of another type, which
    is then reported as not found with the record's other errors."""
    if gid is None:
        return None
    if gid.type_name != Account.__name__:
        return 0
    try:
        return decode_pk(Account.__name__, gid.node_id)
    except GraphQLError:
        return 0


def _records(data: Any) -> list[api_ingest.PushedRecord]:
    return [api_ingest.PushedRecord(
        _account_pk(_given(r.account_id)), _given(r.ip_address), _given(r.radius_username),
        r.start, r.end, r.bytes_in, r.bytes_out, r.source_record_id) for r in data.records]


def _fingerprint(company_id: Any, records: list[api_ingest.PushedRecord]) -> dict[str, Any]:
    """The input as plain JSON values, for the idempotency hash (cheaper than the generic
    canonical form over 10,000 records). An account id that is not one reads as 0: such a
    call is refused, and refusals are not remembered."""
    return {"company_id": str(company_id) if company_id else None,
            "records": [(r.account_id, r.ip_address, r.radius_username, r.start.isoformat(),
                         r.end.isoformat(), r.bytes_in, r.bytes_out, r.source_record_id)
                        for r in records]}


@strawberry.type
class UsageIngestMutation:
    @strawberry.mutation(extensions=requires(WRITE), description=(
        "Push usage records (middleware): up to 10,000 a call, all taken or none. A record "
        "whose sourceRecordId was stored before is a duplicate, not counted again."))
    async def ingest_usage(self, info: Info, input: IngestUsageInput) -> IngestUsagePayload:
        company_id, records = _given(input.company_id), _records(input)

        async def work(uow: UnitOfWork) -> dict[str, Any]:
            done = await api_ingest.ingest(uow, await visible_companies(uow, company_id),
                                           records)
            return {"accepted": done.accepted, "duplicates": done.duplicates}

        return await mutate(info, IngestUsagePayload, work,
                            input=_fingerprint(company_id, records),
                            idempotency_key=input.idempotency_key)
