"""One rule for whose usage is, whatever brings it: an address and a RADIUS login change
hands at 15:10:20, and a record over 15:10-15:11 from each source (``ingestUsage`` naming
the address or the login, NetFlow, FreeRADIUS's ``radacct``, the built-in server) goes to
the account that held the name at the record's start, not to the one that held it longer."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ispcore.domain.usage import radacct
from ispcore.network.netflow.collector import NetflowCollector
from ispcore.workers.registry import run_job
from tests.accounts.factories import ok
from tests.billing.factories import add, customer
from tests.netflow.support import ready, send, utc, v5_at
from tests.network.ipam_support import new_subnet
from tests.peers.radius_support import until
from tests.usage.accounting_support import Metered, interim, radacct_stopped, used
from tests.usage.accounting_support import send as send_accounting
from tests.usage.support import pk_of
from tests.usage.test_ingest_api import ingest, record

START = utc(2026, 11, 2, 15, 10)
HANDOVER = START + timedelta(seconds=20)  # the new holder has it for 40 s of the minute
ADDRESS = "100.64.1.10"


async def test_a_record_across_a_change_of_holder_is_the_first_holders_from_every_source(
        api: Any, runtime: Any, clock: Any, metered: Metered,
        collector: NetflowCollector) -> None:
    login = metered.radius
    billing, token = login.billing, login.token
    first = login.account
    supernet = (await ok(api, token, "createSupernet", {"companyId": login.company,
                                                        "cidr": "100.64.0.0/16"}))["id"]
    subnet = await new_subnet(api, token, supernet, "100.64.1.0/24")
    held = await ok(api, token, "assignIpAddress", {"subnetId": subnet, "accountId": first,
                                                    "ipAddress": ADDRESS})
    await ok(api, token, "createNetflowExporter", {"companyId": login.company,
                                                   "name": "edge", "address": "127.0.0.1"})
    second = await customer(api, billing, name="Next Tenant")
    service = (await add(api, billing, second, billing.fibre))["id"]

    clock.set(HANDOVER)
    await ok(api, token, "releaseIpAddress", {"id": held["id"]})
    await ok(api, token, "assignIpAddress", {"subnetId": subnet, "accountId": second,
                                             "ipAddress": ADDRESS})
    await ok(api, token, "removeRadiusCredential", {"id": login.credential["id"]})
    await ok(api, token, "createRadiusCredential", {
        "accountId": second, "accountServiceId": service, "username": "pat",
        "password": "another-pass"})
    # The server answers for the new holder now; the session started before the change.
    server = metered.server
    await until(lambda: getattr(server.cache.users.get(b"pat"), "account_id", None)
                == pk_of(second))
    clock.set(START + timedelta(minutes=1))
    await send_accounting(server, interim(60, 0, 5_000_000, status="Stop", session="s-9"))

    clock.set(START + timedelta(minutes=20))
    result = await ingest(api, token, [
        record("by-address", start=START, minutes=1, bytes_in=1, bytes_out=0,
               ipAddress=ADDRESS),
        record("by-login", start=START, minutes=1, bytes_in=20, bytes_out=0,
               radiusUsername="pat")])
    assert result["errors"] == []
    await radacct_stopped(runtime, "r-1", "pat", START + timedelta(minutes=1), 60, 0, 400)
    await run_job(runtime, radacct.COLLECT_JOB)
    await ready(collector)
    await send(collector, v5_at(START + timedelta(seconds=40), [("93.184.216.34", ADDRESS,
                                                                 30_000)]))
    await collector.flush()

    assert (await used(runtime, pk_of(first))).download == 1 + 20 + 400 + 30_000 + 5_000_000
    assert (await used(runtime, pk_of(second))).records == 0
