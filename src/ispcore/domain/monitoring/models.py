"""Monitoring tables: devices and their SNMP credentials, monitoring templates and their
checks, pollers and what they own, poll results with their rollups, the last state of each
check, alerts, and alerting rotations.

Terms used throughout:

- A **check** is one line of a template: ICMP latency or loss, an SNMP OID read with GET, or
  an SNMP subtree walked with GETBULK (an interface table column: one *instance* per row).
- A **metric** is what a check yields on a device: the check's ``name`` (``ifHCInOctets``),
  with an ``instance`` ("" for a scalar, the OID index such as ``"2"`` for a table row).
- A **sample** is one value of a metric at one time. Counters arrive raw and are stored as
  rates per second (see ``domain/monitoring/rates.py``); gauges as read.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import company_fk, partial_unique, user_fk
from ispcore.domain.billing.models import ref
from ispcore.domain.common.models import Audited, CompanyName, Timestamps
from ispcore.domain.network.models import AddressKey

#: A raw SNMP counter: Counter64 goes past BigInteger's signed range.
RawCounter = Numeric(20, 0)


class SnmpVersion(StrEnum):
    NONE = "NONE"  # ICMP only
    V2C = "V2C"
    V3 = "V3"


class SnmpAuthProtocol(StrEnum):
    NONE = "NONE"
    MD5 = "MD5"
    SHA = "SHA"
    SHA224 = "SHA224"
    SHA256 = "SHA256"
    SHA384 = "SHA384"
    SHA512 = "SHA512"


class SnmpPrivProtocol(StrEnum):
    NONE = "NONE"
    DES = "DES"
    AES128 = "AES128"
    AES192 = "AES192"
    AES256 = "AES256"


class CheckKind(StrEnum):
    ICMP_LATENCY = "ICMP_LATENCY"  # milliseconds, average of the replies
    ICMP_LOSS = "ICMP_LOSS"  # percent of the probes unanswered
    SNMP_GET = "SNMP_GET"  # one OID
    SNMP_WALK = "SNMP_WALK"  # a subtree with GETBULK: one instance per row


class ValueType(StrEnum):
    GAUGE = "GAUGE"
    COUNTER = "COUNTER"  # stored as a rate per second


class ThresholdDirection(StrEnum):
    ABOVE = "ABOVE"  # breached when the value is >= the threshold
    BELOW = "BELOW"  # breached when the value is <= the threshold


class CheckState(StrEnum):
    OK = "OK"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"
    UNKNOWN = "UNKNOWN"  # no value yet, or the last read failed


class DeviceStatus(StrEnum):
    UNKNOWN = "UNKNOWN"  # never polled
    UP = "UP"
    WARNING = "WARNING"  # reachable, some check past its warning or critical threshold
    DOWN = "DOWN"


class PollerStatus(StrEnum):
    NEVER_SEEN = "NEVER_SEEN"
    UP = "UP"
    DOWN = "DOWN"


class AlertKind(StrEnum):
    DEVICE_DOWN = "DEVICE_DOWN"
    THRESHOLD = "THRESHOLD"
    POLLER_DOWN = "POLLER_DOWN"


class AlertStatus(StrEnum):
    OPEN = "OPEN"
    ACKNOWLEDGED = "ACKNOWLEDGED"
    CLOSED = "CLOSED"


class Rollup(StrEnum):
    HOUR = "HOUR"
    DAY = "DAY"


class MonitoringTemplate(IdMixin, CompanyName, Timestamps, Audited, Base):
    """Which checks a device gets, and how often."""

    __tablename__ = "monitoring_templates"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")
    interval_seconds: Mapped[int] = mapped_column(default=60)
    #: ICMP probes sent per poll (loss is the unanswered share) and how long each waits.
    icmp_count: Mapped[int] = mapped_column(default=3)
    icmp_timeout_ms: Mapped[int] = mapped_column(default=1000)
    #: SNMP request timeout and retries, per request.
    snmp_timeout_ms: Mapped[int] = mapped_column(default=2000)
    snmp_retries: Mapped[int] = mapped_column(default=1)


class MonitoringCheck(IdMixin, Timestamps, Audited, Base):
    """One check of a template. ``name`` is the metric name (unique in the template);
    thresholds are optional and compared by ``direction``."""

    __tablename__ = "monitoring_checks"
    __table_args__ = (UniqueConstraint("template_id", "name"),)
    company_id: Mapped[int] = company_fk()
    template_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("monitoring_templates.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    #: Numeric OID, dotted (``1.3.6.1.2.1.1.3.0``); null for ICMP checks.
    oid: Mapped[str | None] = mapped_column(String(300))
    value_type: Mapped[str] = mapped_column(String(10), default=ValueType.GAUGE)
    #: For walks: a column whose value at the same index labels the instance (ifName).
    label_oid: Mapped[str | None] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(20), default="")
    #: The stored value is the read value (or rate) times this (8 turns octets into bits).
    scale: Mapped[float] = mapped_column(Float, default=1.0)
    direction: Mapped[str] = mapped_column(String(10), default=ThresholdDirection.ABOVE)
    warning_threshold: Mapped[float | None] = mapped_column(Float)
    critical_threshold: Mapped[float | None] = mapped_column(Float)


class Poller(IdMixin, CompanyName, Timestamps, Audited, Base):
    """An ``ispcore poller`` process inside the ISP's network. It authenticates with a token
    (``isp_pol_…``, shown once, stored hashed), polls the devices it owns (see
    ``domain/monitoring/ownership.py``) and pushes results through the API."""

    __tablename__ = "pollers"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key", "last_heartbeat_at", "last_submission_at",
                               "lag_seconds", "reported_version", "reported_address",
                               "status", "status_changed_at", "token_hash"})
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    #: Requests in flight at once.
    concurrency: Mapped[int] = mapped_column(default=64)
    active: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(12), default=PollerStatus.NEVER_SEEN)
    status_changed_at: Mapped[datetime | None]
    last_heartbeat_at: Mapped[datetime | None]
    last_submission_at: Mapped[datetime | None]
    #: How far behind its schedule the poller said it was at the last heartbeat.
    lag_seconds: Mapped[float | None] = mapped_column(Float)
    reported_version: Mapped[str] = mapped_column(String(50), default="")
    reported_address: Mapped[str] = mapped_column(String(45), default="")


class PollerScope(IdMixin, Base):
    """What a poller owns: a network site, or a subnet (devices whose management address is
    inside it). Exactly one of the two is set."""

    __tablename__ = "poller_scopes"
    company_id: Mapped[int] = company_fk()
    poller_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("pollers.id", ondelete="CASCADE"), index=True)
    network_site_id: Mapped[int | None] = ref("network_sites", ondelete="CASCADE")
    cidr: Mapped[str | None] = mapped_column(String(43))
    family: Mapped[int | None] = mapped_column(SmallInteger)
    first_key: Mapped[str | None] = mapped_column(AddressKey)
    last_key: Mapped[str | None] = mapped_column(AddressKey)
    prefix_length: Mapped[int | None] = mapped_column(SmallInteger)


class Device(IdMixin, CompanyName, Timestamps, Audited, Base):
    """A piece of network equipment: router, switch, access point, radio, CPE. Secrets (the v2c
    community, v3 keys) are sealed with the vault key: polling needs them in clear."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),
                      Index("ix_devices_address", "company_id", "family", "address_key"))
    audit_exclude = frozenset({
        "name_key", "address_key", "status", "status_changed_at", "last_polled_at",
        "last_error", "sys_name", "sys_uptime_ticks", "poller_id", "flapping_until",
        "status_changes"})
    audit_secrets = {"snmp_community_sealed": "snmp_community_changed",
                     "snmp_auth_key_sealed": "snmp_auth_key_changed",
                     "snmp_priv_key_sealed": "snmp_priv_key_changed"}
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")
    management_address: Mapped[str] = mapped_column(String(45))
    family: Mapped[int] = mapped_column(SmallInteger)
    address_key: Mapped[str] = mapped_column(AddressKey)
    network_site_id: Mapped[int | None] = ref("network_sites", ondelete="SET NULL")
    #: Customer premises equipment belongs to an account.
    account_id: Mapped[int | None] = ref("accounts", ondelete="SET NULL")
    #: What an inventory record would key on (there is no inventory module yet).
    serial_number: Mapped[str] = mapped_column(String(100), default="")
    mac_address: Mapped[str] = mapped_column(String(17), default="")
    template_id: Mapped[int | None] = ref("monitoring_templates", ondelete="SET NULL")
    monitored: Mapped[bool] = mapped_column(default=True)
    snmp_version: Mapped[str] = mapped_column(String(5), default=SnmpVersion.NONE)
    snmp_port: Mapped[int] = mapped_column(default=161)
    snmp_community_sealed: Mapped[str | None] = mapped_column(String(500))
    snmp_username: Mapped[str] = mapped_column(String(100), default="")
    snmp_auth_protocol: Mapped[str] = mapped_column(String(10), default=SnmpAuthProtocol.NONE)
    snmp_auth_key_sealed: Mapped[str | None] = mapped_column(String(500))
    snmp_priv_protocol: Mapped[str] = mapped_column(String(10), default=SnmpPrivProtocol.NONE)
    snmp_priv_key_sealed: Mapped[str | None] = mapped_column(String(500))
    #: The poller that owns the device, kept in step with pollers' scopes (null: none does).
    poller_id: Mapped[int | None] = ref("pollers", ondelete="SET NULL")
    status: Mapped[str] = mapped_column(String(10), default=DeviceStatus.UNKNOWN)
    status_changed_at: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    #: Why the last poll failed, per device ("SNMP authentication failed"), else null.
    last_error: Mapped[str | None] = mapped_column(String(500))
    sys_name: Mapped[str] = mapped_column(String(255), default="")
    sys_uptime_ticks: Mapped[int | None] = mapped_column(BigInteger)
    #: Recent status changes (times, ISO) for flapping detection, newest last.
    status_changes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: While set and in the future, status changes raise no alerts (the device is flapping).
    flapping_until: Mapped[datetime | None]


