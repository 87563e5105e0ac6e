"""Payment tables: payments and credits and how they are spread over invoices, refunds,
payment methods on file, cheque batches (deposit slips) and ACH files. Amounts are integer
minor units."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import account_fk, company_fk, partial_unique, user_fk
from ispcore.domain.billing.models import Minor, gl_code_fk, kept_account_fk, partial_index, ref
from ispcore.domain.common.models import Audited, Timestamps


class PaymentSettings(IdMixin, Timestamps, Audited, Base):
    """A company's payment bookkeeping and its ACH originator details."""

    __tablename__ = "payment_settings"
    audit_exclude = frozenset({"ach_offset_account_sealed"})
    company_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    #: Where payments (credits) and refunds are posted.
    payment_gl_code_id: Mapped[int] = gl_code_fk()
    #: Where returned-payment fees are posted.
    fee_gl_code_id: Mapped[int] = gl_code_fk()
    returned_payment_fee_minor: Mapped[int] = mapped_column(Minor, default=0)
    #: NACHA file header and batch header fields (see ``ach.py``).
    ach_destination_routing: Mapped[str | None] = mapped_column(String(9))
    ach_destination_name: Mapped[str | None] = mapped_column(String(23))
    ach_origin_id: Mapped[str | None] = mapped_column(String(10))
    ach_origin_name: Mapped[str | None] = mapped_column(String(23))
    ach_company_id: Mapped[str | None] = mapped_column(String(10))
    ach_company_name: Mapped[str | None] = mapped_column(String(16))
    ach_odfi_routing: Mapped[str | None] = mapped_column(String(9))
    ach_entry_description: Mapped[str] = mapped_column(String(10), default="ISP BILL")
    #: The company's own account the debits settle to (the file's offsetting credit).
    ach_offset_routing: Mapped[str | None] = mapped_column(String(9))
    ach_offset_account_sealed: Mapped[str | None] = mapped_column(String(400))


class PaymentMethod(IdMixin, Timestamps, Audited, Base):
    """A card or bank account on file: only a processor's token and what identifies it to a
    person (brand, last four, expiry). A bank account for in-house ACH keeps its routing
    number and its account number sealed (encrypted with the vault key)."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        partial_unique("uq_payment_methods_default", "account_id",
                       where="is_default AND active"),
    )
    audit_exclude = frozenset({"sealed_account_number"})
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    kind: Mapped[str] = mapped_column(String(12))
    processor: Mapped[str] = mapped_column(String(12))
    token: Mapped[str] = mapped_column(String(200))
    processor_customer: Mapped[str | None] = mapped_column(String(100))
    holder_name: Mapped[str] = mapped_column(String(200), default="")
    brand: Mapped[str | None] = mapped_column(String(20))
    last_four: Mapped[str] = mapped_column(String(4))
    expiry_month: Mapped[int | None]
    expiry_year: Mapped[int | None]
    bank_account_type: Mapped[str | None] = mapped_column(String(10))
    routing_number: Mapped[str | None] = mapped_column(String(9))
    sealed_account_number: Mapped[str | None] = mapped_column(String(400))
    is_default: Mapped[bool] = mapped_column(default=False)
    #: Charge the account's invoices to this method on their due date.
    autopay: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class PaymentBatch(IdMixin, Timestamps, Audited, Base):
    """Cheques (or cash) entered together; closing the batch makes its deposit slip."""

    __tablename__ = "payment_batches"
    company_id: Mapped[int] = company_fk()
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    deposit_slip_number: Mapped[str | None] = mapped_column(String(40))
    deposited_on: Mapped[date | None] = mapped_column(Date)
    payment_count: Mapped[int] = mapped_column(default=0)
    total_minor: Mapped[int] = mapped_column(Minor, default=0)
    closed_at: Mapped[datetime | None]
    closed_by_user_id: Mapped[int | None] = user_fk()


class AchFile(IdMixin, Base):
    """A NACHA file as built. Its text holds customers' bank account numbers, so it is kept
    sealed with the vault key, and opened only for those who may run billing."""

    __tablename__ = "ach_files"
    __table_args__ = (UniqueConstraint("company_id", "created_on", "file_id_modifier"),)
    company_id: Mapped[int] = company_fk()
    created_on: Mapped[date] = mapped_column(Date)
    effective_on: Mapped[date] = mapped_column(Date)
    file_id_modifier: Mapped[str] = mapped_column(String(1))
    entry_count: Mapped[int]
    total_minor: Mapped[int] = mapped_column(Minor)
    sealed_content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    user_id: Mapped[int | None] = user_fk()


class Payment(IdMixin, Base):
    """Money received (or being collected) from an account. Only a COMPLETED payment is in
    the ledger and spread over invoices; ``unallocated_minor`` is what is left as credit."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("company_id", "idempotency_key"),
        partial_index("ix_payments_credit", "account_id", where="unallocated_minor > 0"),
        partial_index("ix_payments_unsettled", "company_id",
                      where="status IN ('PENDING', 'UNKNOWN')"),
    )
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = kept_account_fk()
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Minor)
    unallocated_minor: Mapped[int] = mapped_column(Minor, default=0)
    refunded_minor: Mapped[int] = mapped_column(Minor, default=0)
    reference: Mapped[str] = mapped_column(String(200), default="")
    received_at: Mapped[datetime]
    received_on: Mapped[date] = mapped_column(Date)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    payment_method_id: Mapped[int | None] = ref("payment_methods", ondelete="SET NULL")
    processor: Mapped[str | None] = mapped_column(String(12))
    #: The processor's id of the charge, and the key that makes asking again safe.
    processor_reference: Mapped[str | None] = mapped_column(String(100))
    processor_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    #: Set on the one autopay charge of an invoice: an invoice is never autopaid twice.
    autopay_invoice_id: Mapped[int | None] = mapped_column(BigId, unique=True)
    batch_id: Mapped[int | None] = ref("payment_batches")
    ach_file_id: Mapped[int | None] = ref("ach_files")
    reversed_at: Mapped[datetime | None]
    reversal_reason: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]


