"""TWILIO: sending an SMS through Twilio's Programmable Messaging REST API with httpx.

The contract this adapter is written against (Twilio's public API reference):

- ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``,
  ``From`` and ``Body``, HTTP Basic with the account SID and the auth token.
- Success is ``201 Created`` with the message resource as JSON; its ``sid`` (``SM…``) is the
  message's id.
- A failure is a JSON error ``{"code": 21211, "message": "...", "more_info": "https://...",
  "status": 400}``. 429 (too many requests) and 5xx are worth retrying; other 4xx (an
  invalid ``To`` number, 21211; a number that cannot receive SMS, 21614; bad credentials,
  20003 with 401) are not.

Every connection goes through the SSRF guard (:mod:`ispcore.integrations.connect`). The tests
replay these shapes with respx (``tests/messaging/test_sms_providers.py``); no
request reaches Twilio from here."""

from __future__ import annotations

from typing import Any

import httpx

from ispcore.domain.common.outbound import RefusedAddress
from ispcore.domain.messaging.sms import SmsFailed
from ispcore.integrations.connect import http_client

DEFAULT_BASE_URL = "https://api.twilio.com"


class TwilioSmsProvider:
    def __init__(self, account_sid: str, auth_token: str, *, allow_private: bool,
                 base_url: str = DEFAULT_BASE_URL, timeout: float = 20.0) -> None:
        self.account_sid = account_sid
        self._auth = (account_sid, auth_token)
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._allow_private = allow_private

    async def send(self, *, to: str, from_number: str, body: str) -> str:
        url = f"{self._base_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            async with http_client(allow_private=self._allow_private, auth=self._auth,
                                   timeout=self._timeout) as client:
                response = await client.post(url, data={"To": to, "From": from_number,
                                                        "Body": body})
        except RefusedAddress as exc:
            raise SmsFailed(f"Twilio's address is refused: {exc.message}", transient=True) \
                from None
        except httpx.HTTPError as exc:
            raise SmsFailed(f"Twilio did not answer: {exc!r}", transient=True) from None
        if response.status_code in (200, 201):
            sid = _json(response).get("sid")
            if not isinstance(sid, str) or not sid:
                raise SmsFailed("Twilio accepted the message but sent no sid.", transient=False)
            return sid
        error = _json(response)
        code, message = error.get("code"), error.get("message") or response.reason_phrase
        text = f"Twilio {response.status_code}" + (f" ({code})" if code else "") + f": {message}"
        transient = response.status_code == 429 or response.status_code >= 500
        raise SmsFailed(text[:1000], transient=transient)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
