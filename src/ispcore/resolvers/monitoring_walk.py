"""``snmpWalk``: the "finding your OIDs" helper. Needs monitoring:write: it shows whatever
the device exposes, with credentials the caller never sees."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.monitoring.credentials import snmp_credentials
from ispcore.domain.monitoring.models import MonitoringTemplate
from ispcore.domain.monitoring.snmp_walk import MAX_RESULTS, walk_device
from ispcore.network.snmp import (
    InvalidOid,
    SnmpAuthError,
    SnmpError,
    SnmpProtocolError,
    SnmpTimeout,
    ber,
)
from ispcore.schema.monitoring import Device
from ispcore.schema.monitoring_walk import (
    SnmpWalkError,
    SnmpWalkResult,
    SnmpWalkRow,
    WalkErrorCode,
)
from ispcore.schema.nodes import decode_pk
from ispcore.schema.permissions import requires

WRITE = "monitoring:write"
_CODES = ((InvalidOid, WalkErrorCode.INVALID_OID), (SnmpTimeout, WalkErrorCode.TIMEOUT),
          (SnmpAuthError, WalkErrorCode.AUTH_FAILED),
          (SnmpProtocolError, WalkErrorCode.PROTOCOL_ERROR), (SnmpError, WalkErrorCode.AGENT_ERROR))


def _failed(code: WalkErrorCode, message: str, field: str | None = None) -> SnmpWalkResult:
    return SnmpWalkResult(rows=[], truncated=False,
                          errors=[SnmpWalkError(field=field, code=code, message=message)])


@strawberry.type
class MonitoringWalkQuery:
    @strawberry.field(extensions=requires(WRITE), description="Walk a subtree of a device "
                      "(GETBULK, from the API server, with the device's credentials) to find "
                      "the OIDs a template should read. At most maxResults rows (1-10000).")
    async def snmp_walk(self, info: Info, device_id: relay.GlobalID, oid: str,
                        max_results: int | None = 1000) -> SnmpWalkResult:
        max_results = 1000 if max_results is None else max_results
        if not 1 <= max_results <= MAX_RESULTS:
            return _failed(WalkErrorCode.INVALID, f"maxResults must be 1 to {MAX_RESULTS}.",
                           "maxResults")
        try:
            ber.oid_key(oid)
        except InvalidOid as exc:
            return _failed(WalkErrorCode.INVALID_OID, str(exc), "oid")
        row = None
        if device_id.type_name == Device.__name__:
            try:
                pk = decode_pk(Device.__name__, device_id.node_id)
            except GraphQLError:
                pk = None
            if pk is not None:
                row = await info.context.loaders.nodes(Device).load(pk)
        if row is None:
            return _failed(WalkErrorCode.NOT_FOUND, "No such device.", "deviceId")
        settings = info.context.runtime.settings
        credentials = snmp_credentials(settings.vault_key, row)
        if credentials is None:
            return _failed(WalkErrorCode.NO_SNMP, "The device has no SNMP access (ICMP only).",
                           "deviceId")
        timeout, retries = 2.0, 1
        if row.template_id is not None:
            async with info.context.unit_of_work("snmpWalk") as uow:
                template = await uow.session.get(MonitoringTemplate, row.template_id)
            if template is not None:
                timeout, retries = template.snmp_timeout_ms / 1000, template.snmp_retries
        try:
            outcome = await walk_device(row.management_address, credentials, oid, max_results,
                                        timeout=timeout, retries=retries)
        except SnmpError as exc:
            code = next(c for kind, c in _CODES if isinstance(exc, kind))
            return _failed(code, str(exc))
        return SnmpWalkResult(
            rows=[SnmpWalkRow(oid=r.oid, type=r.type, value=r.value,
                              counter_bits=r.counter_bits) for r in outcome.rows],
            truncated=outcome.truncated, errors=[])
