"""Mutations declared in a few lines each: the permission, the input, the payload and the
domain call. (No ``from __future__ import annotations`` here: the generated resolvers'
annotations must be the real types for strawberry to read.)"""

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.custom_fields.service import ValueInput
from ispcore.resolvers.mutations import input_values, mutate, non_null, run_flow
from ispcore.schema.errors import UserError
from ispcore.schema.nodes import ModelNode, decode_id
from ispcore.schema.permissions import requires


def payload_type(name: str, field: str, node_type: Any) -> Any:
    """``<Name>Payload { <field>: <node_type>, errors }``; ``field="deleted_id"`` gives
    ``deletedId: ID`` instead."""
    value_type = relay.GlobalID if field == "deleted_id" else node_type
    cls = type(f"{name}Payload", (), {
        "__module__": __name__,
        "__annotations__": {field: value_type | None, "errors": list[UserError]},
        field: None,
        "errors": strawberry.field(default_factory=list),
    })
    return strawberry.type(cls)


Run = Callable[[UnitOfWork, Any], Awaitable[dict[str, Any]]]


def command(run: Run, *, input_type: Any, payload: Any, permission: str, description: str,
            idempotent: bool = False) -> Any:
    """A mutation ``(input: input_type) -> payload`` that needs ``permission`` and runs
    ``run(uow, input)`` through :func:`mutate` (one transaction, errors as ``UserError``s,
    and with ``idempotent`` the input's ``idempotencyKey`` honoured)."""

    async def resolver(self: Any, info: Info, input: input_type) -> payload:  # type: ignore[valid-type]
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            return await run(uow, input)

        key = getattr(input, "idempotency_key", None) if idempotent else None
        return await mutate(info, payload, work, input=input, idempotency_key=key)

    return strawberry.mutation(resolver, extensions=requires(permission),
                               description=description)


OpenUow = Callable[[], UnitOfWork]
Flow = Callable[[OpenUow, Any], Awaitable[dict[str, Any]]]


def flow_command(run: Flow, *, input_type: Any, payload: Any, permission: str,
                 description: str) -> Any:
    """A mutation like :func:`command` whose work spans transactions: ``run(open_uow,
    input)`` opens its own units of work (see :func:`run_flow`)."""

    async def resolver(self: Any, info: Info, input: input_type) -> payload:  # type: ignore[valid-type]
        async def work(open_uow: OpenUow) -> dict[str, Any]:
            return await run(open_uow, input)

        return await run_flow(info, payload, work)

    return strawberry.mutation(resolver, extensions=requires(permission),
                               description=description)


def values_of(data: Any, ids: dict[str, type[ModelNode]] | None = None, *,
              exclude: tuple[str, ...] = ("id", "idempotency_key"), update: bool = False,
              nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """An input's sent fields as domain values: global ids in ``ids`` decoded (lists too),
    enums as their values, custom field inputs as ``ValueInput``s. With ``update``, fields
    not in ``nullable`` may be omitted but not set to null."""
    out = input_values(data, exclude=exclude)
    for name, value in out.items():
        if name in (ids or {}) and value is not None:
            node_type = (ids or {})[name]
            out[name] = ([decode_id(v, node_type, name) for v in value]
                         if isinstance(value, list) else decode_id(value, node_type, name))
        elif name == "custom_fields" and value is not None:
            out[name] = custom_values(value)
        elif hasattr(value, "value") and not isinstance(value, relay.GlobalID):
            out[name] = value.value
    if update:
        non_null({k: v for k, v in out.items() if k not in nullable})
    return out


def custom_values(items: list[Any]) -> list[ValueInput]:
    from ispcore.schema.custom_fields import CustomField

    return [ValueInput(decode_id(item.custom_field_id, CustomField, "custom_fields"),
                       item.value) for item in items]


def pk(gid: relay.GlobalID, node_type: type[ModelNode], field: str = "id") -> int:
    return decode_id(gid, node_type, field)
