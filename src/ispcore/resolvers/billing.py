"""Root fields for billing: settings, the catalogue, account services and terms, the ledger,
invoices, runs and the billing calculator."""

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.billing import account_services as services
from ispcore.domain.billing import account_terms as extras
from ispcore.domain.billing import catalogue, invoices, quote, runs, settings, transactions
from ispcore.domain.billing.catalogue import Kind
from ispcore.domain.billing.money import from_minor
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.records import company_of
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node, list_nodes
from ispcore.resolvers.mutations import user_errors
from ispcore.schema import billing as s
from ispcore.schema.accounts import Account, AccountType, IdInput
from ispcore.schema.billing import (
    AccountBilling,
    AccountDiscount,
    AccountService,
    AccountVacation,
    BillingDefaults,
    BillingQuote,
    BillingRun,
    BillingSettings,
    Discount,
    GlCode,
    Invoice,
    InvoiceLine,
    InvoiceMessage,
    LedgerEntry,
    Package,
    PendingCharge,
    QuoteLine,
    Service,
    TaxExemption,
    TaxRate,
)
from ispcore.schema.companies import Company
from ispcore.schema.errors import UserError
from ispcore.schema.money import Money
from ispcore.schema.nodes import Connection, global_id
from ispcore.schema.permissions import requires
from ispcore.schema.records import ScheduledEvent
from ispcore.schema.usage import UsagePolicy

READ = "billing:read"
WRITE = "billing:write"
CONFIGURE = "billing:configure"
RUN = "billing:run"

IDS = {"company_id": Company, "gl_code_id": GlCode, "service_id": Service,
       "package_id": Package, "account_type_id": AccountType, "account_id": Account,
       "discount_id": Discount, "tax_rate_id": TaxRate, "invoice_id": Invoice,
       "usage_policy_id": UsagePolicy}


# --- settings and terms ----------------------------------------------------------------------

async def _update_settings(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True, nullable=("bill_day",))
    values.pop("company_id")
    row = await settings.update_company_settings(uow, pk(data.company_id, Company,
                                                         "company_id"), values)
    return {"billing_settings": BillingSettings.from_row(row)}


async def _set_defaults(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True, nullable=("bill_day",))
    values.pop("account_type_id")
    return {"billing_defaults": await settings.set_type_defaults(
        uow, pk(data.account_type_id, AccountType, "account_type_id"), values)}


async def _update_account_billing(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True, nullable=("bill_day",))
    values.pop("account_id")
    return {"account_billing": await settings.update_account_terms(
        uow, pk(data.account_id, Account, "account_id"), values)}


@strawberry.type
class UpdateBillingSettingsPayload:
    billing_settings: BillingSettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


# --- catalogue -----------------------------------------------------------------------------

