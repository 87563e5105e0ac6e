"""Setting up billing through the API, as an integrator would: a company with its ledger
codes, services, taxes and an account with services; running billing and reading invoices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.accounts.account_queries import codes
from tests.accounts.factories import (
    MUTATIONS,
    Setup,
    _mutation,
    company_setup,
    new_account,
    ok,
)
from tests.accounts.factories import refused as refused_with

SERVICE_FIELDS = """id name kind price { amount currency } billingFrequencyMonths
  expiresAfterCycles taxable active downloadKbps uploadKbps vacationPrice { amount }
  glCode { id code }"""
ACCOUNT_SERVICE_FIELDS = """id quantity startDate endDate billedUntil cyclesBilled
  priceOverride { amount } service { id name } package { id name } members { id quantity
  service { name } }"""
CHANGE = f"accountService {{ {ACCOUNT_SERVICE_FIELDS} }} scheduledEvent {{ id action runOn }}"
LINE_FIELDS = """id position kind description periodStart periodEnd quantity
  unitPrice { amount } amount { amount } discount { amount } tax { amount } total { amount }
  taxable account { id } taxes { amount { amount } taxRate { name } }
  discounts { name amount { amount } }"""
INVOICE_FIELDS = f"""id number status kind currency billDate periodStart periodEnd issuedOn
  dueOn message amountPaid {{ amount }}
  subtotal {{ amount }} discountTotal {{ amount }} taxTotal {{ amount }} total {{ amount }}
  remainingDue {{ amount }} account {{ id }} lines {{ {LINE_FIELDS} }}"""
RUN_FIELDS = """id runOn status accountsBilled invoicesCreated accountsFailed
  total { amount } failures { reason account { id } }"""
ENTRY_FIELDS = """id kind amount { amount currency } description postedOn glCode { code }
  invoice { id } reverses { id } payment { id }"""

MUTATIONS.update({
    "updateBillingSettings": _mutation(
        "updateBillingSettings", "UpdateBillingSettingsInput", "billingSettings",
        "billingMode billDay dueDays graceDays billInAdvance prorate rounding "
        "invoiceNumberFormat nextInvoiceNumber reviewDrafts vacationBilling"),
    "setBillingDefaults": _mutation(
        "setBillingDefaults", "SetBillingDefaultsInput", "billingDefaults",
        "id billingMode billDay dueDays graceDays billInAdvance prorate accountType { id }"),
    "updateAccountBilling": _mutation(
        "updateAccountBilling", "UpdateAccountBillingInput", "accountBilling",
        "id billingMode billDay dueDays graceDays billInAdvance prorate"),
    "createGlCode": _mutation("createGlCode", "CreateGlCodeInput", "glCode", "id code name"),
    "updateGlCode": _mutation("updateGlCode", "UpdateGlCodeInput", "glCode", "id code name"),
    "deleteGlCode": _mutation("deleteGlCode", "IdInput", "deletedId", ""),
    "createService": _mutation("createService", "CreateServiceInput", "service",
                               SERVICE_FIELDS),
    "updateService": _mutation("updateService", "UpdateServiceInput", "service",
                               SERVICE_FIELDS),
    "deleteService": _mutation("deleteService", "IdInput", "deletedId", ""),
    "createPackage": _mutation(
        "createPackage", "CreatePackageInput", "package",
        "id name pricing price { amount } services { quantity service { id name } }"),
    "updatePackage": _mutation(
        "updatePackage", "UpdatePackageInput", "package",
        "id name pricing price { amount } services { quantity service { id name } }"),
    "createDiscount": _mutation(
        "createDiscount", "CreateDiscountInput", "discount",
        "id name kind percent amount { amount } appliesTo service { id } package { id }"),
    "updateDiscount": _mutation("updateDiscount", "UpdateDiscountInput", "discount",
                                "id name kind percent amount { amount } active"),
    "createTaxRate": _mutation("createTaxRate", "CreateTaxRateInput", "taxRate",
                               "id name rate country subdivision"),
    "updateTaxRate": _mutation("updateTaxRate", "UpdateTaxRateInput", "taxRate",
                               "id name rate country subdivision"),
    "deleteTaxRate": _mutation("deleteTaxRate", "IdInput", "deletedId", ""),
    "createInvoiceMessage": _mutation("createInvoiceMessage", "CreateInvoiceMessageInput",
                                      "invoiceMessage", "id message startsOn endsOn"),
    "addServiceToAccount": _mutation("addServiceToAccount", "AddServiceToAccountInput",
                                     "accountService", ACCOUNT_SERVICE_FIELDS),
    "addPackageToAccount": _mutation("addPackageToAccount", "AddPackageToAccountInput",
                                     "accountService", ACCOUNT_SERVICE_FIELDS),
    "removeServiceFromAccount": _mutation("removeServiceFromAccount",
                                          "RemoveServiceFromAccountInput", None, CHANGE),
    "changeAccountServiceQuantity": _mutation("changeAccountServiceQuantity",
                                              "ChangeAccountServiceQuantityInput", None,
                                              CHANGE),
    "changeAccountServicePrice": _mutation("changeAccountServicePrice",
                                           "ChangeAccountServicePriceInput", None, CHANGE),
    "giveAccountDiscount": _mutation("giveAccountDiscount", "GiveAccountDiscountInput",
                                     "accountDiscount", "id cycles until cyclesApplied"),
    "removeAccountDiscount": _mutation("removeAccountDiscount", "IdInput", "deletedId", ""),
    "createTaxExemption": _mutation("createTaxExemption", "CreateTaxExemptionInput",
                                    "taxExemption", "id expiresOn reason taxRate { id }"),
    "updateTaxExemption": _mutation("updateTaxExemption", "UpdateTaxExemptionInput",
                                    "taxExemption", "id expiresOn reason"),
    "removeAccountVacation": _mutation("removeAccountVacation", "IdInput", "deletedId", ""),
    "addAccountVacation": _mutation("addAccountVacation", "AddAccountVacationInput",
                                    "accountVacation", "id startsOn endsOn"),
    "createManualTransaction": _mutation("createManualTransaction",
                                         "CreateManualTransactionInput", "transaction",
                                         ENTRY_FIELDS),
    "voidTransaction": _mutation("voidTransaction", "VoidInput", "transaction", ENTRY_FIELDS),
    "issueInvoices": _mutation("issueInvoices", "IssueInvoicesInput", "invoices",
                               INVOICE_FIELDS),
    "voidInvoice": _mutation("voidInvoice", "VoidInput", "invoice", INVOICE_FIELDS),
    "updateDraftInvoiceLine": _mutation("updateDraftInvoiceLine",
                                        "UpdateDraftInvoiceLineInput", "invoice",
                                        INVOICE_FIELDS),
    "addDraftInvoiceLine": _mutation("addDraftInvoiceLine", "AddDraftInvoiceLineInput",
                                     "invoice", INVOICE_FIELDS),
    "removeDraftInvoiceLine": _mutation("removeDraftInvoiceLine", "IdInput", "invoice",
                                        INVOICE_FIELDS),
    "runBilling": _mutation("runBilling", "RunBillingInput", "billingRun", "id runOn status"),
})

ACCOUNT = f"""query($id: ID!) {{ account(id: $id) {{ id nextBillDate
  balance {{ amount currency }} amountDue {{ amount }} unappliedCredit {{ amount }}
  billing {{ billingMode billDay dueDays billInAdvance prorate }}
  services {{ {ACCOUNT_SERVICE_FIELDS} }}
  invoices {{ {INVOICE_FIELDS} }}
  transactions {{ {ENTRY_FIELDS} }}
  pendingCharges {{ description amount {{ amount }} periodStart periodEnd }} }} }}"""
RUNS = f"""query($companyId: ID!) {{ billingRuns(filter: {{companyId: {{eq: $companyId}}}},
  orderBy: [{{field: ID}}]) {{ edges {{ node {{ {RUN_FIELDS} }} }} }} }}"""
QUOTE = """query($input: BillingQuoteInput!) { billingQuote(input: $input) {
  quote { periodStart periodEnd nextBillDate subtotal { amount } discountTotal { amount }
    taxTotal { amount } total { amount }
    lines { kind description periodStart periodEnd quantity unitPrice { amount }
      amount { amount } discount { amount } tax { amount } total { amount } } }
  errors { field code message } } }"""
EVENTS = """query($type: String!) { events(filter: {type: {eq: $type}}, first: 500) {
  edges { node { type payload entityType entityId } } } }"""


async def refused(api: Any, token: str, mutation: str, input: dict[str, Any]
                  ) -> list[tuple[str | None, str]]:
    """The (field, code) of each error of a mutation that must fail."""
    return codes(await refused_with(api, token, mutation, input))


@dataclass
class Billing:
    """A company ready to bill: ledger codes, a tax, services."""

    setup: Setup
    revenue: str
    taxes: str
    discounts: str
    fees: str
    fibre: str       # DATA, 60.00 a month, taxable
    tv: str          # RECURRING, 20.00, not taxable
    install: str     # ONE_TIME, 99.00
    quarterly: str   # RECURRING every 3 months, 150.00
    promo: str       # EXPIRING after 2 cycles, 10.00
    state_tax: str   # 6.25% in IL

    @property
    def token(self) -> str:
        return self.setup.token

    @property
    def company(self) -> str:
        return self.setup.company


async def billing_setup(api: Any, *, time_zone: str = "America/Chicago",
                        **settings: Any) -> Billing:
    setup = await company_setup(api, time_zone=time_zone)
    token = setup.token

    async def gl(code: str, name: str) -> str:
        return (await ok(api, token, "createGlCode",
                         {"companyId": setup.company, "code": code, "name": name}))["id"]

    revenue, taxes = await gl("4000", "Service revenue"), await gl("2200", "Sales tax payable")
    discounts, fees = await gl("4900", "Discounts"), await gl("4100", "Fees")

    async def service(name: str, kind: str, price: str, **extra: Any) -> str:
        return (await ok(api, token, "createService",
                         {"companyId": setup.company, "name": name, "kind": kind,
                          "price": price, "glCodeId": revenue, **extra}))["id"]

    billing = Billing(
        setup, revenue, taxes, discounts, fees,
        fibre=await service("Fibre 100", "DATA", "60.00", downloadKbps=100_000,
                            uploadKbps=20_000),
        tv=await service("TV", "RECURRING", "20.00", taxable=False),
        install=await service("Installation", "ONE_TIME", "99.00", glCodeId=fees),
        quarterly=await service("Quarterly support", "RECURRING", "150.00",
                                billingFrequencyMonths=3),
        promo=await service("Router rental", "EXPIRING", "10.00", expiresAfterCycles=2),
        state_tax=(await ok(api, token, "createTaxRate",
                            {"companyId": setup.company, "name": "Illinois", "rate": "6.25",
                             "country": "US", "subdivision": "IL", "glCodeId": taxes}))["id"],
    )
    if settings:
        await ok(api, token, "updateBillingSettings", {"companyId": setup.company, **settings})
    return billing


async def customer(api: Any, billing: Billing, *, activation: str = "2026-11-02",
                   address: bool = True, **fields: Any) -> str:
    """An active account (at an Illinois address unless ``address`` is false)."""
    from tests.accounts.factories import new_address

    extra = {}
    if address:
        extra["serviceableAddressId"] = (await new_address(api, billing.setup,
                                                           line1=f"{fields.get('name', 'x')} "
                                                           f"{activation} St"))["id"]
    return (await new_account(api, billing.setup, activationDate=activation, **extra,
                              **fields))["id"]


async def add(api: Any, billing: Billing, account: str, service: str, **extra: Any
              ) -> dict[str, Any]:
    return await ok(api, billing.token, "addServiceToAccount",
                    {"accountId": account, "serviceId": service, **extra})


async def run_billing(api: Any, runtime: Any, billing: Billing, day: str | None = None
                      ) -> dict[str, Any]:
    """Request a run, let the job finish, return the run as the API shows it."""
    run = await ok(api, billing.token, "runBilling",
                   {"companyId": billing.company, **({"date": day} if day else {})})
    await runtime.jobs.drain()
    runs = (await api.data(RUNS, {"companyId": billing.company}, billing.token))
    return next(e["node"] for e in runs["billingRuns"]["edges"] if e["node"]["id"] == run["id"])


async def account_view(api: Any, billing: Billing, account: str) -> dict[str, Any]:
    return (await api.data(ACCOUNT, {"id": account}, billing.token))["account"]


def money(value: Any) -> Decimal:
    return Decimal(value["amount"])


def at(day: str, hour: int = 12) -> datetime:
    """Noon UTC on ``day`` (morning in Chicago: the same local day)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


async def events_of(api: Any, token: str, event_type: str) -> list[dict[str, Any]]:
    return [e["node"] for e in (await api.data(EVENTS, {"type": event_type}, token))
            ["events"]["edges"]]
