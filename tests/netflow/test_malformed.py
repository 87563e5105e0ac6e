"""Broken datagrams: each is dropped with ``Malformed`` and its reason counted, and the same
decoder still decodes a good datagram afterwards. Fuzzing: nothing but ``Malformed`` ever
escapes, whatever the bytes."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ispcore.network.netflow import Decoder, Malformed
from tests.netflow import build as b

V4_TEMPLATE = b.flow_set(0, b.template_record(256, b.V4_FIELDS))
V4_DATA = b.flow_set(256, b.V4_RECORD.pack(1, 2, 3, 4, 5, 6, 7, 8, 6) * 3)
GOOD_V5 = b.v5([b.v5_record(1, 2, 3, 4, 5, 6)] * 3)
GOOD_V9 = b.v9([V4_TEMPLATE, V4_DATA])
IPFIX_TEMPLATE = b.flow_set(2, b.template_record(256, b.IPFIX_FIELDS)
                            + b.template_record(257, [(8, 4), (96, 65535), (12, 4),
                                                      (0x8001, 65535, 9), (1, 4)]))
GOOD_IPFIX = b.ipfix([IPFIX_TEMPLATE,
                      b.flow_set(256, b.IPFIX_RECORD.pack(1, 2, 3, 4, 5, 6, 7, 8, 6) * 2),
                      b.flow_set(257, (struct.pack("!I", 1) + b.varlen(b"ab") + struct.pack("!I", 2)
                                       + b.varlen(b"z" * 300) + struct.pack("!I", 9)) * 2)])
OPTIONS_V9 = b.flow_set(1, b.v9_options_record(270, [(1, 4)], [(34, 4)]))


def dropped(datagram: bytes, reason: str, dec: Decoder | None = None) -> None:
    dec = dec or Decoder()
    with pytest.raises(Malformed) as caught:
        dec.decode(datagram, "r")
    assert caught.value.reason == reason
    assert dec.counters[reason] == 1
    assert len(dec.decode(GOOD_V5, "r")) == 3
    assert len(dec.decode(GOOD_V9, "r")) == 3
    assert len(dec.decode(GOOD_IPFIX, "r")) == 4


def test_good_datagrams() -> None:
    dec = Decoder()
    assert [len(dec.decode(d, "r")) for d in (GOOD_V5, GOOD_V9, GOOD_IPFIX)] == [3, 3, 4]


@pytest.mark.parametrize("datagram", [b"", b"\x00", b"\x00\x05\x00", GOOD_V5[:23],
                                      GOOD_V9[:19], GOOD_IPFIX[:15]])
def test_short(datagram: bytes) -> None:
    dropped(datagram, "short")


def test_v5_count_overruns() -> None:
    dropped(GOOD_V5[:-1], "count_overrun")
    dropped(b.v5([b.v5_record(1, 2, 3, 4, 5, 6)], count=2), "count_overrun")


@pytest.mark.parametrize("version", [0, 1, 6, 8, 11, 0xFFFF])
def test_unknown_version(version: int) -> None:
    dropped(struct.pack("!H", version) + GOOD_V5[2:], "unknown_version")


def test_ipfix_message_length() -> None:
    dropped(GOOD_IPFIX[:-1], "bad_length")  # the header's length overruns the datagram
    dropped(b.ipfix([], length=15), "bad_length")


@pytest.mark.parametrize("sets", [
    [struct.pack("!HH", 256, 3)],                 # set length < 4
    [struct.pack("!HH", 256, 0)],                 # zero: would never advance
    [struct.pack("!HH", 256, 12) + bytes(4)],     # overruns the datagram
    [V4_TEMPLATE, b"\x01\x00"],                   # a set header cut short
])
def test_v9_bad_set(sets: list[bytes]) -> None:
    dropped(b.v9(sets), "bad_set")


def test_ipfix_bad_set() -> None:
    dropped(b.ipfix([struct.pack("!HH", 256, 2)]), "bad_set")
    dropped(b.ipfix([struct.pack("!HH", 256, 40) + bytes(8)]), "bad_set")


@pytest.mark.parametrize("record", [
    struct.pack("!HH", 256, 0),                                   # v9: zero fields
    b.template_record(256, [(8, 4)] * 257),                       # too many fields
    b.template_record(255, b.V4_FIELDS),                          # a reserved template id
    struct.pack("!HH", 256, 9) + bytes(8),                        # fields cut short
])
def test_v9_bad_template(record: bytes) -> None:
    dropped(b.v9([b.flow_set(0, record)]), "bad_template")


@pytest.mark.parametrize("record", [
    struct.pack("!HHH", 270, 2, 4) + bytes(6),                    # scope length not 4k
    struct.pack("!HHH", 270, 0, 0),                               # no fields
    struct.pack("!HHH", 270, 4, 8) + bytes(4),                    # fields cut short
])
def test_v9_bad_options_template(record: bytes) -> None:
    dropped(b.v9([b.flow_set(1, record)]), "bad_template")


@pytest.mark.parametrize("body", [
    struct.pack("!HH", 100, 0),                                   # withdraws a reserved id
    b.template_record(256, [(8, 4), (0x8000 | 5, 4)]),            # enterprise number missing
    b.template_record(256, [(8, 4)] * 300),                       # too many fields
])
def test_ipfix_bad_template(body: bytes) -> None:
    dropped(b.ipfix([b.flow_set(2, body)]), "bad_template")


def test_ipfix_bad_options_template() -> None:
    no_scope = b.ipfix_options_record(400, [], [(34, 4)])
    dropped(b.ipfix([b.flow_set(3, no_scope)]), "bad_template")
    too_many_scopes = struct.pack("!HHH", 400, 1, 2) + struct.pack("!HH", 149, 4)
    dropped(b.ipfix([b.flow_set(3, too_many_scopes)]), "bad_template")


@pytest.mark.parametrize("fields", [
    [(8, 16), (12, 4)],              # an IPv4 address of 16 octets
    [(27, 4), (28, 16)],             # an IPv6 address of 4
    [(8, 4), (12, 4), (1, 3)],       # a 3-octet counter
    [(8, 4), (12, 4), (22, 8)],      # sysUptime of 8
    [(8, 4), (12, 4), (1, 0)],       # a zero-length field
    [(8, 4), (12, 4), (96, 65535)],  # variable length does not exist in v9
])
def test_v9_bad_field_length(fields: list[tuple[int, int]]) -> None:
    dropped(b.v9([b.flow_set(0, b.template_record(256, fields))]), "bad_field_length")


def test_ipfix_variable_length_where_fixed_is_needed() -> None:
    template = b.template_record(256, [(8, 4), (12, 4), (1, 65535)])
    dropped(b.ipfix([b.flow_set(2, template)]), "bad_field_length")
    template = b.template_record(256, [(8, 4), (12, 4), (152, 4)])
    dropped(b.ipfix([b.flow_set(2, template)]), "bad_field_length")


def test_ipfix_variable_length_record_overruns_its_set() -> None:
    template = b.flow_set(2, b.template_record(256, [(8, 4), (96, 65535), (12, 4)]))
    cut = struct.pack("!I", 1) + b.varlen(b"x" * 20)[:10]
    dropped(b.ipfix([template, b.flow_set(256, cut)]), "bad_record")
    long_form_cut = struct.pack("!I", 1) + b"\xff\x01\x00" + bytes(6)  # 256 octets announced
    dropped(b.ipfix([template, b.flow_set(256, long_form_cut)]), "bad_record")


def test_unknown_template_is_not_fatal() -> None:
    dec = Decoder()
    assert dec.decode(b.v9([V4_DATA]), "r") == []
    assert dec.counters["no_template"] == 1
    assert len(dec.decode(GOOD_V9, "r")) == 3


def test_reserved_set_ids_are_skipped() -> None:
    dec = Decoder()
    assert len(dec.decode(b.v9([b.flow_set(17, b"junk"), V4_TEMPLATE, V4_DATA]), "r")) == 3
    assert dec.counters["reserved_set"] == 1


def test_templates_learned_before_a_bad_set_are_kept() -> None:
    dec = Decoder()
    with pytest.raises(Malformed):
        dec.decode(b.v9([V4_TEMPLATE, struct.pack("!HH", 256, 2)]), "r")
    assert len(dec.decode(b.v9([V4_DATA]), "r")) == 3


# -- fuzzing ---------------------------------------------------------------------------------

SEEDS = [GOOD_V5, GOOD_V9, GOOD_IPFIX, b.v9([OPTIONS_V9, b.flow_set(270, bytes(8))])]
FUZZ = settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def survives(dec: Decoder, datagram: bytes) -> None:
    try:
        flows = dec.decode(datagram, "fuzz")
    except Malformed as exc:
        assert exc.reason in dec.counters
    else:
        assert isinstance(flows, list)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    survives(Decoder(), data)


@FUZZ
@given(st.sampled_from([5, 9, 10]), st.binary(max_size=400))
def test_fuzz_random_bodies_with_a_valid_version(version: int, body: bytes) -> None:
    survives(Decoder(), struct.pack("!H", version) + body)


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                         max_size=8),
       st.integers(0, 10_000), st.binary(max_size=16))
def test_fuzz_mutations_of_valid_datagrams(seed: bytes, flips: list[tuple[int, int]],
                                           cut: int, tail: bytes) -> None:
    dec = Decoder()
    dec.decode(GOOD_V9, "fuzz")  # a template is known: mutated data sets reach the decoder
    dec.decode(GOOD_IPFIX, "fuzz")
    data = bytearray(seed)
    for at, value in flips:
        data[at % len(data)] = value
    survives(dec, bytes(data[:max(cut, 2)]) + tail)
    survives(dec, bytes(data))
