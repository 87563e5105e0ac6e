"""A stand-in for the API's poller operations over real HTTP (uvicorn on loopback): it serves
``pollerWorkload``, takes ``pollerHeartbeat`` and ``submitPollResults`` (recording each call),
and answers what the test scripts: HTTP failures, or user errors refusing devices."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.webhooks.receiver import Reply, serving

TOKEN = "isp_pol_test"


def snmp_access(creds: Any, timeout_ms: int = 1000, retries: int = 0) -> dict[str, Any]:
    return {"version": creds.version, "port": creds.port, "community": creds.community,
            "username": creds.username, "authProtocol": creds.auth_protocol,
            "authKey": creds.auth_key, "privProtocol": creds.priv_protocol,
            "privKey": creds.priv_key, "timeoutMs": timeout_ms, "retries": retries}


def device(device_id: str, address: str = "127.0.0.1", *, snmp: dict[str, Any] | None = None,
           icmp: bool = False, checks: list[dict[str, Any]] | None = None,
           interval: int = 1) -> dict[str, Any]:
    return {"deviceId": device_id, "name": device_id, "address": address,
            "intervalSeconds": interval, "snmp": snmp,
            "icmp": {"count": 1, "timeoutMs": 500} if icmp else None, "checks": checks or []}


def check(check_id: str, oid: str, kind: str = "SNMP_GET", value_type: str = "GAUGE",
          label_oid: str | None = None) -> dict[str, Any]:
    return {"checkId": check_id, "name": check_id, "kind": kind, "oid": oid,
            "valueType": value_type, "labelOid": label_oid}


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class FakePollerApi:
    url: str = ""
    devices: list[dict[str, Any]] = field(default_factory=list)
    concurrency: int = 8
    heartbeat_seconds: int = 1
    #: Replies to the next submissions: an HTTP status (int), or user errors (a list).
    submit_script: list[Any] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: Device ids this poller no longer owns: a batch holding one is refused (FORBIDDEN), and
    #: they leave the workload (as when a device moves to another poller's site).
    moved: set[str] = field(default_factory=set)

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [variables for op, variables in self.calls if op == operation]

    def submitted(self) -> list[dict[str, Any]]:
        """Device results of accepted submissions."""
        return [d for batch in self.of("accepted") for d in batch["input"]["devices"]]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        reply = self._reply(headers, json.loads(await self._read(receive)))
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": reply.body})

    @staticmethod
    async def _read(receive: Any) -> bytes:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                return body

    def _reply(self, headers: dict[str, str], payload: dict[str, Any]) -> Reply:
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return Reply(200, body=json.dumps({"data": None, "errors": [
                {"message": "not a poller token"}]}).encode())
        query, variables = payload["query"], payload.get("variables") or {}
        if "pollerWorkload" in query:
            self.calls.append(("workload", variables))
            data = {"pollerWorkload": {"pollerId": "UG9sbGVyOjE=",
                                       "concurrency": self.concurrency,
                                       "heartbeatSeconds": self.heartbeat_seconds,
                                       "devices": self.devices}}
        elif "pollerHeartbeat" in query:
            self.calls.append(("heartbeat", variables))
            data = {"pollerHeartbeat": {"errors": []}}
        elif "submitPollResults" in query:
            self.calls.append(("submit", variables))
            scripted = self.submit_script.pop(0) if self.submit_script else None
            refused = [{"field": f"devices.{i}.deviceId", "code": "FORBIDDEN",
                        "message": "not this poller's device"}
                       for i, d in enumerate(variables["input"]["devices"])
                       if d["deviceId"] in self.moved]
            if refused:
                self.devices = [d for d in self.devices if d["deviceId"] not in self.moved]
                scripted = refused
            if isinstance(scripted, int):
                return Reply(scripted, body=b"upstream trouble")
            if scripted:
                data = {"submitPollResults": {"accepted": 0, "duplicate": False,
                                              "errors": scripted}}
            else:
                self.calls.append(("accepted", variables))
                count = len(variables["input"]["devices"])
                data = {"submitPollResults": {"accepted": count, "duplicate": False,
                                              "errors": []}}
        else:
            return Reply(400, body=b'{"errors": [{"message": "unknown operation"}]}')
        return Reply(200, body=json.dumps({"data": data}).encode())


@asynccontextmanager
async def fake_api() -> AsyncIterator[FakePollerApi]:
    api = FakePollerApi()
    port = free_tcp_port()
    async with serving(api, port):  # type: ignore[arg-type]
        api.url = f"http://127.0.0.1:{port}/graphql"
        yield api
