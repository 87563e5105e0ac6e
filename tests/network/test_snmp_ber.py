"""The v2c BER codec: round trips of every value type, OID keys that sort like OIDs, and a
decoder that raises only SnmpProtocolError on any bytes (fuzzed)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ispcore.network.snmp import InvalidOid, SnmpProtocolError, ber
from ispcore.network.snmp import values as v

arcs = st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=12)
oids = st.builds(lambda first, second, rest: f"{first}.{second}" + "".join(f".{a}" for a in rest),
                 st.integers(0, 1), st.integers(0, 39), arcs)
values = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(v.Integer),
    st.integers(0, 2**32 - 1).map(v.Counter32),
    st.integers(0, 2**32 - 1).map(v.Gauge32),
    st.integers(0, 2**32 - 1).map(v.TimeTicks),
    st.integers(0, 2**64 - 1).map(v.Counter64),
    st.binary(max_size=300).map(v.OctetString),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: v.IpAddress(".".join(map(str, t)))),
    oids.map(v.ObjectIdentifier),
    st.sampled_from([v.NULL, *v.EXCEPTIONS]),
)


def _message(varbinds, request_id=7):
    return ber.encode_message(ber.V2C, b"public", ber.RESPONSE, request_id, 0, 0,
                              [(ber.oid_key(o), value) for o, value in varbinds])


@given(st.lists(st.tuples(oids, values), max_size=20), st.integers(-(2**31), 2**31 - 1))
@settings(max_examples=300, deadline=None)
def test_round_trip(varbinds, request_id):
    msg = ber.decode_message(_message(varbinds, request_id))
    assert msg.request_id == request_id and msg.pdu_type == ber.RESPONSE
    assert [(text, value) for _, text, value in msg.varbinds] == varbinds
    for (_, _, value), (_, sent) in zip(msg.varbinds, varbinds, strict=True):
        assert type(value) is type(sent)


@given(oids, oids)
def test_keys_sort_like_oids(a, b):
    def arcs_of(text):
        return [int(x) for x in text.split(".")]
    assert (ber.oid_key(a) < ber.oid_key(b)) == (arcs_of(a) < arcs_of(b))
    assert ber.oid_key(a).startswith(ber.oid_key(b)) == (arcs_of(a)[:len(arcs_of(b))]
                                                        == arcs_of(b))
    assert ber.oid_text(ber.oid_key(a)) == a


@given(st.binary(max_size=400))
@settings(max_examples=2000)
def test_random_bytes_only_raise_protocol_errors(data):
    with contextlib.suppress(SnmpProtocolError):
        ber.decode_message(data)


@given(st.lists(st.tuples(oids, values), min_size=1, max_size=6), st.data())
@settings(max_examples=1000)
def test_damaged_messages_only_raise_protocol_errors(varbinds, data):
    raw = bytearray(_message(varbinds))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        with contextlib.suppress(SnmpProtocolError):
            ber.decode_message(candidate)


@pytest.mark.parametrize("raw", [
    b"", b"\x30", b"\x30\x00", b"\x30\x84\xff\xff\xff\xff", b"\x02\x01\x01",
    _message([(".1.3.6.1", v.Counter32(5))])[:-1],  # truncated
    _message([(".1.3.6.1", v.Counter32(5))]) + b"\x00",  # trailing byte
])
def test_truncated_and_bogus_messages(raw):
    with pytest.raises(SnmpProtocolError):
        ber.decode_message(raw)


def test_out_of_range_counter_is_refused():
    vb = b"\x30\x0c\x06\x03\x2b\x06\x01\x41\x05\x01\x00\x00\x00\x00"
    pdu = b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + ber.tlv(ber.SEQUENCE, vb)
    raw = ber.tlv(ber.SEQUENCE, b"\x02\x01\x01\x04\x01x" + ber.tlv(ber.RESPONSE, pdu))
    with pytest.raises(SnmpProtocolError, match="out of range"):
        ber.decode_message(raw)


def test_counter_without_its_leading_zero_is_read_unsigned():
    vb = b"\x30\x0a\x06\x03\x2b\x06\x01\x41\x03\xff\xff\xfe"
    pdu = b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + ber.tlv(ber.SEQUENCE, vb)
    raw = ber.tlv(ber.SEQUENCE, b"\x02\x01\x01\x04\x01x" + ber.tlv(ber.RESPONSE, pdu))
    (_, text, value), = ber.decode_message(raw).varbinds
    assert text == "1.3.6.1" and value == 0xFFFFFE and isinstance(value, v.Counter32)


@pytest.mark.parametrize("text", ["", "1", "abc", "1.3.x", "3.1", "1.40", "1..3", "1.3.",
                                  "1.3.6.4294967296", "1." + ".".join(["1"] * 200)])
def test_invalid_oids(text):
    with pytest.raises(InvalidOid):
        ber.oid_key(text)


def test_octet_string_text():
    assert v.OctetString(b"eth0\x00").text() == "eth0"
    assert v.OctetString(b"\x00\x1a\x2b").text() == "00:1a:2b"
