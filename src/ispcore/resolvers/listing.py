"""Filters, ordering and keyset cursor pagination for every connection, from one place."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from graphql import GraphQLError
from sqlalchemy import Select, and_, exists, false, func, not_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from strawberry import UNSET, relay

from ispcore.schema.filtering import CustomFields, IdOf, ListingInputs, OrderDirection, Through
from ispcore.schema.nodes import Connection, Edge, ModelNode, decode_pk

#: Bounds on one filter, so a huge input is a clear error, not a failure deep in the database.
MAX_FILTER_DEPTH = 5
MAX_FILTER_BRANCHES = 50
MAX_FILTER_VALUES = 1000


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _decode_ids(values: list[relay.GlobalID], spec: IdOf | Through) -> list[int]:
    ids = []
    for gid in values:
        if gid.type_name != spec.type_name:
            raise bad_input(f"Expected {spec.type_name} ids, got a {gid.type_name} id.")
        ids.append(decode_pk(spec.type_name, gid.node_id))
    return ids


def _operators(column: Any, ops: Any, spec: Any) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    for op, value in vars(ops).items():
        if value is UNSET or value is None:
            continue
        if isinstance(spec, IdOf | Through) and spec.type_name and op in ("eq", "ne", "in_"):
            decoded = _decode_ids(value if op == "in_" else [value], spec)
            value = decoded if op == "in_" else decoded[0]
        if op == "eq":
            clauses.append(column == value)
        elif op == "ne":
            clauses.append(or_(column != value, column.is_(None)))
        elif op == "in_":
            clauses.append(column.in_(value) if value else false())
        elif op == "contains":
            clauses.append(column.ilike(f"%{_like_escape(value)}%", escape="\\"))
        elif op == "starts_with":
            clauses.append(column.ilike(f"{_like_escape(value)}%", escape="\\"))
        elif op == "gt":
            clauses.append(column > value)
        elif op == "gte":
            clauses.append(column >= value)
        elif op == "lt":
            clauses.append(column < value)
        elif op == "lte":
            clauses.append(column <= value)
        elif op == "is_null":
            clauses.append(column.is_(None) if value else column.is_not(None))
    return clauses


class _Budget:
    """What one whole filter may use, however it is nested."""

    def __init__(self) -> None:
        self.branches = MAX_FILTER_BRANCHES
        self.values = MAX_FILTER_VALUES

    def spend_branches(self, count: int) -> None:
        self.branches -= count
        if self.branches < 0:
            raise bad_input(f"A filter has at most {MAX_FILTER_BRANCHES} and/or/not branches.")

    def spend_values(self, count: int) -> None:
        self.values -= count
        if self.values < 0:
            raise bad_input(f"A filter compares with at most {MAX_FILTER_VALUES} values "
                            "(counting every `in` list).")


def compile_filter(model: type, inputs: ListingInputs, flt: Any,
                   search_columns: Sequence[Any], depth: int = 0,
                   budget: _Budget | None = None) -> ColumnElement[bool]:
    """Translate a generated ``<Entity>Filter`` value into one SQL condition."""
    if flt is None or flt is UNSET:
        return true()
    if depth > MAX_FILTER_DEPTH:
        raise bad_input(f"Filters nest at most {MAX_FILTER_DEPTH} levels of and/or/not.")
    budget = budget or _Budget()
    budget.spend_branches(len(flt.and_ or []) + len(flt.or_ or []) + (1 if flt.not_ else 0))
    clauses: list[ColumnElement[bool]] = []
    for name, spec in inputs.fields.items():
        ops = getattr(flt, name)
        if ops is UNSET or ops is None:
            continue
        if isinstance(spec, CustomFields):
            budget.spend_values(len(ops))
            clauses.extend(_custom_field(model, spec, condition) for condition in ops)
            continue
        budget.spend_values(sum(len(v) if isinstance(v, list) else 1
                                for v in vars(ops).values() if v not in (UNSET, None)))
        if isinstance(spec, Through):
            clauses.append(_through(model, spec, ops))
        else:
            clauses.extend(_operators(getattr(model, name), ops, spec))
    if flt.search not in (UNSET, None) and flt.search.strip():
        pattern = f"%{_like_escape(flt.search.strip())}%"
        clauses.append(or_(*(c.ilike(pattern, escape="\\") for c in search_columns)))
    if flt.and_ not in (UNSET, None):
        clauses.extend(compile_filter(model, inputs, f, search_columns, depth + 1, budget)
                       for f in flt.and_)
    if flt.or_ not in (UNSET, None):
        clauses.append(or_(false(), *(compile_filter(model, inputs, f, search_columns,
                                                     depth + 1, budget) for f in flt.or_)))
    if flt.not_ not in (UNSET, None):
        # NULL (a comparison with an empty field) counts as "no match", so `not` is the exact
        # complement of its filter.
        inner = compile_filter(model, inputs, flt.not_, search_columns, depth + 1, budget)
        clauses.append(not_(func.coalesce(inner, false())))
    return and_(true(), *clauses)


def _through(model: Any, spec: Through, ops: Any) -> ColumnElement[bool]:
    """Some linked row passes the operators; ``isNull: true`` means no linked row at all."""
    link = spec.link_model
    owner = getattr(link, spec.owner_column) == model.id
    if ops.is_null not in (UNSET, None):
        linked = exists().where(owner)
        return ~linked if ops.is_null else linked
    target = getattr(link, spec.target_column)
    if ops.ne not in (UNSET, None):
        # "not in group X": no link to X (rather than "some link to another group").
        excluded = (_decode_ids([ops.ne], IdOf(spec.type_name))[0] if spec.type_name
                    else ops.ne)
        return ~exists().where(owner, target == excluded)
    conditions = _operators(target, ops, spec)
    return exists().where(owner, *conditions)


def _custom_field(model: Any, spec: CustomFields, condition: Any) -> ColumnElement[bool]:
    from ispcore.domain.custom_fields.models import CustomFieldValue as Value

    field_id = _decode_ids([condition.custom_field_id], IdOf("CustomField"))[0]
    match = [Value.custom_field_id == field_id, Value.entity_type == spec.entity_type,
             Value.entity_id == model.id]
    for name, column in (("text", Value.text_value), ("number", Value.number_value),
                         ("date", Value.date_value)):
        ops = getattr(condition, name)
        if ops not in (UNSET, None):
            match.extend(_operators(column, ops, None))
    if condition.boolean not in (UNSET, None):
        match.append(Value.boolean_value == condition.boolean)
    found = exists().where(*match)
    return ~found if condition.is_set is False else found


# --- cursors ------------------------------------------------------------------------------

def _encode_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _decode_value(column: Any, value: Any) -> Any:
    """A cursor value back to the column's type; anything else is a tampered cursor."""
    if value is None and column.nullable:
        return None
    expected = column.type.python_type
    if expected is datetime:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        if moment is None or moment.tzinfo is None:
            raise ValueError("bad timestamp in cursor")
        return moment
    if expected is date:
        if not isinstance(value, str):
            raise ValueError("bad date in cursor")
        return date.fromisoformat(value)
    if expected is int and (type(value) is not int or not -(2**63) <= value < 2**63):
        raise ValueError("bad number in cursor")
    if expected is str and not isinstance(value, str):
        raise ValueError("bad text in cursor")
    return value


