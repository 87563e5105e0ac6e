"""Webhook types: endpoints (never their secret, shown only by createWebhook and
rotateWebhookSecret), deliveries with their attempts, and the catalogue of event types."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.webhooks import models as m
from ispcore.domain.webhooks.signing import message_id
from ispcore.schema.companies import Company
from ispcore.schema.errors import UserError
from ispcore.schema.filtering import (
    BooleanFilter,
    DateTimeFilter,
    IdOf,
    IntFilter,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.relations import Many, One, relation

if TYPE_CHECKING:
    from ispcore.schema.audit import Event
    from ispcore.schema.identity import User

READ = "webhooks:read"

WebhookDeliveryStatus = strawberry.enum(
    m.DeliveryStatus, description="PENDING: waiting for its next attempt; SENDING: being "
    "sent; SUCCEEDED: the endpoint answered 2xx; FAILED: given up (attempts exhausted, 410 "
    "Gone).")


@strawberry.type(description="One event type ispcore records, as webhooks subscribe to it.")
class EventType:
    name: str
    description: str


@strawberry.type(description="A URL that receives the events it subscribes to, signed per "
                 "Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).")
@model_node(m.Webhook, read_permission=READ)
class Webhook(ModelNode):
    url: str
    description: str
    event_types: list[str] = strawberry.field(description="Event type names, or prefix.* "
                                              "wildcards such as invoice.*.")
    active: bool = strawberry.field(description="Inactive endpoints receive nothing; one "
                                    "that answers 410 or fails for days is made inactive.")
    failing_since: datetime | None = strawberry.field(description="The first failed attempt "
                                                      "since the last success.")
    disabled_at: datetime | None
    disabled_reason: str | None
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until then the secret before the last rotation signs too.")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int | None]
    created_by_id: strawberry.Private[int | None]

    company: Company | None = relation(One("Company", "company_id"),
                                       description="Null: instance-wide (every company).")
    created_by: Annotated[User, strawberry.lazy("ispcore.schema.identity")] | None = relation(
        One("User", "created_by_id"), description="Told when the endpoint is disabled.")


@strawberry.type(description="One HTTP request of a delivery.")
@model_node(m.WebhookAttempt, read_permission=READ)
class WebhookAttempt(ModelNode):
    attempted_at: datetime
    status_code: int | None = strawberry.field(description="Null: no HTTP answer.")
    error: str | None = strawberry.field(description="Timeout, connection error, redirect "
                                         "(not followed) or refused address.")
    response_excerpt: str = strawberry.field(description="The first 1000 bytes of the "
                                             "answer's body.")
    duration_ms: int


@strawberry.type(description="One event for one endpoint, and its attempts.")
@model_node(m.WebhookDelivery, read_permission=READ)
class WebhookDelivery(ModelNode):
    event_type: str
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    created_at: datetime
    completed_at: datetime | None
    endpoint_id: strawberry.Private[int]
    event_id: strawberry.Private[int]

    @strawberry.field(description="The webhook-id header: the same on every attempt.")
    def message_id(self) -> str:
        return message_id(self.event_id)

    webhook: Webhook | None = relation(One("Webhook", "endpoint_id"))
    event: Annotated[Event, strawberry.lazy("ispcore.schema.audit")] | None = relation(
        One("Event", "event_id"), description="Null without events:read.")
    attempts: list[WebhookAttempt] | None = relation(
        Many("WebhookAttempt", "delivery_id", order_by=("attempted_at", "id")),
        description="Oldest first.")


@strawberry.input(description="Operators on a delivery's status.")
class WebhookDeliveryStatusFilter:
    eq: WebhookDeliveryStatus | None = UNSET
    in_: list[WebhookDeliveryStatus] | None = strawberry.field(name="in", default=UNSET)


WEBHOOK_LISTING = listing_inputs(
    "Webhook", {"id": IdOf("Webhook"), "company_id": IdOf("Company"), "url": StringFilter,
                "active": BooleanFilter, "created_at": DateTimeFilter},
    order_by=["created_at", "url"])
DELIVERY_LISTING = listing_inputs(
    "WebhookDelivery", {"id": IdOf("WebhookDelivery"), "endpoint_id": IdOf("Webhook"),
                        "event_type": StringFilter, "status": WebhookDeliveryStatusFilter,
                        "last_status_code": IntFilter, "created_at": DateTimeFilter},
    order_by=["created_at", "next_attempt_at"])


@strawberry.input(description="A new endpoint; its URL must be http(s) and reach a public "
                  "address.")
class CreateWebhookInput:
    company_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Null: instance-wide, every company's events (needs "
        "companies:write).")
    url: str
    event_types: list[str] = strawberry.field(description="Names from eventTypes, or "
                                              "prefix.* wildcards.")
    description: str | None = UNSET
    active: bool = True


@strawberry.input(description="Omitted fields stay; active: true on a disabled endpoint "
                  "clears its failure state.")
class UpdateWebhookInput:
    id: relay.GlobalID
    url: str | None = UNSET
    event_types: list[str] | None = UNSET
    description: str | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class RotateWebhookSecretInput:
    id: relay.GlobalID
    overlap_hours: int | None = strawberry.field(
        default=None, description="How long the old secret keeps signing too (default 24, "
        "at most 168; 0: stops at once).")


@strawberry.input
class RedeliverWebhookInput:
    delivery_id: relay.GlobalID


@strawberry.input
class SendTestWebhookInput:
    webhook_id: relay.GlobalID


@strawberry.type
class WebhookSecretFields:
    """The endpoint and its signing secret (not a type of its own in the schema)."""

    webhook: Webhook | None = None
    secret: str | None = strawberry.field(default=None, description="whsec_… : keep it to "
                                          "verify signatures; it is not shown again.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The new endpoint and its signing secret, shown this once.")
class CreateWebhookPayload(WebhookSecretFields):
    pass


@strawberry.type(description="The endpoint and its new signing secret, shown this once.")
class RotateWebhookSecretPayload(WebhookSecretFields):
    pass
