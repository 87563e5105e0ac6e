"""Webhook endpoints and deliveries through the API, and running the webhook jobs."""

from __future__ import annotations

from typing import Any

from ispcore.domain.webhooks.endpoints import DELIVER_JOB
from ispcore.domain.webhooks.fan_out import FAN_OUT_JOB
from ispcore.runtime import Runtime
from ispcore.workers.registry import run_job

ERRORS = "errors { field code message }"
WEBHOOK = "id url eventTypes active failingSince disabledReason description"
CREATE = f"""mutation($input: CreateWebhookInput!) {{ createWebhook(input: $input) {{
  webhook {{ {WEBHOOK} }} secret {ERRORS} }} }}"""
UPDATE = f"""mutation($input: UpdateWebhookInput!) {{ updateWebhook(input: $input) {{
  webhook {{ {WEBHOOK} }} {ERRORS} }} }}"""
ROTATE = f"""mutation($input: RotateWebhookSecretInput!) {{ rotateWebhookSecret(input: $input) {{
  webhook {{ id }} secret {ERRORS} }} }}"""
REDELIVER = f"""mutation($input: RedeliverWebhookInput!) {{ redeliverWebhook(input: $input) {{
  webhookDelivery {{ id status }} {ERRORS} }} }}"""
SEND_TEST = f"""mutation($input: SendTestWebhookInput!) {{ sendTestWebhook(input: $input) {{
  webhookDelivery {{ id status messageId }} {ERRORS} }} }}"""
DELIVERIES = """query($id: ID) { webhookDeliveries(webhookId: $id, first: 100) { totalCount
  edges { node { id eventType status attemptCount nextAttemptAt lastStatusCode messageId
    attempts { statusCode error responseExcerpt durationMs } } } } }"""


async def create_webhook(api: Any, token: str, **input: Any) -> dict[str, Any]:
    payload = (await api.data(CREATE, {"input": input}, token))["createWebhook"]
    assert payload["errors"] == [], payload
    return payload


async def create_refused(api: Any, token: str, **input: Any) -> list[dict[str, Any]]:
    payload = (await api.data(CREATE, {"input": input}, token))["createWebhook"]
    assert payload["webhook"] is None
    return payload["errors"]


async def deliveries(api: Any, token: str, webhook_id: str | None = None
                     ) -> list[dict[str, Any]]:
    data = await api.data(DELIVERIES, {"id": webhook_id}, token)
    return [edge["node"] for edge in data["webhookDeliveries"]["edges"]]


async def run_webhooks(runtime: Runtime) -> None:
    """Whatever jobs are queued, then the fan-out and one delivery run (as cron would)."""
    await runtime.jobs.drain()
    await run_job(runtime, FAN_OUT_JOB)
    await run_job(runtime, DELIVER_JOB)
