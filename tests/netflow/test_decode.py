"""The NetFlow v5 / v9 / IPFIX decoder on datagrams built by hand: every decoded field, the
template life cycle (per exporter and source id, options with sampling, withdrawal)."""

from __future__ import annotations

import ipaddress
import struct

from ispcore.network.netflow import Decoder, Flow
from tests.netflow import build as b

SECS = 1_790_000_000
UPTIME = 100_000
BASE_MS = SECS * 1000 - UPTIME  # what a sysUptime of 0 is in Unix ms
A = int(ipaddress.IPv4Address("100.64.0.10"))
B = int(ipaddress.IPv4Address("8.8.8.8"))
A6 = ipaddress.IPv6Address("2001:db8::10")
B6 = ipaddress.IPv6Address("2606:4700::1111")


def test_v5_several_records_with_header_times() -> None:
    records = [b.v5_record(A + i, B, 10 + i, 1500 * (i + 1), 90_000 + i, 95_000 + i)
               for i in range(5)]
    flows = Decoder().decode(b.v5(records, uptime=UPTIME, secs=SECS, nsecs=250_000_000),
                             "192.0.2.1")
    base = SECS * 1000 + 250 - UPTIME
    assert flows == [Flow(4, A + i, B, 1500 * (i + 1), 10 + i, base + 90_000 + i,
                          base + 95_000 + i, 1) for i in range(5)]


def test_v5_sampling_interval_multiplies() -> None:
    record = b.v5_record(A, B, 3, 900, 1, 2)
    dec = Decoder()
    # mode 01 (packet interval) in the top 2 bits, interval 100 in the low 14
    (flow,) = dec.decode(b.v5([record], sampling=(1 << 14) | 100), "r")
    assert (flow.octets, flow.packets, flow.sampling) == (90_000, 300, 100)
    (flow,) = dec.decode(b.v5([record], sampling=0), "r")
    assert (flow.octets, flow.packets, flow.sampling) == (900, 3, 1)


def test_v5_empty() -> None:
    dec = Decoder()
    assert dec.decode(b.v5([]), "r") == []
    assert dec.counters["datagrams"] == 1


def v4_data(*rows: tuple) -> bytes:
    return b"".join(b.V4_RECORD.pack(*row) for row in rows)


def test_v9_template_and_data_in_one_packet() -> None:
    dec = Decoder()
    data = v4_data((A, B, 4000, 5, 50_000, 60_000, 40000, 443, 6),
                   (B, A, 123456789, 90000, 51_000, 61_000, 443, 40000, 6))
    datagram = b.v9([b.flow_set(0, b.template_record(256, b.V4_FIELDS)),
                     b.flow_set(256, data, pad=3)], uptime=UPTIME, secs=SECS)
    flows = dec.decode(datagram, "192.0.2.1")
    assert flows == [Flow(4, A, B, 4000, 5, BASE_MS + 50_000, BASE_MS + 60_000, 1),
                     Flow(4, B, A, 123456789, 90000, BASE_MS + 51_000, BASE_MS + 61_000, 1)]
    assert dec.counters["templates"] == 1


def test_v9_template_and_data_in_separate_packets_per_exporter_and_source() -> None:
    dec = Decoder()
    data = b.flow_set(256, v4_data((A, B, 4000, 5, 50_000, 60_000, 1, 2, 17)))
    assert dec.decode(b.v9([b.flow_set(0, b.template_record(256, b.V4_FIELDS))]), "r1") == []
    (flow,) = dec.decode(b.v9([data], uptime=UPTIME, secs=SECS), "r1")
    assert flow == Flow(4, A, B, 4000, 5, BASE_MS + 50_000, BASE_MS + 60_000, 1)
    # Another exporter, or another source id of the same one, has no such template.
    assert dec.decode(b.v9([data]), "r2") == []
    assert dec.decode(b.v9([data], source_id=8), "r1") == []
    assert dec.counters["no_template"] == 2


