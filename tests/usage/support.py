"""Helpers the usage tests share: a company with a customer on a data service, policies made
directly in the database, and crediting samples through the domain."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ispcore.domain.billing.models import Service
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage.ingest import Credited, Sample, Source, credit
from ispcore.domain.usage.models import UsageFreePeriod, UsagePolicy
from tests.billing.factories import Billing, add, billing_setup, customer

GB = 10**9


def pk_of(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().split(":", 1)[1])


@dataclass
class Usage:
    billing: Billing
    account: str

    @property
    def account_pk(self) -> int:
        return pk_of(self.account)

    @property
    def company_pk(self) -> int:
        return pk_of(self.billing.company)


async def usage_setup(api: Any, *, activation: str = "2026-10-01", **billing: Any) -> Usage:
    """A Chicago company billing on the 1st, with one customer on the Fibre data service."""
    setup = await billing_setup(api, **billing)
    account = await customer(api, setup, activation=activation)
    await add(api, setup, account, setup.fibre, startDate=activation)
    return Usage(setup, account)


async def attach_policy(runtime: Any, usage: Usage, *, free: tuple[tuple[int, int, int], ...]
                        = (), **values: Any) -> int:
    """A policy on the Fibre service (created in the database; the API is tested apart)."""
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        now = uow.clock.now()
        policy = UsagePolicy(company_id=usage.company_pk, name=values.pop("name", "500 GB"),
                             created_at=now, updated_at=now,
                             **{"cap_gb": 500, "notify_percents": [80, 100], **values})
        uow.session.add(policy)
        await uow.session.flush()
        for weekday, start, end in free:
            uow.session.add(UsageFreePeriod(company_id=usage.company_pk, policy_id=policy.id,
                                            weekday=weekday, start_minute=start,
                                            end_minute=end, created_at=now, updated_at=now))
        service = await uow.session.get_one(Service, pk_of(usage.billing.fibre))
        service.usage_policy_id = policy.id
        return policy.id


async def feed(runtime: Any, usage: Usage, *samples: tuple[str, datetime, datetime, int, int],
               source: Source = Source.API) -> Credited:
    """Credit ``(key, start, end, bytes_in, bytes_out)`` samples to the usage's account."""
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        return await credit(uow, usage.company_pk, source, [
            Sample(usage.account_pk, key, start, end, bytes_in, bytes_out)
            for key, start, end, bytes_in, bytes_out in samples])
