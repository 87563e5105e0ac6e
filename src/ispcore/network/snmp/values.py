"""Typed SNMP values: thin subclasses of ``int``/``bytes``/``str`` so they cost little to build
and compare, each knowing its SNMP type name and, for counters, its width in bits."""

from __future__ import annotations

import string
from typing import ClassVar

_PRINTABLE = frozenset(string.printable.encode())


class SnmpValue:
    snmp_type: ClassVar[str]
    counter_bits: ClassVar[int | None] = None

    def text(self) -> str:
        return str(self)


class Integer(int, SnmpValue):
    snmp_type = "Integer"
    __slots__ = ()


class Gauge32(int, SnmpValue):
    snmp_type = "Gauge32"
    __slots__ = ()


class TimeTicks(int, SnmpValue):
    """Hundredths of a second."""

    snmp_type = "TimeTicks"
    __slots__ = ()


class Counter32(int, SnmpValue):
    snmp_type = "Counter32"
    counter_bits = 32
    __slots__ = ()


class Counter64(int, SnmpValue):
    snmp_type = "Counter64"
    counter_bits = 64
    __slots__ = ()


class OctetString(bytes, SnmpValue):
    snmp_type = "OctetString"
    __slots__ = ()

    def text(self) -> str:
        """As text when printable (trailing NULs dropped), else hex (``00:1a:2b``)."""
        trimmed = self.rstrip(b"\0")
        if all(b in _PRINTABLE for b in trimmed):
            return trimmed.decode("ascii")
        return self.hex(":")


class Opaque(bytes, SnmpValue):
    snmp_type = "Opaque"
    __slots__ = ()

    def text(self) -> str:
        return self.hex(":")


class IpAddress(str, SnmpValue):
    snmp_type = "IpAddress"
    __slots__ = ()


class ObjectIdentifier(str, SnmpValue):
    snmp_type = "ObjectIdentifier"
    __slots__ = ()


class Null(SnmpValue):
    snmp_type = "Null"

    def text(self) -> str:
        return ""


class _Exception(SnmpValue):
    """v2c varbind exceptions: the value slot says why there is no value."""

    def __repr__(self) -> str:
        return self.snmp_type

    def text(self) -> str:
        return self.snmp_type


class _NoSuchObject(_Exception):
    snmp_type = "noSuchObject"


class _NoSuchInstance(_Exception):
    snmp_type = "noSuchInstance"


class _EndOfMibView(_Exception):
    snmp_type = "endOfMibView"


NULL = Null()
NO_SUCH_OBJECT = _NoSuchObject()
NO_SUCH_INSTANCE = _NoSuchInstance()
END_OF_MIB_VIEW = _EndOfMibView()
EXCEPTIONS = (NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW)


def is_exception(value: SnmpValue) -> bool:
    return isinstance(value, _Exception)
