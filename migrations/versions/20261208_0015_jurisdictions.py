"""jurisdictions: countries and subdivisions already stored, in the one stored form

Revision ID: 0015_jurisdictions
Revises: 0014_credits
Create Date: 2026-12-08

Writes now store a country as its ISO 3166-1 alpha-2 code ("US") and a subdivision as the
part of its ISO 3166-2 code after the dash ("KS" of "US-KS"); rows written before were taken
as typed ("US-KS", "ks", "Kansas") and matched no tax rate. This rewrites them the same way.
A value that names no subdivision of its country is left as it is (staff correct it on the
next edit, which refuses it), and so is an address whose new form would repeat another
address of its company. A frozen copy of the rule (not an import of the app's), so this
revision does the same whatever the code becomes.
"""

import re
from collections import Counter
from collections.abc import Sequence
from functools import cache

import pycountry
import sqlalchemy as sa
from alembic import op


revision: str = '0015_jurisdictions'
down_revision: str | None = '0014_credits'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSTAL = ("line1", "line2", "unit", "city", "subdivision", "postal_code", "country")
#: (table, extra columns): the serviceable addresses also keep a key of their postal fields.
TABLES = (("companies", ()), ("tax_rates", ()), ("account_postal_addresses", ()),
          ("serviceable_addresses", ("company_id", "address_key", *POSTAL)))


@cache
def _stored_forms(country: str) -> dict[str, str]:
    subs = pycountry.subdivisions.get(country_code=country) or []
    names = Counter(s.name.casefold() for s in subs)
    forms = {s.name.casefold(): s.code.split("-", 1)[1] for s in subs
             if names[s.name.casefold()] == 1}
    for s in subs:
        forms[s.code.casefold()] = forms[s.code.split("-", 1)[1].casefold()] = (
            s.code.split("-", 1)[1])
    return forms


def _normalised(country: str | None, subdivision: str | None) -> tuple[str | None, str | None]:
    country = (country or "").strip().upper() or None
    text = (subdivision or "").strip()
    if country is None or not text:
        return country, text or None
    return country, _stored_forms(country).get(text.casefold(), subdivision)


def _address_key(values: dict) -> str:
    parts = [values.get(k) or "" for k in POSTAL]
    return "|".join(re.sub(r"[^\w]+", " ", p.casefold()).strip() for p in parts)[:700]


def upgrade() -> None:
    conn = op.get_bind()
    for name, extra in TABLES:
        columns = {"id", "country", "subdivision", *extra}
        table = sa.table(name, *(sa.column(c) for c in columns))
        rows = [dict(r._mapping) for r in conn.execute(sa.select(*table.c))]
        keys = {(r["company_id"], r["address_key"]) for r in rows} if extra else set()
        for row in rows:
            country, subdivision = _normalised(row["country"], row["subdivision"])
            if (country, subdivision) == (row["country"], row["subdivision"]):
                continue
            changes = {"country": country, "subdivision": subdivision}
            if extra:
                key = _address_key({**row, **changes})
                if key != row["address_key"] and (row["company_id"], key) in keys:
                    continue
                keys.discard((row["company_id"], row["address_key"]))
                keys.add((row["company_id"], key))
                changes["address_key"] = key
            conn.execute(table.update().where(table.c.id == row["id"]).values(**changes))


def downgrade() -> None:
    """The normalised values are valid in the earlier schema too: nothing to undo."""
