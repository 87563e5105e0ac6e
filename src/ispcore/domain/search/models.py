from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import company_fk


class SearchDocument(IdMixin, Base):
    """The searchable text of one entity, kept in step by the services that change it.

    One table for every searchable type makes ``search`` a single indexed query: a trigram
    GIN index on PostgreSQL; SQLite scans it.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        UniqueConstraint("entity_type", "entity_id"),
        Index("ix_search_documents_text_trgm", "text", postgresql_using="gin",
              postgresql_ops={"text": "gin_trgm_ops"}, info={"dialects": ("postgresql",)}),
    )
    company_id: Mapped[int] = company_fk()
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(BigId)
    #: The account the entity belongs to (none for an address): results show it.
    account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    subtitle: Mapped[str] = mapped_column(String(300), default="")
    #: An identifier (an account number), lower-cased: a query equal to it ranks as high as
    #: one equal to the title.
    exact_key: Mapped[str | None] = mapped_column(String(100))
    #: Lower-cased words to match: names, numbers, emails, phone digits, address lines.
    text: Mapped[str] = mapped_column(String(2000))
