"""Standard Webhooks signing (https://www.standardwebhooks.com): ``webhook-id``,
``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
``id.timestamp.body``, computed by the ``standardwebhooks`` package itself. Secrets are
``whsec_`` + base64 of 32 random bytes."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def message_id(event_id: int) -> str:
    """The ``webhook-id`` of an event's message: the same on every attempt and endpoint, so a
    receiver can drop a message it already has."""
    return f"msg_{event_id}"


def headers(secrets_in_force: list[str], msg_id: str, sent_at: datetime, body: bytes
            ) -> dict[str, str]:
    """The signature headers; during a rotation's overlap, one signature per secret
    (space-separated, as the spec allows)."""
    signatures = " ".join(Webhook(s).sign(msg_id, sent_at, body) for s in secrets_in_force)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signatures, "content-type": "application/json",
            "user-agent": "ispcore-webhooks/1"}
