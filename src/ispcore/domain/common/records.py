"""Loading the rows a command names, and the company's local calendar."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ispcore.domain.common.errors import DomainError, ErrorCode, NotFound, Validator
from ispcore.domain.common.unit_of_work import UnitOfWork

T = TypeVar("T")


async def company_row(uow: UnitOfWork, model: type[T], company_id: int,
                      defaults: dict[str, Any] | Callable[[], Awaitable[dict[str, Any]]], *,
                      create: bool = True) -> T:
    """A company's one row of ``model`` (its settings of some kind), saved with ``defaults``
    the first time it is needed; with ``create`` false the defaults come back unsaved (for
    reading without writing)."""
    row = await uow.session.scalar(select(model).where(model.company_id == company_id))
    if row is None:
        values = await defaults() if callable(defaults) else defaults
        now = uow.clock.now()
        row = model(company_id=company_id, **values, created_at=now, updated_at=now)
        if create:
            uow.session.add(row)
            await uow.session.flush()
    return row


async def load(uow: UnitOfWork, model: type[T], pk: int | None, *, field: str, what: str,
               company_id: int | None = None) -> T:
    """The ``model`` row ``pk``; ``NOT_FOUND`` if there is none, ``INVALID`` if it belongs to
    another company than ``company_id``. Both name ``field``."""
    row = None if pk is None else await uow.session.get(model, pk)
    if row is None:
        raise NotFound(f"No such {what}.", field=field)
    if company_id is not None and row.company_id != company_id:  # type: ignore[attr-defined]
        raise DomainError(f"That {what} belongs to another company.", field=field)
    return row


async def check_owned(uow: UnitOfWork, v: Validator, values: dict[str, Any], key: str,
                      model: type, *, what: str, company_id: int) -> None:
    """The row ``values[key]`` names, when it names one, must exist and belong to the
    company; if not, the error goes on ``v`` (so the caller reports every error at once)."""
    if values.get(key) is not None:
        try:
            await load(uow, model, values[key], field=key, what=what, company_id=company_id)
        except DomainError as exc:
            v.errors.append(exc)


async def ensure_unused(uow: UnitOfWork, pk: int, used_by: tuple[tuple[Any, str, str], ...],
                        *, what: str, instead: str = "") -> None:
    """``IN_USE`` (on field ``id``) if rows still point at ``pk``: ``used_by`` lists them as
    (model or mapped selectable, column, label); ``instead`` may suggest what to do."""
    from sqlalchemy import func, select

    from ispcore.domain.common.errors import InUse

    for model, column, label in used_by:
        count = await uow.session.scalar(select(func.count()).select_from(model.__table__)
                                         .where(getattr(model, column) == pk))
        if count:
            raise InUse(f"{count} {label}(s) still use this {what}.{instead}", field="id")


async def company_of(uow: UnitOfWork, company_id: int, field: str = "company_id") -> Any:
    from ispcore.domain.companies.models import Company

    return await load(uow, Company, company_id, field=field, what="company")


def local_date(moment: datetime, time_zone: str) -> date:
    return moment.astimezone(ZoneInfo(time_zone)).date()


def today_in(uow: UnitOfWork, company: Any) -> date:
    """Today's date in the company's time zone (by the unit of work's clock)."""
    return local_date(uow.clock.now(), company.time_zone)


def start_of_day(day: date, time_zone: str) -> datetime:
    """The first instant of ``day`` in ``time_zone`` (midnight, or later on a DST gap)."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(time_zone))


def required_text(v: Validator, values: dict[str, Any], key: str, message: str) -> None:
    """Strip ``values[key]`` in place (when given); empty is a ``REQUIRED`` error."""
    if key in values:
        values[key] = (values[key] or "").strip()
        if not values[key]:
            v.add(key, message, ErrorCode.REQUIRED)


def optional_text(values: dict[str, Any], *keys: str) -> None:
    """Strip the given optional texts in place; blank becomes null."""
    for key in keys:
        if isinstance(values.get(key), str):
            values[key] = values[key].strip() or None


def snapshot(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """An event payload of plain values (dates as ISO text)."""
    out = {}
    for key in fields:
        value = getattr(obj, key)
        out[key] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


async def lock_row(uow: UnitOfWork, model: type[T], pk: int) -> T | None:
    """``model`` row ``pk``, read afresh and held until commit, serialising the writers that
    take it. On PostgreSQL ``SELECT … FOR UPDATE``; SQLite has no row locks and starts a
    transaction only at the first write, so a no-op write takes the database's write lock
    first. Rows read before must be read again after."""
    from sqlalchemy import text

    if uow.session.bind.dialect.name == "sqlite":
        await uow.session.execute(
            text(f"UPDATE {model.__tablename__} SET id = id WHERE id = :id"),  # type: ignore[attr-defined]
            {"id": pk})
        return await uow.session.get(model, pk, populate_existing=True)
    return await uow.session.scalar(
        select(model).where(model.id == pk).with_for_update()  # type: ignore[attr-defined]
        .execution_options(populate_existing=True))
