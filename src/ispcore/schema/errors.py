"""``UserError``: how every mutation reports bad input (no write happened)."""

from __future__ import annotations

import strawberry

from ispcore.domain.common.errors import ErrorCode as DomainErrorCode

ErrorCode = strawberry.enum(DomainErrorCode, name="ErrorCode",
                            description="Stable machine-readable reason a mutation refused.")


@strawberry.type(description="A problem with the input; nothing was written.")
class UserError:
    field: str | None = strawberry.field(
        description="The input field at fault, as named in the schema (camelCase), if any."
    )
    code: ErrorCode
    message: str
