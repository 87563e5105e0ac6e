"""The small BER subset SNMP v1/v2c messages need: encode requests, decode responses.

Hand-written for speed (a GETBULK walk decodes thousands of varbinds per second; a general
ASN.1 library costs ten times more per varbind). Decoding never trusts a length: anything
malformed, truncated or out of range raises :class:`SnmpProtocolError` and nothing else.

Decoded OIDs come as a *key* (bytes that compare like the OID: see ``OidKey``) and dotted
text. Most OIDs have only arcs below 128, and then the key is the raw BER content itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ispcore.network.snmp import values as v
from ispcore.network.snmp.errors import InvalidOid, SnmpProtocolError

SEQUENCE, INTEGER, OCTET_STRING, NULL_TAG, OID_TAG = 0x30, 0x02, 0x04, 0x05, 0x06
IPADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET, GETNEXT, RESPONSE, SET, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA3, 0xA5, 0xA8
V1, V2C = 0, 1

#: An OID as bytes that sort like the OID: BER content when every arc is below 128 (most
#: OIDs), else each arc >= 128 as (0x80 + its byte count, big-endian bytes).
OidKey = bytes
VarBind = tuple[OidKey, str, v.SnmpValue]

_OID_TEXT = re.compile(r"\.?(\d+(?:\.\d+)+)")
_MAX_ARC = 2**32 - 1
_MAX_ARCS = 128


# -- OIDs ---------------------------------------------------------------------------------

def _sortable_arc(arc: int) -> bytes:
    if arc < 0x80:
        return bytes((arc,))
    body = arc.to_bytes((arc.bit_length() + 7) // 8, "big")
    return bytes((0x80 + len(body),)) + body


def key_of_arcs(arcs: Sequence[int]) -> OidKey:
    """Arcs (first two already combined as ``40 * a + b``) -> key."""
    if all(a < 0x80 for a in arcs):
        return bytes(arcs)
    return b"".join(map(_sortable_arc, arcs))


@lru_cache(maxsize=4096)
def oid_key(text: str) -> OidKey:
    """Validated dotted text -> key; :class:`InvalidOid` when malformed."""
    match = _OID_TEXT.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise InvalidOid(f"not a numeric OID: {text!r}")
    arcs = [int(a) for a in match.group(1).split(".")]
    first, second = arcs[0], arcs[1]
    if first > 2 or (first < 2 and second >= 40):
        raise InvalidOid(f"OID must start with 0.x or 1.x (x < 40) or 2.x: {text!r}")
    if len(arcs) > _MAX_ARCS or any(a > _MAX_ARC for a in arcs[2:]) or second > _MAX_ARC:
        raise InvalidOid(f"OID too long or an arc too large: {text!r}")
    return key_of_arcs((first * 40 + second, *arcs[2:]))


def key_arcs(key: OidKey) -> list[int]:
    if key.isascii():
        return list(key)
    arcs, pos = [], 0
    while pos < len(key):
        byte = key[pos]
        if byte < 0x80:
            arcs.append(byte)
            pos += 1
        else:
            size = byte - 0x80
            arcs.append(int.from_bytes(key[pos + 1:pos + 1 + size], "big"))
            pos += 1 + size
    return arcs


def _head(first: int) -> str:
    return f"0.{first}" if first < 40 else f"1.{first - 40}" if first < 80 else f"2.{first - 80}"


def arcs_text(arcs: Sequence[int]) -> str:
    head = _head(arcs[0])
    return head + "." + ".".join(map(str, arcs[1:])) if len(arcs) > 1 else head


def oid_text(key: OidKey) -> str:
    return arcs_text(key_arcs(key))


def _encode_arc(arc: int) -> bytes:
    if arc < 0x80:
        return bytes((arc,))
    out = [arc & 0x7F]
    arc >>= 7
    while arc:
        out.append(0x80 | (arc & 0x7F))
        arc >>= 7
    return bytes(reversed(out))


def encode_oid(key: OidKey) -> bytes:
    """Key -> BER OID content (the same bytes when every arc is below 128)."""
    return key if key.isascii() else b"".join(map(_encode_arc, key_arcs(key)))


#: One arc in BER: continuation bytes (high bit set), then a last byte below 0x80.
_ARC = re.compile(rb"[\x80-\xff]*[\x00-\x7f]")
_MULTI_ARC = re.compile(rb"[\x80-\xff]+[\x00-\x7f]")


def _multi_arc(group: bytes) -> int:
    if group[0] == 0x80 or len(group) > 5:
        raise SnmpProtocolError("bad OID arc encoding")
    arc = 0
    for byte in group:
        arc = (arc << 7) | (byte & 0x7F)
    return arc


def _sortable_group(match: re.Match[bytes]) -> bytes:
    return _sortable_arc(_multi_arc(match.group()))


def _decode_arcs(raw: bytes) -> list[int]:
    if raw[-1] & 0x80:
        raise SnmpProtocolError("truncated OID")
    return [g[0] if len(g) == 1 else _multi_arc(g) for g in _ARC.findall(raw)]


_STR = [str(i) for i in range(128)]
#: Dotted text of OID parents (raw BER without the last arc): a table column's rows share it.
_PARENTS: dict[bytes, str] = {}
_MULTI_PARENTS: dict[bytes, tuple[bytes, str]] = {}
_MULTI_OIDS: dict[bytes, tuple[bytes, str]] = {}


def _parent_text(parent: bytes) -> str:
    """Dotted text of an all-single-byte-arcs OID, with a trailing dot."""
    return _head(parent[0]) + "." + "".join([_STR[b] + "." for b in parent[1:]])


def decode_oid(raw: bytes) -> tuple[OidKey, str]:
    """Raw BER OID content -> (key, dotted text)."""
    if raw.isascii():
        if not raw:
            raise SnmpProtocolError("empty OID")
        if len(raw) > 2:
            parent = raw[:-1]
            text = _PARENTS.get(parent)
            if text is None:
                if len(_PARENTS) > 20000:
                    _PARENTS.clear()
                text = _PARENTS[parent] = _parent_text(parent)
            return raw, text + _STR[raw[-1]]
        return raw, arcs_text(raw)
    # Some arc >= 128. A poller reads the same OIDs every interval: whole OIDs are cached
    # (bounded, like the parents), so rows indexed by addresses or ports decode once.
    found = _MULTI_OIDS.get(raw)
    if found is None:
        if len(_MULTI_OIDS) > 50000:
            _MULTI_OIDS.clear()
        found = _MULTI_OIDS[raw] = _decode_multi(raw)
    return found


def _decode_multi(raw: bytes) -> tuple[OidKey, str]:
    """Mostly only the last arc is >= 128 (a pid, a package index), so the parent's key and
    text are cached too."""
    end = len(raw) - 1
    if raw[end] & 0x80:
        raise SnmpProtocolError("truncated OID")
    start = end
    while start and raw[start - 1] & 0x80:
        start -= 1
    if start == 0:
        arcs = _decode_arcs(raw)
        return _MULTI_ARC.sub(_sortable_group, raw), arcs_text(arcs)
    parent = raw[:start]
    cached = _MULTI_PARENTS.get(parent)
    if cached is None:
        if len(_MULTI_PARENTS) > 20000:
            _MULTI_PARENTS.clear()
        cached = _MULTI_PARENTS[parent] = (_MULTI_ARC.sub(_sortable_group, parent),
                                           arcs_text(_decode_arcs(parent)))
    last = raw[end] if start == end else _multi_arc(raw[start:])
    return cached[0] + _sortable_arc(last), cached[1] + "." + str(last)


# -- encoding -----------------------------------------------------------------------------

def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _length(len(content)) + content


def _int_content(n: int) -> bytes:
    return n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big", signed=True)


def encode_int(n: int, tag: int = INTEGER) -> bytes:
    return tlv(tag, _int_content(n))


@lru_cache(maxsize=8192)
def _null_varbind(key: OidKey) -> bytes:
    return tlv(SEQUENCE, tlv(OID_TAG, encode_oid(key)) + b"\x05\x00")


_VALUE_TAGS: dict[type, int] = {
    v.Integer: INTEGER, v.Gauge32: GAUGE32, v.TimeTicks: TIMETICKS, v.Counter32: COUNTER32,
    v.Counter64: COUNTER64, v.OctetString: OCTET_STRING, v.Opaque: OPAQUE,
}


def encode_value(value: v.SnmpValue) -> bytes:
    """A typed value as BER (for agents in tests and the fuzz round trip)."""
    if value is v.NULL:
        return b"\x05\x00"
    if value is v.NO_SUCH_OBJECT:
        return b"\x80\x00"
    if value is v.NO_SUCH_INSTANCE:
        return b"\x81\x00"
    if value is v.END_OF_MIB_VIEW:
        return b"\x82\x00"
    if isinstance(value, v.IpAddress):
        return tlv(IPADDRESS, bytes(int(p) for p in value.split(".")))
    if isinstance(value, v.ObjectIdentifier):
        return tlv(OID_TAG, encode_oid(oid_key(value)))
    tag = _VALUE_TAGS[type(value)]
    if isinstance(value, bytes):
        return tlv(tag, bytes(value))
    return encode_int(int(value), tag)


def encode_message(version: int, community: bytes, pdu_type: int, request_id: int,
                   a: int, b: int, varbinds: list[tuple[OidKey, v.SnmpValue | None]]) -> bytes:
    """A whole v1/v2c message. ``a``/``b`` are error-status/index, or non-repeaters/max
    repetitions for GETBULK. ``None`` values are sent as NULL (requests)."""
    body = b"".join(
        _null_varbind(key) if value is None or value is v.NULL
        else tlv(SEQUENCE, tlv(OID_TAG, encode_oid(key)) + encode_value(value))
        for key, value in varbinds)
    pdu = tlv(pdu_type, encode_int(request_id) + encode_int(a) + encode_int(b)
              + tlv(SEQUENCE, body))
    return tlv(SEQUENCE, encode_int(version) + tlv(OCTET_STRING, community) + pdu)


def message_head(version: int, community: bytes) -> bytes:
    """What every request of a session starts with (version, community): built once."""
    return encode_int(version) + tlv(OCTET_STRING, community)


_SMALL_INTS = [encode_int(i) for i in range(256)]


def encode_request(head: bytes, pdu_type: int, request_id: int, a: int, b: int,
                   keys: Sequence[OidKey]) -> bytes:
    """A request (NULL values) after :func:`message_head`: the per-request fast path."""
    small = _SMALL_INTS
    body = b"".join([_null_varbind(k) for k in keys])
    pdu = (encode_int(request_id) + (small[a] if 0 <= a < 256 else encode_int(a))
           + (small[b] if 0 <= b < 256 else encode_int(b)) + tlv(SEQUENCE, body))
    return tlv(SEQUENCE, head + tlv(pdu_type, pdu))


# -- decoding -----------------------------------------------------------------------------

@dataclass(slots=True)
class Message:
    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int  # or non-repeaters in a GETBULK request
    error_index: int  # or max-repetitions
    varbinds: list[VarBind]


def _len(data: bytes, pos: int, limit: int) -> tuple[int, int]:
    """Reads a length at ``pos``; returns (content start, content end), checked against
    ``limit``."""
    n = data[pos]
    pos += 1
    if n & 0x80:
        k = n & 0x7F
        if not 0 < k <= 4 or pos + k > limit:
            raise SnmpProtocolError("bad BER length")
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    end = pos + n
    if end > limit:
        raise SnmpProtocolError("BER length past the end of the message")
    return pos, end


def _expect(data: bytes, pos: int, limit: int, tag: int, what: str) -> tuple[int, int]:
    if pos >= limit or data[pos] != tag:
        raise SnmpProtocolError(f"expected {what}")
    return _len(data, pos + 1, limit)


def _integer(data: bytes, pos: int, limit: int, what: str) -> tuple[int, int]:
    s, e = _expect(data, pos, limit, INTEGER, what)
    if not 0 < e - s <= 9:
        raise SnmpProtocolError(f"bad {what}")
    return int.from_bytes(data[s:e], "big", signed=True), e


def _unsigned(cls: type[int], bits: int):  # type: ignore[no-untyped-def]
    top = 1 << bits

    def decode(raw: bytes) -> int:
        if not 0 < len(raw) <= bits // 8 + 1:
            raise SnmpProtocolError(f"bad {cls.__name__}")
        n = int.from_bytes(raw, "big", signed=True)
        if n < 0:  # some agents forget the leading zero byte: take the bits unsigned
            n += 1 << (8 * len(raw))
        if n >= top:
            raise SnmpProtocolError(f"{cls.__name__} out of range")
        return cls(n)
    return decode


def _signed_integer(raw: bytes) -> v.Integer:
    if not 0 < len(raw) <= 5:
        raise SnmpProtocolError("bad Integer")
    n = int.from_bytes(raw, "big", signed=True)
    if not -(2**31) <= n < 2**31:
        raise SnmpProtocolError("Integer out of range")
    return v.Integer(n)


def _ip(raw: bytes) -> v.IpAddress:
    if len(raw) != 4:
        raise SnmpProtocolError("bad IpAddress")
    return v.IpAddress(".".join(map(str, raw)))


def _oid_value(raw: bytes) -> v.ObjectIdentifier:
    return v.ObjectIdentifier(decode_oid(raw)[1])


def _exception(value: v.SnmpValue):  # type: ignore[no-untyped-def]
    def decode(raw: bytes) -> v.SnmpValue:
        if raw:
            raise SnmpProtocolError("exception value with content")
        return value
    return decode


_DECODERS: dict[int, Any] = {
    INTEGER: _signed_integer,
    OCTET_STRING: v.OctetString,
    NULL_TAG: _exception(v.NULL),
    OID_TAG: _oid_value,
    IPADDRESS: _ip,
    COUNTER32: _unsigned(v.Counter32, 32),
    GAUGE32: _unsigned(v.Gauge32, 32),
    TIMETICKS: _unsigned(v.TimeTicks, 32),
    OPAQUE: v.Opaque,
    COUNTER64: _unsigned(v.Counter64, 64),
    NO_SUCH_OBJECT: _exception(v.NO_SUCH_OBJECT),
    NO_SUCH_INSTANCE: _exception(v.NO_SUCH_INSTANCE),
    END_OF_MIB_VIEW: _exception(v.END_OF_MIB_VIEW),
}
#: Integer types: class, most content bytes, lowest value read as is (below: an unsigned
#: value whose leading zero byte is missing), highest value.
_INT_TYPES: dict[int, tuple[type[int], int, int, int]] = {
    INTEGER: (v.Integer, 5, -(2**31), 2**31 - 1),
    COUNTER32: (v.Counter32, 5, 0, 2**32 - 1),
    GAUGE32: (v.Gauge32, 5, 0, 2**32 - 1),
    TIMETICKS: (v.TimeTicks, 5, 0, 2**32 - 1),
    COUNTER64: (v.Counter64, 9, 0, 2**64 - 1),
}
_PDU_TYPES = frozenset((GET, GETNEXT, RESPONSE, SET, GETBULK, REPORT))


def decode_message(data: bytes) -> Message:
    """Any v1/v2c message. Raises only :class:`SnmpProtocolError`."""
    try:
        return _decode(data)
    except SnmpProtocolError:
        raise
    except (IndexError, ValueError, TypeError, OverflowError) as exc:
        raise SnmpProtocolError(f"malformed SNMP message: {exc}") from None


def _decode(data: bytes) -> Message:
    size = len(data)
    s, end = _expect(data, 0, size, SEQUENCE, "a message SEQUENCE")
    if end != size:
        raise SnmpProtocolError("trailing bytes after the message")
    version, pos = _integer(data, s, end, "version")
    cs, ce = _expect(data, pos, end, OCTET_STRING, "community")
    community = data[cs:ce]
    pdu_type = data[ce] if ce < end else -1
    if pdu_type not in _PDU_TYPES:
        raise SnmpProtocolError("unknown PDU type")
    ps, pe = _len(data, ce + 1, end)
    if pe != end:
        raise SnmpProtocolError("trailing bytes after the PDU")
    request_id, pos = _integer(data, ps, pe, "request-id")
    error_status, pos = _integer(data, pos, pe, "error-status")
    error_index, pos = _integer(data, pos, pe, "error-index")
    pos, vend = _expect(data, pos, pe, SEQUENCE, "varbind list")
    if vend != pe:
        raise SnmpProtocolError("trailing bytes after the varbinds")
    return Message(version, community, pdu_type, request_id, error_status, error_index,
                   _varbinds(data, pos, vend))


def _varbinds(data: bytes, pos: int, vend: int) -> list[VarBind]:
    """The hot loop: everything common inline (short lengths, OIDs whose arcs are all below
    128, integer types, strings); the rest through the general functions."""
    varbinds: list[VarBind] = []
    append = varbinds.append
    parents = _PARENTS
    strs = _STR
    ints = _INT_TYPES
    decoders = _DECODERS
    octets = v.OctetString
    while pos < vend:
        if data[pos] != SEQUENCE:
            raise SnmpProtocolError("expected a varbind SEQUENCE")
        n = data[pos + 1]
        if n < 0x80:
            pos += 2
            vbend = pos + n
            if vbend > vend:
                raise SnmpProtocolError("varbind past the end of the list")
        else:
            pos, vbend = _len(data, pos + 1, vend)
        if data[pos] != OID_TAG:
            raise SnmpProtocolError("expected a varbind OID")
        n = data[pos + 1]
        if n < 0x80:
            oe = pos + 2 + n
            raw = data[pos + 2:oe]
        else:
            os_, oe = _len(data, pos + 1, vbend)
            raw = data[os_:oe]
        if oe >= vbend:
            raise SnmpProtocolError("varbind without a value")
        if n > 2 and raw.isascii():
            text = parents.get(raw[:-1])
            if text is None:
                key, text = decode_oid(raw)
            else:
                key, text = raw, text + strs[raw[-1]]
        else:
            key, text = decode_oid(raw)
        tag = data[oe]
        n = data[oe + 1]
        if n < 0x80:
            start = oe + 2
            pos = start + n
        else:
            start, pos = _len(data, oe + 1, vbend)
        if pos != vbend:
            raise SnmpProtocolError("bad varbind length")
        spec = ints.get(tag)
        if spec is not None:
            cls, size, low, high = spec
            n = pos - start
            if not 0 < n <= size:
                raise SnmpProtocolError(f"bad {cls.__name__}")
            number = int.from_bytes(data[start:pos], "big", signed=True)
            if number < low:  # an unsigned type missing its leading zero byte: as unsigned
                number += 1 << (8 * n)
            if number > high:
                raise SnmpProtocolError(f"{cls.__name__} out of range")
            append((key, text, cls(number)))
        elif tag == OCTET_STRING:
            append((key, text, octets(data[start:pos])))
        else:
            decoder = decoders.get(tag)
            if decoder is None:
                raise SnmpProtocolError(f"unknown value type 0x{tag:02x}")
            append((key, text, decoder(data[start:pos])))
    return varbinds
