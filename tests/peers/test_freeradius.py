"""A real FreeRADIUS 3 (Debian's) against the test database, asked by a real ``radclient``: its
stock ``rlm_sql`` queries read what ispcore compiled through the views and write ``radacct``;
its clients come from ``ispcore freeradius-clients`` (a secret with quotes, a backslash and
``${...}`` in it, as an operator might choose). Runs on PostgreSQL and on SQLite, with the
stock ``queries.conf`` of each dialect. ``scripts/test`` installs the Debian packages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tests.accounts.factories import ok
from tests.peers.freeradius_support import radclient


def access(password: str, *, chap: bool = False) -> str:
    field = "CHAP-Password" if chap else "User-Password"
    return (f'User-Name = "pat", {field} = "{password}", NAS-IP-Address = 127.0.0.1, '
            "Message-Authenticator = 0x00")


async def radacct(runtime: Any) -> list[tuple[Any, ...]]:
    async with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(
            "SELECT username, acctsessionid, acctstoptime IS NULL, acctsessiontime, "
            "acctinputoctets, acctoutputoctets, acctterminatecause FROM radacct "
            "ORDER BY radacctid"))]


async def test_freeradius_answers_from_the_views_and_writes_radacct(
        api: Any, runtime: Any, freeradius: dict[str, Any]) -> None:
    radius, auth, acct = freeradius["radius"], freeradius["auth"], freeradius["acct"]
    paying = {'Mikrotik-Rate-Limit = "20000k/100000k"', 'Mikrotik-Address-List = "paying"'}
    assert await radclient(auth, "auth", access("pppoe-pass")) == ("Access-Accept", paying)
    assert await radclient(auth, "auth", access("pppoe-pass", chap=True)) == (
        "Access-Accept", paying)
    assert (await radclient(auth, "auth", access("wrong-pass")))[0] == "Access-Reject"

    # Delinquent: the default action refuses the login.
    await ok(api, radius.token, "changeAccountStatus", {
        "accountId": radius.account, "accountStatusId": radius.billing.setup.delinquent,
        "reason": "test"})
    assert (await radclient(auth, "auth", access("pppoe-pass")))[0] == "Access-Reject"

    # Throttled instead: the delinquent group's rate, nothing of the paying group.
    throttle = await ok(api, radius.token, "createRadiusGroup", {
        "companyId": radius.company, "name": "Throttled", "attributes": [
            {"attribute": "Mikrotik-Rate-Limit", "value": "512k/512k"}]})
    await ok(api, radius.token, "updateNetworkSettings", {
        "companyId": radius.company, "delinquentAction": "THROTTLE",
        "delinquentRadiusGroupId": throttle["id"]})
    assert await radclient(auth, "auth", access("pppoe-pass")) == (
        "Access-Accept", {'Mikrotik-Rate-Limit = "512k/512k"'})

    session = ('User-Name = "pat", Acct-Session-Id = "81a00001", NAS-IP-Address = 127.0.0.1, '
               "NAS-Port = 7, Framed-IP-Address = 100.64.0.9")
    code, _ = await radclient(acct, "acct", f"{session}, Acct-Status-Type = Start")
    assert code == "Accounting-Response"
    assert [row[:3] for row in await radacct(runtime)] == [("pat", "81a00001", True)]
    code, _ = await radclient(acct, "acct", f"{session}, Acct-Status-Type = Stop, "
                              "Acct-Session-Time = 60, Acct-Input-Octets = 1500, "
                              "Acct-Output-Octets = 9000, Acct-Terminate-Cause = User-Request")
    assert code == "Accounting-Response"
    rows = await radacct(runtime)
    assert len(rows) == 1
    assert rows[0][:3] == ("pat", "81a00001", False)
    assert [int(v) for v in rows[0][3:6]] == [60, 1500, 9000]
    assert rows[0][6] == "User-Request"
