"""Keeping search documents in step with their entities, and ranked search over them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.search.models import SearchDocument

MAX_QUERY_TERMS = 8
MAX_TEXT = 2000
#: A query of only digits and the punctuation phone numbers are written with.
#: SQLite only: the FTS5 trigram index over ``search_documents.text``, kept in step by
#: triggers (see the accounts migration). Not part of the models' metadata.
FTS = Table("search_documents_fts", MetaData(), Column("rowid", Integer), Column("text", Text))

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
    title starting with it, then a word starting with it, then anywhere; within a rank the
    shorter title (the closer match) first. Both databases order alike. Candidates come from
    a trigram index: GIN (pg_trgm) on PostgreSQL, an FTS5 trigram table on SQLite.
    """
    terms = terms_of(query)
    if not terms or not entity_types or limit <= 0:
        return []
    whole = " ".join(terms)
    sqlite = conn.dialect.name == "sqlite"
    conditions = [_contains(terms, sqlite)]
    phone = digits(whole)
    if len(phone) >= 4 and PHONE_LIKE.fullmatch(whole) and phone != whole.replace(" ", ""):
        # "(312) 555-0100" finds the digits the document keeps for phone numbers. Only a
        # query that is all phone number: "oak 62701" still needs "oak".
        conditions = [or_(conditions[0], _contains([phone], sqlite))]
    text = SearchDocument.text
    title = func.lower(SearchDocument.title)
    rank = case(
        (or_(title == whole, SearchDocument.exact_key == whole), 4),
        (title.startswith(whole, autoescape=True), 3),
        (or_(text.startswith(whole, autoescape=True),
             text.contains(" " + whole, autoescape=True)), 2),
        else_=1,
    )
    # On SQLite the type filter is kept off its index ("|| ''"): the planner would otherwise
    # walk every document of those types instead of starting from the trigram matches.
    of_type = SearchDocument.entity_type + "" if sqlite else SearchDocument.entity_type
    statement = (
        select(SearchDocument.entity_type, SearchDocument.entity_id, SearchDocument.company_id,
               SearchDocument.account_id, SearchDocument.title, SearchDocument.subtitle,
               rank.label("rank"))
        .where(of_type.in_(entity_types), *conditions)
        .order_by(rank.desc(), func.length(SearchDocument.title), SearchDocument.id)
        .limit(limit)
    )
    if company_id is not None:
        statement = statement.where(SearchDocument.company_id == company_id)
    rows = (await conn.execute(statement)).all()
    return [Hit(row.entity_type, row.entity_id, row.company_id, row.account_id, row.title,
                row.subtitle, _score(row.rank, whole, row.title)) for row in rows]


def _contains(terms: list[str], sqlite: bool) -> Any:
    """``text`` contains every term. On SQLite the terms of three or more characters are
    first looked up in the FTS5 trigram table (a phrase query there is a substring match);
    the documents are scanned only when every term is shorter."""
    condition = and_(*(SearchDocument.text.contains(t, autoescape=True) for t in terms))
    indexed = [t for t in terms if len(t) >= 3]
    if not sqlite or not indexed:
        return condition
    phrases = " AND ".join('"' + t.replace('"', '""') + '"' for t in indexed)
    found = select(FTS.c.rowid).where(literal_column(FTS.name).op("MATCH")(phrases))
    return and_(SearchDocument.id.in_(found), condition)


def _score(rank: int, whole: str, title: str) -> float:
    """The rank, plus how much of the title the query covers (below 1)."""
    return round(rank + 0.99 * min(1.0, len(whole) / max(len(title), 1)), 4)
