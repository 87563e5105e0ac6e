"""Root fields for webhooks: endpoints, their delivery log, the event catalogue, and the
mutations that manage, test and redeliver."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.catalogue import EVENT_TYPES
from ispcore.domain.webhooks import endpoints
from ispcore.domain.webhooks.models import WebhookDelivery as DeliveryModel
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import list_nodes
from ispcore.schema import webhooks as s
from ispcore.schema.accounts import IdInput
from ispcore.schema.companies import Company
from ispcore.schema.nodes import Connection, decode_id, global_id
from ispcore.schema.permissions import requires
from ispcore.schema.webhooks import EventType, Webhook, WebhookDelivery

READ, WRITE = "webhooks:read", "webhooks:write"
IDS = {"company_id": Company}
DeliveryFilter, DeliveryOrder = s.DELIVERY_LISTING.filter, s.DELIVERY_LISTING.order


async def _create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row, secret = await endpoints.create_endpoint(uow, values_of(data, IDS))
    return {"webhook": row, "secret": secret}


async def _update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True, nullable=("description",))
    return {"webhook": await endpoints.update_endpoint(uow, pk(data.id, Webhook), values)}


async def _delete(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"deleted_id": global_id(await endpoints.delete_endpoint(uow, pk(data.id, Webhook)))}


async def _rotate(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    overlap = None if data.overlap_hours is None else timedelta(hours=data.overlap_hours)
    row, secret = await endpoints.rotate_secret(uow, pk(data.id, Webhook), overlap)
    return {"webhook": row, "secret": secret}


async def _redeliver(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    delivery_id = pk(data.delivery_id, WebhookDelivery, "delivery_id")
    return {"webhook_delivery": await endpoints.redeliver(uow, delivery_id)}


async def _send_test(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    webhook_id = pk(data.webhook_id, Webhook, "webhook_id")
    return {"webhook_delivery": await endpoints.send_test(uow, webhook_id)}


@strawberry.type
class WebhookQuery:
    webhooks = listing(Webhook, s.WEBHOOK_LISTING, (Webhook.model.url,
                                                    Webhook.model.description),
                       "Webhook endpoints.", permission=READ)

    @strawberry.field(extensions=requires(READ), description="The delivery log; webhookId "
                      "narrows it to one endpoint.")
    async def webhook_deliveries(
        self, info: Info, webhook_id: relay.GlobalID | None = None, first: int | None = None,
        after: str | None = None, filter: DeliveryFilter | None = None,
        order_by: list[DeliveryOrder] | None = None,
    ) -> Connection[WebhookDelivery]:
        where = None if webhook_id is None else (
            DeliveryModel.endpoint_id == decode_id(webhook_id, Webhook, "webhook_id"))
        return await list_nodes(info, WebhookDelivery, s.DELIVERY_LISTING, first=first,
                                after=after, filter=filter, order_by=order_by,
                                search=(DeliveryModel.event_type,), where=where)

    @strawberry.field(extensions=requires(READ), description="Every event type a webhook "
                      "can subscribe to, by name.")
    def event_types(self) -> list[EventType]:
        return [EventType(name=name, description=text)
                for name, text in sorted(EVENT_TYPES.items())]


@strawberry.type
class WebhookMutation:
    create_webhook = command(
        _create, input_type=s.CreateWebhookInput, payload=s.CreateWebhookPayload,
        permission=WRITE, description="Register an endpoint; the payload carries its signing "
        "secret, shown this once.")
    update_webhook = command(
        _update, input_type=s.UpdateWebhookInput, permission=WRITE,
        payload=payload_type("UpdateWebhook", "webhook", Webhook),
        description="Change an endpoint; active: true re-enables a disabled one.")
    delete_webhook = command(
        _delete, input_type=IdInput, permission=WRITE,
        payload=payload_type("DeleteWebhook", "deleted_id", Webhook),
        description="Delete an endpoint and its delivery log.")
    rotate_webhook_secret = command(
        _rotate, input_type=s.RotateWebhookSecretInput, payload=s.RotateWebhookSecretPayload,
        permission=WRITE, description="A new signing secret (shown once); the old one keeps "
        "signing for the overlap.")
    redeliver_webhook = command(
        _redeliver, input_type=s.RedeliverWebhookInput, permission=WRITE,
        payload=payload_type("RedeliverWebhook", "webhook_delivery", WebhookDelivery),
        description="Send a delivery again now (same webhook-id), with a fresh retry "
                    "schedule.")
    send_test_webhook = command(
        _send_test, input_type=s.SendTestWebhookInput, permission=WRITE,
        payload=payload_type("SendTestWebhook", "webhook_delivery", WebhookDelivery),
        description="Send a webhook.test event to this endpoint only.")
