"""Request ids and Prometheus metrics, as plain ASGI middleware (no per-request overhead of
Starlette's BaseHTTPMiddleware)."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ispcore.domain.common.card_numbers import has_card_number
from ispcore.logging_setup import request_id_var

log = logging.getLogger("ispcore.errors")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
_KNOWN_PATHS = {"/graphql", "/graphiql", "/healthz", "/readyz", "/metrics"}
_KNOWN_METHODS = {"GET", "POST", "HEAD", "OPTIONS"}

REQUESTS = Counter("ispcore_http_requests_total", "HTTP requests", ["method", "path", "status"])
LATENCY = Histogram("ispcore_http_request_duration_seconds", "HTTP request latency", ["path"])

_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _metrics(method: str, path: str, status: int) -> tuple[Any, Any]:
    """The counter and histogram children for one label set, looked up once (``labels()``
    validates and locks on every call)."""
    key = (method, path, status)
    found = _series.get(key)
    if found is None:
        found = _series[key] = (REQUESTS.labels(method, path, str(status)), LATENCY.labels(path))
    return found


def _path_label(path: str) -> str:
    if path in _KNOWN_PATHS:
        return path
    return "/graphiql/static" if path.startswith("/graphiql/static/") else "other"


def _request_id(given: bytes | None) -> str:
    """The caller's id when it is a plain token holding no card number (it is echoed and goes
    into every log line of the request), else a new one."""
    if given and _VALID_REQUEST_ID.fullmatch(given):
        text = given.decode()
        if not has_card_number(text):
            return text
    return os.urandom(16).hex()


class RequestIdMiddleware:
    """Takes a caller's ``X-Request-ID`` (if sane) or makes one; echoes it on the response and
    puts it in the log context and the GraphQL context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _request_id(
            next((v for k, v in scope["headers"] if k == REQUEST_ID_HEADER), None))
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        if scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                request_id_var.reset(token)
            return

        path = _path_label(scope["path"])
        began = time.perf_counter()
        status = 500
        responded = False
        header = (REQUEST_ID_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error")  # still inside the request: the line has its id
            if responded:
                raise
            await send_with_id({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json")]})
            await send_with_id({"type": "http.response.body", "body": json.dumps({
                "data": None, "errors": [{
                    "message": f"Internal error (request id {request_id}).",
                    "extensions": {"code": "INTERNAL", "requestId": request_id}}],
            }).encode()})
        finally:
            method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
            count, latency = _metrics(method, path, status)
            count.inc()
            latency.observe(time.perf_counter() - began)
            request_id_var.reset(token)
