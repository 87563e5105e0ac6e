"""Texts through the SMS provider interface: the log-only provider, and the Twilio adapter.

Twilio is an outside service, so the Twilio tests are contract tests: respx answers the
adapter's requests with the shapes of Twilio's API reference (a ``201`` message resource with
its ``sid``; errors as ``{code, message, more_info, status}``), recorded here by hand. No
request leaves the machine."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from ispcore.domain.messaging.models import Channel
from ispcore.workers.registry import run_job
from tests.accounts.factories import company_setup, ok, refused
from tests.conftest import free_port
from tests.messaging.transport_support import SEND_JOB, queue, sent_log
from tests.outbound_support import REFUSED_HOSTS, in_url
from tests.webhooks.receiver import Receiver, Reply, serving

SID = "AC0123456789abcdef0123456789abcdef"
TOKEN = "tw1l10-auth-t0ken"
URL = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"


def created(to: str, sid: str) -> httpx.Response:
    """Twilio's answer to a message it took (trimmed to the fields that matter)."""
    return httpx.Response(201, json={
        "sid": sid, "account_sid": SID, "to": to, "from": "+13125550100", "status": "queued",
        "body": "…", "num_segments": "1", "direction": "outbound-api", "error_code": None,
        "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json"})


def twilio_error(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={
        "code": code, "message": message, "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}"})


async def text(runtime: Any, company: str, key: str, to: str = "+13125550199") -> int:
    return await queue(runtime, company, key, to=to, channel=Channel.SMS,
                       body_text=f"Your service {key} is back.")


async def test_the_log_only_provider_logs_and_counts_the_text_sent(
        api: Any, runtime: Any, caplog: pytest.LogCaptureFixture) -> None:
    setup = await company_setup(api)
    settings = await ok(api, setup.token, "updateSmsSettings",
                        {"companyId": setup.company, "fromNumber": "+1 312 555 0100"})
    assert (settings["provider"], settings["fromNumber"]) == ("LOG_ONLY", "+13125550100")
    caplog.set_level("INFO", logger="ispcore.domain.messaging.sms")
    await text(runtime, setup.company, "outage-1")
    await runtime.jobs.drain()
    [message] = await sent_log(api, setup.token, channel={"eq": "SMS"})
    assert message["status"] == "SENT"
    assert message["providerId"].startswith("log-")
    assert any("to +13125550199: Your service outage-1 is back." in r.getMessage()
               for r in caplog.records)


async def test_twilio_gets_the_form_with_basic_auth_and_its_sid_is_kept(
        api: Any, runtime: Any, vault_key: str) -> None:
    setup = await company_setup(api)
    settings = await ok(api, setup.token, "updateSmsSettings", {
        "companyId": setup.company, "provider": "TWILIO", "accountSid": SID,
        "authToken": TOKEN, "fromNumber": "+13125550100"})
    assert settings["hasAuthToken"] is True and "authToken" not in settings
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return created(parse_qs(request.content.decode())["To"][0], "SM" + "a" * 32)

    with respx.mock(assert_all_called=True) as router:
        router.post(URL).mock(side_effect=answer)
        await text(runtime, setup.company, "outage-2")
        await runtime.jobs.drain()
    [request] = requests
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "To": ["+13125550199"], "From": ["+13125550100"],
        "Body": ["Your service outage-2 is back."]}
    [message] = await sent_log(api, setup.token)
    assert (message["status"], message["providerId"]) == ("SENT", "SM" + "a" * 32)


