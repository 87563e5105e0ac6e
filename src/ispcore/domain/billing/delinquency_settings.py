"""A company's delinquency and fee settings: when an overdue account becomes delinquent and
which status it goes to, the late fee, and the printed invoice fee.

How the account's grace days count: an invoice is acted on only once it is overdue by more
than the company's days (``days_overdue``, ``late_fee_days``) *and* by more than the
account's own grace days (``AccountBilling.grace_days``). The company's numbers are the
rule; an account's grace days (longer for a business customer, say) only ever push it later.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from ispcore.domain.accounts.models import AccountStatus
from ispcore.domain.billing.catalogue import scaled_percent
from ispcore.domain.billing.collections_models import DelinquencySettings
from ispcore.domain.billing.models import GlCode
from ispcore.domain.billing.money import to_minor
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.records import company_of, company_row, load
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event


class LateFeeKind(StrEnum):
    NONE = "NONE"
    FIXED = "FIXED"
    PERCENT = "PERCENT"


DEFAULTS: dict[str, Any] = {
    "enabled": False, "days_overdue": 30, "delinquent_status_id": None,
    "minimum_overdue_minor": None, "late_fee_kind": LateFeeKind.NONE.value,
    "late_fee_amount_minor": None, "late_fee_percent_scaled": None, "late_fee_days": 0,
    "paper_invoice_fee_minor": 0, "fee_gl_code_id": None,
}
#: Amounts as given (decimals) and the columns they are stored in.
AMOUNTS = {"minimum_overdue": "minimum_overdue_minor", "late_fee_amount": "late_fee_amount_minor",
           "paper_invoice_fee": "paper_invoice_fee_minor"}


async def delinquency_settings(uow: UnitOfWork, company_id: int, *, create: bool = True
                               ) -> DelinquencySettings:
    """The company's settings, saved with the defaults the first time (unsaved with
    ``create`` false: for reading)."""
    return await company_row(uow, DelinquencySettings, company_id, DEFAULTS, create=create)


def _days(v: Validator, values: dict[str, Any], key: str) -> None:
    if key in values and not 0 <= values[key] <= 365:
        v.add(key, "Between 0 and 365 days.")


def _converted(v: Validator, values: dict[str, Any], currency: str) -> dict[str, Any]:
    """``values`` with amounts in minor units and the percentage scaled; bad ones noted."""
    out = {k: val for k, val in values.items() if k not in AMOUNTS and k != "late_fee_percent"}
    for key, column in AMOUNTS.items():
        if key in values:
            try:
                out[column] = (None if values[key] is None
                               else to_minor(values[key], currency, field=key))
            except DomainError as exc:
                v.errors.append(exc)
    if "late_fee_percent" in values:
        try:
            out["late_fee_percent_scaled"] = scaled_percent(
                values["late_fee_percent"], "late_fee_percent", allow_zero=False)
        except DomainError as exc:
            v.errors.append(exc)
    if out.get("paper_invoice_fee_minor", 0) is None:
        out["paper_invoice_fee_minor"] = 0
    return out


async def _check_references(uow: UnitOfWork, v: Validator, company_id: int,
                            merged: dict[str, Any], values: dict[str, Any]) -> None:
    if values.get("delinquent_status_id") is not None:
        try:
            status = await load(uow, AccountStatus, values["delinquent_status_id"],
                                field="delinquent_status_id", what="account status",
                                company_id=company_id)
        except DomainError as exc:
            v.errors.append(exc)
        else:
            if status.is_lead or not status.is_delinquent:
                v.add("delinquent_status_id", f"{status.name} is not a delinquent status "
                      "(mark a status isDelinquent).")
    if values.get("fee_gl_code_id") is not None:
        try:
            await load(uow, GlCode, values["fee_gl_code_id"], field="fee_gl_code_id",
                       what="general ledger code", company_id=company_id)
        except DomainError as exc:
            v.errors.append(exc)
    if merged["enabled"] and merged["delinquent_status_id"] is None:
        v.add("delinquent_status_id", "Name the status delinquent accounts move to.",
              ErrorCode.REQUIRED)


def _check_fees(v: Validator, merged: dict[str, Any]) -> None:
    kind = merged["late_fee_kind"]
    bad = {e.field for e in v.errors}
    if (kind == LateFeeKind.FIXED and not merged["late_fee_amount_minor"]
            and "late_fee_amount" not in bad):
        v.add("late_fee_amount", "A fixed late fee needs an amount above zero.",
              ErrorCode.REQUIRED)
    if (kind == LateFeeKind.PERCENT and merged["late_fee_percent_scaled"] is None
            and "late_fee_percent" not in bad):
        v.add("late_fee_percent", "A percent late fee needs a percentage.", ErrorCode.REQUIRED)
    charges = kind != LateFeeKind.NONE or merged["paper_invoice_fee_minor"] > 0
    if charges and merged["fee_gl_code_id"] is None:
        v.add("fee_gl_code_id", "Fees need the ledger code they are booked to.",
              ErrorCode.REQUIRED)


async def update_delinquency_settings(uow: UnitOfWork, company_id: int,
                                      values: dict[str, Any]) -> DelinquencySettings:
    """Change the settings; nothing is saved unless all of it is valid. The fee fields the
    late fee's kind does not use are cleared."""
    company = await company_of(uow, company_id, "company_id")
    row = await delinquency_settings(uow, company.id)
    v = Validator()
    for key in ("days_overdue", "late_fee_days"):
        _days(v, values, key)
    changes = _converted(v, values, company.currency)
    merged = {k: getattr(row, k) for k in DEFAULTS} | changes
    await _check_references(uow, v, company.id, merged, changes)
    _check_fees(v, merged)
    v.raise_if_any()
    if merged["late_fee_kind"] != LateFeeKind.FIXED:
        changes["late_fee_amount_minor"] = None
    if merged["late_fee_kind"] != LateFeeKind.PERCENT:
        changes["late_fee_percent_scaled"] = None
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "delinquency_settings.updated", company_id=company.id, entity=row,
                 payload={"changed": sorted(values)})
    return row
