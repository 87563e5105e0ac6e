"""Devices: create, change, delete. The management address is kept canonical with its IPAM
key (so subnet scopes find it), SNMP settings are checked as one whole (the version decides
which secrets it needs and which are dropped), secrets are sealed, and the owning poller is
recomputed when the address or site changes."""

from __future__ import annotations

import re
from typing import Any

from ispcore.domain.accounts.models import Account
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import check_owned, company_of, load, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.monitoring import ownership
from ispcore.domain.monitoring.credentials import seal_secret
from ispcore.domain.monitoring.models import (
    Device,
    MonitoringTemplate,
    SnmpAuthProtocol,
    SnmpPrivProtocol,
    SnmpVersion,
)
from ispcore.domain.network.addressing import parse_address, to_key
from ispcore.domain.network.models import NetworkSite

#: Input name -> sealed column.
SECRETS = {"snmp_community": "snmp_community_sealed", "snmp_auth_key": "snmp_auth_key_sealed",
           "snmp_priv_key": "snmp_priv_key_sealed"}
#: Input name -> GraphQL name, for the vault's messages.
_SECRET_FIELDS = {"snmp_community": "snmpCommunity", "snmp_auth_key": "snmpAuthKey",
                  "snmp_priv_key": "snmpPrivKey"}
V3_KEY_MIN = 8  # RFC 3414: shorter passphrases are refused by agents
_MAC_HEX = re.compile(r"[0-9a-f]{12}")


def canonical_mac(text: str) -> str:
    """``aa-bb-cc-dd-ee-ff``, ``aabb.ccdd.eeff``, ``AABBCCDDEEFF`` -> ``AA:BB:CC:DD:EE:FF``;
    blank stays blank; ``ValueError`` otherwise."""
    digits = re.sub(r"[:.\-\s]", "", text or "").lower()
    if not digits:
        return ""
    if not _MAC_HEX.fullmatch(digits):
        raise ValueError(text)
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2)).upper()


def _snmp(v: Validator, row: Device | None, values: dict[str, Any]) -> None:
    """Check the SNMP settings as they will stand (``values`` over ``row``), and clear what
    the version (or a NONE protocol) no longer uses."""

    def now(key: str, default: Any) -> Any:
        return values[key] if key in values else getattr(row, key, default)

    def has(secret: str) -> bool:
        return bool(values.get(secret)) if secret in values else (
            row is not None and getattr(row, SECRETS[secret]) is not None)

    for secret in SECRETS:
        if secret in values and not (values[secret] or "").strip():
            v.add(secret, "May be omitted but not blank.", ErrorCode.REQUIRED)
    version, auth, priv = (now("snmp_version", SnmpVersion.NONE),
                           now("snmp_auth_protocol", SnmpAuthProtocol.NONE),
                           now("snmp_priv_protocol", SnmpPrivProtocol.NONE))
    if not 1 <= now("snmp_port", 161) <= 65535:
        v.add("snmp_port", "A port is 1 to 65535.")
    if "snmp_username" in values:
        values["snmp_username"] = (values["snmp_username"] or "").strip()
    clear: set[str] = set()
    if version == SnmpVersion.NONE:
        clear |= set(SECRETS)
        values.update(snmp_username="", snmp_auth_protocol=SnmpAuthProtocol.NONE,
                      snmp_priv_protocol=SnmpPrivProtocol.NONE)
    elif version == SnmpVersion.V2C:
        if not has("snmp_community"):
            v.add("snmp_community", "SNMP v2c needs a community.", ErrorCode.REQUIRED)
        clear |= {"snmp_auth_key", "snmp_priv_key"}
        values.update(snmp_username="", snmp_auth_protocol=SnmpAuthProtocol.NONE,
                      snmp_priv_protocol=SnmpPrivProtocol.NONE)
    else:
        clear.add("snmp_community")
        if not now("snmp_username", ""):
            v.add("snmp_username", "SNMP v3 needs a username.", ErrorCode.REQUIRED)
        if priv != SnmpPrivProtocol.NONE and auth == SnmpAuthProtocol.NONE:
            v.add("snmp_priv_protocol", "Privacy (encryption) needs authentication too.")
        for protocol, secret, what in ((auth, "snmp_auth_key", "authentication"),
                                       (priv, "snmp_priv_key", "privacy")):
            if protocol == "NONE":
                clear.add(secret)
            elif not has(secret):
                v.add(secret, f"SNMP v3 {what} needs a key.", ErrorCode.REQUIRED)
            elif secret in values and len(values[secret]) < V3_KEY_MIN:
                v.add(secret, f"An SNMP v3 key is at least {V3_KEY_MIN} characters.")
    for secret in clear:
        if values.get(secret):
            v.add(secret, f"Not used with SNMP version {version} and these protocols.")
        values.pop(secret, None)
        values[SECRETS[secret]] = None