def test_v9_unknown_template_skipped_other_sets_decoded() -> None:
    dec = Decoder()
    dec.decode(b.v9([b.flow_set(0, b.template_record(256, b.V4_FIELDS))]), "r")
    row = (A, B, 1, 1, 1, 1, 1, 1, 6)
    flows = dec.decode(b.v9([b.flow_set(300, v4_data(row)), b.flow_set(256, v4_data(row))]),
                       "r")
    assert len(flows) == 1
    assert dec.counters["no_template"] == 1


def test_v9_ipv6_flows() -> None:
    dec = Decoder()
    data = b.V6_RECORD.pack(A6.packed, B6.packed, 2**40, 2**33, 10, 20, 1, 2, 6)
    (flow,) = dec.decode(b.v9([b.flow_set(0, b.template_record(260, b.V6_FIELDS)),
                                b.flow_set(260, data)], uptime=UPTIME, secs=SECS), "r")
    assert flow == Flow(6, int(A6), int(B6), 2**40, 2**33, BASE_MS + 10, BASE_MS + 20, 1)
    assert ipaddress.ip_address(flow.src) == A6


def test_v9_options_template_sampling_applies_to_later_data() -> None:
    dec = Decoder()
    options = b.flow_set(1, b.v9_options_record(270, [(1, 4)], [(34, 4), (35, 1)]), pad=2)
    option_data = b.flow_set(270, struct.pack("!IIB", 0, 100, 2), pad=3)
    template = b.flow_set(0, b.template_record(256, b.V4_FIELDS))
    dec.decode(b.v9([options, template]), "r")
    data = b.flow_set(256, v4_data((A, B, 1000, 2, 5, 6, 1, 2, 6)))
    (before,) = dec.decode(b.v9([data]), "r")
    assert (before.octets, before.packets, before.sampling) == (1000, 2, 1)
    dec.decode(b.v9([option_data]), "r")
    (after,) = dec.decode(b.v9([data]), "r")
    assert (after.octets, after.packets, after.sampling) == (100_000, 200, 100)
    (other,) = dec.decode(b.v9([template, data]), "r-other")
    assert other.sampling == 1


def test_v9_sampler_random_interval() -> None:
    dec = Decoder()
    options = b.flow_set(1, b.v9_options_record(270, [(1, 4)], [(50, 4)]))
    dec.decode(b.v9([options, b.flow_set(270, struct.pack("!II", 0, 512))]), "r")
    assert dec.sampling[("r", 7)] == 512


def ipfix_row(*values: int) -> bytes:
    return b.IPFIX_RECORD.pack(*values)


def test_ipfix_fixed_template_ms_times() -> None:
    dec = Decoder()
    data = ipfix_row(A, B, 7000, 7, SECS * 1000 - 5000, SECS * 1000 - 1, 1, 2, 6)
    (flow,) = dec.decode(b.ipfix([b.flow_set(2, b.template_record(256, b.IPFIX_FIELDS)),
                                   b.flow_set(256, data)]), "r")
    assert flow == Flow(4, A, B, 7000, 7, SECS * 1000 - 5000, SECS * 1000 - 1, 1)


def test_ipfix_variable_length_and_enterprise_fields_seconds_totals() -> None:
    dec = Decoder()
    fields = [(8, 4), (96, 65535), (12, 4), (0x8000 | 42, 6, 9), (85, 8), (0x8000 | 7, 65535, 9),
              (86, 4), (150, 4), (151, 4)]
    template = b.flow_set(2, b.template_record(300, fields))

    def row(src: int, name: bytes, blob: bytes, octets: int) -> bytes:
        return (struct.pack("!I", src) + b.varlen(name) + struct.pack("!I", B) + b"E" * 6
                + struct.pack("!Q", octets) + b.varlen(blob) + struct.pack("!III", 3, SECS - 60,
                                                                            SECS - 1))

    data = row(A, b"http", b"", 500) + row(A + 1, b"x" * 300, b"y" * 40, 600)
    flows = dec.decode(b.ipfix([template, b.flow_set(300, data, pad=1)]), "r")
    start, end = (SECS - 60) * 1000, (SECS - 1) * 1000
    assert flows == [Flow(4, A, B, 500, 3, start, end, 1), Flow(4, A + 1, B, 600, 3, start, end, 1)]


