"""RADIUS fixtures: the built-in server on loopback with seeded rows, a NAS stand-in for CoA,
FreeRADIUS on the test database, an account with a RADIUS login for usage; net-snmp's snmpd,
a UDP server answering garbage, a network namespace for ICMP."""

from tests.network.coa_listener import nas_at  # noqa: F401
from tests.peers.freeradius_support import freeradius  # noqa: F401
from tests.peers.netns_support import netns  # noqa: F401
from tests.peers.radius_support import radius, seeded  # noqa: F401
from tests.peers.snmpd_support import garbage_agent, snmpd  # noqa: F401
from tests.usage.accounting_support import login, metered  # noqa: F401
