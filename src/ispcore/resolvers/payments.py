"""Root fields for payments: recording, refunding and reversing them, and their settings."""

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.billing import ach, batches, collect, payment_methods, payments, transactions
from ispcore.domain.common.records import company_of
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import (
    OpenUow,
    command,
    flow_command,
    payload_type,
    pk,
    values_of,
)
from ispcore.resolvers.connections import fetch_node
from ispcore.schema import payments as s
from ispcore.schema.accounts import Account, IdInput
from ispcore.schema.billing import GlCode, Invoice
from ispcore.schema.companies import Company
from ispcore.schema.payments import (
    AchFile,
    Credit,
    Payment,
    PaymentBatch,
    PaymentMethod,
    PaymentSettings,
    Refund,
)
from ispcore.schema.permissions import requires

READ = "billing:read"
WRITE = "billing:write"
CONFIGURE = "billing:configure"
RUN = "billing:run"

IDS = {"account_id": Account, "payment_gl_code_id": GlCode, "fee_gl_code_id": GlCode,
       "gl_code_id": GlCode, "invoice_id": Invoice}


async def _create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"payment": await payments.create_payment(
        uow, values_of(data, IDS, exclude=("id",)))}


async def _refund(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"refund": await payments.refund_payment(uow, pk(data.id, Payment), data.amount,
                                                    data.reason)}


async def _reverse(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"payment": await payments.reverse_payment(
        uow, pk(data.id, Payment), data.reason, data.fee, data.charge_fee)}


async def _write_off(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"credit": await transactions.write_off(uow, values_of(data, IDS))}


async def _update_settings(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True)
    company_id = pk(values.pop("company_id"), Company, "company_id")
    return {"payment_settings": await payments.update_payment_settings(
        uow, company_id, values, uow_vault_key(uow))}


def uow_vault_key(uow: UnitOfWork) -> str | None:
    return uow.settings.vault_key


async def _open_batch(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"payment_batch": await batches.open_batch(uow, pk(data.company_id, Company,
                                                             "company_id"), data.name)}


