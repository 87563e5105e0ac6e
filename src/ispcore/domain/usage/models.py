"""Data usage tables: what arrived from each source (``usage_records``), its rollups per
account per hour, per local day and per billing period, traffic no account could be credited
with, usage-based billing policies with their free periods, top-ups and rollover, the NetFlow
exporters the collector listens to, and how far FreeRADIUS's ``radacct`` has been counted.

Byte counts are integers (``BigInteger``). A rollup row splits usage into *billable* (counts
toward the cap) and *free* (inside one of the policy's free periods), each in (download to
the customer) and out (upload from the customer)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import account_fk, company_fk
from ispcore.domain.billing.models import Minor, partial_index, ref
from ispcore.domain.common.models import Audited, CompanyName, Timestamps


class UsagePolicy(IdMixin, CompanyName, Timestamps, Audited, Base):
    """A usage-based billing policy, attached to data services: a cap per billing period and
    what happens over it (overage billed per block, a throttle group until the next period),
    the thresholds that notify, free periods (:class:`UsageFreePeriod`) and rollover."""

    __tablename__ = "usage_policies"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")
    #: Billable GB (10^9 bytes) a period includes; null: no cap (usage is only tracked).
    cap_gb: Mapped[int | None] = mapped_column(BigInteger)
    #: Overage is billed per started block of this many GB at ``overage_block_price_minor``.
    overage_block_gb: Mapped[int | None] = mapped_column(BigInteger)
    overage_block_price_minor: Mapped[int | None] = mapped_column(Minor)
    overage_gl_code_id: Mapped[int | None] = ref("gl_codes")
    overage_taxable: Mapped[bool] = mapped_column(default=True)
    #: Over the cap, RADIUS answers with this group until the next period (null: no throttle).
    throttle_radius_group_id: Mapped[int | None] = ref("radius_groups", ondelete="SET NULL")
    #: Percentages of the allowance that raise ``usage.threshold_reached`` once a period.
    notify_percents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Unused allowance rolls over for this many following periods (0: none).
    rollover_months: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class UsageFreePeriod(IdMixin, Timestamps, Audited, Base):
    """Times of one day of the week, in the company's time zone, when usage is free: it is
    recorded as free and never counts toward the cap. ``end_minute`` is exclusive (1440 is
    midnight at the end of the day)."""

    __tablename__ = "usage_free_periods"
    company_id: Mapped[int] = company_fk()
    policy_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("usage_policies.id", ondelete="CASCADE"), index=True)
    #: ISO day of the week: 1 Monday … 7 Sunday.
    weekday: Mapped[int]
    start_minute: Mapped[int]
    end_minute: Mapped[int]


class UsageRecord(IdMixin, Base):
    """One piece of usage as a source reported it, credited to an account. ``(company,
    source, source_key)`` is unique: the same data arriving twice counts once."""

    __tablename__ = "usage_records"
    __table_args__ = (
        UniqueConstraint("company_id", "source", "source_key"),
        Index("ix_usage_records_account_time", "account_id", "started_at"),
        Index("ix_usage_records_started_at", "started_at"),
    )
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = account_fk(index=False)
    #: RADIUS (the built-in server), RADACCT (FreeRADIUS), NETFLOW, PRESEEM or API.
    source: Mapped[str] = mapped_column(String(10))
    source_key: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    bytes_in: Mapped[int] = mapped_column(BigInteger)
    bytes_out: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]


class UsageCounters:
    """Bytes split into billable and free, each downloaded (in) and uploaded (out)."""

    billable_in: Mapped[int] = mapped_column(BigInteger, default=0)
    billable_out: Mapped[int] = mapped_column(BigInteger, default=0)
    free_in: Mapped[int] = mapped_column(BigInteger, default=0)
    free_out: Mapped[int] = mapped_column(BigInteger, default=0)


class UsageHourly(IdMixin, UsageCounters, Base):
    """An account's usage in one UTC hour (``hour`` is its first instant)."""

    __tablename__ = "usage_hourly"
    __table_args__ = (UniqueConstraint("account_id", "hour"),)
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = account_fk(index=False)
    hour: Mapped[datetime]


class UsageDaily(IdMixin, UsageCounters, Base):
    """An account's usage on one day of the company's calendar."""

    __tablename__ = "usage_daily"
    __table_args__ = (UniqueConstraint("account_id", "day"),)
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = account_fk(index=False)
    day: Mapped[date] = mapped_column(Date)


