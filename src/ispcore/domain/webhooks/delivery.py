"""Sending due deliveries: claim a batch (PENDING and due, or SENDING past its lease), send
them concurrently over one pooled HTTP client, then record every attempt and its consequence
in one transaction. A 2xx succeeds; 410 disables the endpoint; anything else (other codes,
redirects, which are not followed, timeouts, refused addresses) is retried on the schedule of
:mod:`retries`, honouring ``Retry-After``. An endpoint failing for days is disabled and a
``webhook.disabled`` event tells its owner.

The ``webhook-timestamp`` is the wall-clock time of the attempt (receivers compare it with
their own clocks); due times come from the unit of work's clock."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import or_, select, update
from yarl import URL

from ispcore.db import bulk_insert, bulk_update
from ispcore.domain.common import outbound
from ispcore.domain.common.clock import Clock, SystemClock
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.webhooks import retries, signing
from ispcore.domain.webhooks.endpoints import secrets_in_force
from ispcore.domain.webhooks.models import (
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookMessage,
)

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 15.0
#: A claimed delivery whose sender died is taken again after this.
LEASE = timedelta(seconds=60)
#: An endpoint failing without a success for this long is disabled.
DISABLE_AFTER = timedelta(days=5)
EXCERPT_BYTES = 1000
REDIRECTS = frozenset({301, 302, 303, 307, 308})
BATCH = 500


def http_client(concurrency: int) -> aiohttp.ClientSession:
    """The one client a delivery run shares: pooled, no cookies kept between endpoints, no
    proxy from the environment (redirects are refused per request, with the 15 s timeout).

    aiohttp rather than httpx (the stack's client elsewhere): httpcore's pool does work
    linear in its connections on every request, and on this path it cost several times
    aiohttp's CPU per delivery (bench/webhooks.py measures both)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, limit_per_host=0),
        cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS))


@dataclass
class _Job:
    delivery_id: int
    endpoint_id: int
    msg_id: str
    body: bytes
    attempts_made: int


@dataclass
class _Outcome:
    status_code: int | None
    error: str | None
    excerpt: str
    duration_ms: int
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class _Endpoint:
    """What sending to one endpoint needs, read once per batch."""

    secrets: list[str] | None
    pinned: _Pinned | None
    refusal: str | None


async def _claim(open_uow: Callable[[], UnitOfWork], limit: int) -> list[_Job]:
    async with open_uow() as uow:
        now = uow.clock.now()
        due = or_((WebhookDelivery.status == "PENDING") & (WebhookDelivery.next_attempt_at <= now),
                  (WebhookDelivery.status == "SENDING") & (WebhookDelivery.claimed_until < now))
        ids = list(await uow.session.scalars(
            select(WebhookDelivery.id).join(Webhook).where(due, Webhook.active)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
            .with_for_update(skip_locked=True, of=WebhookDelivery)))
        if not ids:
            return []
        # The condition again: a concurrent claimer (SQLite has no SKIP LOCKED) loses the race.
        claimed = set(await uow.session.scalars(
            update(WebhookDelivery).where(WebhookDelivery.id.in_(ids), due)
            .values(status="SENDING", claimed_until=now + LEASE)
            .returning(WebhookDelivery.id)))
        rows = await uow.session.execute(
            select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.event_id,
                   WebhookDelivery.attempt_count, WebhookMessage.body)
            .join(WebhookMessage, WebhookMessage.event_id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id.in_(claimed)).order_by(WebhookDelivery.id))
        return [_Job(pk, endpoint_id, signing.message_id(event_id), body.encode(), attempts)
                for pk, endpoint_id, event_id, attempts, body in rows]


async def _endpoints(open_uow: Callable[[], UnitOfWork], ids: set[int]) -> dict[int, _Endpoint]:
    """Each endpoint's secrets and checked address (resolved now: DNS may have changed)."""
    async with open_uow() as uow:
        rows = list(await uow.session.scalars(
            select(Webhook).where(Webhook.id.in_(ids))))
        allow_private, key, now = (uow.settings.webhooks_allow_private,
                                   uow.settings.vault_key, uow.clock.now())
    found = {}
    for row in rows:
        endpoint = _Endpoint(None, None, None)
        try:
            endpoint.secrets = secrets_in_force(key, row, now)
            endpoint.pinned = _Pinned.of(
                row.url, await outbound.check_url(row.url, allow_private=allow_private))
        except DomainError as exc:
            endpoint.refusal = exc.message
        found[row.id] = endpoint
    return found


@dataclass
class _Pinned:
    """Where the requests to one endpoint go: its URL with the host replaced by the checked
    address, the Host header, and (HTTPS) the name the TLS certificate must carry."""

    url: URL
    host: str
    sni_hostname: str | None

    @classmethod
    def of(cls, url: str, target: outbound.Target) -> _Pinned:
        parsed = URL(url)
        return cls(parsed.with_host(target.address), parsed.host_port_subcomponent or "",
                   target.host if target.scheme == "https" else None)


