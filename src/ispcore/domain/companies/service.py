"""Creating, changing and deleting companies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ispcore.db import Base
from ispcore.domain.common.errors import ErrorCode, InUse, NotFound, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.reference import clean_jurisdiction, is_currency, is_time_zone
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.events.service import record_event
from ispcore.domain.identity.validation import normalize_email

FIELDS = ("name", "currency", "time_zone", "contact_email", "address_line1", "address_line2",
          "city", "subdivision", "postal_code", "country", "active")


def _clean(values: dict[str, Any], current: Company | None = None) -> dict[str, Any]:
    """Validate and normalise the given company fields (all optional here); ``current``: the
    company being changed."""
    v = Validator()
    out = dict(values)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"]:
            v.add("name", "A company needs a name.", ErrorCode.REQUIRED)
    if "currency" in out:
        out["currency"] = (out["currency"] or "").strip().upper()
        if not is_currency(out["currency"]):
            v.add("currency", f"{values['currency']!r} is not an ISO 4217 currency code.")
    if "time_zone" in out and not is_time_zone(out["time_zone"] or ""):
        v.add("time_zone", f"{values['time_zone']!r} is not an IANA time zone.")
    clean_jurisdiction(v, out, current, country_required=False)
    if "active" in out and out["active"] is None:
        v.add("active", "Say whether the company is active.", ErrorCode.REQUIRED)
    if out.get("contact_email") is not None:
        out["contact_email"] = normalize_email(v, out["contact_email"], "contact_email")
    v.fit_columns(Company, out)
    v.raise_if_any()
    return out


def _snapshot(company: Company) -> dict[str, Any]:
    return {key: getattr(company, key) for key in FIELDS}


async def get_company(uow: UnitOfWork, company_id: int, field: str = "id") -> Company:
    company = await uow.session.get(Company, company_id)
    if company is None:
        raise NotFound("No such company.", field=field)
    return company


async def create_company(uow: UnitOfWork, values: dict[str, Any]) -> Company:
    data = _clean(values)
    await ensure_name_free(uow.session, Company, data["name"], what="company")
    now = uow.clock.now()
    company = Company(**data, created_at=now, updated_at=now)
    uow.session.add(company)
    await uow.session.flush()
    record_event(uow, "company.created", company_id=company.id, entity=company,
                 payload=_snapshot(company))
    return company


async def update_company(uow: UnitOfWork, company_id: int, changes: dict[str, Any]) -> Company:
    company = await get_company(uow, company_id)
    data = _clean(changes, company)
    if "name" in data:
        await ensure_name_free(uow.session, Company, data["name"], what="company",
                               exclude_id=company.id)
    for key, value in data.items():
        setattr(company, key, value)
    company.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "company.updated", company_id=company.id, entity=company,
                 payload={"changed": sorted(data)})
    return company


async def delete_company(uow: UnitOfWork, company_id: int) -> Company:
    """Delete a company that nothing belongs to yet; otherwise refuse with ``IN_USE``."""
    company = await get_company(uow, company_id)
    for table, column in _tables_owned_by_company():
        count = await uow.session.scalar(
            select(func.count()).select_from(table).where(column == company.id)
        )
        if count:
            raise InUse(f"{count} {table.name} row(s) still belong to this company.", field="id")
    await uow.session.delete(company)
    await uow.session.flush()
    record_event(uow, "company.deleted", company_id=company.id,
                 payload={"id": company_id, "name": company.name})
    return company


def _tables_owned_by_company() -> list[tuple[Any, Any]]:
    """Every (table, column) whose foreign key points at ``companies.id``; later areas add more.
    Rows that go with their company (``ON DELETE CASCADE``, such as its billing settings) do
    not keep it."""
    owned = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "companies" and fk.ondelete != "CASCADE":
                owned.append((table, fk.parent))
    return owned