def _package_values(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("services") is not None:
        values["services"] = [(pk(m.service_id, Service, f"services.{i}.service_id"),
                               m.quantity) for i, m in enumerate(values["services"])]
    return values


def _catalogue_commands(kind: Kind, node: Any, create_input: Any, update_input: Any,
                        nullable: tuple[str, ...] = ()) -> tuple[Any, Any, Any]:
    name = node.__name__
    field = "".join("_" + ch.lower() if ch.isupper() else ch for ch in name).lstrip("_")

    async def create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        values = _package_values(values_of(data, IDS))
        return {field: await catalogue.create(uow, kind, values)}

    async def update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        values = _package_values(values_of(data, IDS, update=True, nullable=nullable))
        return {field: await catalogue.update(uow, kind, pk(data.id, node), values)}

    async def delete(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        return {"deleted_id": global_id(await catalogue.remove(uow, kind, pk(data.id, node)))}

    return (
        command(create, input_type=create_input, permission=CONFIGURE,
                payload=payload_type(f"Create{name}", field, node),
                description=f"Create a {kind.what}."),
        command(update, input_type=update_input, permission=CONFIGURE,
                payload=payload_type(f"Update{name}", field, node),
                description=f"Change a {kind.what}; omitted fields stay."),
        command(delete, input_type=IdInput, permission=CONFIGURE,
                payload=payload_type(f"Delete{name}", "deleted_id", node),
                description=f"Delete a {kind.what} nothing uses."),
    )


_gl = _catalogue_commands(catalogue.GL_CODE, GlCode, s.CreateGlCodeInput, s.UpdateGlCodeInput)
_services = _catalogue_commands(
    catalogue.SERVICE, Service, s.CreateServiceInput, s.UpdateServiceInput,
    nullable=("expires_after_cycles", "vacation_price", "download_kbps", "upload_kbps",
              "usage_policy_id", "topup_gb"))
_packages = _catalogue_commands(catalogue.PACKAGE, Package, s.CreatePackageInput,
                                s.UpdatePackageInput, nullable=("price", "gl_code_id"))
_discounts = _catalogue_commands(catalogue.DISCOUNT, Discount, s.CreateDiscountInput,
                                 s.UpdateDiscountInput)
_rates = _catalogue_commands(catalogue.TAX_RATE, TaxRate, s.CreateTaxRateInput,
                             s.UpdateTaxRateInput, nullable=("subdivision",))
_messages = _catalogue_commands(catalogue.INVOICE_MESSAGE, InvoiceMessage,
                                s.CreateInvoiceMessageInput, s.UpdateInvoiceMessageInput,
                                nullable=("account_type_id", "starts_on", "ends_on"))


# --- account services ------------------------------------------------------------------------

@strawberry.type
class AccountServiceChangePayload:
    account_service: AccountService | None = None
    scheduled_event: ScheduledEvent | None = strawberry.field(
        default=None, description="Set when the change waits for a later day.")
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _add_service(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"account_service": await services.add_service(uow, values_of(data, IDS))}


async def _add_package(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"account_service": await services.add_package(uow, values_of(data, IDS))}


def _account_service_id(data: Any) -> int:
    return pk(data.account_service_id, AccountService, "account_service_id")


async def _remove_service(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row, event = await services.remove(uow, _account_service_id(data), data.date)
    return {"account_service": row, "scheduled_event": event}


async def _change_quantity(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row, event = await services.change_quantity(uow, _account_service_id(data), data.quantity,
                                                data.date)
    return {"account_service": row, "scheduled_event": event}


async def _change_price(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row, event = await services.change_price(uow, _account_service_id(data),
                                             data.price_override, data.date, data.currency)
    return {"account_service": row, "scheduled_event": event}


async def _give_discount(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"account_discount": await extras.give_discount(uow, values_of(data, IDS))}


async def _take_discount(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await extras.take_discount_back(uow, pk(data.id, AccountDiscount))
    return {"deleted_id": global_id(row)}


async def _exempt(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"tax_exemption": await extras.exempt(uow, values_of(data, IDS))}


async def _change_exemption(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True, nullable=("expires_on", "reason"))
    return {"tax_exemption": await extras.change_exemption(uow, pk(data.id, TaxExemption),
                                                           values)}


async def _remove_exemption(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"deleted_id": global_id(await extras.remove_exemption(uow,
                                                                  pk(data.id, TaxExemption)))}


async def _add_vacation(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"account_vacation": await extras.add_vacation(uow, values_of(data, IDS))}


async def _remove_vacation(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await extras.remove_vacation(uow, pk(data.id, AccountVacation))
    return {"deleted_id": global_id(row)}


# --- ledger, invoices, runs --------------------------------------------------------------------

async def _manual(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"transaction": await transactions.post_manual(uow, values_of(data, IDS))}


async def _void_transaction(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"transaction": await transactions.void_entry(uow, pk(data.id, LedgerEntry),
                                                         data.reason)}


async def _issue(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    ids = [pk(gid, Invoice, "ids") for gid in data.ids]
    return {"invoices": await invoices.issue(uow, ids)}


async def _void_invoice(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"invoice": await invoices.void(uow, pk(data.id, Invoice), data.reason)}


async def _update_line(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True)
    return {"invoice": await invoices.update_draft_line(uow, pk(data.id, InvoiceLine), values)}


async def _add_line(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"invoice": await invoices.add_draft_line(uow, values_of(data, IDS))}


async def _remove_line(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"invoice": await invoices.remove_draft_line(uow, pk(data.id, InvoiceLine))}


async def _run(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"billing_run": await runs.request_run(
        uow, pk(data.company_id, Company, "company_id"), data.date)}


@strawberry.type
class IssueInvoicesPayload:
    invoices: list[Invoice] | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BillingQuotePayload:
    quote: BillingQuote | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _quote(info: Info, data: Any) -> BillingQuotePayload:
    try:
        account_id = pk(data.account_id, Account, "account_id")
        changes = [quote.Change(
            kind=quote.ChangeKind(c.kind.value),
            service_id=pk(c.service_id, Service, f"changes.{i}.service_id")
            if c.service_id else None,
            account_service_id=pk(c.account_service_id, AccountService,
                                  f"changes.{i}.account_service_id")
            if c.account_service_id else None,
            quantity=c.quantity, price=c.price, date=c.date)
            for i, c in enumerate(data.changes or [])]
        async with info.context.unit_of_work("billingQuote") as uow:
            account = await uow.session.get(Account.model, account_id)
            if account is None:
                raise DomainError("No such account.", field="account_id")
            result = await quote.quote(uow, account_id, changes, data.date)
            currency = (await company_of(uow, account.company_id)).currency
    except DomainError as exc:
        return BillingQuotePayload(errors=user_errors(exc))

    def cash(minor: int) -> Money:
        return Money(amount=from_minor(minor, currency), currency=currency)

    lines = [QuoteLine(kind=li.kind, description=li.description,
                       period_start=li.period.start if li.period else None,
                       period_end=li.period.end if li.period else None, quantity=li.quantity,
                       unit_price=cash(li.unit_price), amount=cash(li.amount),
                       discount=cash(li.discount), tax=cash(li.tax), total=cash(li.total))
             for li in result.lines]
    return BillingQuotePayload(quote=BillingQuote(
        period_start=result.period.start if result.period else None,
        period_end=result.period.end if result.period else None,
        next_bill_date=result.next_bill_date, lines=lines, subtotal=cash(result.subtotal),
        discount_total=cash(result.discount_total), tax_total=cash(result.tax_total),
        total=cash(result.total)))


def listing(node: Any, inputs: Any, search: tuple[Any, ...], description: str, *,
            permission: str = READ) -> Any:
    """A root connection field of ``node`` (``first``, ``after``, ``filter``, ``orderBy``)
    that needs ``permission`` (billing:read unless said); ``search`` names the columns a
    text search looks in."""

    async def resolve(self: Any, info: Info, first: int | None = None,
                      after: str | None = None, filter: inputs.filter | None = None,
                      order_by: list[inputs.order] | None = None) -> Connection[node]:
        return await list_nodes(info, node, inputs, first=first, after=after, filter=filter,
                                order_by=order_by, search=search)

    return strawberry.field(resolve, extensions=requires(permission), description=description)


@strawberry.type
class BillingQuery:
    @strawberry.field(extensions=requires(READ), description="A company's billing settings.")
    async def billing_settings(self, info: Info, company_id: relay.GlobalID
                               ) -> BillingSettings | None:
        company = await fetch_node(info, Company, company_id)
        if company is None:
            return None
        async with info.context.unit_of_work("billingSettings") as uow:
            row = await settings.company_settings(uow, company.pk, create=False)
            return BillingSettings.from_row(row)

    gl_codes = listing(GlCode, s.GL_CODE_LISTING, (GlCode.model.code, GlCode.model.name),
                        "General ledger codes.")
    services = listing(Service, s.SERVICE_LISTING, (Service.model.name,), "Services sold.")
    packages = listing(Package, s.PACKAGE_LISTING, (Package.model.name,), "Packages sold.")
    discounts = listing(Discount, s.DISCOUNT_LISTING, (Discount.model.name,), "Discounts.")
    tax_rates = listing(TaxRate, s.TAX_RATE_LISTING, (TaxRate.model.name,), "Tax rates.")
    invoice_messages = listing(InvoiceMessage, s.INVOICE_MESSAGE_LISTING,
                                (InvoiceMessage.model.message,), "Invoice messages.")
    account_services = listing(AccountService, s.ACCOUNT_SERVICE_LISTING, (),
                                "Services and packages on accounts.")
    transactions = listing(LedgerEntry, s.LEDGER_ENTRY_LISTING,
                            (LedgerEntry.model.description,), "Ledger entries.")
    invoices = listing(Invoice, s.INVOICE_LISTING, (Invoice.model.number,), "Invoices.")
    billing_runs = listing(BillingRun, s.BILLING_RUN_LISTING, (),
                            "Billing runs: status, counts and failures.")
    pending_charges = listing(PendingCharge, s.PENDING_CHARGE_LISTING,
                               (PendingCharge.model.description,),
                               "Charges and credits waiting for (or put on) an invoice.")

    @strawberry.field(extensions=requires(READ))
    async def invoice(self, info: Info, id: relay.GlobalID) -> Invoice | None:
        return await fetch_node(info, Invoice, id)

    @strawberry.field(extensions=requires(READ), description="The billing calculator: the "
                      "lines of an account's next invoice, as things stand or with proposed "
                      "changes. Nothing is written.")
    async def billing_quote(self, info: Info, input: s.BillingQuoteInput
                            ) -> BillingQuotePayload:
        return await _quote(info, input)


@strawberry.type
class BillingMutation:
    update_billing_settings = command(
        _update_settings, input_type=s.UpdateBillingSettingsInput, permission=CONFIGURE,
        payload=UpdateBillingSettingsPayload, description="Change a company's billing settings.")
    set_billing_defaults = command(
        _set_defaults, input_type=s.SetBillingDefaultsInput, permission=CONFIGURE,
        payload=payload_type("SetBillingDefaults", "billing_defaults", BillingDefaults),
        description="Set the billing terms new accounts of a type get.")
    update_account_billing = command(
        _update_account_billing, input_type=s.UpdateAccountBillingInput, permission=WRITE,
        payload=payload_type("UpdateAccountBilling", "account_billing", AccountBilling),
        description="Change one account's billing terms.")
    create_gl_code, update_gl_code, delete_gl_code = _gl
    create_service, update_service, delete_service = _services
    create_package, update_package, delete_package = _packages
    create_discount, update_discount, delete_discount = _discounts
    create_tax_rate, update_tax_rate, delete_tax_rate = _rates
    create_invoice_message, update_invoice_message, delete_invoice_message = _messages

    add_service_to_account = command(
        _add_service, input_type=s.AddServiceToAccountInput, permission=WRITE,
        payload=payload_type("AddServiceToAccount", "account_service", AccountService),
        description="Put a service on an account from a day; it is billed from then.")
    add_package_to_account = command(
        _add_package, input_type=s.AddPackageToAccountInput, permission=WRITE,
        payload=payload_type("AddPackageToAccount", "account_service", AccountService),
        description="Put a package (and its services) on an account.")
    remove_service_from_account = command(
        _remove_service, input_type=s.RemoveServiceFromAccountInput, permission=WRITE,
        payload=AccountServiceChangePayload, description="Remove a service or package: days "
        "billed ahead are credited on the next invoice.")
    change_account_service_quantity = command(
        _change_quantity, input_type=s.ChangeAccountServiceQuantityInput, permission=WRITE,
        payload=AccountServiceChangePayload, description="Change how many of a service an "
        "account has, prorated from the day.")
    change_account_service_price = command(
        _change_price, input_type=s.ChangeAccountServicePriceInput, permission=WRITE,
        payload=AccountServiceChangePayload, description="Override (or restore) the price of a "
        "service on an account, prorated from the day.")
    give_account_discount = command(
        _give_discount, input_type=s.GiveAccountDiscountInput, permission=WRITE,
        payload=payload_type("GiveAccountDiscount", "account_discount", AccountDiscount),
        description="Give an account a discount, for some invoices or until a day.")
    remove_account_discount = command(
        _take_discount, input_type=IdInput, permission=WRITE,
        payload=payload_type("RemoveAccountDiscount", "deleted_id", AccountDiscount),
        description="Stop a discount on an account.")
    create_tax_exemption = command(
        _exempt, input_type=s.CreateTaxExemptionInput, permission=WRITE,
        payload=payload_type("CreateTaxExemption", "tax_exemption", TaxExemption),
        description="Exempt an account from a tax rate.")
    update_tax_exemption = command(
        _change_exemption, input_type=s.UpdateTaxExemptionInput, permission=WRITE,
        payload=payload_type("UpdateTaxExemption", "tax_exemption", TaxExemption),
        description="Change an exemption's expiry or reason.")
    delete_tax_exemption = command(
        _remove_exemption, input_type=IdInput, permission=WRITE,
        payload=payload_type("DeleteTaxExemption", "deleted_id", TaxExemption),
        description="End a tax exemption.")
    add_account_vacation = command(
        _add_vacation, input_type=s.AddAccountVacationInput, permission=WRITE,
        payload=payload_type("AddAccountVacation", "account_vacation", AccountVacation),
        description="Put an account in vacation mode for some days.")
    remove_account_vacation = command(
        _remove_vacation, input_type=IdInput, permission=WRITE,
        payload=payload_type("RemoveAccountVacation", "deleted_id", AccountVacation),
        description="Cancel a vacation.")

    create_manual_transaction = command(
        _manual, input_type=s.CreateManualTransactionInput, permission=WRITE, idempotent=True,
        payload=payload_type("CreateManualTransaction", "transaction", LedgerEntry),
        description="Debit or credit an account by hand (its payer's, for a child billed to "
        "its parent). A debit is invoiced at once; a credit goes to the open invoices, oldest "
        "first, and the rest stays as credit for the next invoice.")
    void_transaction = command(
        _void_transaction, input_type=s.VoidInput, permission=WRITE,
        payload=payload_type("VoidTransaction", "transaction", LedgerEntry),
        description="Reverse a manual transaction or a write-off (a manual debit: with its "
        "invoice); what a credit had paid is owed again. Returns the reversing entry.")
    issue_invoices = command(
        _issue, input_type=s.IssueInvoicesInput, permission=WRITE,
        payload=IssueInvoicesPayload, description="Issue draft invoices: numbered, posted, "
        "announced.")
    void_invoice = command(
        _void_invoice, input_type=s.VoidInput, permission=WRITE,
        payload=payload_type("VoidInvoice", "invoice", Invoice),
        description="Void an invoice: its ledger entries are reversed.")
    update_draft_invoice_line = command(
        _update_line, input_type=s.UpdateDraftInvoiceLineInput, permission=WRITE,
        payload=payload_type("UpdateDraftInvoiceLine", "invoice", Invoice),
        description="Change a line of a draft invoice; taxes and totals follow.")
    add_draft_invoice_line = command(
        _add_line, input_type=s.AddDraftInvoiceLineInput, permission=WRITE,
        payload=payload_type("AddDraftInvoiceLine", "invoice", Invoice),
        description="Add a line to a draft invoice.")
    remove_draft_invoice_line = command(
        _remove_line, input_type=IdInput, permission=WRITE,
        payload=payload_type("RemoveDraftInvoiceLine", "invoice", Invoice),
        description="Remove a line from a draft invoice.")
    run_billing = command(
        _run, input_type=s.RunBillingInput, permission=RUN,
        payload=payload_type("RunBilling", "billing_run", BillingRun),
        description="Queue a billing run: every account due by the day is billed.")
