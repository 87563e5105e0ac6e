"""Every root query field answers, without an error, for valid arguments: each is called
once on a seeded company (an account at an address, an invoice, a payment, a document batch,
a device on a real snmpd, a poller, a webhook, an on-call rotation), selecting its scalar
fields and those of the objects two levels below (every settings row configured, so none
answers null for want of one). The argument table must name every field
of the schema: a new root field without an entry fails here rather than going untested."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)

from ispcore.schema import Query, build_schema
from tests.accounts.factories import _mutation, new_address, ok
from tests.billing.factories import billing_setup
from tests.billing.payment_support import invoiced_customer, record
from tests.messaging.transport_support import MUTATIONS as _transport  # noqa: F401
from tests.monitoring.alerts_support import MUTATIONS as _alerts  # noqa: F401
from tests.monitoring.config_support import MUTATIONS as _monitoring  # noqa: F401
from tests.peers.snmpd_support import COMMUNITY
from tests.webhooks.support import create_webhook

SCHEMA = build_schema()
PUBLIC_URL = "https://93.184.215.14/hooks"  # a literal public address: no DNS needed
#: Mutations no shared factory has (their own tests write them out).
EXTRA = {name: _mutation(name, input_type, selection, fields)
         for name, input_type, selection, fields in (
             ("updatePreseemSettings", "UpdatePreseemSettingsInput", "preseemSettings",
              "baseUrl"),
             ("createInvoicePrintBatch", "CreateInvoiceBatchInput", "documentBatch", "id"))}


@dataclass
class World:
    token: str
    poller_token: str
    company: str
    user: str
    account: str
    address: str
    invoice: str
    payment: str
    batch: str
    device: str
    rotation: str
    webhook: str


@dataclass(frozen=True)
class Call:
    """How a root field is called: its arguments, and whose token (the poller's for the
    poller's own fields)."""

    args: Callable[[World], dict[str, Any]] = lambda w: {}
    as_poller: bool = False


LIST = Call()
BY_COMPANY = Call(lambda w: {"companyId": w.company})
CALLS: dict[str, Call] = {
    "companies": LIST, "company": Call(lambda w: {"id": w.company}), "me": Call(),
    "users": LIST, "user": Call(lambda w: {"id": w.user}), "roles": LIST,
    "permissions": Call(), "personalAccessTokens": LIST, "auditLogEntries": LIST,
    "events": LIST, "accountTypes": LIST, "accountStatuses": LIST, "accountGroups": LIST,
    "phoneNumberTypes": LIST, "accounts": LIST, "account": Call(lambda w: {"id": w.account}),
    "contacts": LIST, "accountStatusChanges": LIST, "serviceableAddresses": LIST,
    "serviceableAddress": Call(lambda w: {"id": w.address}), "addressOccupancies": LIST,
    "notes": LIST, "tasks": LIST, "callLogs": LIST, "scheduledEvents": LIST,
    "customFields": LIST,
    "search": Call(lambda w: {"query": "Jane", "companyId": w.company}),
    "billingSettings": BY_COMPANY, "glCodes": LIST, "services": LIST, "packages": LIST,
    "discounts": LIST, "taxRates": LIST, "invoiceMessages": LIST, "accountServices": LIST,
    "transactions": LIST, "invoices": LIST, "billingRuns": LIST, "pendingCharges": LIST,
    "invoice": Call(lambda w: {"id": w.invoice}),
    "billingQuote": Call(lambda w: {"input": {"accountId": w.account}}),
    "payments": LIST, "credits": LIST, "paymentBatches": LIST, "achFiles": LIST,
    "paymentMethods": LIST,
    "payment": Call(lambda w: {"id": w.payment}), "paymentSettings": BY_COMPANY,
    "invoiceTemplate": BY_COMPANY, "documentBatch": Call(lambda w: {"id": w.batch}),
    "documentBatches": LIST, "delinquencySettings": BY_COMPANY, "delinquentAccounts": LIST,
    "delinquencyExclusions": LIST, "lateFees": LIST, "networkSites": LIST, "supernets": LIST,
    "subnets": LIST, "ipAssignments": LIST,
    "ipAssignmentHistory": Call(lambda w: {"address": "100.64.0.10",
                                           "at": "2026-11-02T12:00:00Z",
                                           "companyId": w.company}),
    "ipAddressHolders": Call(lambda w: {"address": "100.64.0.10", "companyId": w.company}),
    "networkSettings": BY_COMPANY, "addressLists": BY_COMPANY, "radiusPlaceholders": Call(),
    "nasClients": LIST, "radiusGroups": LIST, "radiusCredentials": LIST,
    "radiusSessions": LIST, "radiusActions": LIST, "preseemSettings": BY_COMPANY,
    "usagePolicies": LIST, "usageFreePeriods": LIST, "netflowExporters": BY_COMPANY,
    "unattributedUsage": Call(lambda w: {"companyId": w.company,
                                         "from": "2026-11-01T00:00:00Z",
                                         "to": "2026-11-03T00:00:00Z"}),
    "outboundMessages": LIST, "emailSettings": BY_COMPANY, "smsSettings": BY_COMPANY,
    "messageCategories": LIST, "messageTemplates": LIST, "messageTriggers": LIST,
    "savedMessages": LIST, "massMessages": LIST,
    "messageTemplateVariables": Call(lambda w: {"eventType": "INVOICE_ISSUED"}),
    "webhooks": LIST, "webhookDeliveries": Call(lambda w: {"webhookId": w.webhook}),
    "eventTypes": Call(), "devices": LIST, "monitoringTemplates": LIST, "pollers": LIST,
    "pollerWorkload": Call(as_poller=True), "networkDashboard": BY_COMPANY, "alerts": LIST,
    "alertingRotations": LIST, "onCall": Call(lambda w: {"rotationId": w.rotation}),
    "snmpWalk": Call(lambda w: {"deviceId": w.device, "oid": "1.3.6.1.2.1.1"}),
    "node": Call(lambda w: {"id": w.account}),
}


def root_fields() -> list[str]:
    """The GraphQL names of every root query field, from the strawberry definition."""
    convert = SCHEMA.config.name_converter
    return sorted(convert.from_field(f) for f in Query.__strawberry_definition__.fields)


def test_every_root_query_field_has_arguments_in_the_table() -> None:
    assert sorted(CALLS) == root_fields()


def _needs_arguments(field: GraphQLField) -> bool:
    return any(isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
               for arg in field.args.values())


def selection(gql_type: Any, depth: int) -> str:
    """The scalar fields of ``gql_type`` (a connection: of its nodes), and ``depth`` levels
    of the objects below; fields that need arguments are left out."""
    named = get_named_type(gql_type)
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return ""
    if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
        return "__typename"
    assert isinstance(named, GraphQLObjectType)
    if named.name.endswith("Connection"):
        node = named.fields["edges"].type
        inner = selection(get_named_type(node).fields["node"].type, depth)
        return f"totalCount pageInfo {{ hasNextPage }} edges {{ cursor node {{ {inner} }} }}"
    parts = ["__typename"]
    for name, field in named.fields.items():
        if _needs_arguments(field):
            continue
        if isinstance(get_named_type(field.type), GraphQLScalarType | GraphQLEnumType):
            parts.append(name)
        elif depth > 0:
            parts.append(f"{name} {{ {selection(field.type, depth - 1)} }}")
    return " ".join(parts)


def query_for(name: str, variables: dict[str, Any]) -> str:
    field = SCHEMA._schema.query_type.fields[name]
    declared = ", ".join(f"${arg}: {field.args[arg].type}" for arg in variables)
    passed = ", ".join([*(f"{arg}: ${arg}" for arg in variables),
                        *(["first: 5"] if "first" in field.args and "first" not in variables
                          else [])])
    # One level of objects below, and small pages: within the API's cost and token limits.
    inner = selection(field.type, depth=1)
    return (f"query{f'({declared})' if declared else ''} {{ "
            f"{name}{f'({passed})' if passed else ''}{f' {{ {inner} }}' if inner else ''} }}")


async def made(api: Any, token: str, name: str, input: dict[str, Any]) -> dict[str, Any]:
    query, selection = EXTRA[name]
    payload = (await api.data(query, {"input": input}, token))[name]
    assert payload["errors"] == [], payload
    return payload[selection]


@pytest.fixture
async def world(api: Any, runtime: Any, clock: Any, vault_key: str, snmpd: Any,
                private_targets_allowed: None) -> World:
    billing = await billing_setup(api)
    token, company = billing.token, billing.company
    account = await invoiced_customer(api, runtime, clock, billing, months=1, name="Jane Doe")
    user = (await api.data("{ me { id } }", token=token))["me"]["id"]
    invoice = (await api.data(
        "query($id: ID!) { account(id: $id) { invoices { id } } }", {"id": account},
        token))["account"]["invoices"][0]["id"]
    device = await ok(api, token, "createDevice", {
        "companyId": company, "name": "core-router", "managementAddress": "127.0.0.1",
        "snmpVersion": "V2C", "snmpPort": snmpd.port, "snmpCommunity": COMMUNITY})
    poller = await ok(api, token, "createPoller", {"companyId": company, "name": "east"})
    await ok(api, token, "updateEmailSettings", {
        "companyId": company, "smtpHost": "127.0.0.1", "smtpPort": 2525,
        "fromAddress": "billing@acme-fibre.example"})
    await ok(api, token, "updateSmsSettings", {"companyId": company,
                                               "fromNumber": "+1 312 555 0100"})
    await made(api, token, "updatePreseemSettings", {"companyId": company,
                                                     "baseUrl": PUBLIC_URL, "apiKey": "psk_1"})
    rotation = await ok(api, token, "createAlertingRotation", {
        "companyId": company, "name": "NOC",
        "shifts": [{"userId": user, "weekdays": [1, 2, 3, 4, 5, 6, 7]}]})
    return World(
        token=token, poller_token=poller["token"], company=company, user=user,
        account=account, address=(await new_address(api, billing.setup, "9 Elm St"))["id"],
        invoice=invoice, payment=(await record(api, billing, account, "10.00"))["id"],
        batch=(await made(api, token, "createInvoicePrintBatch", {"companyId": company}))["id"],
        device=device["id"], rotation=rotation["id"],
        webhook=(await create_webhook(api, token, companyId=company, url=PUBLIC_URL,
                                      eventTypes=["*"]))["webhook"]["id"])


async def test_every_root_query_field_answers_for_valid_arguments(api: Any, world: World
                                                                  ) -> None:
    failures = {}
    for name in root_fields():
        call = CALLS[name]
        body = await api.gql(query_for(name, call.args(world)),
                             call.args(world), world.poller_token if call.as_poller
                             else world.token)
        answer = (body.get("data") or {}).get(name)
        if body.get("errors") or answer is None or (isinstance(answer, dict)
                                                    and answer.get("errors")):
            failures[name] = body.get("errors") or answer
    assert failures == {}
