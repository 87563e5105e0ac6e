from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import free_port
from tests.webhooks.receiver import Receiver, serving


@pytest.fixture(scope="session")
async def _receiver() -> AsyncIterator[Receiver]:
    async with serving(Receiver(), free_port()) as receiver:
        yield receiver


@pytest.fixture
def receiver(_receiver: Receiver, runtime, vault_key, monkeypatch) -> Receiver:
    """The loopback receiver, reachable: private addresses allowed (and a vault key to seal
    the secrets)."""
    monkeypatch.setattr(runtime.settings, "webhooks_allow_private", True)
    _receiver.reset()
    return _receiver