def test_ipfix_without_times_gets_export_time_and_ipv6() -> None:
    dec = Decoder()
    template = b.flow_set(2, b.template_record(256, [(27, 16), (28, 16), (1, 4)]))
    data = b.flow_set(256, A6.packed + B6.packed + struct.pack("!I", 99))
    (flow,) = dec.decode(b.ipfix([template, data], export=SECS), "r")
    assert flow == Flow(6, int(A6), int(B6), 99, 0, SECS * 1000, SECS * 1000, 1)


def test_ipfix_options_template_sampling_packet_interval_and_space() -> None:
    dec = Decoder()
    options = b.flow_set(3, b.ipfix_options_record(400, [(302, 4)], [(305, 4), (306, 4)]))
    template = b.flow_set(2, b.template_record(256, b.IPFIX_FIELDS))
    dec.decode(b.ipfix([options, template,
                        b.flow_set(400, struct.pack("!III", 1, 1, 99))]), "r")
    (flow,) = dec.decode(b.ipfix([b.flow_set(256, ipfix_row(A, B, 10, 1, 5, 6, 1, 2, 6))]), "r")
    assert (flow.octets, flow.packets, flow.sampling) == (1000, 100, 100)


def test_ipfix_options_sampling_interval_applies() -> None:
    dec = Decoder()
    options = b.flow_set(3, b.ipfix_options_record(400, [(149, 4)], [(34, 4)]))
    dec.decode(b.ipfix([options, b.flow_set(400, struct.pack("!II", 7, 100))]), "r")
    template = b.flow_set(2, b.template_record(256, b.IPFIX_FIELDS))
    (flow,) = dec.decode(b.ipfix([template, b.flow_set(256, ipfix_row(A, B, 10, 1, 5, 6, 1, 2,
                                                                       6))]), "r")
    assert (flow.octets, flow.packets, flow.sampling) == (1000, 100, 100)


def test_ipfix_template_withdrawal() -> None:
    dec = Decoder()
    templates = b.flow_set(2, b.template_record(256, b.IPFIX_FIELDS)
                           + b.template_record(257, b.IPFIX_FIELDS))
    options = b.flow_set(3, b.ipfix_options_record(400, [(149, 4)], [(34, 4)]))
    dec.decode(b.ipfix([templates, options]), "r")
    data = b.flow_set(256, ipfix_row(A, B, 10, 1, 5, 6, 1, 2, 6))
    data2 = b.flow_set(257, ipfix_row(A, B, 10, 1, 5, 6, 1, 2, 6))
    assert len(dec.decode(b.ipfix([data, data2]), "r")) == 2
    dec.decode(b.ipfix([b.flow_set(2, struct.pack("!HH", 256, 0))]), "r")
    assert len(dec.decode(b.ipfix([data, data2]), "r")) == 1
    assert dec.counters["no_template"] == 1
    # Template id 2 with no fields withdraws every (non-options) template of the domain.
    dec.decode(b.ipfix([b.flow_set(2, struct.pack("!HH", 2, 0))]), "r")
    assert dec.decode(b.ipfix([data, data2]), "r") == []
    assert set(dec.templates[("r", 7)]) == {400}
    assert dec.counters["withdrawn"] == 2


def test_template_redefinition_replaces() -> None:
    dec = Decoder()
    dec.decode(b.v9([b.flow_set(0, b.template_record(256, b.V6_FIELDS))]), "r")
    dec.decode(b.v9([b.flow_set(0, b.template_record(256, b.V4_FIELDS))]), "r")
    (flow,) = dec.decode(b.v9([b.flow_set(256, v4_data((A, B, 1, 1, 1, 1, 1, 1, 6)))]), "r")
    assert flow.family == 4


