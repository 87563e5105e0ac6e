"""SNMPv3 (USM authentication and privacy) through pysnmp 7's asyncio API, with MIB lookup
off. Replies are turned into the same ``(key, typed value)`` varbinds as the v2c codec's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pysnmp.hlapi.v3arch import asyncio as hl
from pysnmp.proto import errind, rfc1902, rfc1905

from ispcore.domain.monitoring.credentials import SnmpCredentials
from ispcore.network.snmp import ber
from ispcore.network.snmp import values as v
from ispcore.network.snmp.errors import SnmpAuthError, SnmpError, SnmpProtocolError, SnmpTimeout

AUTH = {"NONE": hl.usmNoAuthProtocol, "MD5": hl.usmHMACMD5AuthProtocol,
        "SHA": hl.usmHMACSHAAuthProtocol, "SHA224": hl.usmHMAC128SHA224AuthProtocol,
        "SHA256": hl.usmHMAC192SHA256AuthProtocol, "SHA384": hl.usmHMAC256SHA384AuthProtocol,
        "SHA512": hl.usmHMAC384SHA512AuthProtocol}
#: AES192/AES256 are the Reeder ("Cisco") key extension, what most equipment speaks.
PRIV = {"NONE": hl.usmNoPrivProtocol, "DES": hl.usmDESPrivProtocol,
        "AES128": hl.usmAesCfb128Protocol, "AES192": hl.usmAesCfb192Protocol,
        "AES256": hl.usmAesCfb256Protocol}

_AUTH_FAILURES = (errind.UnknownUserName, errind.WrongDigest, errind.DecryptionError,
                  errind.AuthenticationError, errind.AuthenticationFailure,
                  errind.UnknownSecurityName, errind.UnsupportedSecurityLevel,
                  errind.UnsupportedAuthProtocol, errind.UnsupportedPrivProtocol,
                  errind.NotInTimeWindow)

_TYPES: dict[Any, Any] = {
    rfc1902.Integer32.tagSet: v.Integer, rfc1902.Integer.tagSet: v.Integer,
    rfc1902.Gauge32.tagSet: v.Gauge32, rfc1902.Unsigned32.tagSet: v.Gauge32,
    rfc1902.Counter32.tagSet: v.Counter32, rfc1902.Counter64.tagSet: v.Counter64,
    rfc1902.TimeTicks.tagSet: v.TimeTicks,
}
_EXCEPTIONS = {rfc1905.NoSuchObject.tagSet: v.NO_SUCH_OBJECT,
               rfc1905.NoSuchInstance.tagSet: v.NO_SUCH_INSTANCE,
               rfc1905.EndOfMibView.tagSet: v.END_OF_MIB_VIEW}


def _key(name: Any) -> ber.OidKey:
    arcs = tuple(name)
    return ber.key_of_arcs((arcs[0] * 40 + arcs[1], *arcs[2:]))


def typed(value: Any) -> v.SnmpValue:
    tag = value.tagSet
    if tag in _EXCEPTIONS:
        return _EXCEPTIONS[tag]
    if tag in _TYPES:
        return _TYPES[tag](int(value))
    if tag == rfc1902.IpAddress.tagSet:
        return v.IpAddress(".".join(map(str, value.asNumbers())))
    if tag == rfc1902.ObjectIdentifier.tagSet:
        return v.ObjectIdentifier(str(value))
    if tag == rfc1902.Opaque.tagSet:
        return v.Opaque(value.asOctets())
    if tag == rfc1902.OctetString.tagSet or isinstance(value, rfc1902.OctetString):
        return v.OctetString(value.asOctets())
    if value.isValue is False or tag == rfc1902.Null.tagSet:
        return v.NULL
    raise SnmpProtocolError(f"unexpected value type {type(value).__name__}")


class V3Session:
    def __init__(self, address: str, creds: SnmpCredentials, timeout: float,
                 retries: int) -> None:
        self.address, self.port = address, creds.port
        self.timeout, self.retries = timeout, retries
        self.user = hl.UsmUserData(
            creds.username,
            authKey=creds.auth_key or None, privKey=creds.priv_key or None,
            authProtocol=AUTH[creds.auth_protocol], privProtocol=PRIV[creds.priv_protocol])
        self._engine: hl.SnmpEngine | None = None
        self._target: hl.UdpTransportTarget | None = None

    async def _open(self) -> tuple[hl.SnmpEngine, hl.UdpTransportTarget]:
        if self._engine is None or self._target is None:
            # One engine per client: USM users with the same name but other keys (two
            # devices) must not share the engine's local configuration.
            self._engine = hl.SnmpEngine()
            try:
                self._target = await hl.UdpTransportTarget.create(
                    (self.address, self.port), timeout=self.timeout, retries=self.retries)
            except Exception as exc:  # pysnmp raises its own error for unresolvable names
                raise SnmpError(f"cannot reach {self.address}: {exc}") from None
        return self._engine, self._target

    async def request(self, pdu_type: int, keys: Sequence[ber.OidKey], a: int,
                      b: int) -> list[ber.VarBind]:
        engine, target = await self._open()
        objects = [hl.ObjectType(hl.ObjectIdentity(ber.oid_text(k))) for k in keys]
        context = hl.ContextData()
        if pdu_type == ber.GET:
            result = await hl.get_cmd(engine, self.user, target, context, *objects,
                                      lookupMib=False)
        elif pdu_type == ber.GETNEXT:
            result = await hl.next_cmd(engine, self.user, target, context, *objects,
                                       lookupMib=False)
        else:
            result = await hl.bulk_cmd(engine, self.user, target, context, a, b, *objects,
                                       lookupMib=False)
        indication, status, index, varbinds = result
        if indication:
            if isinstance(indication, errind.RequestTimedOut):
                raise SnmpTimeout(f"no answer from {self.address}:{self.port}")
            if isinstance(indication, _AUTH_FAILURES):
                raise SnmpAuthError(f"SNMPv3 authentication failed: {indication}")
            raise SnmpProtocolError(f"SNMPv3 request failed: {indication}")
        if status:
            from ispcore.network.snmp.client import status_error

            raise status_error(int(status), int(index), keys)
        return [(_key(name), str(name), typed(value)) for name, value in varbinds]

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
        self._engine = self._target = None
