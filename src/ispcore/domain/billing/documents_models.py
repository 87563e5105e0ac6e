"""Invoice documents: each company's invoice template, and batches of invoices printed into
one PDF or prepared for email. A batch's PDF lives in its own table, so listing batches never
reads the file."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import company_fk, user_fk
from ispcore.domain.common.models import Audited, Timestamps


class InvoiceTemplate(IdMixin, Timestamps, Audited, Base):
    """A company's invoice layout; ``html`` null means the built-in template."""

    __tablename__ = "invoice_templates"
    audit_secrets = {"logo": "logo_changed"}
    company_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    html: Mapped[str | None] = mapped_column(Text)
    logo: Mapped[bytes | None] = mapped_column(LargeBinary)
    logo_media_type: Mapped[str | None] = mapped_column(String(40))
    remittance_slip: Mapped[bool] = mapped_column(default=True)
    footer: Mapped[str] = mapped_column(String(2000), default="")


class DocumentBatch(IdMixin, Base):
    """Invoices printed together (PRINT) or prepared for sending (EMAIL)."""

    __tablename__ = "document_batches"
    __table_args__ = (Index("ix_document_batches_company_created", "company_id", "created_at"),)
    company_id: Mapped[int] = company_fk()
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    #: What chose the invoices, when no list was given.
    issued_on: Mapped[date | None] = mapped_column(Date)
    only_paper_accounts: Mapped[bool] = mapped_column(default=False)
    invoice_count: Mapped[int]
    requested_by_user_id: Mapped[int | None] = user_fk()
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(1000))


class DocumentBatchItem(IdMixin, Base):
    """One invoice of a batch; for EMAIL, who it goes to, or why it does not."""

    __tablename__ = "document_batch_items"
    company_id: Mapped[int] = mapped_column(BigId)
    document_batch_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("document_batches.id", ondelete="CASCADE"), index=True)
    invoice_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("invoices.id", ondelete="RESTRICT"), index=True)
    position: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))
    #: Addresses, comma-separated.
    recipient: Mapped[str | None] = mapped_column(String(1000))
    subject: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(500))


class DocumentBatchFile(IdMixin, Base):
    """The PDF a PRINT batch produced."""

    __tablename__ = "document_batch_files"
    document_batch_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("document_batches.id", ondelete="CASCADE"), unique=True)
    media_type: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    page_count: Mapped[int]
    created_at: Mapped[datetime]