async def _clean(uow: UnitOfWork, company_id: int, values: dict[str, Any],
                 row: Device | None) -> dict[str, Any]:
    v = Validator()
    required_text(v, values, "name", "Name the device.")
    for key in ("description", "serial_number"):
        if key in values:
            values[key] = (values[key] or "").strip()
    if "management_address" in values:
        try:
            address = parse_address(values["management_address"], field="management_address")
        except DomainError as exc:
            v.errors.append(exc)
        else:
            values.update(management_address=str(address), family=address.version,
                          address_key=to_key(int(address)))
    if "mac_address" in values:
        try:
            values["mac_address"] = canonical_mac(values["mac_address"])
        except ValueError:
            v.add("mac_address", f"{values['mac_address']!r} is not a MAC address.")
    _snmp(v, row, values)
    for key, model, what in (("network_site_id", NetworkSite, "network site"),
                             ("account_id", Account, "account"),
                             ("template_id", MonitoringTemplate, "monitoring template")):
        await check_owned(uow, v, values, key, model, what=what, company_id=company_id)
    v.fit_columns(Device, {k: val for k, val in values.items() if k not in SECRETS})
    v.raise_if_any()
    if "name" in values:
        await ensure_name_free(uow.session, Device, values["name"], what="device",
                               company_id=company_id, exclude_id=row.id if row else None)
    for secret, column in SECRETS.items():
        if values.get(secret):
            values[column] = seal_secret(uow.settings.vault_key, values.pop(secret),
                                         field=_SECRET_FIELDS[secret])
    return values


async def create_device(uow: UnitOfWork, values: dict[str, Any]) -> Device:
    company_id = values.pop("company_id")
    await company_of(uow, company_id)
    values.setdefault("snmp_version", SnmpVersion.NONE)
    values = await _clean(uow, company_id, values, None)
    now = uow.clock.now()
    row = Device(company_id=company_id, **values, created_at=now, updated_at=now)
    await ownership.assign_owner(uow, row)
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, "device.created", company_id=company_id, entity=row,
                 payload=_summary(row))
    return row


async def update_device(uow: UnitOfWork, pk: int, values: dict[str, Any]) -> Device:
    row = await load(uow, Device, pk, field="id", what="device")
    sent = sorted(values)
    values = await _clean(uow, row.company_id, values, row)
    for key, value in values.items():
        setattr(row, key, value)
    if {"management_address", "network_site_id"} & set(values):
        await ownership.assign_owner(uow, row)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "device.updated", company_id=row.company_id, entity=row,
                 payload={**_summary(row), "changed": sent})
    return row


async def delete_device(uow: UnitOfWork, pk: int) -> Device:
    row = await load(uow, Device, pk, field="id", what="device")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, "device.deleted", company_id=row.company_id, entity=row,
                 payload=_summary(row))
    return row


def _summary(row: Device) -> dict[str, Any]:
    return {"deviceId": row.id, "deviceName": row.name, "address": row.management_address,
            "networkSiteId": row.network_site_id}
