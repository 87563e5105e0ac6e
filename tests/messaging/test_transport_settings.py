"""Email settings through GraphQL: defaults, the sealed password, bad input refused with
nothing changed, the permissions; and the sent log's filters."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from ispcore.domain.messaging.transport_models import EmailSettings
from tests.accounts.factories import company_setup, ok, refused
from tests.messaging.transport_support import EMAIL_FIELDS, queue, sent_log
from tests.outbound_support import PUBLIC_HOST, REFUSED_HOSTS

READ = f"""query($id: ID!) {{ emailSettings(companyId: $id) {{ {EMAIL_FIELDS} }} }}"""


async def settings_of(api: Any, token: str, company: str) -> dict[str, Any] | None:
    return (await api.data(READ, {"id": company}, token))["emailSettings"]


async def test_new_settings_take_defaults_and_keep_the_password_sealed(
        api: Any, runtime: Any, vault_key: str, private_targets_allowed: None) -> None:
    setup = await company_setup(api)
    assert await settings_of(api, setup.token, setup.company) is None
    made = await ok(api, setup.token, "updateEmailSettings", {
        "companyId": setup.company, "smtpHost": "LocalHost.",
        "fromAddress": "billing@Acme-Fibre.example", "username": "mailer",
        "password": "hunter2 hunter2"})
    assert made == {
        "smtpHost": "localhost", "smtpPort": 587, "security": "STARTTLS",
        "username": "mailer", "hasPassword": True, "fromAddress": "billing@acme-fibre.example",
        "fromName": "", "replyTo": None, "domain": "acme-fibre.example", "active": True}
    changed = await ok(api, setup.token, "updateEmailSettings", {
        "companyId": setup.company, "smtpPort": 465, "security": "TLS", "fromName": "Acme",
        "fromAddress": "billing@acme.example", "replyTo": "help@acme.example"})
    assert (changed["smtpPort"], changed["security"], changed["hasPassword"]) == (
        465, "TLS", True)
    assert changed["domain"] == "acme.example"  # it followed the from address
    assert await settings_of(api, setup.token, setup.company) == changed
    async with runtime.db.session() as session:
        sealed = await session.scalar(select(EmailSettings.password_sealed))
    assert sealed and "hunter2" not in sealed

    removed = await ok(api, setup.token, "updateEmailSettings", {
        "companyId": setup.company, "username": "", "password": ""})
    assert (removed["username"], removed["hasPassword"]) == (None, False)


@pytest.mark.parametrize(("fields", "expected"), [
    ({"smtpPort": 0}, [("smtpPort", "INVALID")]),
    ({"smtpPort": 70000, "smtpHost": "bad host!"}, [("smtpHost", "INVALID"),
                                                   ("smtpPort", "INVALID")]),
    ({"fromAddress": "billing at example"}, [("fromAddress", "INVALID")]),
    ({"replyTo": "@example.com"}, [("replyTo", "INVALID")]),
    ({"username": "mailer"}, [("password", "REQUIRED")]),
    ({"domain": "-x-.example"}, [("domain", "INVALID")]),
])
async def test_bad_settings_are_refused_and_change_nothing(
        api: Any, runtime: Any, fields: dict[str, Any], expected: list[tuple[str, str]]
        ) -> None:
    setup = await company_setup(api)
    base = {"companyId": setup.company, "smtpHost": PUBLIC_HOST,
            "fromAddress": "billing@example.com"}
    errors = await refused(api, setup.token, "updateEmailSettings", {**base, **fields})
    assert sorted((e["field"], e["code"]) for e in errors) == expected
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(EmailSettings)) == 0


async def test_a_mail_server_on_a_non_public_address_is_refused(
        api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    for host, reason in REFUSED_HOSTS:
        errors = await refused(api, setup.token, "updateEmailSettings", {
            "companyId": setup.company, "smtpHost": host,
            "fromAddress": "billing@example.com"})
        assert [(e["field"], e["code"]) for e in errors] == [("smtpHost", "INVALID")], host
        assert reason in errors[0]["message"], host
    async with runtime.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(EmailSettings)) == 0


async def test_a_mail_server_on_a_private_address_is_kept_when_the_setting_allows_it(
        api: Any, private_targets_allowed: None) -> None:
    setup = await company_setup(api)
    made = await ok(api, setup.token, "updateEmailSettings", {
        "companyId": setup.company, "smtpHost": "[::1]", "fromAddress": "billing@example.com"})
    assert made["smtpHost"] == "::1"
    changed = await ok(api, setup.token, "updateEmailSettings", {
        "companyId": setup.company, "smtpHost": "10.1.2.3"})
    assert changed["smtpHost"] == "10.1.2.3"


async def test_a_password_needs_the_vault_key(api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    errors = await refused(api, setup.token, "updateEmailSettings", {
        "companyId": setup.company, "smtpHost": PUBLIC_HOST,
        "fromAddress": "billing@example.com", "username": "u", "password": "p"})
    assert [(e["field"], e["code"]) for e in errors] == [("password", "FORBIDDEN")]
    assert "ISPCORE_VAULT_KEY" in errors[0]["message"]


async def test_settings_and_the_sent_log_need_the_messaging_permissions(
        api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    _, reader = await api.user_with_token("reader@example.com",
                                          permissions=["messaging:read", "companies:read"])
    body = await api.gql(
        """mutation($input: UpdateEmailSettingsInput!) { updateEmailSettings(input: $input)
        { errors { code } } }""",
        {"input": {"companyId": setup.company, "smtpHost": PUBLIC_HOST,
                   "fromAddress": "billing@example.com"}}, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    await queue(runtime, setup.company, "x")
    assert len(await sent_log(api, reader)) == 1
    _, stranger = await api.user_with_token("other@example.com",
                                            permissions=["accounts:read"])
    body = await api.gql("{ outboundMessages { totalCount } }", token=stranger)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_sent_log_filters_by_status_channel_and_recipient(
        api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    await queue(runtime, setup.company, "one", to="one@example.net")
    await queue(runtime, setup.company, "two", to="two@example.net")
    await runtime.jobs.drain()  # no settings: both fail
    assert len(await sent_log(api, setup.token, status={"in": ["FAILED"]})) == 2
    assert await sent_log(api, setup.token, status={"eq": "SENT"}) == []
    assert await sent_log(api, setup.token, channel={"eq": "SMS"}) == []
    [two] = await sent_log(api, setup.token, search="two@")
    assert two["recipient"] == "two@example.net"
    assert [m["recipient"] for m in await sent_log(
        api, setup.token, companyId={"eq": setup.company},
        recipient={"startsWith": "one"})] == ["one@example.net"]
