"""Recorded response shapes of Stripe's API (version 2024-06-20): PaymentIntents, a card
decline, PaymentMethods, Refunds and search results, as Stripe's API reference documents
them and test-mode requests return them. They are shapes to answer with, not live calls:
ids, times and amounts are filled in per request by ``FakeStripe``.

``FakeStripe`` answers the adapter's requests through respx the way Stripe does, including
idempotency: a request with an ``Idempotency-Key`` seen before gets the first response back
(``Idempotent-Replayed: true``), and the same key with other parameters is a 400
``idempotency_error``. It records every charge it made, so tests can prove none was made
twice."""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import respx

API = "https://api.stripe.com"

PAYMENT_INTENT: dict[str, Any] = {
    "id": "pi_3PkQbXLkdIwHu7ix0q3vWnQk",
    "object": "payment_intent",
    "amount": 6375,
    "amount_capturable": 0,
    "amount_details": {"tip": {}},
    "amount_received": 6375,
    "application": None,
    "application_fee_amount": None,
    "automatic_payment_methods": None,
    "canceled_at": None,
    "cancellation_reason": None,
    "capture_method": "automatic_async",
    "client_secret": "pi_3PkQbXLkdIwHu7ix0q3vWnQk_secret_6bW1wzRkQ9ZLc2rJ7HqUvEw8t",
    "confirmation_method": "automatic",
    "created": 1793545200,
    "currency": "usd",
    "customer": "cus_QbXLkdIwHu7ixA",
    "description": None,
    "invoice": None,
    "last_payment_error": None,
    "latest_charge": "ch_3PkQbXLkdIwHu7ix0dWvV5lZ",
    "livemode": False,
    "metadata": {"payment_id": "1"},
    "next_action": None,
    "on_behalf_of": None,
    "payment_method": "pm_1PkQbWLkdIwHu7ixR2nKc4Ts",
    "payment_method_configuration_details": None,
    "payment_method_options": {"card": {"installments": None, "mandate_options": None,
                                        "network": None,
                                        "request_three_d_secure": "automatic"}},
    "payment_method_types": ["card"],
    "processing": None,
    "receipt_email": None,
    "review": None,
    "setup_future_usage": None,
    "shipping": None,
    "source": None,
    "statement_descriptor": None,
    "statement_descriptor_suffix": None,
    "status": "succeeded",
    "transfer_data": None,
    "transfer_group": None,
}

LAST_PAYMENT_ERROR: dict[str, Any] = {
    "charge": "ch_3PkQcdLkdIwHu7ix1nVf2Hq8",
    "code": "card_declined",
    "decline_code": "insufficient_funds",
    "doc_url": "https://stripe.com/docs/error-codes/card-declined",
    "message": "Your card has insufficient funds.",
    "payment_method": {"id": "pm_1PkQcbLkdIwHu7ixZ0fH6mQs", "object": "payment_method",
                       "type": "card"},
    "type": "card_error",
}

#: A 402 answer to creating and confirming an intent whose card was declined.
CARD_DECLINED: dict[str, Any] = {
    "error": {
        "charge": "ch_3PkQcdLkdIwHu7ix1nVf2Hq8",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
        "message": "Your card has insufficient funds.",
        "payment_intent": None,  # the intent, in status requires_payment_method
        "payment_method": {"id": "pm_1PkQcbLkdIwHu7ixZ0fH6mQs", "object": "payment_method",
                           "type": "card"},
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_W1t0Xq8vJcKk2d"
                           "?t=1793545260",
        "type": "card_error",
    }
}

PAYMENT_METHOD: dict[str, Any] = {
    "id": "pm_1PkQbWLkdIwHu7ixR2nKc4Ts",
    "object": "payment_method",
    "allow_redisplay": "unspecified",
    "billing_details": {"address": {"city": None, "country": None, "line1": None,
                                    "line2": None, "postal_code": "62701", "state": None},
                        "email": None, "name": "Jane Doe", "phone": None},
    "card": {
        "brand": "visa",
        "checks": {"address_line1_check": None, "address_postal_code_check": "pass",
                   "cvc_check": "pass"},
        "country": "US",
        "display_brand": "visa",
        "exp_month": 8,
        "exp_year": 2029,
        "fingerprint": "Xt5EWLLDS7FJjR1c",
        "funding": "credit",
        "generated_from": None,
        "last4": "4242",
        "networks": {"available": ["visa"], "preferred": None},
        "three_d_secure_usage": {"supported": True},
        "wallet": None,
    },
    "created": 1793545100,
    "customer": "cus_QbXLkdIwHu7ixA",
    "livemode": False,
    "metadata": {},
    "type": "card",
}

