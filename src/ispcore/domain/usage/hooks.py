"""Where other areas' changes reach usage: a data service given another usage policy has its
accounts checked against the new policy at once (throttled or set free, CoA to live
sessions); new usage is split by the new policy's free periods from then on. Changes to the
address plan reach running NetFlow collectors through :mod:`.plan_notices`."""

from __future__ import annotations

from typing import Any

import ispcore.domain.usage.plan_notices  # noqa: F401  (registers its session hooks)
from ispcore.domain.billing import catalogue
from ispcore.domain.billing.models import Service
from ispcore.domain.common.records import company_of
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage import caps
from ispcore.domain.usage.policies import accounts_on


async def _service_updated(uow: UnitOfWork, row: Any, changed: set[str]) -> None:
    if isinstance(row, Service) and "usage_policy_id" in changed:
        company = await company_of(uow, row.company_id)
        await caps.recheck(uow, await accounts_on(uow, company, [row.id]))


def register() -> None:
    if _service_updated not in catalogue.UPDATED_HOOKS:
        catalogue.UPDATED_HOOKS.append(_service_updated)


register()
