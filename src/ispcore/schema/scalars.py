"""Scalars with stricter rules than strawberry's defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("A DateTime is an ISO 8601 string.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date and time.") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset; write e.g. 2026-03-01T14:00:00Z.")
    return moment.astimezone(UTC)


#: Every timestamp in the API: ISO 8601 with an offset. Input without one is refused, so no
#: instant is ever guessed.
AwareDateTime = strawberry.scalar(
    name="DateTime",
    description="An instant, ISO 8601 with a UTC offset (2026-03-01T14:00:00Z).",
    serialize=lambda value: value.isoformat(),
    parse_value=_parse_datetime,
)

SCALAR_MAP: dict[object, Any] = {datetime: AwareDateTime}
