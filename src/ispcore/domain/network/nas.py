"""NAS clients: the routers and access concentrators that ask RADIUS and take CoA. The shared
secret is sealed with the vault key (FreeRADIUS gets it from ``ispcore freeradius-clients``)."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ispcore.domain.common import vault
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import company_of, load, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.network import compile
from ispcore.domain.network.models import NasClient, NetworkSite, RadiusAction, RadiusSession

NAS_SECRET = "NAS shared secrets"


class NasKind(StrEnum):
    MIKROTIK = "MIKROTIK"
    CISCO = "CISCO"
    JUNIPER = "JUNIPER"
    CAMBIUM = "CAMBIUM"
    UBIQUITI = "UBIQUITI"
    OTHER = "OTHER"


class CoaMode(StrEnum):
    COA = "COA"
    DISCONNECT = "DISCONNECT"


def _address(value: str) -> str:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        raise DomainError(f"{value!r} is not an IP address.", field="address") from None


def _secret(value: str) -> str:
    if not 8 <= len(value or "") <= 128 or not value.isprintable():
        raise DomainError("A shared secret is 8 to 128 printable characters.", field="secret")
    return value


async def _clean(uow: UnitOfWork, company_id: int, values: dict[str, Any], pk: int | None
                 ) -> dict[str, Any]:
    v = Validator()
    required_text(v, values, "name", "Name the NAS.")
    v.raise_if_any()
    if "name" in values:
        await ensure_name_free(uow.session, NasClient, values["name"], what="NAS",
                               company_id=company_id, exclude_id=pk)
    if "address" in values:
        values["address"] = _address(values["address"])
        clash = await uow.session.scalar(select(NasClient.id).where(
            NasClient.address == values["address"], NasClient.id != (pk or 0)))
        if clash:
            raise DomainError(f"Another NAS has the address {values['address']}.",
                              field="address", code=ErrorCode.DUPLICATE)
    if "secret" in values:
        values["secret_sealed"] = vault.seal(uow.settings.vault_key, _secret(values.pop(
            "secret")), field="secret", what=NAS_SECRET)
    if "coa_port" in values and not 1 <= values["coa_port"] <= 65535:
        raise DomainError("A port is 1 to 65535.", field="coa_port")
    if values.get("network_site_id") is not None:
        await load(uow, NetworkSite, values["network_site_id"], field="network_site_id",
                   what="network site", company_id=company_id)
    for key in ("kind", "coa_mode"):
        if isinstance(values.get(key), StrEnum):
            values[key] = values[key].value
    if "description" in values:
        values["description"] = (values["description"] or "").strip()
    return values


async def create_nas(uow: UnitOfWork, values: dict[str, Any]) -> NasClient:
    company_id = values.pop("company_id")
    await company_of(uow, company_id)
    values.setdefault("kind", NasKind.MIKROTIK)
    values.setdefault("coa_port", 3799)
    values.setdefault("coa_mode", CoaMode.COA)
    values = await _clean(uow, company_id, values, None)
    now = uow.clock.now()
    row = NasClient(company_id=company_id, **values, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    compile.announce(uow, "nas")
    record_event(uow, "nas_client.created", company_id=company_id, entity=row,
                 payload={"name": row.name, "address": row.address})
    return row


async def update_nas(uow: UnitOfWork, pk: int, values: dict[str, Any]) -> NasClient:
    row = await load(uow, NasClient, pk, field="id", what="NAS")
    for key, value in (await _clean(uow, row.company_id, values, pk)).items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    compile.announce(uow, "nas")
    record_event(uow, "nas_client.updated", company_id=row.company_id, entity=row,
                 payload={"changed": sorted(k for k in values if k != "secret_sealed")})
    return row


async def delete_nas(uow: UnitOfWork, pk: int) -> NasClient:
    row = await load(uow, NasClient, pk, field="id", what="NAS")
    for model, label in ((RadiusSession, "session"), (RadiusAction, "CoA action")):
        if await uow.session.scalar(select(model.id).where(model.nas_id == pk).limit(1)):
            raise DomainError(f"The NAS has {label}s on record; make it inactive instead.",
                              field="id", code=ErrorCode.IN_USE)
    await uow.session.delete(row)
    await uow.session.flush()
    compile.announce(uow, "nas")
    record_event(uow, "nas_client.deleted", company_id=row.company_id, entity=row,
                 payload={"name": row.name})
    return row


def secret_of(uow: UnitOfWork, nas: NasClient) -> str:
    return vault.unseal(uow.settings.vault_key, nas.secret_sealed, field="secret",
                        what=NAS_SECRET)
