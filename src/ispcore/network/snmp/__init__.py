"""SNMP polling: a small v2c codec, pysnmp for v3, one client interface for both."""

from ispcore.network.snmp.client import Row, SnmpClient
from ispcore.network.snmp.errors import (
    InvalidOid,
    SnmpAuthError,
    SnmpError,
    SnmpProtocolError,
    SnmpTimeout,
)

__all__ = ["InvalidOid", "Row", "SnmpAuthError", "SnmpClient", "SnmpError",
           "SnmpProtocolError", "SnmpTimeout"]