class PollBatch(Base):
    """A results batch a poller submitted, by the poller's own batch id: a batch sent twice
    (a retry after a lost response) is taken once."""

    __tablename__ = "poll_batches"
    poller_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("pollers.id", ondelete="CASCADE"), primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime]
    result_count: Mapped[int]


class MetricState(IdMixin, Base):
    """The last reading of one metric of one device: the raw counter the next rate is taken
    against, the last value, and the threshold state (with when it began)."""

    __tablename__ = "metric_states"
    __table_args__ = (UniqueConstraint("device_id", "check_id", "instance"),)
    company_id: Mapped[int] = company_fk()
    device_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    check_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("monitoring_checks.id", ondelete="CASCADE"), index=True)
    instance: Mapped[str] = mapped_column(String(100), default="")
    label: Mapped[str] = mapped_column(String(255), default="")
    read_at: Mapped[datetime]
    raw_counter: Mapped[int | None] = mapped_column(RawCounter)
    counter_bits: Mapped[int | None] = mapped_column(SmallInteger)
    value: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(10), default=CheckState.UNKNOWN)
    state_since: Mapped[datetime]
    error: Mapped[str | None] = mapped_column(String(500))


class MetricSample(Base):
    """One value of one metric at one time (raw history, kept for days)."""

    __tablename__ = "metric_samples"
    device_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    check_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("monitoring_checks.id", ondelete="CASCADE"), primary_key=True)
    instance: Mapped[str] = mapped_column(String(100), primary_key=True, default="")
    at: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Float)


