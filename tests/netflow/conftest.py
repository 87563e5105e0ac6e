"""The collector on loopback for the NetFlow tests."""

from tests.netflow.support import collector  # noqa: F401
