"""Keeping search documents in step with their entities, and ranked search over them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, case, delete, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.search.models import SearchDocument

MAX_QUERY_TERMS = 8
MAX_TEXT = 2000
#: A query of only digits and the punctuation phone numbers are written with.
PHONE_LIKE = re.compile(r"[\d\s()+\-./]+")


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


async def index_document(uow: UnitOfWork, *, entity_type: str, entity_id: int,
                         company_id: int, title: str, subtitle: str = "",
                         parts: Iterable[str | None] = (), account_id: int | None = None,
                         exact_key: str | None = None) -> None:
    """Create or replace the search document of one entity, in the caller's transaction.
    ``exact_key`` (an account number) ranks first when the query is exactly it."""
    text = _normalise(" ".join(p for p in (title, *parts) if p))[:MAX_TEXT]
    document = await uow.session.scalar(select(SearchDocument).where(
        SearchDocument.entity_type == entity_type, SearchDocument.entity_id == entity_id))
    if document is None:
        document = SearchDocument(entity_type=entity_type, entity_id=entity_id)
        uow.session.add(document)
    document.company_id = company_id
    document.account_id = account_id
    document.title = title[:300]
    document.subtitle = subtitle[:300]
    document.exact_key = _normalise(exact_key)[:100] if exact_key else None
    document.text = text


async def remove_documents(uow: UnitOfWork, entity_type: str, entity_ids: list[int]) -> None:
    if entity_ids:
        await uow.session.execute(delete(SearchDocument).where(
            SearchDocument.entity_type == entity_type, SearchDocument.entity_id.in_(entity_ids)))


@dataclass(frozen=True)
class Hit:
    entity_type: str
    entity_id: int
    company_id: int
    account_id: int | None
    title: str
    subtitle: str
    score: float


def terms_of(query: str) -> list[str]:
    return _normalise(query).split()[:MAX_QUERY_TERMS]


async def search(conn: AsyncConnection, query: str, *, entity_types: list[str],
                 company_id: int | None, limit: int) -> list[Hit]:
    """Documents containing every term of ``query``, best first.

    Rank: the whole query equal to the title or the exact key (an account number), then the
    title starting with it, then a word starting with it, then anywhere; on PostgreSQL
    trigram similarity orders within a rank (and the GIN trigram index finds the candidates).
    """
    terms = terms_of(query)
    if not terms or not entity_types or limit <= 0:
        return []
    whole = " ".join(terms)
    text = SearchDocument.text
    title = func.lower(SearchDocument.title)
    conditions = [text.contains(term, autoescape=True) for term in terms]
    phone = digits(whole)
    if len(phone) >= 4 and PHONE_LIKE.fullmatch(whole) and phone != whole.replace(" ", ""):
        # "(312) 555-0100" finds the digits the document keeps for phone numbers. Only a
        # query that is all phone number: "oak 62701" still needs "oak".
        conditions = [or_(and_(*conditions), text.contains(phone, autoescape=True))]
    rank = case(
        (or_(title == whole, SearchDocument.exact_key == whole), 4),
        (title.startswith(whole, autoescape=True), 3),
        (or_(text.startswith(whole, autoescape=True),
             text.contains(" " + whole, autoescape=True)), 2),
        else_=1,
    )
    is_postgres = conn.dialect.name == "postgresql"
    similarity = func.similarity(text, whole) if is_postgres else literal(0.0)
    statement = (
        select(SearchDocument.entity_type, SearchDocument.entity_id, SearchDocument.company_id,
               SearchDocument.account_id, SearchDocument.title, SearchDocument.subtitle,
               rank.label("rank"), similarity.label("similarity"))
        .where(SearchDocument.entity_type.in_(entity_types), *conditions)
        .order_by(rank.desc(), similarity.desc(), func.length(SearchDocument.title),
                  SearchDocument.id)
        .limit(limit)
    )
    if company_id is not None:
        statement = statement.where(SearchDocument.company_id == company_id)
    rows = (await conn.execute(statement)).all()
    return [Hit(row.entity_type, row.entity_id, row.company_id, row.account_id, row.title,
                row.subtitle, round(float(row.rank) + float(row.similarity or 0) * 0.99, 4))
            for row in rows]
