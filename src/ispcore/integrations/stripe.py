"""STRIPE: cards on file charged through Stripe's REST API (form-encoded, ``Authorization:
Bearer``), with httpx.

A charge is one PaymentIntent created and confirmed off-session under an ``Idempotency-Key``
equal to the payment's ``processor_key``: Stripe stores the first answer to a key and
replays it to any later request with that key, so asking again after a lost answer never
charges twice. Stripe forgets keys after 24 hours; past that, a payment whose answer was
lost is found by searching for its ``metadata[payment_id]`` instead. Every connection goes
through the SSRF guard (:mod:`ispcore.integrations.connect`); a refused address is an answer
that never came."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from ispcore.domain.billing.processors.base import Charge, Outcome, Result
from ispcore.domain.common.clock import Clock
from ispcore.domain.common.errors import DomainError, ErrorCode, NotFound
from ispcore.domain.common.outbound import RefusedAddress
from ispcore.integrations.connect import http_client

#: Responses are read as this API version answers (pinned, so an account upgrade on
#: Stripe's side does not change them under us).
API_VERSION = "2024-06-20"
#: Re-sending a charge under its key is safe while Stripe still remembers the key (24 h).
REPLAY_WINDOW = timedelta(hours=23)


class _NoAnswer(Exception):
    """Nothing usable came back: the charge's fate is unknown."""


@dataclass(frozen=True)
class CardDetails:
    brand: str
    last_four: str
    expiry_month: int
    expiry_year: int
    customer: str | None


def _intent_result(intent: dict[str, Any]) -> Result:
    status, reference = intent.get("status"), intent.get("id")
    if status == "succeeded":
        return Result(Outcome.SUCCEEDED, reference)
    if status in ("requires_payment_method", "canceled"):
        error = intent.get("last_payment_error") or {}
        message = (error.get("message") or intent.get("cancellation_reason")
                   or "Stripe did not collect the payment.")
        return Result(Outcome.FAILED, reference, message)
    # processing (a bank debit in flight), or a state an off-session charge should not be
    # left in: ask again later rather than guess.
    return Result(Outcome.PENDING, reference, f"Stripe reports the payment as {status}.")


def _error_result(status_code: int, body: dict[str, Any], *, asking: bool) -> Result:
    """A 4xx answer. Sending a charge, it means nothing was charged; asking again about one
    (``asking``), an authentication or key error says nothing about the first attempt."""
    error = body.get("error") or {}
    intent = error.get("payment_intent") or {}
    message = error.get("message") or f"Stripe refused the request ({status_code})."
    if error.get("type") == "card_error" or status_code == 402:
        return Result(Outcome.FAILED, intent.get("id"), message)
    if error.get("type") == "idempotency_error" or status_code in (409, 429) or (
            asking and status_code in (401, 403)):
        return Result(Outcome.UNKNOWN, intent.get("id"), message)
    return Result(Outcome.FAILED, intent.get("id"), message)


#: Currencies whose amounts Stripe counts in other units than ISO 4217 (zero-decimal there,
#: two decimals here, or the reverse; three-decimal ones whose last digit must be 0). Charging
#: them as minor units would be wrong by a factor of ten or a hundred, so they are refused.
STRIPE_UNLIKE_ISO = frozenset({"BHD", "HUF", "ISK", "JOD", "KWD", "MGA", "OMR", "TND", "TWD",
                               "UGX"})


def check_currency(currency: str, *, field: str = "processor") -> None:
    if currency.upper() in STRIPE_UNLIKE_ISO:
        raise DomainError(f"Stripe counts {currency.upper()} amounts differently; payments in "
                          "it are not taken through Stripe here.", field=field)


