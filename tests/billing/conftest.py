"""Billing fixtures: Stripe answered by a fake of its API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import respx

from tests.billing.stripe_shapes import FakeStripe


@pytest.fixture
def stripe(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStripe]:
    """Stripe set up on the server, answered by the fake (nothing leaves the machine)."""
    monkeypatch.setattr(runtime.settings, "stripe_api_key", "sk_test_ispcore")
    monkeypatch.setattr(runtime.settings, "stripe_api_base", "https://api.stripe.com")
    with respx.mock(assert_all_called=False) as router:
        yield FakeStripe().route(router)

