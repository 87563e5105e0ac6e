"""What every NetFlow version decodes to, and the one exception the decoder raises."""

from __future__ import annotations

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