class StripeProcessor:
    name = "STRIPE"

    def __init__(self, api_key: str, base_url: str, timeout: float, clock: Clock, *,
                 allow_private: bool) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.clock = clock
        self.allow_private = allow_private

    async def _send(self, method: str, path: str, *, data: dict[str, Any] | None = None,
                    params: dict[str, Any] | None = None, key: str | None = None
                    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Stripe-Version": API_VERSION}
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            async with http_client(allow_private=self.allow_private,
                                   timeout=self.timeout) as client:
                response = await client.request(method, f"{self.base_url}{path}", data=data,
                                                params=params, headers=headers)
        except RefusedAddress as exc:
            raise _NoAnswer(f"Stripe's address is refused: {exc.message}") from None
        except httpx.TimeoutException:
            raise _NoAnswer("Stripe did not answer in time.") from None
        except httpx.HTTPError as exc:
            raise _NoAnswer(f"Stripe could not be reached ({type(exc).__name__}).") from None
        if response.status_code >= 500:
            raise _NoAnswer(f"Stripe answered with an error ({response.status_code}).")
        try:
            body = response.json()
        except ValueError:
            raise _NoAnswer("Stripe's answer could not be read.") from None
        return response.status_code, body

    def _intent_form(self, charge: Charge) -> dict[str, Any]:
        form: dict[str, Any] = {
            "amount": charge.amount_minor, "currency": charge.currency.lower(),
            "payment_method": charge.token, "confirm": "true", "off_session": "true",
            "metadata[payment_id]": str(charge.payment_id)}
        if charge.customer:
            form["customer"] = charge.customer
        return form

    async def _create_intent(self, charge: Charge, *, asking: bool) -> Result:
        try:
            status_code, body = await self._send("POST", "/v1/payment_intents",
                                                 data=self._intent_form(charge),
                                                 key=charge.key)
        except _NoAnswer as exc:
            return Result(Outcome.UNKNOWN, None, str(exc))
        if status_code == 200:
            return _intent_result(body)
        return _error_result(status_code, body, asking=asking)

    async def charge(self, charge: Charge) -> Result:
        return await self._create_intent(charge, asking=False)

    async def status(self, charge: Charge, reference: str | None) -> Result:
        if reference is None and self.clock.now() - charge.created_at < REPLAY_WINDOW:
            # The answer was lost: the same request under the same key gets Stripe's first
            # answer back (or, if the first never arrived, is the one charge).
            return await self._create_intent(charge, asking=True)
        try:
            if reference is None:
                status_code, body = await self._send(
                    "GET", "/v1/payment_intents/search",
                    params={"query": f"metadata['payment_id']:'{charge.payment_id}'"})
                if status_code == 200 and not body.get("data"):
                    return Result(Outcome.FAILED, None, "Stripe never received this charge.")
                intent = (body.get("data") or [{}])[0]
            else:
                status_code, intent = await self._send("GET", f"/v1/payment_intents/{reference}")
        except _NoAnswer as exc:
            return Result(Outcome.UNKNOWN, reference, str(exc))
        if status_code != 200:
            return Result(Outcome.UNKNOWN, reference,
                          (intent.get("error") or {}).get("message"))
        return _intent_result(intent)

    async def refund(self, reference: str, amount_minor: int, key: str) -> Result:
        try:
            status_code, body = await self._send(
                "POST", "/v1/refunds", data={"payment_intent": reference,
                                             "amount": amount_minor}, key=key)
        except _NoAnswer as exc:
            return Result(Outcome.UNKNOWN, None, str(exc))
        if status_code != 200:
            return _error_result(status_code, body, asking=False)
        if body.get("status") in ("failed", "canceled"):
            return Result(Outcome.FAILED, body.get("id"),
                          f"Stripe could not refund it ({body.get('failure_reason')}).")
        return Result(Outcome.SUCCEEDED, body.get("id"))

    async def card(self, payment_method: str) -> CardDetails:
        """The card behind a PaymentMethod made by Stripe.js (``pm_…``)."""
        try:
            status_code, body = await self._send("GET", f"/v1/payment_methods/{payment_method}")
        except _NoAnswer as exc:
            raise DomainError(str(exc), field="token",
                              code=ErrorCode.PROCESSOR_UNAVAILABLE) from None
        if status_code == 404:
            raise NotFound("Stripe has no such payment method.", field="token")
        if status_code != 200:
            raise DomainError((body.get("error") or {}).get("message")
                              or f"Stripe refused ({status_code}).", field="token",
                              code=ErrorCode.PROCESSOR_UNAVAILABLE)
        card = body.get("card")
        if body.get("type") != "card" or not card:
            raise DomainError("Only card payment methods can be kept through Stripe.",
                              field="token")
        return CardDetails(brand=str(card["brand"]), last_four=str(card["last4"]),
                           expiry_month=int(card["exp_month"]),
                           expiry_year=int(card["exp_year"]), customer=body.get("customer"))