REFUND: dict[str, Any] = {
    "id": "re_3PkQbXLkdIwHu7ix0Jk2Xc1P",
    "object": "refund",
    "amount": 1000,
    "balance_transaction": "txn_3PkQbXLkdIwHu7ix0wS4Lq9d",
    "charge": "ch_3PkQbXLkdIwHu7ix0dWvV5lZ",
    "created": 1793631600,
    "currency": "usd",
    "destination_details": {"card": {"reference_status": "pending",
                                     "reference_type": "acquirer_reference_number",
                                     "type": "refund"}, "type": "card"},
    "metadata": {},
    "payment_intent": "pi_3PkQbXLkdIwHu7ix0q3vWnQk",
    "reason": None,
    "receipt_number": None,
    "source_transfer_reversal": None,
    "status": "succeeded",
    "transfer_reversal": None,
}

SEARCH_RESULT: dict[str, Any] = {"object": "search_result", "data": [], "has_more": False,
                                 "next_page": None, "url": "/v1/payment_intents/search"}


def not_found(kind: str, pk: str, param: str) -> dict[str, Any]:
    return {"error": {"code": "resource_missing",
                      "doc_url": "https://stripe.com/docs/error-codes/resource-missing",
                      "message": f"No such {kind}: '{pk}'", "param": param,
                      "request_log_url": "https://dashboard.stripe.com/test/logs/"
                                         "req_Qm3kLwQ2aZk9Hn",
                      "type": "invalid_request_error"}}


IDEMPOTENCY_ERROR: dict[str, Any] = {"error": {
    "message": "Keys for idempotent requests can only be used with the same parameters they "
               "were first used with. Try using a key other than 'x' if you meant to execute "
               "a different request.", "type": "idempotency_error"}}


