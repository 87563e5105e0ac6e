"""The one way a mutation runs: a unit of work, domain errors as ``UserError``s, idempotency."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from strawberry import UNSET, relay
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from ispcore.domain.common.decimals import plain
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.idempotency import service as idempotency
from ispcore.schema.errors import UserError
from ispcore.schema.nodes import NODE_TYPES, to_node

PayloadT = TypeVar("PayloadT")
Work = Callable[[UnitOfWork], Awaitable[dict[str, Any]]]


def user_errors(exc: DomainError) -> list[UserError]:
    """Domain errors as the schema names them (``time_zone`` -> ``timeZone``)."""
    return [UserError(field=to_camel_case(e.field) if e.field else None, code=e.code,
                      message=e.message) for e in exc.errors]


def input_values(data: Any, *, exclude: tuple[str, ...] = ("idempotency_key",)) -> dict[str, Any]:
    """The fields a caller actually sent (UNSET ones left out), snake_case."""
    return {f.name: getattr(data, f.name) for f in dataclasses.fields(data)
            if getattr(data, f.name) is not UNSET and f.name not in exclude}


def non_null(changes: dict[str, Any]) -> dict[str, Any]:
    """Update inputs: a field may be omitted, but these may not be set to null."""
    v = Validator()
    for key, value in changes.items():
        if value is None:
            v.add(key, "May be omitted but not set to null.", ErrorCode.REQUIRED)
    v.raise_if_any()
    return changes


def _canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _canonical(v) for k, v in input_values(value, exclude=()).items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, relay.GlobalID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _to_record(result: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, value in result.items():
        if type(value) in NODE_TYPES:
            record[name] = {"model": type(value).__name__, "id": value.id}
        else:
            record[name] = _canonical(value)
    return record


async def _from_record(uow: UnitOfWork, record: dict[str, Any]) -> dict[str, Any]:
    models = {model.__name__: model for model in NODE_TYPES}
    result: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, dict) and set(value) == {"model", "id"}:
            result[name] = await uow.session.get(models[value["model"]], value["id"])
        else:
            result[name] = value
    return result


def _payload(payload_cls: type[PayloadT], result: dict[str, Any]) -> PayloadT:
    fields = {name: [to_node(v) for v in value] if isinstance(value, list) and value
              and type(value[0]) in NODE_TYPES else
              to_node(value) if type(value) in NODE_TYPES else value
              for name, value in result.items()}
    return payload_cls(**fields, errors=[])


async def mutate(info: Info, payload_cls: type[PayloadT], work: Work, *,
                 input: Any = None, idempotency_key: str | None = None,
                 retry_on_conflict: bool = True) -> PayloadT:
    """Run ``work`` in one transaction and build the payload.

    ``work`` returns the payload's fields (models become nodes). A ``DomainError`` rolls
    everything back and fills ``errors``. With an idempotency key, the first successful
    response is stored with the change; a retry with the same input gets it back, a retry with
    other input gets ``IDEMPOTENCY_KEY_REUSED``.

    A unique-constraint conflict means a concurrent request committed the same thing first;
    the mutation runs once more, so its checks (or the stored idempotent answer) see that
    row and answer properly.
    """
    operation = info.field_name
    digest = idempotency.request_hash(_canonical(input)) if idempotency_key else ""
    try:
        if idempotency_key:
            replayed = await _replay(info, payload_cls, operation, idempotency_key, digest)
            if replayed is not None:
                return replayed
        async with info.context.unit_of_work(operation) as uow:
            result = await work(uow)
            if idempotency_key:
                idempotency.remember(uow, operation, idempotency_key, digest,
                                     _to_record(result))
                await uow.session.flush()
        payload = _payload(payload_cls, result)
        await _prefetch_payload(info, payload)
        return payload
    except DomainError as exc:
        if idempotency_key and exc.code is not ErrorCode.IDEMPOTENCY_KEY_REUSED:
            # A concurrent request with this key may have committed while this one ran (and
            # made, say, the name taken): then its answer is this one's too.
            try:
                replayed = await _replay(info, payload_cls, operation, idempotency_key, digest)
            except DomainError as reuse:
                return payload_cls(errors=user_errors(reuse))
            if replayed is not None:
                return replayed
        return payload_cls(errors=user_errors(exc))
    except IntegrityError:
        if not retry_on_conflict:
            raise
        return await mutate(info, payload_cls, work, input=input,
                            idempotency_key=idempotency_key, retry_on_conflict=False)


async def _prefetch_payload(info: Info, payload: Any) -> None:
    """Load the relations selected under each node of a payload (e.g. ``account { contacts
    { name } }``)."""
    from ispcore.resolvers.prefetch import prefetch, sub_selections

    for name, value in vars(payload).items():
        nodes = value if isinstance(value, list) else [value]
        node_type = type(nodes[0]) if nodes else None
        if node_type in NODE_TYPES.values() and node_type.relations:
            below = sub_selections(info.selected_fields[0].selections, to_camel_case(name))
            await prefetch(info.context, node_type, nodes, below)


async def _replay(info: Info, payload_cls: type[PayloadT], operation: str, key: str,
                  digest: str) -> PayloadT | None:
    """The stored first answer for this key, or ``None``."""
    async with info.context.unit_of_work(operation) as uow:
        stored = await idempotency.stored_response(uow, operation, key, digest)
        if stored is None:
            return None
        payload = _payload(payload_cls, await _from_record(uow, stored))
    await _prefetch_payload(info, payload)
    return payload


async def run_flow(info: Info, payload_cls: type[PayloadT],
                   flow: Callable[[Callable[[], UnitOfWork]], Awaitable[dict[str, Any]]]
                   ) -> PayloadT:
    """Work that spans several transactions (a payment processor is called between them):
    ``flow`` opens its own units of work with the function it is given. A ``DomainError``
    fills ``errors`` (the flow's domain code decides what was kept); idempotency is the
    flow's own business."""
    try:
        result = await flow(lambda: info.context.unit_of_work(info.field_name))
    except DomainError as exc:
        return payload_cls(errors=user_errors(exc))
    payload = _payload(payload_cls, result)
    await _prefetch_payload(info, payload)
    return payload
