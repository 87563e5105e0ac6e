"""Types of the Preseem connection (usage pulled from Preseem's API)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.usage import models as m
from ispcore.schema.errors import UserError


@strawberry.type(description="A company's Preseem connection: every 5 minutes the usage "
                 "Preseem measured per subscriber is pulled, in 15-minute slots.")
class PreseemSettings:
    base_url: str = strawberry.field(description="Preseem's API address.")
    has_api_key: bool = strawberry.field(description="An API key is stored (sealed; it is "
                                         "never shown).")
    active: bool
    pulled_until: datetime | None = strawberry.field(
        description="Usage up to this instant has been pulled.")
    updated_at: datetime

    @classmethod
    def from_row(cls, row: m.PreseemSettings) -> PreseemSettings:
        return cls(base_url=row.base_url, has_api_key=bool(row.api_key_sealed),
                   active=row.active, pulled_until=row.pulled_until,
                   updated_at=row.updated_at)


@strawberry.input(description="Omitted fields stay. A new connection needs apiKey; baseUrl "
                  "defaults to https://api.preseem.com.")
class UpdatePreseemSettingsInput:
    company_id: relay.GlobalID
    base_url: str | None = UNSET
    api_key: str | None = strawberry.field(
        default=UNSET, description="Write-only: sealed with the server's vault key.")
    active: bool | None = UNSET


@strawberry.type
class UpdatePreseemSettingsPayload:
    preseem_settings: PreseemSettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
