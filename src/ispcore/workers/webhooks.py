"""Webhook jobs: the fan-out of new events into deliveries (enqueued by the events dispatcher
after each commit that wrote events), sending due deliveries (enqueued by the fan-out, a test
or a redelivery), and both every minute for retries that have come due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.events.service import register_handler
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.webhooks import owner_notice
from ispcore.domain.webhooks.delivery import deliver_due, http_client
from ispcore.domain.webhooks.endpoints import DELIVER_JOB
from ispcore.domain.webhooks.fan_out import FAN_OUT_JOB, fan_out
from ispcore.resolvers.webhooks_render import EntityRenderer
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

register_handler(owner_notice.HANDLER, owner_notice.EVENT_TYPES, owner_notice.notify_owners)

#: One renderer (it holds a built schema) per runtime.
_renderers: dict[int, tuple[Runtime, EntityRenderer]] = {}


def renderer(runtime: Runtime) -> EntityRenderer:
    held = _renderers.get(id(runtime))
    if held is None or held[0] is not runtime:
        held = _renderers[id(runtime)] = (runtime, EntityRenderer(runtime))
    return held[1]


@job(FAN_OUT_JOB)
async def fan_out_events(runtime: Runtime) -> int:
    """New events into deliveries for the endpoints that subscribe to them."""
    return await fan_out(lambda: runtime.unit_of_work(SYSTEM, action=FAN_OUT_JOB),
                         renderer(runtime))


@job(DELIVER_JOB)
async def deliver_webhooks(runtime: Runtime) -> int:
    """Send the deliveries that are due, over one pooled client for the whole run."""
    concurrency = runtime.settings.webhooks_concurrency
    async with http_client(concurrency) as client:
        return await deliver_due(lambda: runtime.unit_of_work(SYSTEM, action=DELIVER_JOB),
                                 client, concurrency=concurrency)


CRON.append(CronEntry(FAN_OUT_JOB, second=5))
CRON.append(CronEntry(DELIVER_JOB, second=10))
