"""What every NetFlow version decodes to, and the one exception the decoder raises."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import NamedTuple


class Malformed(ValueError):
    """A datagram that breaks the format; the reason names the drop counter."""

    @property
    def reason(self) -> str:
        return str(self.args[0]) if self.args else "garbage"


class Flow(NamedTuple):
    """One flow record. ``octets`` and ``packets`` are already multiplied by ``sampling`` (the
    rate that applied, 1 when unsampled). ``src``/``dst`` are the addresses as integers of the
    ``family`` (4 or 6). ``start``/``end`` are Unix times in milliseconds."""

    family: int
    src: int
    dst: int
    octets: int
    packets: int
    start: int
    end: int
    sampling: int


#: ``new(Flow, (...))`` builds a Flow in one C call (``Flow(...)`` goes through a Python
#: ``__new__``): the hot loops use it.
new = tuple.__new__


SET_HEADER = struct.Struct("!HH")


def sets(data: bytes, pos: int, size: int) -> Iterator[tuple[int, int, int]]:
    """The (set id, first byte of its body, end) of each v9 FlowSet or IPFIX Set in
    ``data[pos:size]``; a set header that is short, too small or overruns is ``bad_set``."""
    while pos < size:
        if pos + 4 > size:
            raise Malformed("bad_set")
        set_id, length = SET_HEADER.unpack_from(data, pos)
        end = pos + length
        if length < 4 or end > size:
            raise Malformed("bad_set")
        yield set_id, pos + 4, end
        pos = end
