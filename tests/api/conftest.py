"""net-snmp's snmpd, for the root query that walks a device (``snmpWalk``)."""

from tests.peers.snmpd_support import snmpd  # noqa: F401
