"""Usage fixtures: an account with a RADIUS login and the built-in server on loopback."""

from tests.usage.accounting_support import login, metered  # noqa: F401