async def test_twilio_refusals_fail_at_once_and_busy_answers_are_retried(
        api: Any, runtime: Any, vault_key: str, clock: Any) -> None:
    setup = await company_setup(api)
    await ok(api, setup.token, "updateSmsSettings", {
        "companyId": setup.company, "provider": "TWILIO", "accountSid": SID,
        "authToken": TOKEN, "fromNumber": "+13125550100"})
    answers = {"+15005550001": [twilio_error(400, 21211, "The 'To' number +15005550001 is "
                                                         "not a valid phone number.")],
               "+13125550199": [twilio_error(429, 20429, "Too Many Requests"),
                                httpx.Response(503, text="Service Unavailable"),
                                created("+13125550199", "SM" + "b" * 32)]}

    def answer(request: httpx.Request) -> httpx.Response:
        return answers[parse_qs(request.content.decode())["To"][0]].pop(0)

    with respx.mock() as router:
        router.post(URL).mock(side_effect=answer)
        await text(runtime, setup.company, "bad", to="+15005550001")
        await text(runtime, setup.company, "busy")
        await runtime.jobs.drain()
        by_to = {m["recipient"]: m for m in await sent_log(api, setup.token)}
        bad, busy = by_to["+15005550001"], by_to["+13125550199"]
        assert (bad["status"], bad["attempts"]) == ("FAILED", 1)
        assert bad["lastError"] == ("Twilio 400 (21211): The 'To' number +15005550001 is not "
                                    "a valid phone number.")
        assert (busy["status"], busy["lastError"]) == ("QUEUED", "Twilio 429 (20429): Too "
                                                                 "Many Requests")
        clock.advance(timedelta(minutes=1))
        assert await run_job(runtime, SEND_JOB) == {"retrying": 1}
        clock.advance(timedelta(minutes=5))
        assert await run_job(runtime, SEND_JOB) == {"sent": 1}
    [busy] = await sent_log(api, setup.token, status={"eq": "SENT"})
    assert (busy["attempts"], busy["providerId"]) == (3, "SM" + "b" * 32)


async def test_the_ssrf_guard_checks_the_providers_address_when_connecting(
        api: Any, runtime: Any, vault_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    setup = await company_setup(api)
    await ok(api, setup.token, "updateSmsSettings", {
        "companyId": setup.company, "provider": "TWILIO", "accountSid": SID,
        "authToken": TOKEN, "fromNumber": "+13125550100"})
    port = free_port()
    async with serving(Receiver(), port) as receiver:
        # ISPCORE_TWILIO_API_BASE pointed at each refused address (a server listens on
        # 127.0.0.1): nothing leaves.
        for n, (host, reason) in enumerate(REFUSED_HOSTS):
            monkeypatch.setattr(runtime.settings, "twilio_api_base",
                                f"http://{in_url(host)}:{port}")
            await text(runtime, setup.company, f"guarded-{n}")
            await runtime.jobs.drain()
            [message] = await sent_log(api, setup.token, subject={"eq": f"Hello guarded-{n}"})
            assert (message["status"], message["attempts"]) == ("QUEUED", 1), host
            assert "address is refused" in message["lastError"], host
            assert reason in message["lastError"], host
        assert receiver.received == []

        monkeypatch.setattr(runtime.settings, "webhooks_allow_private", True)
        monkeypatch.setattr(runtime.settings, "twilio_api_base", f"http://localhost:{port}")
        receiver.script = [Reply(status=201, body=created("+13125550199", "SM" + "c" * 32)
                                 .content)]
        await text(runtime, setup.company, "allowed")
        await runtime.jobs.drain()
    [request] = receiver.received
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    [message] = await sent_log(api, setup.token, subject={"eq": "Hello allowed"})
    assert (message["status"], message["providerId"]) == ("SENT", "SM" + "c" * 32)


async def test_sms_settings_are_checked(api: Any, runtime: Any, vault_key: str) -> None:
    setup = await company_setup(api)
    errors = await refused(api, setup.token, "updateSmsSettings", {
        "companyId": setup.company, "provider": "TWILIO", "fromNumber": "call me maybe!"})
    assert sorted((e["field"], e["code"]) for e in errors) == [
        ("accountSid", "REQUIRED"), ("authToken", "REQUIRED"), ("fromNumber", "INVALID")]
    assert await api.data("""query($id: ID!) { smsSettings(companyId: $id) { provider } }""",
                          {"id": setup.company}, setup.token) == {"smsSettings": None}
    await text(runtime, setup.company, "unconfigured")
    await runtime.jobs.drain()
    [message] = await sent_log(api, setup.token)
    assert (message["status"], message["lastError"]) == (
        "FAILED", "The company has no active SMS settings.")
