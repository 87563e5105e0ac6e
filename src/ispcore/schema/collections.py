"""Collections types: delinquency settings, delinquent accounts, exclusions and late fees."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.billing import collections_models as m
from ispcore.domain.billing.delinquency_settings import DEFAULTS
from ispcore.domain.billing.delinquency_settings import LateFeeKind as DomainLateFeeKind
from ispcore.domain.billing.discounts import PERCENT_SCALE
from ispcore.domain.common.decimals import percent
from ispcore.schema.accounts import Account, AccountGroup, AccountStatus
from ispcore.schema.billing import GlCode, Invoice, PendingCharge
from ispcore.schema.filtering import DateFilter, DateTimeFilter, IdOf, listing_inputs
from ispcore.schema.money import Money, money, optional_money
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import One, relation

READ = "billing:read"

LateFeeKind = strawberry.enum(DomainLateFeeKind, description="NONE; FIXED: an amount per "
                              "overdue invoice; PERCENT: of the invoice's remaining due.")


@strawberry.type(description="When overdue accounts become delinquent, late fees, and the "
                 "printed invoice fee. An invoice counts once it is overdue by more than "
                 "the days here and by more than the account's grace days.")
class DelinquencySettings:
    enabled: bool = strawberry.field(description="Move overdue accounts to the delinquent "
                                     "status (late fees follow lateFeeKind either way).")
    days_overdue: int = strawberry.field(description="An invoice overdue by more than this "
                                         "many days makes its account delinquent.")
    late_fee_kind: LateFeeKind
    late_fee_days: int = strawberry.field(description="Days after the due date before an "
                                          "invoice's late fee is charged.")
    updated_at: datetime | None
    company_id: strawberry.Private[int]
    delinquent_status_id: strawberry.Private[int | None]
    fee_gl_code_id: strawberry.Private[int | None]
    minimum_overdue_minor: strawberry.Private[int | None]
    late_fee_amount_minor: strawberry.Private[int | None]
    late_fee_percent_scaled: strawberry.Private[int | None]
    paper_invoice_fee_minor: strawberry.Private[int]

    minimum_overdue: Money | None = optional_money(
        "minimum_overdue_minor", description="Accounts owing less on overdue invoices are "
        "not made delinquent; null: any amount.")
    late_fee_amount: Money | None = optional_money("late_fee_amount_minor",
                                                   description="FIXED late fees.")
    paper_invoice_fee: Money = money("paper_invoice_fee_minor", description="On each invoice "
                                     "of an account with paperInvoices; zero: none.")

    @strawberry.field(description="PERCENT late fees: e.g. 1.5.")
    def late_fee_percent(self) -> Decimal | None:
        scaled = self.late_fee_percent_scaled
        return None if scaled is None else percent(scaled, PERCENT_SCALE)

    @strawberry.field(description="Where delinquent accounts move.")
    async def delinquent_status(self, info: Info) -> AccountStatus | None:
        return await related(info, AccountStatus, self.delinquent_status_id)

    @strawberry.field(description="Where late and printed invoice fees are booked.")
    async def fee_gl_code(self, info: Info) -> GlCode | None:
        return await related(info, GlCode, self.fee_gl_code_id)

    @classmethod
    def from_row(cls, row: Any) -> DelinquencySettings:
        names = [f.name for f in dataclasses.fields(cls) if f.name in DEFAULTS or f.name in (
            "updated_at", "company_id")]
        return cls(**{name: getattr(row, name) for name in names})


@strawberry.type(description="An account made delinquent, until its overdue invoices are "
                 "paid.")
@model_node(m.AccountDelinquency, read_permission=READ)
class AccountDelinquency(ModelNode):
    since: date
    created_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    previous_status_id: strawberry.Private[int]
    delinquent_status_id: strawberry.Private[int]
    invoice_id: strawberry.Private[int | None]
    overdue_minor: strawberry.Private[int]

    overdue: Money = money("overdue_minor", description="Owed on overdue invoices when it "
                           "became delinquent.")
    account: Account | None = relation(One("Account", "account_id"))
    previous_status: AccountStatus | None = relation(
        One("AccountStatus", "previous_status_id"), description="Restored when it clears.")
    delinquent_status: AccountStatus | None = relation(
        One("AccountStatus", "delinquent_status_id"), description="The status it was moved to.")
    invoice: Invoice | None = relation(One("Invoice", "invoice_id"),
                                       description="The oldest overdue invoice then.")


@strawberry.type(description="An account, or every account of a group, kept out of "
                 "delinquency and late fees.")
@model_node(m.DelinquencyExclusion, read_permission=READ)
class DelinquencyExclusion(ModelNode):
    until: date | None = strawberry.field(description="Last day excluded; null: no end.")
    reason: str
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int | None]
    account_group_id: strawberry.Private[int | None]

    account: Account | None = relation(One("Account", "account_id"))
    account_group: AccountGroup | None = relation(One("AccountGroup", "account_group_id"))


@strawberry.type(description="The late fee of an overdue invoice (one at most).")
@model_node(m.LateFee, read_permission=READ)
class LateFee(ModelNode):
    charged_on: date
    created_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    invoice_id: strawberry.Private[int]
    pending_charge_id: strawberry.Private[int | None]
    amount_minor: strawberry.Private[int]

    amount: Money = money("amount_minor")
    account: Account | None = relation(One("Account", "account_id"))
    invoice: Invoice | None = relation(One("Invoice", "invoice_id"))
    pending_charge: PendingCharge | None = relation(
        One("PendingCharge", "pending_charge_id"),
        description="The charge on (or waiting for) the account's next invoice.")


_COMPANY = {"company_id": IdOf("Company"), "account_id": IdOf("Account")}
DELINQUENCY_LISTING = listing_inputs(
    "AccountDelinquency", {"id": IdOf("AccountDelinquency"), **_COMPANY, "since": DateFilter,
                           "created_at": DateTimeFilter}, order_by=["since", "created_at"])
EXCLUSION_LISTING = listing_inputs(
    "DelinquencyExclusion", {"id": IdOf("DelinquencyExclusion"), **_COMPANY,
                             "account_group_id": IdOf("AccountGroup"), "until": DateFilter},
    order_by=["created_at"])
LATE_FEE_LISTING = listing_inputs(
    "LateFee", {"id": IdOf("LateFee"), **_COMPANY, "invoice_id": IdOf("Invoice"),
                "charged_on": DateFilter}, order_by=["charged_on", "created_at"])


@strawberry.input(description="Omitted fields stay. Fee fields the late fee's kind does not "
                  "use are cleared.")
class UpdateDelinquencySettingsInput:
    company_id: relay.GlobalID
    enabled: bool | None = UNSET
    days_overdue: int | None = UNSET
    delinquent_status_id: relay.GlobalID | None = UNSET
    minimum_overdue: Decimal | None = UNSET
    late_fee_kind: LateFeeKind | None = UNSET
    late_fee_amount: Decimal | None = UNSET
    late_fee_percent: Decimal | None = strawberry.field(
        default=UNSET, description="Percent, more than 0 and at most 100, up to 4 decimals.")
    late_fee_days: int | None = UNSET
    paper_invoice_fee: Decimal | None = UNSET
    fee_gl_code_id: relay.GlobalID | None = UNSET


@strawberry.input(description="Exclude an account or an account group (one of the two).")
class CreateDelinquencyExclusionInput:
    reason: str
    account_id: relay.GlobalID | None = None
    account_group_id: relay.GlobalID | None = None
    until: date | None = strawberry.field(default=None, description="Last day excluded; "
                                          "null: indefinitely.")


@strawberry.input
class UpdateDelinquencyExclusionInput:
    id: relay.GlobalID
    until: date | None = UNSET
    reason: str | None = UNSET


@strawberry.input
class RunDelinquencySweepInput:
    company_id: relay.GlobalID