class CreditKind(StrEnum):
    #: Given by staff (a goodwill credit, a correction).
    MANUAL = "MANUAL"
    #: An invoice whose lines come to less than nothing (a service removed after it was
    #: billed, say): it owes nothing and credits the account the difference.
    CREDIT_NOTE = "CREDIT_NOTE"
    #: What an invoice had left to pay, given up as uncollectable.
    WRITE_OFF = "WRITE_OFF"


class Credit(IdMixin, Base):
    """Money owed back to an account that is not a payment: a manual credit, a credit note
    (an invoice whose lines come to less than nothing) or a write-off. It is spread over the
    account's open invoices exactly as a payment is (see ``allocation``); a write-off goes to
    the one invoice it writes off. ``unallocated_minor`` is what is left as credit."""

    __tablename__ = "credits"
    __table_args__ = (
        partial_index("ix_credits_unapplied", "account_id", where="unallocated_minor > 0"),
    )
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = kept_account_fk()
    kind: Mapped[str] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(Minor)
    unallocated_minor: Mapped[int] = mapped_column(Minor)
    description: Mapped[str] = mapped_column(String(300))
    #: The manual credit's or write-off's ledger entry (a credit note's are its invoice's).
    ledger_entry_id: Mapped[int | None] = mapped_column(BigId, index=True)
    #: The credit note, or the invoice written off.
    invoice_id: Mapped[int | None] = mapped_column(BigId, index=True)
    #: Set when voided: what it had put on invoices was taken back.
    voided_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]


#: Every allocation comes from exactly one payment or one credit.
ONE_SOURCE = "(payment_id IS NULL) <> (credit_id IS NULL)"


class PaymentAllocation(IdMixin, Base):
    """Part of a payment or a credit put on an invoice (positive) or taken back off it
    (negative): an append-only record; a source's share of an invoice is the sum of its
    rows."""

    __tablename__ = "payment_allocations"
    __table_args__ = (Index("ix_payment_allocations_invoice", "invoice_id", "payment_id"),
                      CheckConstraint(ONE_SOURCE, name="one_source"))
    company_id: Mapped[int] = mapped_column(BigId)
    payment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("payments.id", ondelete="RESTRICT"), index=True)
    credit_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("credits.id", ondelete="RESTRICT"), index=True)
    invoice_id: Mapped[int] = mapped_column(BigId, ForeignKey("invoices.id",
                                                              ondelete="RESTRICT"))
    amount_minor: Mapped[int] = mapped_column(Minor)
    created_at: Mapped[datetime]


class Refund(IdMixin, Base):
    __tablename__ = "refunds"
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    payment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("payments.id", ondelete="RESTRICT"), index=True)
    amount_minor: Mapped[int] = mapped_column(Minor)
    reason: Mapped[str] = mapped_column(String(500), default="")
    processor_reference: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(BigId)
    created_at: Mapped[datetime]
