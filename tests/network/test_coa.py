"""The CoA/Disconnect client against a NAS stand-in on loopback that checks each request
with pyrad and answers ACK, NAK (Error-Cause 503), nothing, or with another secret."""

from __future__ import annotations

from pyrad.packet import DisconnectRequest

from ispcore.network.radius.coa import send_change
from tests.network.coa_listener import SECRET

SESSION = [("User-Name", "alice"), ("Acct-Session-Id", "81a0002f")]


async def test_coa_ack_carries_the_attributes(nas_at):
    nas, port = await nas_at("ack")
    outcome = await send_change("127.0.0.1", port, SECRET, "COA",
                                [*SESSION, ("Mikrotik-Rate-Limit", "5M/5M")],
                                timeout=1.0, retries=2)
    assert (outcome.status, outcome.attempts) == ("ACK", 1)
    request = nas.requests[0]
    assert request.code == 43
    assert request["Mikrotik-Rate-Limit"] == ["5M/5M"]
    assert request["Acct-Session-Id"] == ["81a0002f"]


async def test_disconnect_nak_reports_the_error_cause(nas_at):
    nas, port = await nas_at("nak")
    outcome = await send_change("127.0.0.1", port, SECRET, "DISCONNECT", SESSION,
                                timeout=1.0, retries=2)
    assert (outcome.status, outcome.error_cause) == ("NAK", 503)
    assert nas.requests[0].code == DisconnectRequest


async def test_an_unanswered_request_is_retransmitted_unchanged_then_times_out(nas_at):
    nas, port = await nas_at("silent")
    outcome = await send_change("127.0.0.1", port, SECRET, "COA", SESSION, timeout=0.1,
                                retries=2)
    assert (outcome.status, outcome.attempts) == ("TIMEOUT", 3)
    assert len(nas.seen) == 3 and len(set(nas.seen)) == 1


async def test_a_reply_signed_with_another_secret_is_not_believed(nas_at):
    nas, port = await nas_at("ack", reply_secret="someone-else")
    outcome = await send_change("127.0.0.1", port, SECRET, "COA", SESSION, timeout=0.1,
                                retries=1)
    assert outcome.status == "ERROR"
    assert "did not verify" in outcome.message
    assert len(nas.seen) == 2


async def test_an_attribute_the_dictionary_lacks_is_an_error():
    outcome = await send_change("127.0.0.1", 9, SECRET, "COA", [("No-Such-Thing", "1")],
                                timeout=0.1, retries=0)
    assert outcome.status == "ERROR" and "No-Such-Thing" in outcome.message
