"""A network namespace reachable over a veth pair, for ICMP tests: a unique name and a
10.213.x.y/30 subnet per run, removed afterwards. Fails (never skips) when the process may not
create namespaces: CI runs these as root."""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Namespace:
    name: str
    inside: str  # the namespace's veth
    address: str  # its address, reachable from here

    def link(self, state: str) -> None:
        _ip("netns", "exec", self.name, "ip", "link", "set", self.inside, state)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@pytest.fixture
def netns() -> Iterator[Namespace]:
    tag = f"{random.randrange(16**6):06x}"
    name, outside, inside = f"ispc-{tag}", f"vo{tag}", f"vi{tag}"
    third, fourth = random.randrange(256), random.randrange(0, 256, 4)
    host, peer = f"10.213.{third}.{fourth + 1}", f"10.213.{third}.{fourth + 2}"
    try:
        _ip("netns", "add", name)
    except RuntimeError as exc:
        pytest.fail(f"cannot create a network namespace (these tests need root or "
                    f"CAP_SYS_ADMIN + CAP_NET_ADMIN): {exc}")
    try:
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", name)
        _ip("addr", "add", f"{host}/30", "dev", outside)
        _ip("link", "set", outside, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{peer}/30", "dev", inside)
        _ip("netns", "exec", name, "ip", "link", "set", inside, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield Namespace(name, inside, peer)
    finally:
        subprocess.run(["ip", "link", "del", outside], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
