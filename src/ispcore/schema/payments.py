"""Payment types: payments, their allocations and refunds, payment settings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.billing import payment_models as m
from ispcore.domain.billing.payments import Method as DomainMethod
from ispcore.domain.billing.payments import Status as DomainStatus
from ispcore.schema.accounts import Account
from ispcore.schema.billing import GlCode, Invoice, LedgerEntry
from ispcore.schema.filtering import DateFilter, DateTimeFilter, IdOf, StringFilter, listing_inputs
from ispcore.schema.identity import User
from ispcore.schema.money import Money, money
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.relations import Many, One, relation

READ = "billing:read"

PaymentMethodType = strawberry.enum(DomainMethod, name="PaymentType", description=(
    "How the money came: CASH, CHECK, BANK_TRANSFER, CARD, ACH or OTHER."))
PaymentStatus = strawberry.enum(DomainStatus, description=(
    "PENDING: sent to a processor (or waiting for an ACH file); UNKNOWN: the processor's "
    "answer was lost, the reconciler asks again; COMPLETED: in the ledger; FAILED: never "
    "collected; REVERSED: collected, then returned (a bounced cheque)."))


@strawberry.type(description="A payment's share of an invoice (negative when taken back by "
                 "a refund, reversal or void).")
@model_node(m.PaymentAllocation, read_permission=READ)
class PaymentAllocation(ModelNode):
    created_at: datetime
    company_id: strawberry.Private[int]
    payment_id: strawberry.Private[int]
    invoice_id: strawberry.Private[int]
    amount_minor: strawberry.Private[int]

    amount: Money = money("amount_minor")
    invoice: Invoice | None = relation(One("Invoice", "invoice_id"))
    payment: Payment | None = relation(One("Payment", "payment_id"))


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

    amount: Money = money("amount_minor")
    unapplied: Money = money("unallocated_minor")
    refunded: Money = money("refunded_minor")
    account: Account | None = relation(One("Account", "account_id"))
    user: User | None = relation(One("User", "user_id"))
    autopay_invoice: Invoice | None = relation(
        One("Invoice", "autopay_invoice_id"), description="The invoice autopay charged for.")
    allocations: list[PaymentAllocation] | None = relation(
        Many("PaymentAllocation", "payment_id"), description="Where the money went, in order.")
    refunds: list[Refund] | None = relation(Many("Refund", "payment_id"))
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
    updated_at: datetime
    company_id: strawberry.Private[int]
    payment_gl_code_id: strawberry.Private[int]
    fee_gl_code_id: strawberry.Private[int]
    returned_payment_fee_minor: strawberry.Private[int]

    returned_payment_fee: Money = money("returned_payment_fee_minor")
    payment_gl_code: GlCode | None = relation(One("GlCode", "payment_gl_code_id"))
    fee_gl_code: GlCode | None = relation(One("GlCode", "fee_gl_code_id"))


PAYMENT_LISTING = listing_inputs(
    "Payment", {"id": IdOf("Payment"), "company_id": IdOf("Company"),
                "account_id": IdOf("Account"), "status": StringFilter, "method": StringFilter,
                "reference": StringFilter, "received_on": DateFilter,
                "created_at": DateTimeFilter}, order_by=["received_at", "created_at"])


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