class FakeStripe:
    """Stripe's API as the adapter sees it, on a respx router. ``on_charge(n)`` runs after
    the n-th charge was made and stored (it may raise, as a lost answer or a killed worker
    would); ``before_charge(n)`` before it (a request that never arrived)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.stored: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        #: (idempotency key, intent id) of every POST that made a charge attempt.
        self.charges: list[tuple[str, str]] = []
        self.refunds: list[dict[str, Any]] = []
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.declining: set[str] = set()
        self.on_charge: Callable[[int], None] | None = None
        self.before_charge: Callable[[int], None] | None = None
        self.charge_requests = 0
        #: Make the next refund, then lose its answer (a timeout).
        self.lose_next_refund_answer = False
        self._ids = itertools.count(1)

    # --- test set-up ---
    def card(self, pm: str, *, customer: str = "cus_QbXLkdIwHu7ixA", last4: str = "4242",
             brand: str = "visa", exp: tuple[int, int] = (8, 2029),
             declines: bool = False) -> str:
        body = copy.deepcopy(PAYMENT_METHOD)
        body["id"], body["customer"] = pm, customer
        body["card"].update(last4=last4, brand=brand, display_brand=brand,
                            exp_month=exp[0], exp_year=exp[1])
        self.payment_methods[pm] = body
        if declines:
            self.declining.add(pm)
        return pm

    @property
    def succeeded(self) -> list[dict[str, Any]]:
        return [i for i in self.intents.values() if i["status"] == "succeeded"]

    # --- the API ---
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_3Pk{next(self._ids):06d}LkdIwHu7ix"

    def _idempotent(self, request: httpx.Request, form: dict[str, str],
                    make: Callable[[], tuple[int, dict[str, Any]]]) -> httpx.Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and key in self.stored:
            first_form, status, body = self.stored[key]
            if first_form != form:
                return httpx.Response(400, json=IDEMPOTENCY_ERROR)
            return httpx.Response(status, json=body, headers={"Idempotent-Replayed": "true"})
        status, body = make()
        if key is not None:
            self.stored[key] = (form, status, body)
        return httpx.Response(status, json=body)

    def _create_intent(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))
        key = request.headers.get("Idempotency-Key", "")
        replay = key in self.stored

        def make() -> tuple[int, dict[str, Any]]:
            pm = form["payment_method"]
            intent = copy.deepcopy(PAYMENT_INTENT)
            intent.update(id=self._new_id("pi"), amount=int(form["amount"]),
                          currency=form["currency"], customer=form.get("customer"),
                          payment_method=pm, latest_charge=self._new_id("ch"),
                          metadata={"payment_id": form["metadata[payment_id]"]},
                          client_secret=None)
            self.charges.append((key, intent["id"]))
            if pm in self.declining:
                intent.update(status="requires_payment_method", amount_received=0,
                              last_payment_error=copy.deepcopy(LAST_PAYMENT_ERROR))
                self.intents[intent["id"]] = intent
                error = copy.deepcopy(CARD_DECLINED)
                error["error"]["payment_intent"] = intent
                return 402, error
            self.intents[intent["id"]] = intent
            return 200, intent

        if not replay:
            self.charge_requests += 1
            if self.before_charge is not None:
                self.before_charge(self.charge_requests)
        response = self._idempotent(request, form, make)
        if not replay and self.on_charge is not None:
            self.on_charge(self.charge_requests)
        return response

    def _get_intent(self, request: httpx.Request, pk: str) -> httpx.Response:
        if pk not in self.intents:
            return httpx.Response(404, json=not_found("payment_intent", pk, "intent"))
        return httpx.Response(200, json=self.intents[pk])

    def _search(self, request: httpx.Request) -> httpx.Response:
        query = request.url.params["query"]
        wanted = re.fullmatch(r"metadata\['payment_id'\]:'(\d+)'", query)
        assert wanted, query
        body = copy.deepcopy(SEARCH_RESULT)
        body["data"] = [i for i in self.intents.values()
                        if i["metadata"].get("payment_id") == wanted.group(1)]
        return httpx.Response(200, json=body)

    def _get_payment_method(self, request: httpx.Request, pk: str) -> httpx.Response:
        if pk not in self.payment_methods:
            return httpx.Response(404, json=not_found("PaymentMethod", pk, "payment_method"))
        return httpx.Response(200, json=self.payment_methods[pk])

    def _refund(self, request: httpx.Request) -> httpx.Response:
        form = dict(parse_qsl(request.content.decode()))

        def make() -> tuple[int, dict[str, Any]]:
            intent = self.intents.get(form["payment_intent"])
            if intent is None:
                return 404, not_found("payment_intent", form["payment_intent"],
                                      "payment_intent")
            refund = copy.deepcopy(REFUND)
            refund.update(id=self._new_id("re"), amount=int(form["amount"]),
                          payment_intent=intent["id"], charge=intent["latest_charge"],
                          currency=intent["currency"])
            self.refunds.append(refund)
            return 200, refund

        response = self._idempotent(request, form, make)
        if self.lose_next_refund_answer:
            self.lose_next_refund_answer = False
            raise httpx.ReadTimeout("timed out")
        return response

    def route(self, router: respx.MockRouter) -> FakeStripe:
        def logged(handler: Callable[..., httpx.Response]) -> Callable[..., httpx.Response]:
            def side_effect(request: httpx.Request, **kwargs: Any) -> httpx.Response:
                self.requests.append(request)
                assert request.headers["Authorization"] == "Bearer sk_test_ispcore"
                return handler(request, **kwargs)
            return side_effect

        router.post(f"{API}/v1/payment_intents").mock(side_effect=logged(self._create_intent))
        router.get(f"{API}/v1/payment_intents/search").mock(side_effect=logged(self._search))
        router.get(url__regex=rf"^{API}/v1/payment_intents/(?P<pk>pi_\w+)$").mock(
            side_effect=logged(self._get_intent))
        router.get(url__regex=rf"^{API}/v1/payment_methods/(?P<pk>\w+)$").mock(
            side_effect=logged(self._get_payment_method))
        router.post(f"{API}/v1/refunds").mock(side_effect=logged(self._refund))
        return self


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))