def _encode_cursor(signature: str, values: list[Any]) -> str:
    raw = json.dumps([signature, [_encode_value(v) for v in values]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, signature: str, columns: list[Any]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        got_signature, values = json.loads(base64.urlsafe_b64decode(padded))
        if got_signature != signature or len(values) != len(columns):
            raise ValueError
        return [_decode_value(c, v) for c, v in zip(columns, values, strict=True)]
    except (ValueError, TypeError):
        raise bad_input("The cursor is malformed or belongs to another ordering.") from None


def _sorted(column: Any, direction: OrderDirection) -> Any:
    """Nulls sort as the largest value on every database: last going up, first going down."""
    if direction is OrderDirection.ASC:
        return column.asc().nulls_last()
    return column.desc().nulls_first()


def _equal(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _beyond(column: Any, direction: OrderDirection, value: Any) -> ColumnElement[bool]:
    """Rows past ``value`` on this key alone, nulls counting as the largest value."""
    if direction is OrderDirection.ASC:
        return false() if value is None else or_(column > value, column.is_(None))
    return column.is_not(None) if value is None else column < value


def _after(columns: list[Any], directions: list[OrderDirection], values: list[Any]
           ) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the given lexicographic order."""
    alternatives = []
    for i, (column, direction) in enumerate(zip(columns, directions, strict=True)):
        equal = [_equal(c, v) for c, v in zip(columns[:i], values[:i], strict=True)]
        alternatives.append(and_(*equal, _beyond(column, direction, values[i])))
    return or_(*alternatives)


# --- pagination ----------------------------------------------------------------------------

async def paginate(
    open_rows: Callable[[], Any],
    statement: Select[Any],
    *,
    node_type: type[ModelNode],
    inputs: ListingInputs,
    first: int | None,
    after: str | None,
    filter: Any,
    order_by: list[Any] | None,
    search_columns: Sequence[Any],
    max_page_size: int,
    default_page_size: int,
) -> Connection[Any]:
    """Run a keyset-paginated, filtered, ordered page of ``statement``.

    The id is always the last sort key, so the order is total and a cursor (the sort values of
    a row, plus a signature of the ordering) is stable while rows are added or removed.
    """
    model = node_type.model
    size = default_page_size if first is None else first
    if not 0 <= size <= max_page_size:
        raise bad_input(f"first must be between 0 and {max_page_size}.")
    keys = [(o.field.value, o.direction) for o in order_by or [] if o.field.value != "id"]
    id_direction = next((o.direction for o in order_by or [] if o.field.value == "id"),
                        OrderDirection.ASC)
    keys.append(("id", id_direction))
    columns = [getattr(model, name) for name, _ in keys]
    directions = [direction for _, direction in keys]
    signature = ",".join(f"{n}:{d.value}" for n, d in keys)

    filtered = statement.where(compile_filter(model, inputs, filter, search_columns))
    # Plain rows of just the columns the node shows (and the sort keys), not ORM instances:
    # a read-only page needs no identity map.
    table = model.__table__
    wanted = {"id", *node_type.model_fields(), *(name for name, _ in keys)}
    selected = [column for column in table.columns if column.key in wanted]
    page = filtered.with_only_columns(*selected)
    if after:
        page = page.where(_after(columns, directions, _decode_cursor(after, signature, columns)))
    page = page.order_by(*(_sorted(c, d) for c, d in zip(columns, directions, strict=True))
                         ).limit(size + 1)

    async with open_rows() as conn:  # with first: 0 this still tells if rows follow
        rows = list((await conn.execute(page)).all())
    has_next = len(rows) > size
    rows = rows[:size]

    def encode(values: list[Any]) -> str:
        return _encode_cursor(signature, values)

    names = [column.key for column in selected]
    positions = [names.index(n) for n, _ in keys]
    read = node_type.row_reader(names)
    edges = [Edge(node=read(row), sort_key=[row[i] for i in positions], encode=encode)
             for row in rows]

    async def count() -> int:
        async with open_rows() as conn:
            return await _count(conn, filtered)

    return Connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=bool(after),
            start_cursor=edges[0].cursor() if edges else None,
            end_cursor=edges[-1].cursor() if edges else None,
        ),
        count=count,
    )


async def _count(conn: AsyncConnection, filtered: Select[Any]) -> int:
    return await conn.scalar(select(func.count()).select_from(filtered.subquery())) or 0
