"""Root fields for collections: delinquency settings, the sweep, delinquent accounts,
exclusions and late fees."""

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.billing import delinquency, exclusions
from ispcore.domain.billing import delinquency_settings as dsettings
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.resolvers.billing import CONFIGURE, READ, RUN, WRITE, listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node
from ispcore.resolvers.mutations import user_errors
from ispcore.schema import collections as s
from ispcore.schema.accounts import Account, AccountGroup, AccountStatus, IdInput
from ispcore.schema.billing import GlCode
from ispcore.schema.collections import (
    AccountDelinquency,
    DelinquencyExclusion,
    DelinquencySettings,
    LateFee,
)
from ispcore.schema.companies import Company
from ispcore.schema.errors import UserError
from ispcore.schema.nodes import global_id
from ispcore.schema.permissions import requires

IDS = {"delinquent_status_id": AccountStatus, "fee_gl_code_id": GlCode,
       "account_id": Account, "account_group_id": AccountGroup}


@strawberry.type
class UpdateDelinquencySettingsPayload:
    delinquency_settings: DelinquencySettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="What a sweep did.")
class RunDelinquencySweepPayload:
    made_delinquent: int = 0
    cleared: int = 0
    late_fees: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _update_settings(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True,
                       nullable=("delinquent_status_id", "minimum_overdue", "late_fee_amount",
                                 "late_fee_percent", "paper_invoice_fee", "fee_gl_code_id"))
    values.pop("company_id")
    row = await dsettings.update_delinquency_settings(
        uow, pk(data.company_id, Company, "company_id"), values)
    return {"delinquency_settings": DelinquencySettings.from_row(row)}


async def _create_exclusion(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"delinquency_exclusion": await exclusions.create_exclusion(
        uow, values_of(data, IDS))}


async def _update_exclusion(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True, nullable=("until",))
    return {"delinquency_exclusion": await exclusions.update_exclusion(
        uow, pk(data.id, DelinquencyExclusion), values)}


async def _delete_exclusion(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await exclusions.delete_exclusion(uow, pk(data.id, DelinquencyExclusion))
    return {"deleted_id": global_id(row)}


async def _sweep(self: Any, info: Info, input: s.RunDelinquencySweepInput
                 ) -> RunDelinquencySweepPayload:
    """Batches commit one by one (as the hourly job's do), so this is not one command."""
    try:
        company_id = pk(input.company_id, Company, "company_id")
        counts = await delinquency.sweep_company(
            lambda: info.context.unit_of_work("runDelinquencySweep"), company_id)
    except DomainError as exc:
        return RunDelinquencySweepPayload(errors=user_errors(exc))
    return RunDelinquencySweepPayload(made_delinquent=counts.made_delinquent,
                                      cleared=counts.cleared, late_fees=counts.late_fees)


@strawberry.type
class CollectionsQuery:
    @strawberry.field(extensions=requires(READ), description="A company's delinquency and "
                      "fee settings.")
    async def delinquency_settings(self, info: Info, company_id: relay.GlobalID
                                   ) -> DelinquencySettings | None:
        company = await fetch_node(info, Company, company_id)
        if company is None:
            return None
        async with info.context.unit_of_work("delinquencySettings") as uow:
            row = await dsettings.delinquency_settings(uow, company.pk, create=False)
            return DelinquencySettings.from_row(row)

    delinquent_accounts = listing(AccountDelinquency, s.DELINQUENCY_LISTING, (),
                                   "Accounts that are delinquent now.")
    delinquency_exclusions = listing(DelinquencyExclusion, s.EXCLUSION_LISTING,
                                      (DelinquencyExclusion.model.reason,),
                                      "Accounts and groups kept out of delinquency.")
    late_fees = listing(LateFee, s.LATE_FEE_LISTING, (), "Late fees charged.")


@strawberry.type
class CollectionsMutation:
    update_delinquency_settings = command(
        _update_settings, input_type=s.UpdateDelinquencySettingsInput, permission=CONFIGURE,
        payload=UpdateDelinquencySettingsPayload,
        description="Change a company's delinquency and fee settings.")
    create_delinquency_exclusion = command(
        _create_exclusion, input_type=s.CreateDelinquencyExclusionInput, permission=WRITE,
        payload=payload_type("CreateDelinquencyExclusion", "delinquency_exclusion",
                             DelinquencyExclusion),
        description="Keep an account, or an account group, out of delinquency and late fees.")
    update_delinquency_exclusion = command(
        _update_exclusion, input_type=s.UpdateDelinquencyExclusionInput, permission=WRITE,
        payload=payload_type("UpdateDelinquencyExclusion", "delinquency_exclusion",
                             DelinquencyExclusion),
        description="Change an exclusion's end or reason.")
    delete_delinquency_exclusion = command(
        _delete_exclusion, input_type=IdInput, permission=WRITE,
        payload=payload_type("DeleteDelinquencyExclusion", "deleted_id", DelinquencyExclusion),
        description="End an exclusion.")
    run_delinquency_sweep = strawberry.mutation(
        _sweep, extensions=requires(RUN), description="Sweep a company's accounts now: make "
        "overdue accounts delinquent, clear those that paid, charge late fees. Running it "
        "again the same day changes nothing.")
