"""The hook billing uses to apply its defaults to new accounts: called once per new account,
inside the creating transaction (so a refusal there creates nothing)."""

from __future__ import annotations

import base64

import pytest

from ispcore.domain.accounts.service import ACCOUNT_CREATED_HOOKS
from ispcore.domain.common.errors import DomainError
from tests.accounts.factories import company_setup, new_account, refused


@pytest.fixture
def hooks():
    saved = list(ACCOUNT_CREATED_HOOKS)
    yield ACCOUNT_CREATED_HOOKS
    ACCOUNT_CREATED_HOOKS[:] = saved


async def test_each_new_account_passes_through_the_hooks_in_its_transaction(api, hooks):
    setup = await company_setup(api)
    seen = []

    async def remember(uow, account):
        seen.append((account.name, account.account_type_id, uow.action))

    hooks.append(remember)
    await new_account(api, setup, "Hooked")
    type_pk = int(base64.b64decode(setup.residential).decode().split(":")[1])
    assert seen == [("Hooked", type_pk, "createAccount")]


async def test_a_hook_that_refuses_leaves_nothing_behind(api, hooks):
    setup = await company_setup(api)

    async def refuse(uow, account):
        raise DomainError("No billing defaults for this type.", field="account_type_id")

    hooks.append(refuse)
    errors = await refused(api, setup.token, "createAccount", {
        "companyId": setup.company, "name": "Nope", "accountTypeId": setup.residential,
        "accountStatusId": setup.active})
    assert [(e["field"], e["code"]) for e in errors] == [("accountTypeId", "INVALID")]
    data = await api.data("{ accounts { totalCount } events(filter: {type: {eq: "
                          '"account.created"}}) { totalCount } }', token=setup.token)
    assert data == {"accounts": {"totalCount": 0}, "events": {"totalCount": 0}}
