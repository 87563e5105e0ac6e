"""Usage fixtures: an account with a RADIUS login and the built-in server on loopback, and
the NetFlow collector on loopback."""

from tests.netflow.support import collector  # noqa: F401
from tests.usage.accounting_support import login, metered  # noqa: F401
