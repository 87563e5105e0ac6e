"""Pure rules: the retry schedule with its jitter and Retry-After, and which addresses the
SSRF guard refuses; and the guard again at send time."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest

from ispcore.domain.common.outbound import forbidden_reason
from ispcore.domain.webhooks.retries import MAX_ATTEMPTS, next_delay, parse_retry_after
from tests.accounts.factories import company_setup, new_account
from tests.webhooks.support import create_webhook, deliveries, run_webhooks

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def test_the_schedule_is_bounded_jitter_around_the_fixed_waits():
    rng = random.Random(7)
    for made, base in enumerate((5, 300, 1800, 7200, 18000, 36000, 36000), start=1):
        waits = {next_delay(made, None, rng).total_seconds() for _ in range(50)}
        assert all(base * 0.9 <= w <= base * 1.1 for w in waits)
        assert len(waits) > 1  # jittered
    assert next_delay(MAX_ATTEMPTS, None, rng) is None
    assert MAX_ATTEMPTS == 8


def test_the_same_seed_gives_the_same_waits():
    assert [next_delay(3, None, random.Random(1)) for _ in range(3)] == [
        next_delay(3, None, random.Random(1)) for _ in range(3)]


def test_retry_after_lengthens_a_wait_never_shortens_it():
    rng = random.Random(3)
    assert next_delay(1, timedelta(seconds=120), rng) == timedelta(seconds=120)
    assert next_delay(4, timedelta(seconds=1), rng) >= timedelta(seconds=7200 * 0.9)
    assert next_delay(1, timedelta(days=30), rng) == timedelta(hours=24)
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    assert parse_retry_after("Mon, 02 Nov 2026 15:10:00 GMT", NOW) == timedelta(minutes=10)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize(("address", "refused"), [
    ("93.184.215.14", False), ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False),
    ("127.0.0.1", True), ("10.0.0.1", True), ("172.16.5.5", True), ("192.168.1.1", True),
    ("169.254.10.10", True), ("169.254.169.254", True), ("100.64.1.1", True),
    ("224.0.0.1", True), ("240.0.0.1", True), ("0.0.0.0", True), ("::1", True),
    ("fe80::1", True), ("fc00::1", True), ("fd00:ec2::254", True), ("::ffff:10.0.0.1", True),
    ("192.0.2.1", True),
])
def test_which_addresses_are_refused(address, refused):
    assert (forbidden_reason(ipaddress.ip_address(address)) is not None) is refused


async def test_the_guard_runs_again_at_send_time(api, receiver, runtime, monkeypatch):
    setup = await company_setup(api)
    webhook = (await create_webhook(api, setup.token, companyId=setup.company,
                                    url=receiver.url, eventTypes=["account.created"]))["webhook"]
    # What resolved to an allowed address when saved no longer does (here: the setting).
    monkeypatch.setattr(runtime.settings, "webhooks_allow_private", False)
    await new_account(api, setup)
    await run_webhooks(runtime)
    assert receiver.received == []
    [delivery] = await deliveries(api, setup.token, webhook["id"])
    assert delivery["status"] == "PENDING"
    assert "loopback" in delivery["attempts"][0]["error"]
