"""Payment types: payments, their allocations and refunds, payment settings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.billing import payment_methods as pm
from ispcore.domain.billing import payment_models as m
from ispcore.domain.billing.batches import totals_by_method
from ispcore.domain.billing.payments import Method as DomainMethod
from ispcore.domain.billing.payments import Status as DomainStatus
from ispcore.domain.billing.processors import ProcessorName
from ispcore.domain.common import vault
from ispcore.schema.accounts import Account
from ispcore.schema.billing import GlCode, Invoice, LedgerEntry
from ispcore.schema.errors import UserError
from ispcore.schema.filtering import DateFilter, DateTimeFilter, IdOf, StringFilter, listing_inputs
from ispcore.schema.identity import User
from ispcore.schema.money import Money, money
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.permissions import requires
from ispcore.schema.relations import Many, One, relation

READ = "billing:read"

PaymentMethodType = strawberry.enum(DomainMethod, name="PaymentType", description=(
    "How the money came: CASH, CHECK, BANK_TRANSFER, CARD, ACH or OTHER."))
PaymentStatus = strawberry.enum(DomainStatus, description=(
    "PENDING: sent to a processor (or waiting for an ACH file); UNKNOWN: the processor's "
    "answer was lost, the reconciler asks again; COMPLETED: in the ledger; FAILED: never "
    "collected; REVERSED: collected, then returned (a bounced cheque)."))


PaymentMethodKind = strawberry.enum(pm.Kind, name="PaymentMethodKind",
                                    description="CARD or BANK_ACCOUNT.")
PaymentProcessor = strawberry.enum(ProcessorName, name="PaymentProcessor", description=(
    "Who collects: MANUAL (staff run it on an outside terminal and confirm), STRIPE, or ACH "
    "(in-house: a NACHA file collects it)."))
BankAccountType = strawberry.enum(pm.BankAccountType, name="BankAccountType")


@strawberry.type(description="A card or bank account on file: its processor's token and what "
                 "tells a person which one it is. Never a card number; a bank account "
                 "number is kept sealed and never shown, only its last four digits.")
@model_node(m.PaymentMethod, read_permission=READ)
class PaymentMethod(ModelNode):
    kind: PaymentMethodKind
    processor: PaymentProcessor
    token: str = strawberry.field(description="The processor's id of it (Stripe: pm_…).")
    processor_customer: str | None = strawberry.field(
        description="The processor's customer it belongs to (Stripe: cus_…).")
    holder_name: str
    brand: str | None
    last_four: str
    expiry_month: int | None
    expiry_year: int | None
    bank_account_type: BankAccountType | None
    routing_number: str | None
    is_default: bool
    autopay: bool = strawberry.field(description="Autopay charges invoices on their due "
                                     "date to the account's default method.")
    active: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]

    account: Account | None = relation(One("Account", "account_id"))


CreditKind = strawberry.enum(m.CreditKind, description="MANUAL: given by staff; CREDIT_NOTE: "
                             "an invoice whose lines came to less than nothing; WRITE_OFF: "
                             "what an invoice had left to pay, given up.")


@strawberry.type(description="A payment's or a credit's share of an invoice (negative when "
                 "taken back by a refund, reversal or void).")
@model_node(m.PaymentAllocation, read_permission=READ)
class PaymentAllocation(ModelNode):
    created_at: datetime
    company_id: strawberry.Private[int]
    payment_id: strawberry.Private[int | None]
    credit_id: strawberry.Private[int | None]
    invoice_id: strawberry.Private[int]
    amount_minor: strawberry.Private[int]

    amount: Money = money("amount_minor")
    invoice: Invoice | None = relation(One("Invoice", "invoice_id"))
    payment: Payment | None = relation(One("Payment", "payment_id"),
                                       description="Null when the money is a credit's.")
    credit: Credit | None = relation(One("Credit", "credit_id"),
                                     description="Null when the money is a payment's.")


@strawberry.type(description="Money owed back to an account that is not a payment: a manual "
                 "credit, a credit note or a write-off. Like a payment's money it goes to the "
                 "account's open invoices, oldest first (a write-off: to the invoice it writes "
                 "off); what is left is unapplied credit, which the next invoice takes.")
@model_node(m.Credit, read_permission=READ)
class Credit(ModelNode):
    kind: CreditKind
    currency: str
    description: str
    created_at: datetime
    voided_at: datetime | None = strawberry.field(
        description="Set when voided: what it had put on invoices was taken back.")
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    amount_minor: strawberry.Private[int]
    unallocated_minor: strawberry.Private[int]
    ledger_entry_id: strawberry.Private[int | None]
    invoice_id: strawberry.Private[int | None]
    user_id: strawberry.Private[int | None]

    amount: Money = money("amount_minor")
    unapplied: Money = money("unallocated_minor", description="Not on any invoice yet.")
    account: Account | None = relation(One("Account", "account_id"))
    invoice: Invoice | None = relation(One("Invoice", "invoice_id"),
                                       description="The credit note, or the invoice written off.")
    transaction: LedgerEntry | None = relation(
        One("LedgerEntry", "ledger_entry_id"),
        description="A manual credit's or write-off's ledger entry (a credit note's are its "
        "invoice's).")
    user: User | None = relation(One("User", "user_id"), description="Who gave it.")
    allocations: list[PaymentAllocation] | None = relation(
        Many("PaymentAllocation", "credit_id"), description="Where it went, in order.")


@strawberry.type(description="Money given back from a payment.")
@model_node(m.Refund, read_permission=READ)
class Refund(ModelNode):
    reason: str
    processor_reference: str | None
    created_at: datetime
    company_id: strawberry.Private[int]
    payment_id: strawberry.Private[int]
    amount_minor: strawberry.Private[int]
    user_id: strawberry.Private[int | None]

    amount: Money = money("amount_minor")
    payment: Payment | None = relation(One("Payment", "payment_id"))
    user: User | None = relation(One("User", "user_id"))


@strawberry.type(description="What a deposit slip shows for one way of paying.")
class MethodTotal:
    method: PaymentMethodType
    count: int
    company_id: strawberry.Private[int]
    total_minor: strawberry.Private[int]
    total: Money = money("total_minor")


@strawberry.type(description="Cheques and cash entered together; closed, it is a deposit "
                 "slip.")
@model_node(m.PaymentBatch, read_permission=READ)
class PaymentBatch(ModelNode):
    name: str
    status: str = strawberry.field(description="OPEN, or CLOSED into its deposit slip.")
    deposit_slip_number: str | None
    deposited_on: date | None
    payment_count: int
    closed_at: datetime | None
    created_at: datetime
    company_id: strawberry.Private[int]
    total_minor: strawberry.Private[int]
    closed_by_user_id: strawberry.Private[int | None]

    total: Money = money("total_minor")
    closed_by: User | None = relation(One("User", "closed_by_user_id"))
    payments: list[Payment] | None = relation(Many("Payment", "batch_id"))

    @strawberry.field(description="Count and total per way of paying (the deposit slip).")
    async def totals(self, info: Info) -> list[MethodTotal]:
        async with info.context.unit_of_work("paymentBatchTotals") as uow:
            rows = await totals_by_method(uow.session, self.pk)
        return [MethodTotal(method=PaymentMethodType(method), count=count,
                            company_id=self.company_id, total_minor=total)
                for method, count, total in rows]


@strawberry.type(description="A NACHA file of ACH debits, as sent to the bank.")
@model_node(m.AchFile, read_permission=READ)
class AchFile(ModelNode):
    created_on: date
    effective_on: date
    file_id_modifier: str
    entry_count: int = strawberry.field(description="Entries, the offsetting credit included.")
    sealed_content: strawberry.Private[str]

    @strawberry.field(extensions=requires("billing:run"), description="The file as sent to "
                      "the bank (94-character records). It holds bank account numbers: kept "
                      "sealed, and shown only to those who may run billing.")
    def content(self, info: Info) -> str:
        return vault.unseal(info.context.runtime.settings.vault_key, self.sealed_content,
                            field="content")
    created_at: datetime
    company_id: strawberry.Private[int]
    total_minor: strawberry.Private[int]
    total: Money = money("total_minor")
    payments: list[Payment] | None = relation(Many("Payment", "ach_file_id"))


@strawberry.type(description="Money received from an account, or being collected from it.")
@model_node(m.Payment, read_permission=READ)
class Payment(ModelNode):
    method: PaymentMethodType
    status: PaymentStatus
    currency: str
    reference: str
    received_at: datetime
    received_on: date = strawberry.field(description="In the company's time zone.")
    processor: str | None
    processor_reference: str | None
    failure_reason: str | None
    reversed_at: datetime | None
    reversal_reason: str | None
    created_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    amount_minor: strawberry.Private[int]
    unallocated_minor: strawberry.Private[int]
    refunded_minor: strawberry.Private[int]
    user_id: strawberry.Private[int | None]
    autopay_invoice_id: strawberry.Private[int | None]
    batch_id: strawberry.Private[int | None]
    ach_file_id: strawberry.Private[int | None]
    payment_method_id: strawberry.Private[int | None]

    amount: Money = money("amount_minor")
    unapplied: Money = money("unallocated_minor")
    refunded: Money = money("refunded_minor")
    account: Account | None = relation(One("Account", "account_id"))
    user: User | None = relation(One("User", "user_id"))
    payment_method: PaymentMethod | None = relation(
        One("PaymentMethod", "payment_method_id"), description="The method on file charged.")
    autopay_invoice: Invoice | None = relation(
        One("Invoice", "autopay_invoice_id"), description="The invoice autopay charged for.")
    allocations: list[PaymentAllocation] | None = relation(
        Many("PaymentAllocation", "payment_id"), description="Where the money went, in order.")
    refunds: list[Refund] | None = relation(Many("Refund", "payment_id"))
    batch: PaymentBatch | None = relation(One("PaymentBatch", "batch_id"))
    ach_file: AchFile | None = relation(One("AchFile", "ach_file_id"),
                                        description="The NACHA file that collected it.")
    transactions: list[LedgerEntry] | None = relation(
        Many("LedgerEntry", "payment_id"), description="Its ledger entries.")


@strawberry.type(description="How a company's payments are booked.")
@model_node(m.PaymentSettings, read_permission=READ)
class PaymentSettings(ModelNode):
    ach_destination_routing: str | None
    ach_destination_name: str | None
    ach_origin_id: str | None
    ach_origin_name: str | None
    ach_company_id: str | None
    ach_company_name: str | None
    ach_odfi_routing: str | None
    ach_entry_description: str
    ach_offset_routing: str | None
    updated_at: datetime
    company_id: strawberry.Private[int]
    payment_gl_code_id: strawberry.Private[int]
    fee_gl_code_id: strawberry.Private[int]
    returned_payment_fee_minor: strawberry.Private[int]

    returned_payment_fee: Money = money("returned_payment_fee_minor")
    ach_offset_account_sealed: strawberry.Private[str | None]

    @strawberry.field(description="Whether the settlement account for ACH is set.")
    def ach_offset_account_set(self) -> bool:
        return bool(self.ach_offset_account_sealed)
    payment_gl_code: GlCode | None = relation(One("GlCode", "payment_gl_code_id"))
    fee_gl_code: GlCode | None = relation(One("GlCode", "fee_gl_code_id"))


PAYMENT_BATCH_LISTING = listing_inputs(
    "PaymentBatch", {"id": IdOf("PaymentBatch"), "company_id": IdOf("Company"),
                     "status": StringFilter, "deposited_on": DateFilter,
                     "created_at": DateTimeFilter}, order_by=["created_at"])
ACH_FILE_LISTING = listing_inputs(
    "AchFile", {"id": IdOf("AchFile"), "company_id": IdOf("Company"),
                "created_on": DateFilter}, order_by=["created_at"])
CREDIT_LISTING = listing_inputs(
    "Credit", {"id": IdOf("Credit"), "company_id": IdOf("Company"),
               "account_id": IdOf("Account"), "kind": StringFilter,
               "invoice_id": IdOf("Invoice"), "created_at": DateTimeFilter},
    order_by=["created_at"])
PAYMENT_LISTING = listing_inputs(
    "Payment", {"id": IdOf("Payment"), "company_id": IdOf("Company"),
                "account_id": IdOf("Account"), "status": StringFilter, "method": StringFilter,
                "batch_id": IdOf("PaymentBatch"), "ach_file_id": IdOf("AchFile"),
                "reference": StringFilter, "received_on": DateFilter,
                "created_at": DateTimeFilter}, order_by=["received_at", "created_at"])


@strawberry.input
class WriteOffInvoiceInput:
    invoice_id: relay.GlobalID
    gl_code_id: relay.GlobalID = strawberry.field(description="Where the loss is booked (bad "
                                                  "debt, say).")
    reason: str
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the first result.")


@strawberry.input
class CreatePaymentInput:
    account_id: relay.GlobalID
    amount: Decimal = strawberry.field(description="More than zero, in the company's currency.")
    method: PaymentMethodType
    reference: str | None = strawberry.field(
        default=None, description="Cheque number, transfer reference, receipt number.")
    received_at: datetime | None = strawberry.field(
        default=None, description="When the money came (default: now); not in the future.")
    currency: str | None = strawberry.field(
        default=None, description="If stated, must be the company's currency.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Sending the same payment again with the same key returns "
        "the first one; the key with another payment is an error.")


@strawberry.input
class RefundPaymentInput:
    id: relay.GlobalID
    amount: Decimal | None = strawberry.field(
        default=None, description="Default: all that is left of the payment.")
    reason: str | None = None


@strawberry.input
class ReversePaymentInput:
    id: relay.GlobalID
    reason: str = strawberry.field(description="Why it came back, e.g. 'NSF'.")
    fee: Decimal | None = strawberry.field(
        default=None, description="A returned-payment fee to charge.")
    charge_fee: bool = strawberry.field(
        default=False, description="Charge the company's usual returned-payment fee.")


@strawberry.input
class UpdatePaymentSettingsInput:
    company_id: relay.GlobalID
    payment_gl_code_id: relay.GlobalID | None = UNSET
    fee_gl_code_id: relay.GlobalID | None = UNSET
    returned_payment_fee: Decimal | None = UNSET
    ach_destination_routing: str | None = UNSET
    ach_destination_name: str | None = UNSET
    ach_origin_id: str | None = UNSET
    ach_origin_name: str | None = UNSET
    ach_company_id: str | None = UNSET
    ach_company_name: str | None = UNSET
    ach_odfi_routing: str | None = UNSET
    ach_entry_description: str | None = UNSET
    ach_offset_routing: str | None = UNSET
    ach_offset_account: str | None = strawberry.field(
        default=UNSET, description="Kept sealed; only whether it is set is shown.")


@strawberry.input
class OpenPaymentBatchInput:
    company_id: relay.GlobalID
    name: str | None = None


@strawberry.input
class BatchPaymentInput:
    account_id: relay.GlobalID
    amount: Decimal
    method: PaymentMethodType = DomainMethod.CHECK
    reference: str | None = None
    received_at: datetime | None = None
    idempotency_key: str | None = None


@strawberry.input
class RecordBatchPaymentsInput:
    batch_id: relay.GlobalID
    payments: list[BatchPaymentInput]


@strawberry.input
class ClosePaymentBatchInput:
    id: relay.GlobalID
    deposited_on: date | None = None
    slip_number: str | None = strawberry.field(
        default=None, description="Default: DS- and the batch number.")


@strawberry.input
class CreateAchFileInput:
    company_id: relay.GlobalID
    date: date | None = strawberry.field(
        default=None, description="Take ACH payments received by this day (default today).")


PAYMENT_METHOD_LISTING = listing_inputs(
    "PaymentMethod", {"id": IdOf("PaymentMethod"), "company_id": IdOf("Company"),
                      "account_id": IdOf("Account"), "kind": StringFilter,
                      "processor": StringFilter, "last_four": StringFilter,
                      "created_at": DateTimeFilter}, order_by=["created_at"])


@strawberry.input
class AddPaymentMethodInput:
    account_id: relay.GlobalID
    kind: PaymentMethodKind
    processor: PaymentProcessor
    token: str | None = strawberry.field(default=None, description=(
        "STRIPE: the PaymentMethod id (pm_…) Stripe.js made in the customer's browser. "
        "MANUAL: the terminal's token, if any. Never a card number."))
    processor_customer: str | None = strawberry.field(default=None, description=(
        "STRIPE: the Customer (cus_…) the payment method is attached to (default: Stripe's "
        "answer)."))
    holder_name: str | None = None
    brand: str | None = strawberry.field(default=None, description="MANUAL cards (STRIPE: "
                                         "read from Stripe).")
    last_four: str | None = strawberry.field(default=None, description=(
        "MANUAL: four digits (STRIPE: read from Stripe; ACH: from the account number)."))
    expiry_month: int | None = None
    expiry_year: int | None = None
    bank_account_type: BankAccountType | None = strawberry.field(
        default=None, description="ACH: CHECKING (default) or SAVINGS.")
    routing_number: str | None = strawberry.field(
        default=None, description="ACH: the bank's 9-digit ABA routing number.")
    account_number: str | None = strawberry.field(default=None, description=(
        "ACH: kept sealed with the server's vault key and never returned."))
    make_default: bool = strawberry.field(default=False, description=(
        "Make it the account's default (an account's first method always is)."))
    autopay: bool = strawberry.field(default=False, description=(
        "Charge invoices to it on their due date (the default method only; not MANUAL)."))


@strawberry.input
class UpdatePaymentMethodInput:
    id: relay.GlobalID
    holder_name: str | None = UNSET
    expiry_month: int | None = UNSET
    expiry_year: int | None = UNSET
    is_default: bool | None = strawberry.field(default=UNSET, description=(
        "true makes it the default (the old default loses it, and its autopay)."))
    autopay: bool | None = UNSET


@strawberry.input
class ChargePaymentMethodInput:
    payment_method_id: relay.GlobalID
    amount: Decimal = strawberry.field(description="More than zero, in the company's currency.")
    reference: str | None = strawberry.field(default=None, description=(
        "MANUAL: the terminal's approval or receipt number."))
    idempotency_key: str | None = strawberry.field(default=None, description=(
        "Sending the charge again with the same key returns the first payment and charges "
        "nothing."))


@strawberry.input
class ReconcilePaymentsInput:
    company_id: relay.GlobalID


@strawberry.type(description="What the reconciler did.")
class ReconcilePaymentsPayload:
    checked: int = 0
    completed: int = 0
    failed: int = 0
    unsettled: int = strawberry.field(default=0, description="Still PENDING or UNKNOWN.")
    errors: list[UserError] = strawberry.field(default_factory=list)
