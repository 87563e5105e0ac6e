"""RADIUS fixtures: the built-in server on loopback with seeded rows, a NAS stand-in for CoA."""

from tests.network.coa_listener import nas_at  # noqa: F401
from tests.peers.radius_support import radius, seeded  # noqa: F401
