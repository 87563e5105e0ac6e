"""Types of the ``snmpWalk`` helper: rows of a subtree as text, or why there are none."""

from __future__ import annotations

from enum import StrEnum

import strawberry


class WalkErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"  # no such device (or not visible to the caller)
    NO_SNMP = "NO_SNMP"  # the device has no SNMP access configured (ICMP only)
    INVALID_OID = "INVALID_OID"
    INVALID = "INVALID"  # another argument out of range
    TIMEOUT = "TIMEOUT"  # no answer: unreachable, or a wrong v2c community
    AUTH_FAILED = "AUTH_FAILED"  # SNMPv3 user unknown, wrong key, decryption failed
    PROTOCOL_ERROR = "PROTOCOL_ERROR"  # the agent's answer was not valid SNMP
    AGENT_ERROR = "AGENT_ERROR"  # the agent answered with an error status


SnmpWalkErrorCode = strawberry.enum(WalkErrorCode, name="SnmpWalkErrorCode",
                                    description="Why an SNMP walk gave no rows.")


@strawberry.type(description="One variable of an SNMP walk.")
class SnmpWalkRow:
    oid: str = strawberry.field(description="Numeric OID, dotted.")
    type: str = strawberry.field(description="SNMP type: Integer, Gauge32, Counter32, "
                                 "Counter64, TimeTicks, OctetString, IpAddress, "
                                 "ObjectIdentifier, Opaque, Null, noSuchObject, ...")
    value: str = strawberry.field(description="As text: numbers in decimal, OctetString as "
                                  "text when printable, else hex (00:1a:2b).")
    counter_bits: int | None = strawberry.field(description="32 or 64 for counters, else "
                                                "null.")


@strawberry.type(description="A problem with the walk; no rows.")
class SnmpWalkError:
    field: str | None
    code: SnmpWalkErrorCode
    message: str


@strawberry.type(description="The rows under an OID, in OID order.")
class SnmpWalkResult:
    rows: list[SnmpWalkRow]
    truncated: bool = strawberry.field(description="More rows exist past maxResults.")
    errors: list[SnmpWalkError]
