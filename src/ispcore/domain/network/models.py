"""Network tables: IP address management (sites, supernets, subnets, pools, assignments) and
RADIUS (NAS clients, groups, credentials, sessions, CoA actions).

Addresses are kept as text for people and as ``*_key`` columns for range arithmetic: the
address as a 32-digit lowercase hex number (IPv4 and IPv6 alike, with ``family``), which
sorts as the number does under a bytewise collation on both databases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import account_fk, company_fk, partial_unique
from ispcore.domain.billing.models import partial_index, ref
from ispcore.domain.common.models import Audited, CompanyName, Timestamps

#: A 32-hex-digit address key, compared bytewise ("C" collation on PostgreSQL).
AddressKey = String(32).with_variant(String(32, collation="C"), "postgresql")
#: An address column FreeRADIUS writes with ``::inet`` casts.
InetText = Text().with_variant(INET(), "postgresql")


class AddressRange:
    """The first and last address of a block, an assignment or a pool."""

    family: Mapped[int] = mapped_column(SmallInteger)
    first_key: Mapped[str] = mapped_column(AddressKey)
    last_key: Mapped[str] = mapped_column(AddressKey)


class NetworkSettings(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "network_settings"
    company_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    #: Addresses of an account that stops being active are released after the hold.
    release_on_disconnect: Mapped[bool]
    release_hold_days: Mapped[int]
    #: What RADIUS does for delinquent and for suspended (inactive) accounts:
    #: NONE, REJECT, THROTTLE or REDIRECT (the last two through a group).
    delinquent_action: Mapped[str] = mapped_column(String(10))
    delinquent_radius_group_id: Mapped[int | None] = ref("radius_groups", ondelete="SET NULL")
    suspended_action: Mapped[str] = mapped_column(String(10))
    suspended_radius_group_id: Mapped[int | None] = ref("radius_groups", ondelete="SET NULL")
    #: The group of a credential that names none.
    default_radius_group_id: Mapped[int | None] = ref("radius_groups", ondelete="SET NULL")
    delinquent_address_list: Mapped[str] = mapped_column(String(63))
    suspended_address_list: Mapped[str] = mapped_column(String(63))


class NetworkSite(IdMixin, CompanyName, Timestamps, Audited, Base):
    """A tower, POP, building or data centre."""

    __tablename__ = "network_sites"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(500), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


class Supernet(IdMixin, AddressRange, Timestamps, Audited, Base):
    __tablename__ = "ip_supernets"
    __table_args__ = (Index("ix_ip_supernets_range", "company_id", "family", "first_key"),)
    company_id: Mapped[int] = company_fk()
    cidr: Mapped[str] = mapped_column(String(43))
    name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(500), default="")


class Subnet(IdMixin, AddressRange, Timestamps, Audited, Base):
    __tablename__ = "ip_subnets"
    __table_args__ = (Index("ix_ip_subnets_range", "company_id", "family", "first_key"),)
    audit_exclude = frozenset({"next_key"})
    company_id: Mapped[int] = company_fk()
    supernet_id: Mapped[int] = ref("ip_supernets", nullable=False)
    network_site_id: Mapped[int | None] = ref("network_sites", ondelete="SET NULL")
    cidr: Mapped[str] = mapped_column(String(43))
    name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    gateway: Mapped[str | None] = mapped_column(String(39))
    #: Prefix length handed out when an IPv6 subnet delegates prefixes (null: single addresses).
    delegated_prefix_length: Mapped[int | None] = mapped_column(SmallInteger)
    #: Where the next automatic assignment starts looking (after the last one made).
    next_key: Mapped[str | None] = mapped_column(AddressKey)


class IpPool(IdMixin, AddressRange, Timestamps, Audited, Base):
    """A range of a subnet handed out automatically."""

    __tablename__ = "ip_pools"
    audit_exclude = frozenset({"next_key"})
    company_id: Mapped[int] = company_fk()
    subnet_id: Mapped[int] = ref("ip_subnets", nullable=False)
    name: Mapped[str] = mapped_column(String(200), default="")
    first_address: Mapped[str] = mapped_column(String(39))
    last_address: Mapped[str] = mapped_column(String(39))
    next_key: Mapped[str | None] = mapped_column(AddressKey)


class IpAssignment(IdMixin, AddressRange, Base):
    """An address or delegated prefix held by an account (or one of its data services) from
    ``assigned_at`` until ``released_at``. Rows are kept after release: the history answers
    who held an address at any moment."""

    __tablename__ = "ip_assignments"
    __table_args__ = (
        partial_unique("uq_ip_assignments_held", "subnet_id", "first_key",
                       where="released_at IS NULL"),
        Index("ix_ip_assignments_lookup", "family", "first_key", "last_key"),
        partial_index("ix_ip_assignments_release_due", "release_after",
                      where="released_at IS NULL AND release_after IS NOT NULL"),
    )
    company_id: Mapped[int] = company_fk()
    subnet_id: Mapped[int] = ref("ip_subnets", nullable=False)
    pool_id: Mapped[int | None] = ref("ip_pools", ondelete="SET NULL")
    account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    account_service_id: Mapped[int | None] = ref("account_services", ondelete="SET NULL")
    #: An address ("10.0.0.5") or a prefix ("2001:db8:0:100::/56").
    address: Mapped[str] = mapped_column(String(43))
    prefix_length: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(String(500), default="")
    assigned_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    #: Set when the account stopped being active: released then unless it is active again.
    release_after: Mapped[datetime | None]
    release_reason: Mapped[str] = mapped_column(String(200), default="")


class NasClient(IdMixin, CompanyName, Timestamps, Audited, Base):
    """A router or access concentrator that sends RADIUS requests and takes CoA."""

    __tablename__ = "nas_clients"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key", "secret_sealed"})
    company_id: Mapped[int] = company_fk()
    #: The source address its requests come from; unique across the server.
    address: Mapped[str] = mapped_column(String(39), unique=True)
    secret_sealed: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    coa_port: Mapped[int]
    #: COA changes a live session; DISCONNECT ends it so the customer reconnects.
    coa_mode: Mapped[str] = mapped_column(String(10))
    network_site_id: Mapped[int | None] = ref("network_sites", ondelete="SET NULL")
    description: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)


class RadiusGroup(IdMixin, CompanyName, Timestamps, Audited, Base):
    __tablename__ = "radius_groups"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")


class RadiusGroupAttribute(IdMixin, Base):
    """A reply attribute of a group. ``value`` may hold placeholders (``{download}``) filled
    from each member's service; such attributes are per user (``radreply``), the others per
    group (``radgroupreply``)."""

    __tablename__ = "radius_group_attributes"
    group_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("radius_groups.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    attribute: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(2))
    value: Mapped[str] = mapped_column(String(253))
    templated: Mapped[bool]


class RadiusCredential(IdMixin, Timestamps, Audited, Base):
    """A PPPoE/hotspot login of an account's data service.

    The password is kept in clear: CHAP, and FreeRADIUS reading ``radcheck``, need it.
    ``access``, ``effective_group_id`` and the rows of :class:`RadiusReply` are what the
    RADIUS servers answer, compiled whenever anything they come from changes; ``revision``
    (from :class:`RadiusRevision`) tells the built-in server's cache which rows are new."""

    __tablename__ = "radius_credentials"
    __table_args__ = (
        partial_unique("uq_radius_credentials_username", "username",
                       where="removed_at IS NULL"),
    )
    audit_exclude = frozenset({"password", "revision", "access", "effective_group_id"})
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    account_service_id: Mapped[int | None] = ref("account_services", ondelete="SET NULL")
    username: Mapped[str] = mapped_column(String(128), index=True)
    password: Mapped[str] = mapped_column(String(128))
    radius_group_id: Mapped[int | None] = ref("radius_groups")
    #: ACCEPT or REJECT.
    access: Mapped[str] = mapped_column(String(10))
    #: ACTIVE, DELINQUENT or SUSPENDED: why ``access`` and the group are what they are.
    access_state: Mapped[str] = mapped_column(String(12))
    effective_group_id: Mapped[int | None] = ref("radius_groups", ondelete="SET NULL")
    revision: Mapped[int] = mapped_column(BigInteger, index=True)
    removed_at: Mapped[datetime | None]


