"""A real HTTP receiver on loopback (uvicorn): it checks every request with the
``standardwebhooks`` verifier against the secrets it is given, keeps what it got, and answers
with whatever the test scripts (200 by default)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    #: For each secret the receiver holds, whether the request verifies with it.
    verified: list[bool]

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.url = ""
        self.secrets: list[str] = []
        self.received: list[Received] = []
        self.script: list[Reply] = []

    def reset(self) -> None:
        self.secrets, self.received, self.script = [], [], []

    def _verify(self, body: bytes, headers: dict[str, str]) -> list[bool]:
        results = []
        for secret in self.secrets:
            try:
                Webhook(secret).verify(body, headers)
                results.append(True)
            except WebhookVerificationError:
                results.append(False)
        return results

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append(Received(scope["path"], headers, body,
                                      self._verify(body, headers)))
        reply = self.script.pop(0) if self.script else Reply()
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(k.encode(), v.encode()) for k, v in reply.headers.items()]})
        await send({"type": "http.response.body", "body": reply.body})


@asynccontextmanager
async def serving(receiver: Receiver, port: int) -> AsyncIterator[Receiver]:
    server = uvicorn.Server(uvicorn.Config(receiver, host="127.0.0.1", port=port,
                                           log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event to await for "listening"
        if server.started:
            break
        await asyncio.sleep(0.01)
    receiver.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
