"""The pure address arithmetic: strict parsing, keys, usable ranges, overlap."""

from __future__ import annotations

import ipaddress

import pytest

from ispcore.domain.common.errors import DomainError
from ispcore.domain.network import addressing as a


@pytest.mark.parametrize("text", ["10.0.0.0", "10.0.0/24", "10.0.0.0/33", "banana/8",
                                  "2001:db8::/129", "", "10.0.0.0/ 24"])
def test_malformed_cidrs_are_refused(text: str) -> None:
    with pytest.raises(DomainError) as refused:
        a.parse_network(text, field="cidr")
    assert refused.value.field == "cidr"
    assert "CIDR" in refused.value.message


def test_host_bits_set_suggest_the_network() -> None:
    with pytest.raises(DomainError, match=r"host bits set; the network is 10\.0\.0\.0/24"):
        a.parse_network("10.0.0.7/24", field="cidr")
    with pytest.raises(DomainError, match="2001:db8::/32"):
        a.parse_network("2001:db8::1/32", field="cidr")


def test_cidrs_are_normalised() -> None:
    assert str(a.parse_network(" 2001:0DB8:0000::/48 ", field="cidr")) == "2001:db8::/48"


def test_keys_sort_as_the_numbers_and_convert_back() -> None:
    values = [0, 1, 255, 2**32 - 1, 2**32, 2**127, 2**128 - 1]
    keys = [a.to_key(v) for v in values]
    assert all(len(k) == 32 for k in keys)
    assert sorted(keys) == keys
    assert [a.from_key(k) for k in keys] == values
    key = a.to_key(int(ipaddress.ip_address("10.0.0.5")))
    assert a.text_of(a.from_key(key), 4, 32) == "10.0.0.5"
    assert a.text_of(a.from_key(a.to_key(1)), 6, 128) == "::1"


@pytest.mark.parametrize(("cidr", "first", "last", "size"), [
    ("10.0.0.0/24", "10.0.0.1", "10.0.0.254", 254),
    ("10.0.0.0/30", "10.0.0.1", "10.0.0.2", 2),
    ("10.0.0.0/31", "10.0.0.0", "10.0.0.1", 2),
    ("10.0.0.9/32", "10.0.0.9", "10.0.0.9", 1),
    ("2001:db8::/64", "2001:db8::1", "2001:db8::ffff:ffff:ffff:ffff", 2**64 - 1),
    ("2001:db8::/127", "2001:db8::", "2001:db8::1", 2),
])
def test_usable_ranges(cidr: str, first: str, last: str, size: int) -> None:
    span = a.usable_span(a.parse_network(cidr, field="cidr"))
    width = a.bits(span.family)
    assert (a.text_of(span.first, span.family, width), a.text_of(span.last, span.family, width),
            span.size) == (first, last, size)


def test_containment_and_overlap() -> None:
    def span(text: str) -> a.Span:
        return a.span_of(a.parse_assignable(text, field="x"))

    block = span("10.0.0.0/24")
    assert block.contains(span("10.0.0.0/25")) and block.contains(span("10.0.0.255"))
    assert not block.contains(span("10.0.1.0/24"))
    assert block.overlaps(span("10.0.0.128/25")) and span("10.0.0.128/25").overlaps(block)
    assert not block.overlaps(span("10.0.1.0/24"))
    assert not span("::a00:0/120").overlaps(block)  # same numbers, other family
    assert span("2001:db8::/56").contains(span("2001:db8:0:ff::1"))


def test_assignables_and_their_text() -> None:
    assert a.parse_assignable("10.0.0.5", field="x").prefixlen == 32
    with pytest.raises(DomainError, match="not an IP address"):
        a.parse_assignable("10.0.0.256", field="x")
    first = int(ipaddress.ip_address("2001:db8:0:100::"))
    assert a.text_of(first, 6, 56) == "2001:db8:0:100::/56"
    assert a.text_of(first, 6, 128) == "2001:db8:0:100::"
    assert a.align_up(5, 4) == 8 and a.align_up(8, 4) == 8