class RadiusReply(IdMixin, Base):
    """A compiled reply attribute of one credential (rendered template or its address)."""

    __tablename__ = "radius_replies"
    credential_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("radius_credentials.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    attribute: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(2))
    value: Mapped[str] = mapped_column(String(253))


class RadiusRevision(IdMixin, Base):
    """One row: the last revision given to compiled credentials. Updating it serialises
    compiles, so revisions become visible in order."""

    __tablename__ = "radius_revision"
    revision: Mapped[int] = mapped_column(BigInteger)


class RadiusSession(IdMixin, Base):
    """A session seen by the built-in server's accounting (Start, Interim-Update, Stop).
    Counters are cumulative for the session, Gigawords folded in."""

    __tablename__ = "radius_sessions"
    __table_args__ = (
        UniqueConstraint("nas_id", "acct_session_id", "username"),
        partial_index("ix_radius_sessions_open", "account_id", where="stopped_at IS NULL"),
    )
    company_id: Mapped[int] = company_fk()
    nas_id: Mapped[int] = ref("nas_clients", nullable=False)
    account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    credential_id: Mapped[int | None] = ref("radius_credentials", ondelete="SET NULL")
    username: Mapped[str] = mapped_column(String(128))
    acct_session_id: Mapped[str] = mapped_column(String(128))
    framed_ip_address: Mapped[str | None] = mapped_column(String(39))
    nas_port_id: Mapped[str | None] = mapped_column(String(128))
    calling_station_id: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    session_time: Mapped[int] = mapped_column(BigInteger, default=0)
    input_octets: Mapped[int] = mapped_column(BigInteger, default=0)
    output_octets: Mapped[int] = mapped_column(BigInteger, default=0)
    input_packets: Mapped[int] = mapped_column(BigInteger, default=0)
    output_packets: Mapped[int] = mapped_column(BigInteger, default=0)
    terminate_cause: Mapped[str | None] = mapped_column(String(40))
    interim_count: Mapped[int] = mapped_column(default=0)
    #: The octets already credited as usage, and when they were reported: the next report's
    #: usage is the difference.
    counted_in: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    counted_out: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    counted_at: Mapped[datetime | None]


class RadiusAction(IdMixin, Base):
    """A CoA-Request or Disconnect-Request sent (or to be sent) to a NAS for one session,
    and what came of it."""

    __tablename__ = "radius_actions"
    __table_args__ = (partial_index("ix_radius_actions_pending", "id",
                                    where="status = 'PENDING'"),)
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    nas_id: Mapped[int] = ref("nas_clients", nullable=False)
    session_id: Mapped[int | None] = ref("radius_sessions", ondelete="SET NULL")
    #: The session it is aimed at, as the NAS knows it.
    acct_session_id: Mapped[str] = mapped_column(String(128))
    credential_id: Mapped[int | None] = ref("radius_credentials", ondelete="SET NULL")
    #: COA or DISCONNECT.
    kind: Mapped[str] = mapped_column(String(10))
    #: What caused it: SPEED_CHANGED, DELINQUENT, DELINQUENCY_CLEARED, SUSPENDED, RESTORED …
    reason: Mapped[str] = mapped_column(String(30))
    #: The attributes sent (session identification and, for CoA, the new replies).
    attributes: Mapped[list[Any]] = mapped_column(JSON)
    #: PENDING, SENDING, ACK, NAK, TIMEOUT, ERROR, or SUPERSEDED (a newer one was sent).
    status: Mapped[str] = mapped_column(String(10))
    error_cause: Mapped[int | None]
    error: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    #: When a sender took it (SENDING): another sender takes it again only much later.
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class FreeradiusAccounting(Base):
    """FreeRADIUS's own ``radacct`` table, in its ``rlm_sql`` PostgreSQL schema, for an ISP
    that runs FreeRADIUS against this database (the usage issue reads it)."""

    __tablename__ = "radacct"
    __table_args__ = (
        partial_index("radacct_active_session_idx", "acctuniqueid",
                      where="acctstoptime IS NULL"),
        Index("radacct_start_user_idx", "acctstarttime", "username"),
    )
    radacctid: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    acctsessionid: Mapped[str] = mapped_column(Text)
    acctuniqueid: Mapped[str] = mapped_column(Text, unique=True)
    username: Mapped[str | None] = mapped_column(Text)
    realm: Mapped[str | None] = mapped_column(Text)
    nasipaddress: Mapped[str] = mapped_column(InetText)
    nasportid: Mapped[str | None] = mapped_column(Text)
    nasporttype: Mapped[str | None] = mapped_column(Text)
    acctstarttime: Mapped[datetime | None]
    acctupdatetime: Mapped[datetime | None]
    acctstoptime: Mapped[datetime | None]
    acctinterval: Mapped[int | None] = mapped_column(BigInteger)
    acctsessiontime: Mapped[int | None] = mapped_column(BigInteger)
    acctauthentic: Mapped[str | None] = mapped_column(Text)
    connectinfo_start: Mapped[str | None] = mapped_column(Text)
    connectinfo_stop: Mapped[str | None] = mapped_column(Text)
    acctinputoctets: Mapped[int | None] = mapped_column(BigInteger)
    acctoutputoctets: Mapped[int | None] = mapped_column(BigInteger)
    calledstationid: Mapped[str | None] = mapped_column(Text)
    callingstationid: Mapped[str | None] = mapped_column(Text)
    acctterminatecause: Mapped[str | None] = mapped_column(Text)
    servicetype: Mapped[str | None] = mapped_column(Text)
    framedprotocol: Mapped[str | None] = mapped_column(Text)
    framedipaddress: Mapped[str | None] = mapped_column(InetText)
    framedipv6address: Mapped[str | None] = mapped_column(InetText)
    framedipv6prefix: Mapped[str | None] = mapped_column(InetText)
    framedinterfaceid: Mapped[str | None] = mapped_column(Text)
    delegatedipv6prefix: Mapped[str | None] = mapped_column(InetText)
    # ``class`` is a Python keyword.
    class_: Mapped[str | None] = mapped_column("class", Text)
