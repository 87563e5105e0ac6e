"""A device's SNMP credentials: sealed with the vault key at rest, opened for whoever polls the
device (its poller's workload, the ``snmpWalk`` helper). :class:`SnmpCredentials` is also what
the poller side's SNMP client takes, so both ends agree on one shape."""

from __future__ import annotations

from dataclasses import dataclass

from ispcore.domain.common import vault
from ispcore.domain.monitoring.models import Device, SnmpVersion

SNMP_SECRETS = "SNMP credentials"


@dataclass(frozen=True)
class SnmpCredentials:
    version: str  # SnmpVersion: V2C or V3
    port: int = 161
    community: str = ""
    username: str = ""
    auth_protocol: str = "NONE"
    auth_key: str = ""
    priv_protocol: str = "NONE"
    priv_key: str = ""


def seal_secret(vault_key: str | None, secret: str, *, field: str) -> str:
    return vault.seal(vault_key, secret, field=field, what=SNMP_SECRETS)


def _open(vault_key: str | None, sealed: str | None, field: str) -> str:
    return vault.unseal(vault_key, sealed, field=field, what=SNMP_SECRETS) if sealed else ""


def snmp_credentials(vault_key: str | None, device: Device) -> SnmpCredentials | None:
    """The device's credentials in clear; ``None`` for an ICMP-only device."""
    if device.snmp_version == SnmpVersion.NONE:
        return None
    return SnmpCredentials(
        version=device.snmp_version, port=device.snmp_port,
        community=_open(vault_key, device.snmp_community_sealed, "snmpCommunity"),
        username=device.snmp_username, auth_protocol=device.snmp_auth_protocol,
        auth_key=_open(vault_key, device.snmp_auth_key_sealed, "snmpAuthKey"),
        priv_protocol=device.snmp_priv_protocol,
        priv_key=_open(vault_key, device.snmp_priv_key_sealed, "snmpPrivKey"))