async def _send(client: aiohttp.ClientSession, job: _Job, endpoint: _Endpoint,
                wall_clock: Clock) -> _Outcome:
    if endpoint.refusal is not None or endpoint.pinned is None or endpoint.secrets is None:
        return _Outcome(None, f"refused: {endpoint.refusal}"[:500], "", 0)
    pinned = endpoint.pinned
    headers = signing.headers(endpoint.secrets, job.msg_id, wall_clock.now(), job.body)
    headers["host"] = pinned.host
    started = time.perf_counter()

    def took() -> int:
        return int((time.perf_counter() - started) * 1000)

    try:
        async with client.post(pinned.url, data=job.body, headers=headers,
                               allow_redirects=False, server_hostname=pinned.sni_hostname,
                               ) as response:
            excerpt = b""
            while len(excerpt) < EXCERPT_BYTES and (chunk := await response.content.readany()):
                excerpt += chunk
    except TimeoutError:
        return _Outcome(None, f"timed out after {TIMEOUT_SECONDS:g} s", "", took())
    except aiohttp.ClientError as exc:
        return _Outcome(None, f"{type(exc).__name__}: {exc}"[:500], "", took())
    text = excerpt[:EXCERPT_BYTES].decode("utf-8", "replace")
    location = response.headers.get("location")
    error = (f"redirect to {location} not followed"[:500]
             if response.status in REDIRECTS and location is not None else None)
    return _Outcome(response.status, error, text, took(), response.headers.get("retry-after"))


def _disable(uow: UnitOfWork, endpoint: Webhook, reason: str, now: datetime) -> None:
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason
    endpoint.updated_at = now
    record_event(uow, "webhook.disabled", company_id=endpoint.company_id, entity=endpoint,
                 payload={"url": endpoint.url, "reason": reason,
                          "created_by_id": endpoint.created_by_id})


async def _record(open_uow: Callable[[], UnitOfWork], sent: list[tuple[_Job, _Outcome]],
                  rng: random.Random) -> None:
    async with open_uow() as uow:
        now = uow.clock.now()
        # A delivery whose endpoint was deleted meanwhile went with it.
        alive = set(await uow.session.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.id.in_([job.delivery_id for job, _ in sent]))))
        sent = [(job, outcome) for job, outcome in sent if job.delivery_id in alive]
        # Only the endpoints whose state may change: those that failed now, and those that
        # succeeded but were marked failing (a batch of successes loads none).
        failed = {job.endpoint_id for job, outcome in sent if not outcome.succeeded}
        succeeded = {job.endpoint_id for job, outcome in sent if outcome.succeeded}
        endpoints = {e.id: e for e in await uow.session.scalars(select(Webhook).where(
            Webhook.id.in_(failed)
            | (Webhook.id.in_(succeeded) & Webhook.failing_since.is_not(None))))}
        await bulk_insert(uow.session, WebhookAttempt, [
            {"delivery_id": job.delivery_id, "attempted_at": now, "status_code": o.status_code,
             "error": o.error, "response_excerpt": o.excerpt, "duration_ms": o.duration_ms}
            for job, o in sent])
        changes = []
        for job, outcome in sent:
            endpoint = endpoints.get(job.endpoint_id)
            made = job.attempts_made + 1
            change = {"id": job.delivery_id, "status": "FAILED", "attempt_count": made,
                      "next_attempt_at": None, "claimed_until": None,
                      "last_status_code": outcome.status_code, "completed_at": now}
            if outcome.succeeded:
                change["status"] = "SUCCEEDED"
                if endpoint is not None:
                    endpoint.failing_since = None
            elif outcome.status_code == 410:
                if endpoint is not None and endpoint.active:
                    _disable(uow, endpoint, "The endpoint answered 410 Gone.", now)
            else:
                delay = retries.next_delay(made, retries.parse_retry_after(
                    outcome.retry_after, now), rng)
                if delay is not None:
                    change.update(status="PENDING", next_attempt_at=now + delay,
                                  completed_at=None)
                if endpoint is not None and endpoint.active:
                    endpoint.failing_since = endpoint.failing_since or now
                    if now - endpoint.failing_since >= DISABLE_AFTER:
                        _disable(uow, endpoint, "No delivery succeeded since "
                                 f"{endpoint.failing_since.isoformat()}.", now)
            changes.append(change)
        await bulk_update(uow.session, WebhookDelivery, changes)


async def deliver_due(open_uow: Callable[[], UnitOfWork], client: aiohttp.ClientSession, *,
                      concurrency: int = 32, batch: int = BATCH,
                      rng: random.Random | None = None, wall_clock: Clock | None = None
                      ) -> int:
    """Send every due delivery; returns how many attempts were made."""
    rng = rng or random.Random()
    wall_clock = wall_clock or SystemClock()
    gate = asyncio.Semaphore(concurrency)
    attempts = 0

    async def send(job: _Job, endpoint: _Endpoint) -> _Outcome:
        async with gate:
            return await _send(client, job, endpoint, wall_clock)

    while jobs := await _claim(open_uow, batch):
        endpoints = await _endpoints(open_uow, {j.endpoint_id for j in jobs})
        gone = _Endpoint(None, None, "the webhook was deleted")
        outcomes = await asyncio.gather(*(send(j, endpoints.get(j.endpoint_id, gone))
                                          for j in jobs))
        await _record(open_uow, list(zip(jobs, outcomes, strict=True)), rng)
        attempts += len(jobs)
        if len(jobs) < batch:
            break
    return attempts
