"""The shipped dictionary, and attributes encoded once by name and text value."""

from __future__ import annotations

import logging
import struct
from functools import lru_cache
from pathlib import Path

from pyrad.dictionary import Dictionary
from pyrad.packet import Packet

log = logging.getLogger(__name__)

DICTIONARY = Path(__file__).with_name("dictionary") / "dictionary"


@lru_cache
def dictionary() -> Dictionary:
    return Dictionary(str(DICTIONARY))


def value_names(attribute: str) -> dict[int, str]:
    """The named values of an integer attribute, by number."""
    forward = dictionary()[attribute].values.forward
    return {int.from_bytes(raw, "big"): name for name, raw in forward.items()}


def known(attribute: str) -> bool:
    return attribute.lower() in {name.lower() for name in dictionary().attributes}


def encodes(attribute: str, value: str) -> bool:
    return Encoder()(attribute, value) is not None


class Encoder:
    """Encodes ``(attribute, value)`` pairs as wire bytes through pyrad, remembering each
    result: the same rate limits and group items repeat across thousands of users. A pair
    the dictionary cannot encode yields None and one warning."""

    def __init__(self) -> None:
        self._dictionary = dictionary()
        # Attribute names are case-insensitive, as in FreeRADIUS.
        self._names = {name.lower(): name for name in self._dictionary.attributes}
        self._done: dict[tuple[str, str], bytes | None] = {}

    def __call__(self, attribute: str, value: str) -> bytes | None:
        key = (attribute, value)
        try:
            return self._done[key]
        except KeyError:
            pass
        encoded = None
        name = self._names.get(attribute.lower())
        if name is None:
            log.warning("RADIUS attribute %r is not in the dictionary; skipped", attribute)
        else:
            packet = Packet(dict=self._dictionary)
            try:
                packet.AddAttribute(name, value)
                encoded = packet._PktEncodeAttributes()
            except (TypeError, ValueError, OSError, struct.error) as exc:
                log.warning("RADIUS attribute %s = %r cannot be encoded (%s); skipped",
                            attribute, value, exc)
        self._done[key] = encoded
        return encoded