class UsagePeriod(IdMixin, UsageCounters, Base):
    """An account's usage in one billing period (its billing cycle, dates in the company's
    calendar): the running totals the cap is checked against, and, once the period has been
    settled by a billing run, what was charged for it. Usage arriving after settlement sets
    ``late``; the next settlement bills (or credits) the difference."""

    __tablename__ = "usage_periods"
    __table_args__ = (
        UniqueConstraint("account_id", "period_start"),
        partial_index("ix_usage_periods_late", "account_id", where="late"),
    )
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = account_fk(index=False)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    #: The highest notification threshold (percent) already announced this period.
    notified_percent: Mapped[int] = mapped_column(default=0)
    #: Over the allowance with a throttling policy: RADIUS answers with the throttle group.
    throttled: Mapped[bool] = mapped_column(default=False)
    settled_at: Mapped[datetime | None]
    #: The policy, allowance (cap + top-ups + rollover drawn) and billable bytes at the last
    #: settlement, the overage blocks billed and everything charged for them so far.
    policy_id: Mapped[int | None] = ref("usage_policies", ondelete="SET NULL")
    allowance_bytes: Mapped[int | None] = mapped_column(BigInteger)
    settled_billable: Mapped[int | None] = mapped_column(BigInteger)
    overage_blocks: Mapped[int] = mapped_column(default=0)
    charged_minor: Mapped[int] = mapped_column(Minor, default=0)
    late: Mapped[bool] = mapped_column(default=False)


class UsageTopUp(IdMixin, Base):
    """GB bought during a period (a one-time top-up service), added to that period's cap."""

    __tablename__ = "usage_top_ups"
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = account_fk()
    period_start: Mapped[date] = mapped_column(Date)
    gigabytes: Mapped[int] = mapped_column(BigInteger)
    account_service_id: Mapped[int | None] = ref("account_services", ondelete="SET NULL")
    purchased_at: Mapped[datetime]


class UsageRollover(IdMixin, Base):
    """Allowance a period left unused, usable (oldest first) in the periods that start
    before ``expires_on``."""

    __tablename__ = "usage_rollovers"
    __table_args__ = (UniqueConstraint("account_id", "from_period_start"),)
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = account_fk(index=False)
    from_period_start: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    granted_bytes: Mapped[int] = mapped_column(BigInteger)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)


class UnattributedUsage(IdMixin, Base):
    """Traffic no account held the address for at the time, per hour: an address of the
    company's plan nobody held (``address`` set), or flows with neither end in the plan
    (``address`` empty). Counted so that nothing is dropped silently."""

    __tablename__ = "usage_unattributed"
    __table_args__ = (UniqueConstraint("company_id", "source", "address", "hour"),)
    company_id: Mapped[int] = company_fk()
    source: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(43))
    hour: Mapped[datetime]
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)
    records: Mapped[int] = mapped_column(BigInteger, default=0)


class NetflowExporter(IdMixin, CompanyName, Timestamps, Audited, Base):
    """A router exporting NetFlow v5/v9 or IPFIX to ``ispcore netflow``. Datagrams from
    addresses that are not an active exporter are dropped (and counted)."""

    __tablename__ = "netflow_exporters"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key", "last_seen_at", "datagrams", "flows", "rejected"})
    company_id: Mapped[int] = company_fk()
    address: Mapped[str] = mapped_column(String(39), unique=True)
    #: Overrides the sampling rate the exporter announces (null: as announced).
    sampling_rate: Mapped[int | None]
    description: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[datetime | None]
    datagrams: Mapped[int] = mapped_column(BigInteger, default=0)
    flows: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Datagrams or records rejected, per reason (``{"bad_set": 3, …}``).
    rejected: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RadacctProgress(IdMixin, Base):
    """How much of one FreeRADIUS ``radacct`` session has been counted as usage."""

    __tablename__ = "usage_radacct_progress"
    radacct_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    counted_in: Mapped[int] = mapped_column(BigInteger, default=0)
    counted_out: Mapped[int] = mapped_column(BigInteger, default=0)
    counted_until: Mapped[datetime]


class PreseemSettings(IdMixin, Timestamps, Audited, Base):
    """A company's Preseem connection: usage is pulled from its API on a schedule."""

    __tablename__ = "preseem_settings"
    audit_exclude = frozenset({"api_key_sealed", "pulled_until"})
    company_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    base_url: Mapped[str] = mapped_column(String(300))
    api_key_sealed: Mapped[str] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(default=True)
    #: Usage up to this instant has been pulled.
    pulled_until: Mapped[datetime | None]
