"""Settings read from ``ISPCORE_*`` environment variables.

With nothing set, ispcore runs in *embedded* mode: a SQLite file in the working directory and
jobs run in-process. Setting ``ISPCORE_REDIS_URL`` switches to *scaled* mode (ARQ workers, Redis
for rate limits and subscription fan-out), normally together with a PostgreSQL database URL.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def resource_dir(name: str) -> Path:
    """A folder shipped beside the package (``migrations``, ``graphiql``).

    A source checkout keeps them at the repository root; an image names their parent folder
    in ``ISPCORE_RESOURCE_DIR`` (the Dockerfile copies them to ``/app``).
    """
    configured = os.environ.get("ISPCORE_RESOURCE_DIR")
    if configured:
        return Path(configured) / name
    beside_source = PROJECT_ROOT / name
    return beside_source if beside_source.is_dir() else Path.cwd() / name


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ISPCORE_", env_file=None, extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./ispcore.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    redis_url: str | None = Field(
        default=None, description="redis://host:port/db; set it to run in scaled mode"
    )
    host: str = Field(default="127.0.0.1", description="Address `ispcore serve` binds")
    port: int = Field(default=8000, description="Port `ispcore serve` binds")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies whose X-Forwarded-For is trusted for the client address "
                    "(comma-separated, or *)",
    )
    log_level: str = Field(default="INFO", description="Python log level")
    db_pool_size: int = Field(
        default=10, description="Connections per process kept open (as many more may be "
        "opened for a burst)")
    db_pool_timeout_seconds: float = Field(
        default=30.0, description="How long a unit of work waits for a free connection; a "
        "job that waited in vain is run again later, not lost")
    job_db_connections: int = Field(
        default=2, ge=1, description="Units of work (connections) one job holds at once; "
        "the ARQ worker runs as many jobs at once as the pool has room for at this bound")

    max_request_bytes: int = Field(
        default=1_048_576, description="Largest request body `/graphql` accepts"
    )
    max_ingest_request_bytes: int = Field(
        default=8_388_608, description="Largest request body `/graphql` accepts from callers "
        "holding usage:write or monitoring:poll (an ingestUsage call carries up to 10,000 "
        "records, a submitPollResults call a poller's batch)"
    )
    max_page_size: int = Field(default=500, description="Largest `first:` a connection accepts")
    default_page_size: int = Field(default=50, description="Page size when `first:` is omitted")
    max_query_depth: int = Field(default=12, description="Deepest selection nesting accepted")
    max_query_tokens: int = Field(
        default=1000, description="Most tokens in one document (graphql-core validates some "
        "25 to 40 a millisecond: this keeps any document under 50 ms)"
    )
    max_aliases: int = Field(default=30, description="Most aliases in one document")
    max_query_cost: int = Field(
        default=100_000, description="Most fields one operation may resolve, estimated before "
        "it runs: each connection's page size (`first`, or the default page size) multiplies "
        "what is selected under it, a list without one counts as 10 items"
    )
    max_subscriptions_per_connection: int = Field(
        default=20, description="Concurrent subscriptions one websocket may hold"
    )
    rate_limit_per_minute: int = Field(
        default=1200, description="Requests a token (or anonymous address) may make per minute"
    )

    login_attempts_per_minute: int = Field(
        default=20, description="Login attempts one address (an IPv6 /64) may make per "
        "minute, over all logins"
    )
    session_ttl_hours: int = Field(default=12, description="Lifetime of a login session token")
    password_min_length: int = Field(default=12, description="Shortest accepted password")
    login_free_failures: int = Field(
        default=5, description="Failed sign-ins with one login from one address (an IPv6 /64) "
        "before each further try from there must wait, 2 s doubling"
    )
    login_backoff_max_seconds: int = Field(
        default=900, description="Longest wait between sign-in tries with one login from one "
        "address; other addresses never wait"
    )

    cors_origins: list[str] = Field(
        default_factory=list, description="Browser origins allowed to call the API (JSON list)"
    )

    vault_key: str | None = Field(
        default=None, description="Fernet key (urlsafe base64, 32 bytes) sealing bank account "
        "numbers kept for in-house ACH and NAS shared secrets; without it neither can be stored"
    )
    stripe_api_key: str | None = Field(
        default=None, description="Stripe secret key; cards on file through Stripe need it"
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com", description="Stripe's API address"
    )
    processor_timeout_seconds: float = Field(
        default=20.0, description="How long a payment processor may take to answer"
    )

    preseem_timeout_seconds: float = Field(
        default=20.0, description="How long Preseem's API may take to answer one request"
    )

    smtp_timeout_seconds: float = Field(
        default=30.0, description="How long a mail server may take to answer one command"
    )
    sms_timeout_seconds: float = Field(
        default=20.0, description="How long the SMS provider's API may take to answer"
    )
    twilio_api_base: str = Field(
        default="https://api.twilio.com", description="Twilio's API address (or that of a "
        "Twilio-compatible provider)"
    )
    webhooks_allow_private: bool = Field(
        default=False, description="Let outbound connections (webhooks, Preseem, SMTP, the SMS "
        "provider, Stripe) reach loopback, private, link-local and other non-public addresses "
        "(on-premise servers; tests); cloud metadata included"
    )
    webhooks_concurrency: int = Field(
        default=32, description="Webhook requests one delivery job has in flight at once"
    )

    radius_host: str = Field(default="0.0.0.0", description="Address `ispcore radius` binds")
    radius_auth_port: int = Field(default=1812, description="RADIUS authentication port (UDP)")
    radius_acct_port: int = Field(default=1813, description="RADIUS accounting port (UDP)")
    radius_refresh_seconds: float = Field(
        default=2.0, description="How often `ispcore radius` loads changed credentials (it "
        "also does on each message on the notifier's `radius` channel)"
    )
    coa_timeout_seconds: float = Field(
        default=3.0, description="How long a NAS may take to answer a CoA or Disconnect-Request"
    )
    coa_retries: int = Field(
        default=2, description="Retransmissions of an unanswered CoA or Disconnect-Request"
    )

    netflow_host: str = Field(default="0.0.0.0", description="Address `ispcore netflow` binds")
    netflow_port: int = Field(default=2055, description="NetFlow/IPFIX collector port (UDP)")
    netflow_interval_seconds: int = Field(
        default=60, description="Usage is summed per address per interval of this many "
        "seconds (by each flow's end time); it must divide an hour"
    )
    netflow_grace_seconds: int = Field(
        default=60, description="How long after an interval ends its totals wait for late "
        "flows before they are written"
    )
    netflow_flush_seconds: float = Field(
        default=10.0, description="How often `ispcore netflow` writes the intervals that are "
        "due, retries what it could not write and reloads the exporters"
    )
    netflow_max_entries: int = Field(
        default=1_000_000, description="Address-interval totals `ispcore netflow` holds in "
        "memory, written or not yet (IPv4 is held per /24 of the plan: 256 each); past it, "
        "flows needing a new one are dropped and counted as memory_full"
    )
    netflow_metrics_port: int = Field(
        default=9158, description="Port of `ispcore netflow`'s Prometheus /metrics (on the "
        "collector's address; 0: none)"
    )
    poller_heartbeat_seconds: int = Field(
        default=30, description="How often pollers are told to send a heartbeat"
    )
    poller_down_after_seconds: int = Field(
        default=90, description="A poller silent this long is marked down (poller.down); "
        "three heartbeats by default"
    )

    metrics_raw_days: int = Field(
        default=7, description="Days raw monitoring samples are kept (the hourly and daily "
        "rollups keep the history after)"
    )
    metrics_hourly_days: int = Field(
        default=90, description="Days hourly monitoring rollups are kept (daily ones are "
        "kept for good)"
    )

    @property
    def scaled(self) -> bool:
        return bool(self.redis_url)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
