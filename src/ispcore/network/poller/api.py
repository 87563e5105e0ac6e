"""The poller's side of the GraphQL contract: fetch the workload, heartbeat, submit results.
Takes an ``httpx.AsyncClient`` so tests (and the in-process end-to-end test) can point it at
any server, including the app itself through ``httpx.ASGITransport``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from ispcore.network.poller.workload import Workload, parse_workload

WORKLOAD = """query PollerWorkload { pollerWorkload { pollerId concurrency heartbeatSeconds
  devices { deviceId name address intervalSeconds
    snmp { version port community username authProtocol authKey privProtocol privKey
           timeoutMs retries }
    icmp { count timeoutMs }
    checks { checkId name kind oid valueType labelOid } } } }"""
HEARTBEAT = """mutation PollerHeartbeat($input: PollerHeartbeatInput!) {
  pollerHeartbeat(input: $input) { errors { field code message } } }"""
SUBMIT = """mutation SubmitPollResults($input: SubmitPollResultsInput!) {
  submitPollResults(input: $input) { accepted duplicate errors { field code message } } }"""


class PollerApiError(Exception):
    """The API could not be reached or did not answer the operation (worth retrying)."""


@dataclass(frozen=True)
class UserError:
    field: str | None
    code: str
    message: str


@dataclass(frozen=True)
class SubmitResult:
    accepted: int
    duplicate: bool
    errors: list[UserError] = field(default_factory=list)


class PollerApi:
    def __init__(self, http: httpx.AsyncClient, url: str, token: str) -> None:
        self.http = http
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}

    async def _call(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        try:
            response = await self.http.post(
                self.url, json={"query": query, "variables": variables or {}},
                headers=self.headers)
        except httpx.HTTPError as exc:
            raise PollerApiError(f"API unreachable: {exc!r}") from None
        try:
            body = response.json()
        except ValueError:
            raise PollerApiError(f"API answered HTTP {response.status_code}, not JSON") from None
        if body.get("errors") or not body.get("data"):
            messages = "; ".join(e.get("message", "?") for e in body.get("errors") or [])
            raise PollerApiError(f"API refused the operation: {messages or body}")
        return body["data"]

    async def workload(self) -> Workload:
        return parse_workload((await self._call(WORKLOAD))["pollerWorkload"])

    async def heartbeat(self, version: str, lag_seconds: float) -> list[UserError]:
        data = await self._call(HEARTBEAT, {"input": {"version": version,
                                                      "lagSeconds": lag_seconds}})
        return [UserError(**e) for e in data["pollerHeartbeat"]["errors"]]

    async def submit(self, batch_id: str, devices: list[dict[str, Any]]) -> SubmitResult:
        data = await self._call(SUBMIT, {"input": {"batchId": batch_id, "devices": devices}})
        payload = data["submitPollResults"]
        return SubmitResult(payload["accepted"], payload["duplicate"],
                            [UserError(**e) for e in payload["errors"]])
