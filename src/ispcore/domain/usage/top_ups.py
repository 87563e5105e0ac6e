"""Buying a data top-up: a one-time service carrying ``topup_gb`` is put on the account
(billed on its next invoice like any one-time service) and its gigabytes are added to the
allowance of the current period; a throttle the top-up lifts is lifted."""

from __future__ import annotations

from sqlalchemy import select

from ispcore.domain.accounts import service as accounts
from ispcore.domain.billing import account_services
from ispcore.domain.billing.catalogue import ServiceKind
from ispcore.domain.billing.models import Service
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.records import load
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.usage import caps
from ispcore.domain.usage.ingest import account_terms, period_of
from ispcore.domain.usage.models import UsagePolicy, UsageTopUp


async def purchase(uow: UnitOfWork, account_id: int, service_id: int) -> UsageTopUp:
    """Sell the top-up ``service_id`` to ``account_id`` for its current period."""
    account = await accounts.get_account(uow, account_id)
    service = await load(uow, Service, service_id, field="service_id", what="service",
                         company_id=account.company_id)
    if service.kind != ServiceKind.ONE_TIME or not service.topup_gb:
        raise DomainError(f"{service.name} is not a data top-up (a one-time service with "
                          "top-up gigabytes).", field="service_id")
    terms = (await account_terms(uow, account.company_id, [account.id]))[account.id]
    policy = (await uow.session.scalar(select(UsagePolicy).where(
        UsagePolicy.id == terms.policy_id)) if terms.policy_id is not None else None)
    if policy is None or policy.cap_gb is None or not policy.active:
        raise DomainError("The account has no data service with a data cap; there is no "
                          "allowance to top up.", field="account_id")
    row = await account_services.add_service(uow, {"account_id": account.id,
                                                   "service_id": service.id})
    today = uow.clock.now().astimezone(terms.zone).date()
    start, end = period_of(today, terms.anchor_day)
    top_up = UsageTopUp(company_id=account.company_id, account_id=account.id,
                        period_start=start, gigabytes=service.topup_gb,
                        account_service_id=row.id, purchased_at=uow.clock.now())
    uow.session.add(top_up)
    await uow.session.flush()
    record_event(uow, "usage.top_up_purchased", company_id=account.company_id, entity=top_up,
                 payload={"account_id": account.id, "service_id": service.id,
                          "account_service_id": row.id, "gigabytes": service.topup_gb,
                          "period_start": start.isoformat(), "period_end": end.isoformat()})
    await caps.recheck(uow, account.id)
    return top_up