def test_template_without_addresses_is_counted() -> None:
    dec = Decoder()
    assert dec.decode(b.v9([b.flow_set(0, b.template_record(256, [(1, 4)])),
                            b.flow_set(256, struct.pack("!I", 5))]), "r") == []
    assert dec.counters["no_address"] == 1


def test_reduced_size_counters_and_duplicate_fields() -> None:
    dec = Decoder()
    fields = [(8, 4), (12, 4), (1, 2), (2, 1), (8, 4), (22, 4), (21, 4)]
    data = struct.pack("!IIHBIII", A, B, 65535, 255, B, 10, 20)
    (flow,) = dec.decode(b.v9([b.flow_set(0, b.template_record(256, fields)),
                                b.flow_set(256, data)], uptime=UPTIME, secs=SECS), "r")
    assert flow == Flow(4, A, B, 65535, 255, BASE_MS + 10, BASE_MS + 20, 1)


def test_softflowd_field_order_and_extra_needed_fields() -> None:
    """The tight loop made for a template's own field order: last before first, counters
    after the times, an IE it reads but does not put in the flow (34) in between."""
    dec = Decoder()
    fields = [(8, 4), (12, 4), (21, 4), (22, 4), (34, 4), (1, 4), (2, 4), (10, 2), (4, 1)]
    data = struct.pack("!IIIIIIIHB", A, B, 900, 100, 1, 5000, 50, 3, 17)
    (flow,) = dec.decode(b.v9([b.flow_set(0, b.template_record(256, fields)),
                                b.flow_set(256, data)], uptime=UPTIME, secs=SECS), "r")
    assert flow == Flow(4, A, B, 5000, 50, BASE_MS + 100, BASE_MS + 900, 1)
    template6 = [(2, 8), (28, 16), (153, 8), (1, 8), (27, 16), (152, 8)]
    data6 = struct.pack("!Q16sQQ16sQ", 7, B6.packed, 2_000, 9_000, A6.packed, 1_000)
    (flow,) = dec.decode(b.ipfix([b.flow_set(2, b.template_record(256, template6)),
                                   b.flow_set(256, data6)]), "r")
    assert flow == Flow(6, int(A6), int(B6), 9_000, 7, 1_000, 2_000, 1)


def test_ipfix_fixed_template_seconds_on_the_tight_loop() -> None:
    dec = Decoder()
    fields = [(8, 4), (12, 4), (1, 4), (2, 4), (150, 4), (151, 4)]
    data = struct.pack("!IIIIII", A, B, 10, 1, SECS - 30, SECS - 2)
    (flow,) = dec.decode(b.ipfix([b.flow_set(2, b.template_record(256, fields)),
                                   b.flow_set(256, data)]), "r")
    assert flow == Flow(4, A, B, 10, 1, (SECS - 30) * 1000, (SECS - 2) * 1000, 1)


def test_limits_fall_back_or_drop(monkeypatch) -> None:
    from ispcore.network.netflow import decoder, templates

    monkeypatch.setattr(templates, "_LOOPS", {})
    monkeypatch.setattr(templates, "MAX_LOOPS", 0)  # every template takes the generic loop
    monkeypatch.setattr(decoder, "MAX_TEMPLATES", 1)
    dec = Decoder()
    template = b.flow_set(0, b.template_record(256, b.V4_FIELDS)
                          + b.template_record(257, b.V4_FIELDS))
    flows = dec.decode(b.v9([template, b.flow_set(256, v4_data((A, B, 9, 8, 7, 6, 1, 2, 6)))],
                            uptime=UPTIME, secs=SECS), "r")
    assert flows == [Flow(4, A, B, 9, 8, BASE_MS + 7, BASE_MS + 6, 1)]
    assert dec.templates[("r", 7)][256].fast is None
    assert dec.counters["template_limit"] == 1
