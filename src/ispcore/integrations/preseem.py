"""PRESEEM: the per-subscriber usage Preseem's QoE platform measures, read from its REST API
with httpx.

What the public material says, and what is assumed here (one place to change if a Preseem
instance answers otherwise):

- Authentication (documented for Preseem's model API, ``/model/v1/…``): HTTP Basic with the
  API key as the user name and an empty password.
- Lists are paginated with ``page`` (from 1) and ``limit`` query parameters and answer
  ``{"data": [...], "paginator": {"page": n, "page_count": N, ...}}`` (documented for the
  model API's lists).
- Usage (assumed: Preseem enables a usage API per instance, and billing systems poll it
  every 15 minutes for the interval just ended, getting each service's bytes down and up):
  ``GET {base_url}/usage/v1/services?start=<ISO 8601>&end=<ISO 8601>&page=&limit=`` whose
  ``data`` items are ``{"service": "<id>", "account": "<billing account id>",
  "down_bytes": <int>, "up_bytes": <int>}`` for that interval. Preseem knows subscribers by
  the ids the billing system gave them, so ``account`` is the account's id in ispcore.

Timeouts, 429 and 5xx answers and connection failures are retried (with backoff, honouring
``Retry-After``); any other failure is a :class:`PreseemError` with a stable code. Every
connection goes through the SSRF guard (:mod:`ispcore.integrations.connect`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ispcore.domain.common.outbound import RefusedAddress
from ispcore.integrations.connect import http_client

DEFAULT_BASE_URL = "https://api.preseem.com"
USAGE_PATH = "/usage/v1/services"
PAGE_SIZE = 500
#: At most this many pages for one interval (500,000 services): a paginator that never
#: ends is an error, not a loop.
MAX_PAGES = 1000
#: A ``Retry-After`` longer than this is not waited for (the next run asks again).
MAX_RETRY_AFTER = 30.0


class PreseemError(Exception):
    """Preseem could not be read. ``code``: AUTH (the key was refused), REFUSED (another
    4xx, or an address the SSRF guard refuses), UNAVAILABLE (5xx, 429 or no answer, after
    the retries) or MALFORMED (an answer that is not the expected JSON)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ServiceUsage:
    """One service's bytes in an interval: ``down`` to the subscriber, ``up`` from it."""

    service: str
    account: str | None
    down: int
    up: int


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _count(item: dict[str, Any], key: str) -> int:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PreseemError("MALFORMED", f"Preseem's usage item has no whole {key!r}.")
    return value


def _usage_item(item: Any) -> ServiceUsage:
    if not isinstance(item, dict):
        raise PreseemError("MALFORMED", "Preseem's usage data holds something else than "
                                        "objects.")
    service, account = item.get("service"), item.get("account")
    if not isinstance(service, str | int) or isinstance(service, bool) or service == "":
        raise PreseemError("MALFORMED", "Preseem's usage item has no service id.")
    if account is not None and (not isinstance(account, str | int)
                                or isinstance(account, bool)):
        raise PreseemError("MALFORMED", "Preseem's usage item has an account id that is "
                                        "neither text nor a number.")
    return ServiceUsage(str(service), None if account in (None, "") else str(account),
                        _count(item, "down_bytes"), _count(item, "up_bytes"))


def _page(body: Any) -> tuple[list[ServiceUsage], int]:
    """A page's items and the number of pages."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise PreseemError("MALFORMED", "Preseem's answer has no data list.")
    paginator = body.get("paginator") or {}
    pages = paginator.get("page_count", 1) if isinstance(paginator, dict) else None
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 0:
        raise PreseemError("MALFORMED", "Preseem's paginator has no page count.")
    return [_usage_item(item) for item in body["data"]], pages


class PreseemClient:
    def __init__(self, base_url: str, api_key: str, *, timeout: float, allow_private: bool,
                 attempts: int = 3, backoff: float = 0.5) -> None:
        self.base_url = base_url.rstrip("/")
        self.allow_private = allow_private
        self.auth = httpx.BasicAuth(api_key, "")
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff

    async def usage(self, start: datetime, end: datetime) -> list[ServiceUsage]:
        """Every service's usage in ``[start, end)``, all pages."""
        out: list[ServiceUsage] = []
        async with http_client(allow_private=self.allow_private, timeout=self.timeout,
                               auth=self.auth) as client:
            page = pages = 1
            while page <= pages:
                if page > MAX_PAGES:
                    raise PreseemError("MALFORMED", f"Preseem's paginator goes past "
                                                    f"{MAX_PAGES} pages.")
                body = await self._get(client, USAGE_PATH, {
                    "start": _iso(start), "end": _iso(end), "page": page,
                    "limit": PAGE_SIZE})
                items, pages = _page(body)
                out.extend(items)
                page += 1
        return out

    async def _get(self, client: httpx.AsyncClient, path: str, params: dict[str, Any]
                   ) -> Any:
        """One GET, retried on 429, 5xx and transport failures; the JSON body."""
        for attempt in range(1, self.attempts + 1):
            wait = self.backoff * 2 ** (attempt - 1)
            try:
                response = await client.get(f"{self.base_url}{path}", params=params,
                                            headers={"Accept": "application/json"})
            except RefusedAddress as exc:
                raise PreseemError("REFUSED", f"Preseem's address is refused: {exc.message}") \
                    from None
            except httpx.TimeoutException:
                problem = "Preseem did not answer in time."
            except httpx.HTTPError as exc:
                problem = f"Preseem could not be reached ({type(exc).__name__})."
            else:
                status = response.status_code
                if status in (401, 403):
                    raise PreseemError("AUTH", f"Preseem refused the API key ({status}).")
                if status == 429 or status >= 500:
                    problem = f"Preseem answered {status}."
                    wait = max(wait, _retry_after(response))
                elif status >= 400:
                    raise PreseemError("REFUSED", f"Preseem refused the request ({status}).")
                else:
                    try:
                        return response.json()
                    except ValueError:
                        raise PreseemError("MALFORMED", "Preseem's answer is not JSON.") \
                            from None
            if attempt < self.attempts and wait <= MAX_RETRY_AFTER:
                await asyncio.sleep(wait)
            else:
                break
        raise PreseemError("UNAVAILABLE", f"{problem} Gave up after {attempt} attempt(s).")


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", 0)))
    except ValueError:
        return 0.0