class MetricRollup(Base):
    """Samples of one metric folded per UTC hour or day: count, sum, min and max (the mean is
    sum / count). Kept far longer than the raw samples."""

    __tablename__ = "metric_rollups"
    device_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    check_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("monitoring_checks.id", ondelete="CASCADE"), primary_key=True)
    instance: Mapped[str] = mapped_column(String(100), primary_key=True, default="")
    granularity: Mapped[str] = mapped_column(String(5), primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int]
    total: Mapped[float] = mapped_column(Float)
    minimum: Mapped[float] = mapped_column(Float)
    maximum: Mapped[float] = mapped_column(Float)


class AlertingRotation(IdMixin, CompanyName, Timestamps, Audited, Base):
    """Who is told about alerts, by schedule. Alerts of devices at the rotation's sites (all
    sites when it names none) notify the members on call at level 1; an alert nobody
    acknowledges within ``escalate_after_minutes`` notifies the next level, and so on."""

    __tablename__ = "alerting_rotations"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")
    #: Network site ids; empty: every site (and devices with none).
    network_site_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    escalate_after_minutes: Mapped[int] = mapped_column(default=15)
    #: Also delivered to this webhook endpoint (``alert.notified``), besides email.
    webhook_id: Mapped[int | None] = ref("webhook_endpoints", ondelete="SET NULL")
    active: Mapped[bool] = mapped_column(default=True)


class RotationShift(IdMixin, Base):
    """A member of a rotation on call on some days of the week between two times (company
    time zone; ``end_minute`` exclusive, 1440 is midnight; a shift may run past midnight
    when ``end_minute <= start_minute``), at an escalation level (1 first)."""

    __tablename__ = "rotation_shifts"
    company_id: Mapped[int] = company_fk()
    rotation_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("alerting_rotations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(SmallInteger, default=1)
    #: ISO days of the week (1 Monday … 7 Sunday) the shift starts on.
    weekdays: Mapped[list[Any]] = mapped_column(JSON)
    start_minute: Mapped[int] = mapped_column(SmallInteger, default=0)
    end_minute: Mapped[int] = mapped_column(SmallInteger, default=1440)


class Alert(IdMixin, Base):
    """An alert about a device (down, or a check past its critical threshold) or a poller
    that went silent. At most one is open per subject; it closes on recovery."""

    __tablename__ = "alerts"
    __table_args__ = (
        partial_unique("uq_alerts_open_subject", "subject_key", where="status <> 'CLOSED'"),
        Index("ix_alerts_company_status", "company_id", "status"),
    )
    company_id: Mapped[int] = company_fk()
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(15), default=AlertStatus.OPEN)
    #: What the alert is about, e.g. ``device:12``, ``check:12:7:2``, ``poller:3``.
    subject_key: Mapped[str] = mapped_column(String(150))
    device_id: Mapped[int | None] = ref("devices", ondelete="CASCADE")
    check_id: Mapped[int | None] = ref("monitoring_checks", ondelete="CASCADE")
    instance: Mapped[str] = mapped_column(String(100), default="")
    poller_id: Mapped[int | None] = ref("pollers", ondelete="CASCADE")
    message: Mapped[str] = mapped_column(String(500))
    value: Mapped[float | None] = mapped_column(Float)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = user_fk()
    closed_at: Mapped[datetime | None]
    rotation_id: Mapped[int | None] = ref("alerting_rotations", ondelete="SET NULL")
    #: The escalation level last notified (0: nobody yet) and when.
    notified_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    notified_at: Mapped[datetime | None]
