"""RADIUS on the wire (RFC 2865/2866/2869/5176): parsing the attributes a server needs from
raw bytes, and signing packets, without building pyrad packets on the hot path."""

from __future__ import annotations

import hmac
import struct
from hashlib import md5

ACCESS_REQUEST = 1
ACCESS_ACCEPT = 2
ACCESS_REJECT = 3
ACCOUNTING_REQUEST = 4
ACCOUNTING_RESPONSE = 5
DISCONNECT_REQUEST = 40
DISCONNECT_ACK = 41
DISCONNECT_NAK = 42
COA_REQUEST = 43
COA_ACK = 44
COA_NAK = 45

USER_NAME = 1
USER_PASSWORD = 2
CHAP_PASSWORD = 3
VENDOR_SPECIFIC = 26
PROXY_STATE = 33
CHAP_CHALLENGE = 60
MESSAGE_AUTHENTICATOR = 80
ERROR_CAUSE = 101

KNOWN_CODES = frozenset({1, 2, 3, 4, 5, 11, 12, 13, 40, 41, 42, 43, 44, 45})
ZERO16 = bytes(16)
_HEADER = struct.Struct("!BBH")
_MA_EMPTY = b"\x50\x12" + ZERO16


class Malformed(ValueError):
    """A packet that breaks the format; the reason names the drop counter."""


class Parsed:
    __slots__ = ("attrs", "authenticator", "code", "data", "ident", "ma_at")

    def __init__(self, data: bytes, code: int, ident: int, attrs: dict[int, list[bytes]],
                 ma_at: int) -> None:
        self.data = data
        self.code = code
        self.ident = ident
        self.authenticator = data[4:20]
        self.attrs = attrs
        #: Offset of the Message-Authenticator's value, or -1 when the packet has none.
        self.ma_at = ma_at

    def first(self, kind: int) -> bytes | None:
        values = self.attrs.get(kind)
        return values[0] if values else None

    def integer(self, kind: int) -> int | None:
        value = self.first(kind)
        return int.from_bytes(value, "big") if value is not None and len(value) == 4 else None


def parse(data: bytes) -> Parsed:
    """Split a packet into attributes by type (values in order), checking every length.
    Octets past the Length field are padding (RFC 2865 §3) and are ignored."""
    size = len(data)
    if size < 20:
        raise Malformed("short")
    code, ident, length = _HEADER.unpack_from(data)
    if length < 20 or length > size or length > 4096:
        raise Malformed("bad_length")
    if code not in KNOWN_CODES:
        raise Malformed("unknown_code")
    if length < size:
        data = data[:length]
    attrs: dict[int, list[bytes]] = {}
    ma_at = -1
    pos = 20
    while pos < length:
        if pos + 2 > length:
            raise Malformed("bad_attribute")
        kind = data[pos]
        end = pos + data[pos + 1]
        if end < pos + 2 or end > length:
            raise Malformed("bad_attribute")
        if kind == VENDOR_SPECIFIC and end - pos < 7:
            raise Malformed("bad_attribute")
        if kind == MESSAGE_AUTHENTICATOR:
            if end - pos != 18 or ma_at != -1:
                raise Malformed("bad_attribute")
            ma_at = pos + 2
        values = attrs.get(kind)
        if values is None:
            attrs[kind] = [data[pos + 2:end]]
        else:
            values.append(data[pos + 2:end])
        pos = end
    return Parsed(data, code, ident, attrs, ma_at)


def message_authenticator(secret: bytes, packet: bytes, ma_at: int,
                          authenticator: bytes | None = None) -> bytes:
    """HMAC-MD5 over ``packet`` with the Message-Authenticator value zeroed, and the
    authenticator field replaced by ``authenticator`` when given (a reply is signed with the
    request's authenticator, accounting and CoA requests with zeros)."""
    head = packet[:4] + (packet[4:20] if authenticator is None else authenticator)
    return hmac.digest(secret, head + packet[20:ma_at] + ZERO16 + packet[ma_at + 16:], "md5")


def message_authenticator_ok(secret: bytes, parsed: Parsed,
                             authenticator: bytes | None = None) -> bool:
    at = parsed.ma_at
    expected = message_authenticator(secret, parsed.data, at, authenticator)
    return hmac.compare_digest(expected, parsed.data[at:at + 16])


def request_authenticator_ok(secret: bytes, packet: bytes) -> bool:
    """Accounting, CoA and Disconnect requests: MD5 over the packet with a zero
    authenticator, then the secret (RFC 2866 §3, RFC 5176 §3.4)."""
    expected = md5(packet[:4] + ZERO16 + packet[20:] + secret).digest()
    return hmac.compare_digest(expected, packet[4:20])


def response_authenticator_ok(secret: bytes, reply: bytes, request_authenticator: bytes) -> bool:
    expected = md5(reply[:4] + request_authenticator + reply[20:] + secret).digest()
    return hmac.compare_digest(expected, reply[4:20])


def encode_attribute(kind: int, value: bytes) -> bytes:
    return bytes((kind, len(value) + 2)) + value


def reply(code: int, ident: int, request_authenticator: bytes, secret: bytes, attrs: bytes, *,
          signed: bool) -> bytes:
    """A response packet; ``signed`` puts a Message-Authenticator first (Blast-RADIUS)."""
    if signed:
        head = _HEADER.pack(code, ident, 38 + len(attrs))
        ma = hmac.digest(secret, head + request_authenticator + _MA_EMPTY + attrs, "md5")
        attrs = b"\x50\x12" + ma + attrs
    else:
        head = _HEADER.pack(code, ident, 20 + len(attrs))
    return head + md5(head + request_authenticator + attrs + secret).digest() + attrs


def request(code: int, ident: int, secret: bytes, attrs: bytes) -> bytes:
    """A CoA or Disconnect request: Message-Authenticator first, signed with a zero
    authenticator, then the Request Authenticator over the whole packet."""
    head = _HEADER.pack(code, ident, 38 + len(attrs))
    ma = hmac.digest(secret, head + ZERO16 + _MA_EMPTY + attrs, "md5")
    body = b"\x50\x12" + ma + attrs
    return head + md5(head + ZERO16 + body + secret).digest() + body


def pap_password(secret: bytes, authenticator: bytes, hidden: bytes) -> bytes | None:
    """The clear text of a User-Password (RFC 2865 §5.2), or None when it cannot be one."""
    if not hidden or len(hidden) % 16 or len(hidden) > 128:
        return None
    out = bytearray()
    last = authenticator
    for i in range(0, len(hidden), 16):
        block = hidden[i:i + 16]
        key = md5(secret + last).digest()
        out += (int.from_bytes(block, "big") ^ int.from_bytes(key, "big")).to_bytes(16, "big")
        last = block
    return bytes(out).rstrip(b"\0")


def chap_ok(password: bytes, chap_password: bytes, challenge: bytes) -> bool:
    if len(chap_password) != 17:
        return False
    expected = md5(chap_password[:1] + password + challenge).digest()
    return hmac.compare_digest(expected, chap_password[1:])