async def _record_batch(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    entries = [values_of(entry, IDS, exclude=()) for entry in data.payments]
    recorded = await batches.add_payments(uow, pk(data.batch_id, PaymentBatch, "batch_id"),
                                          entries)
    return {"payments": recorded}


async def _close_batch(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"payment_batch": await batches.close_batch(
        uow, pk(data.id, PaymentBatch), data.deposited_on, data.slip_number)}


async def _ach_file(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"ach_file": await ach.create_file(uow, pk(data.company_id, Company, "company_id"),
                                              data.date, uow_vault_key(uow))}


async def _add_method(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"payment_method": await payment_methods.add_payment_method(
        uow, values_of(data, IDS))}


async def _update_method(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True, exclude=("id",))
    return {"payment_method": await payment_methods.update_payment_method(
        uow, pk(data.id, PaymentMethod), values)}


async def _remove_method(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"payment_method": await payment_methods.remove_payment_method(
        uow, pk(data.id, PaymentMethod))}


async def _charge(open_uow: OpenUow, data: Any) -> dict[str, Any]:
    return {"payment": await collect.charge_method(
        open_uow, pk(data.payment_method_id, PaymentMethod, "payment_method_id"),
        data.amount, key=data.idempotency_key, reference=data.reference)}


async def _reconcile(open_uow: OpenUow, data: Any) -> dict[str, Any]:
    company_id = pk(data.company_id, Company, "company_id")
    async with open_uow() as uow:
        await company_of(uow, company_id)
    return await collect.reconcile(open_uow, company_id=company_id)


@strawberry.type
class PaymentQuery:
    payments = listing(Payment, s.PAYMENT_LISTING, (Payment.model.reference,),
                       "Payments received and being collected.")
    credits = listing(Credit, s.CREDIT_LISTING, (Credit.model.description,),
                      "Credits that are not payments: manual credits, credit notes and "
                      "write-offs.")
    payment_batches = listing(PaymentBatch, s.PAYMENT_BATCH_LISTING, (PaymentBatch.model.name,),
                              "Payment batches and their deposit slips.")
    ach_files = listing(AchFile, s.ACH_FILE_LISTING, (), "NACHA files made.")
    payment_methods = listing(
        PaymentMethod, s.PAYMENT_METHOD_LISTING,
        (PaymentMethod.model.holder_name, PaymentMethod.model.last_four),
        "Cards and bank accounts on file (filter by account; removed ones are inactive).")

    @strawberry.field(extensions=requires(READ))
    async def payment(self, info: Info, id: relay.GlobalID) -> Payment | None:
        return await fetch_node(info, Payment, id)

    @strawberry.field(extensions=requires(READ), description="How a company's payments are "
                      "booked (made with default ledger codes on first use).")
    async def payment_settings(self, info: Info, company_id: relay.GlobalID
                               ) -> PaymentSettings | None:
        company = await fetch_node(info, Company, company_id)
        if company is None:
            return None
        async with info.context.unit_of_work("paymentSettings") as uow:
            row = await payments.payment_settings(uow, company.pk)
            return PaymentSettings.from_model(row)


@strawberry.type
class PaymentMutation:
    create_payment = command(
        _create, input_type=s.CreatePaymentInput, permission=WRITE, idempotent=True,
        payload=payload_type("CreatePayment", "payment", Payment),
        description="Record a payment: applied to the account's open invoices, oldest due "
        "first; the rest stays as credit for the next invoice.")
    refund_payment = command(
        _refund, input_type=s.RefundPaymentInput, permission=WRITE,
        payload=payload_type("RefundPayment", "refund", Refund),
        description="Give back all or part of a payment; the invoices it paid are owed "
        "again, newest first.")
    reverse_payment = command(
        _reverse, input_type=s.ReversePaymentInput, permission=WRITE,
        payload=payload_type("ReversePayment", "payment", Payment),
        description="A payment that came back (a bounced cheque): the account owes it "
        "again, with a returned-payment fee if asked.")
    write_off_invoice = command(
        _write_off, input_type=s.WriteOffInvoiceInput, permission=WRITE, idempotent=True,
        payload=payload_type("WriteOffInvoice", "credit", Credit),
        description="Give up what an issued invoice has left to pay: a credit on the ledger "
        "code given that pays the rest of that invoice (voidTransaction on its entry takes "
        "it back).")
    update_payment_settings = command(
        _update_settings, input_type=s.UpdatePaymentSettingsInput, permission=CONFIGURE,
        payload=payload_type("UpdatePaymentSettings", "payment_settings", PaymentSettings),
        description="Change how a company's payments are booked, and its ACH details.")
    open_payment_batch = command(
        _open_batch, input_type=s.OpenPaymentBatchInput, permission=WRITE,
        payload=payload_type("OpenPaymentBatch", "payment_batch", PaymentBatch),
        description="Start a batch of cheques and cash to deposit together.")
    record_batch_payments = command(
        _record_batch, input_type=s.RecordBatchPaymentsInput, permission=WRITE,
        payload=payload_type("RecordBatchPayments", "payments", list[Payment]),
        description="Enter many payments into an open batch: all are recorded, or none.")
    close_payment_batch = command(
        _close_batch, input_type=s.ClosePaymentBatchInput, permission=WRITE,
        payload=payload_type("ClosePaymentBatch", "payment_batch", PaymentBatch),
        description="Close a batch into its deposit slip (count and totals).")
    create_ach_file = command(
        _ach_file, input_type=s.CreateAchFileInput, permission=RUN,
        payload=payload_type("CreateAchFile", "ach_file", AchFile),
        description="Write the NACHA file of the pending ACH debits received by a day; "
        "they are collected (posted and applied).")
    add_payment_method = command(
        _add_method, input_type=s.AddPaymentMethodInput, permission=WRITE,
        payload=payload_type("AddPaymentMethod", "payment_method", PaymentMethod),
        description="Keep a card (its processor's token, brand, last four, expiry) or a "
        "bank account on file for an account.")
    update_payment_method = command(
        _update_method, input_type=s.UpdatePaymentMethodInput, permission=WRITE,
        payload=payload_type("UpdatePaymentMethod", "payment_method", PaymentMethod),
        description="Change a method's expiry, holder, default or autopay.")
    remove_payment_method = command(
        _remove_method, input_type=IdInput, permission=WRITE,
        payload=payload_type("RemovePaymentMethod", "payment_method", PaymentMethod),
        description="Stop using a method on file (kept inactive for the payments made "
        "with it); a default removed leaves the account with none.")
    charge_payment_method = flow_command(
        _charge, input_type=s.ChargePaymentMethodInput, permission=WRITE,
        payload=payload_type("ChargePaymentMethod", "payment", Payment),
        description="Charge a method on file. The payment comes back COMPLETED (applied "
        "like any payment), FAILED (declined: failureReason says why), or PENDING / UNKNOWN "
        "(the processor has not answered yet; the reconciler settles it, never charging "
        "twice). In-house ACH payments stay PENDING until a NACHA file collects them.")
    reconcile_payments = flow_command(
        _reconcile, input_type=s.ReconcilePaymentsInput, permission=RUN,
        payload=s.ReconcilePaymentsPayload,
        description="Ask the processors now about the company's PENDING and UNKNOWN charges "
        "older than a minute, and settle them (the reconciler also runs every 5 minutes).")
