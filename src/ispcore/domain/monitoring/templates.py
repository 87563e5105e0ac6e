"""Monitoring templates and their checks. A check is validated as a whole (its kind decides
whether it has an OID, a label column, a counter type); check changes are template changes
(``monitoring_template.updated``). Checks keep their ids, which their history hangs on."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select

from ispcore.domain.common.errors import DomainError, ErrorCode, Validator, nested
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import company_of, ensure_unused, load, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.monitoring.models import (
    CheckKind,
    Device,
    MonitoringCheck,
    MonitoringTemplate,
    ThresholdDirection,
    ValueType,
)
from ispcore.domain.monitoring.oids import parse_oid

ICMP_KINDS = frozenset({CheckKind.ICMP_LATENCY, CheckKind.ICMP_LOSS})
#: Template field -> (least, most).
LIMITS = {"interval_seconds": (10, 86400), "icmp_count": (1, 20),
          "icmp_timeout_ms": (100, 10_000), "snmp_timeout_ms": (100, 60_000),
          "snmp_retries": (0, 5)}
CHECK_FIELDS = ("name", "kind", "oid", "value_type", "label_oid", "unit", "scale",
                "direction", "warning_threshold", "critical_threshold")

#: A starting point (``preset: ROUTER_BASICS``): uptime, interface traffic, ping.
PRESETS: dict[str, list[dict[str, Any]]] = {
    "ROUTER_BASICS": [
        {"name": "sysUpTime", "kind": CheckKind.SNMP_GET, "oid": "1.3.6.1.2.1.1.3.0",
         "value_type": ValueType.GAUGE, "unit": "ticks"},
        {"name": "ifHCInOctets", "kind": CheckKind.SNMP_WALK,
         "oid": "1.3.6.1.2.1.31.1.1.1.6", "value_type": ValueType.COUNTER,
         "label_oid": "1.3.6.1.2.1.31.1.1.1.1", "scale": 8.0, "unit": "bit/s"},
        {"name": "ifHCOutOctets", "kind": CheckKind.SNMP_WALK,
         "oid": "1.3.6.1.2.1.31.1.1.1.10", "value_type": ValueType.COUNTER,
         "label_oid": "1.3.6.1.2.1.31.1.1.1.1", "scale": 8.0, "unit": "bit/s"},
        {"name": "latency", "kind": CheckKind.ICMP_LATENCY, "unit": "ms",
         "warning_threshold": 100.0, "critical_threshold": 250.0},
        {"name": "loss", "kind": CheckKind.ICMP_LOSS, "unit": "%",
         "warning_threshold": 20.0, "critical_threshold": 80.0},
    ],
}


def _template_values(v: Validator, values: dict[str, Any]) -> None:
    required_text(v, values, "name", "Name the template.")
    if "description" in values:
        values["description"] = (values["description"] or "").strip()
    for key, (low, high) in LIMITS.items():
        if key in values and not low <= values[key] <= high:
            v.add(key, f"Between {low} and {high}.")
    v.fit_columns(MonitoringTemplate, values)


def clean_check(values: dict[str, Any], current: MonitoringCheck | None = None
                ) -> dict[str, Any]:
    """A check's fields as they will stand (``values`` over ``current``), checked together.
    Pure; raises the field errors at once."""
    v = Validator()
    required_text(v, values, "name", "Name the check (the metric name).")
    merged = {k: getattr(current, k) for k in CHECK_FIELDS} if current is not None else {
        "oid": None, "label_oid": None, "value_type": ValueType.GAUGE, "unit": "",
        "scale": 1.0, "direction": ThresholdDirection.ABOVE, "warning_threshold": None,
        "critical_threshold": None}
    merged.update(values)
    kind = merged.get("kind")
    for key in ("oid", "label_oid"):
        if isinstance(merged.get(key), str) and not merged[key].strip():
            merged[key] = None
    if kind in ICMP_KINDS:
        for key in ("oid", "label_oid"):
            if merged[key] is not None:
                v.add(key, "ICMP checks have no OID.")
        if merged["value_type"] != ValueType.GAUGE:
            v.add("value_type", "ICMP checks are GAUGE.")
    else:
        if merged["oid"] is None:
            v.add("oid", "SNMP checks need a numeric OID.", ErrorCode.REQUIRED)
        if merged["label_oid"] is not None and kind != CheckKind.SNMP_WALK:
            v.add("label_oid", "Only SNMP_WALK checks have a label column.")
        for key in ("oid", "label_oid"):
            if merged[key] is not None:
                try:
                    merged[key] = parse_oid(merged[key], field=key)
                except DomainError as exc:
                    v.errors.append(exc)
    for key in ("scale", "warning_threshold", "critical_threshold"):
        if merged[key] is not None and not math.isfinite(merged[key]):
            v.add(key, "A finite number.")
    warning, critical = merged["warning_threshold"], merged["critical_threshold"]
    if not v.errors and warning is not None and critical is not None:
        if merged["direction"] == ThresholdDirection.ABOVE and warning > critical:
            v.add("warning_threshold", "With ABOVE, the warning threshold is at most the "
                  "critical one.")
        if merged["direction"] == ThresholdDirection.BELOW and warning < critical:
            v.add("warning_threshold", "With BELOW, the warning threshold is at least the "
                  "critical one.")
    merged["unit"] = (merged.get("unit") or "").strip()
    v.fit_columns(MonitoringCheck, {k: merged[k] for k in ("name", "unit")
                                    if merged.get(k) is not None})
    v.raise_if_any()
    return {k: merged[k] for k in CHECK_FIELDS if k in merged}


def _clash(checks: list[dict[str, Any]]) -> None:
    """Names unique in the template; one ICMP check of each kind (one ping feeds both)."""
    v = Validator()
    seen: set[str] = set()
    icmp: set[str] = set()
    for i, c in enumerate(checks):
        if c["name"] in seen:
            v.add(f"checks.{i}.name", f"The template already has a check named {c['name']}.",
                  ErrorCode.DUPLICATE)
        seen.add(c["name"])
        if c["kind"] in ICMP_KINDS:
            if c["kind"] in icmp:
                v.add(f"checks.{i}.kind", f"The template already has a {c['kind']} check.",
                      ErrorCode.DUPLICATE)
            icmp.add(c["kind"])
    v.raise_if_any()


async def create_template(uow: UnitOfWork, values: dict[str, Any]) -> MonitoringTemplate:
    company_id = values.pop("company_id")
    await company_of(uow, company_id)
    preset = values.pop("preset", None)
    given = values.pop("checks", None) or []
    checks = [dict(c) for c in PRESETS.get(preset or "", [])]
    for i, check in enumerate(given):
        try:
            checks.append(clean_check(dict(check)))
        except DomainError as exc:
            raise nested(exc, f"checks.{i}") from None
    v = Validator()
    _template_values(v, values)
    v.raise_if_any()
    _clash(checks)
    await ensure_name_free(uow.session, MonitoringTemplate, values["name"],
                           what="monitoring template", company_id=company_id)
    now = uow.clock.now()
    row = MonitoringTemplate(company_id=company_id, **values, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    uow.session.add_all(MonitoringCheck(company_id=company_id, template_id=row.id, **c,
                                        created_at=now, updated_at=now) for c in checks)
    await uow.session.flush()
    record_event(uow, "monitoring_template.created", company_id=company_id, entity=row,
                 payload={"name": row.name, "checks": [c["name"] for c in checks]})
    return row


async def update_template(uow: UnitOfWork, pk: int, values: dict[str, Any]
                          ) -> MonitoringTemplate:
    row = await load(uow, MonitoringTemplate, pk, field="id", what="monitoring template")
    v = Validator()
    _template_values(v, values)
    v.raise_if_any()
    if "name" in values:
        await ensure_name_free(uow.session, MonitoringTemplate, values["name"],
                               what="monitoring template", company_id=row.company_id,
                               exclude_id=pk)
    for key, value in values.items():
        setattr(row, key, value)
    return await _touched(uow, row, sorted(values))


async def delete_template(uow: UnitOfWork, pk: int) -> MonitoringTemplate:
    row = await load(uow, MonitoringTemplate, pk, field="id", what="monitoring template")
    await ensure_unused(uow, pk, ((Device, "template_id", "device"),),
                        what="monitoring template",
                        instead=" Give them another template (or none) first.")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, "monitoring_template.deleted", company_id=row.company_id, entity=row,
                 payload={"name": row.name})
    return row


async def _checks_of(uow: UnitOfWork, template_id: int) -> list[MonitoringCheck]:
    return list(await uow.session.scalars(
        select(MonitoringCheck).where(MonitoringCheck.template_id == template_id)
        .order_by(MonitoringCheck.id)))


async def add_check(uow: UnitOfWork, values: dict[str, Any]) -> MonitoringCheck:
    template = await load(uow, MonitoringTemplate, values.pop("template_id"),
                          field="template_id", what="monitoring template")
    clean = clean_check(values)
    existing = [{"name": c.name, "kind": c.kind} for c in await _checks_of(uow, template.id)]
    _one_more(existing, clean)
    now = uow.clock.now()
    check = MonitoringCheck(company_id=template.company_id, template_id=template.id, **clean,
                            created_at=now, updated_at=now)
    uow.session.add(check)
    await uow.session.flush()
    await _touched(uow, template, ["checks"])
    return check


async def update_check(uow: UnitOfWork, pk: int, values: dict[str, Any]) -> MonitoringCheck:
    check = await load(uow, MonitoringCheck, pk, field="id", what="monitoring check")
    clean = clean_check(values, check)
    others = [{"name": c.name, "kind": c.kind}
              for c in await _checks_of(uow, check.template_id) if c.id != check.id]
    _one_more(others, clean)
    for key, value in clean.items():
        setattr(check, key, value)
    check.updated_at = uow.clock.now()
    template = await uow.session.get(MonitoringTemplate, check.template_id)
    await _touched(uow, template, ["checks"])  # type: ignore[arg-type]
    return check


async def remove_check(uow: UnitOfWork, pk: int) -> MonitoringCheck:
    """Remove a check; its history and state go with it."""
    check = await load(uow, MonitoringCheck, pk, field="id", what="monitoring check")
    template = await uow.session.get(MonitoringTemplate, check.template_id)
    await uow.session.delete(check)
    await uow.session.flush()
    await _touched(uow, template, ["checks"])  # type: ignore[arg-type]
    return check


def _one_more(existing: list[dict[str, Any]], check: dict[str, Any]) -> None:
    """``check`` joining ``existing``: the clash errors name the check's own fields."""
    try:
        _clash([*existing, check])
    except DomainError as exc:
        raise DomainError(exc.errors[0].message, field=exc.errors[0].field.rsplit(".", 1)[1],  # type: ignore[union-attr]
                          code=exc.errors[0].code) from None


async def _touched(uow: UnitOfWork, row: MonitoringTemplate, changed: list[str]
                   ) -> MonitoringTemplate:
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "monitoring_template.updated", company_id=row.company_id, entity=row,
                 payload={"name": row.name, "changed": changed})
    return row
