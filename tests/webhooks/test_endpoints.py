"""Managing endpoints through the API: bad input is a typed error and writes nothing; the
secret is shown once; the catalogue is queryable; instance-wide endpoints need more."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ispcore.domain.common import vault
from ispcore.domain.webhooks.models import Webhook
from tests.accounts.factories import company_setup
from tests.webhooks.support import create_refused, create_webhook

PUBLIC_URL = "https://93.184.215.14/hooks"  # a literal public address: no DNS needed


async def _count(runtime) -> int:
    async with runtime.db.session() as session:
        return await session.scalar(select(func.count()).select_from(Webhook))


async def test_create_returns_the_secret_once_and_seals_it(api, runtime, vault_key):
    setup = await company_setup(api)
    created = await create_webhook(api, setup.token, companyId=setup.company, url=PUBLIC_URL,
                                   eventTypes=["invoice.*", "payment.received"],
                                   description=" Billing sync ")
    secret = created["secret"]
    assert secret.startswith("whsec_") and len(secret) >= len("whsec_") + 32
    assert created["webhook"]["eventTypes"] == ["invoice.*", "payment.received"]
    assert created["webhook"]["description"] == "Billing sync"
    async with runtime.db.session() as session:
        row = (await session.scalars(select(Webhook))).one()
    assert secret not in row.secret_sealed
    assert vault.unseal(vault_key, row.secret_sealed) == secret

    data = await api.data("{ webhooks { totalCount edges { node { id url company { id } } } } }",
                          token=setup.token)
    assert data["webhooks"]["totalCount"] == 1
    assert data["webhooks"]["edges"][0]["node"]["company"]["id"] == setup.company


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://93.184.215.14/x", "https://"),
    ("javascript:alert(1)", "https://"),
    ("https://user:pw@93.184.215.14/", "user name"),
    ("not a url", "https://"),
    ("http://127.0.0.1:8080/hooks", "loopback"),
    ("http://10.1.2.3/hooks", "private"),
    ("http://192.168.0.10/hooks", "private"),
    ("http://169.254.169.254/latest/meta-data", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://100.64.0.7/", "carrier-grade NAT"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://localhost:9000/", "loopback"),
    ("http://0.0.0.0/", "unspecified"),
])
async def test_bad_urls_are_refused_and_nothing_is_written(api, runtime, vault_key, url,
                                                          message):
    setup = await company_setup(api)
    errors = await create_refused(api, setup.token, companyId=setup.company, url=url,
                                  eventTypes=["account.created"])
    assert [(e["field"], e["code"]) for e in errors] == [("url", "INVALID")]
    assert message in errors[0]["message"]
    assert await _count(runtime) == 0


async def test_private_addresses_are_allowed_only_by_the_setting(api, runtime, vault_key,
                                                                 monkeypatch):
    setup = await company_setup(api)
    monkeypatch.setattr(runtime.settings, "webhooks_allow_private", True)
    await create_webhook(api, setup.token, companyId=setup.company,
                         url="http://10.1.2.3/hooks", eventTypes=["account.created"])
    assert await _count(runtime) == 1


async def test_unknown_event_types_are_refused(api, runtime, vault_key):
    setup = await company_setup(api)
    for types, wanted in ((["account.created", "acount.created"], "acount.created"),
                          (["invoices.*"], "invoices.*"), ([], "at least one")):
        errors = await create_refused(api, setup.token, companyId=setup.company,
                                      url=PUBLIC_URL, eventTypes=types)
        assert [e["field"] for e in errors] == ["eventTypes"]
        assert wanted in errors[0]["message"]
    assert await _count(runtime) == 0


async def test_instance_wide_endpoints_need_companies_write(api, runtime, vault_key):
    _, token = await api.user_with_token("partner@example.com",
                                         permissions=["webhooks:read", "webhooks:write"])
    errors = await create_refused(api, token, url=PUBLIC_URL, eventTypes=["*"])
    assert [(e["field"], e["code"]) for e in errors] == [("companyId", "FORBIDDEN")]
    admin = await api.admin_token()
    created = await create_webhook(api, admin, url=PUBLIC_URL, eventTypes=["*"])
    assert created["webhook"]["id"]


async def test_without_a_vault_key_no_endpoint_is_made(api, runtime):
    setup = await company_setup(api)
    errors = await create_refused(api, setup.token, companyId=setup.company, url=PUBLIC_URL,
                                  eventTypes=["account.created"])
    assert errors[0]["code"] == "FORBIDDEN" and "ISPCORE_VAULT_KEY" in errors[0]["message"]


async def test_the_catalogue_is_queryable(api):
    token = await api.admin_token()
    types = (await api.data("{ eventTypes { name description } }", token=token))["eventTypes"]
    names = [t["name"] for t in types]
    assert {"account.created", "invoice.issued", "payment.received",
            "webhook.disabled"} <= set(names)
    assert names == sorted(names)
    assert all(t["description"] for t in types)


async def test_reading_and_writing_need_their_permissions(api, vault_key):
    setup = await company_setup(api)
    _, reader = await api.user_with_token("reader@example.com", permissions=["webhooks:read"])
    body = await api.gql('mutation { createWebhook(input: {url: "https://93.184.215.14/", '
                         'eventTypes: ["*"]}) { webhook { id } } }', token=reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _, nobody = await api.user_with_token("nobody@example.com", permissions=[])
    body = await api.gql("{ webhooks { totalCount } }", token=nobody)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert setup.company
