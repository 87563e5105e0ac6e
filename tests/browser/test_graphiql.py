"""GraphiQL in headless Chromium: runs an authenticated query against the live server, makes
no request off the machine, and keeps the bearer token out of the URL and localStorage."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Request, Route, async_playwright

from tests.support import Api

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
TOOL_EDITORS = ".graphiql-editor-tool .CodeMirror"  # [0] variables, [1] headers
RESULT = ".result-window .CodeMirror"


def is_local(url: str, host: str, port: int) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "data":  # inline (icon, fonts): never touches the network
        return True
    return (parts.scheme in {"http", "ws"} and parts.hostname == host
            and (parts.port or 80) == port)


@pytest.mark.browser
async def test_graphiql_runs_query_with_token_and_stays_local(live_server: str,
                                                              api: Api) -> None:
    host, port_text = live_server.rsplit(":", 1)
    port = int(port_text)
    base = f"http://{live_server}"
    token = await api.admin_token()

    requests: list[str] = []
    blocked: list[str] = []
    console_errors: list[str] = []
    page_errors: list[str] = []

    async def guard(route: Route) -> None:
        if is_local(route.request.url, host, port):
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    def on_request(request: Request) -> None:
        requests.append(request.url)

    def on_console(message: Any) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                           args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            await context.route("**/*", guard)
            page = await context.new_page()
            page.on("request", on_request)
            page.on("console", on_console)
            page.on("pageerror", lambda exc: page_errors.append(str(exc)))
            page.on("websocket", lambda ws: requests.append(ws.url))

            response = await page.goto(f"{base}/graphiql", wait_until="load", timeout=10_000)
            assert response is not None and response.status == 200
            csp = await response.header_value("content-security-policy")
            assert csp and "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, csp

            # Predicates are functions, not expression strings: Playwright evaluates a bare
            # string with eval(), which the page's CSP (no 'unsafe-eval') rightly refuses.
            await page.wait_for_function(
                "([q, t]) => !!document.querySelector(q)?.CodeMirror"
                " && document.querySelectorAll(t).length >= 2",
                arg=[QUERY_EDITOR, TOOL_EDITORS], timeout=10_000)
            await page.evaluate(
                "([sel, q]) => document.querySelector(sel).CodeMirror.setValue(q)",
                [QUERY_EDITOR, "{ me { email } }"])
            await page.evaluate(
                "([sel, h]) => document.querySelectorAll(sel)[1].CodeMirror.setValue(h)",
                [TOOL_EDITORS, json.dumps({"Authorization": f"Bearer {token}"})])
            await asyncio.sleep(0.3)
            await page.click(".graphiql-execute-button", timeout=5_000)

            await page.wait_for_function(
                "(sel) => (document.querySelector(sel)?.CodeMirror?.getValue() || '')"
                ".includes('admin@example.com')", arg=RESULT, timeout=10_000)
            result = await page.evaluate(
                "(sel) => document.querySelector(sel).CodeMirror.getValue()", RESULT)
            assert json.loads(result) == {"data": {"me": {"email": "admin@example.com"}}}

            await page.screenshot(path="/tmp/graphiql_test.png")

            assert token not in page.url and "headers" not in page.url.lower(), page.url
            storage = await page.evaluate("() => JSON.stringify(localStorage)")
            assert token not in storage, storage
            assert console_errors == [], console_errors
            assert page_errors == [], page_errors
        finally:
            await browser.close()

    assert f"{base}/graphiql" in requests
    assert f"{base}/graphql" in requests  # the query (and introspection) went to the server
    assert blocked == [], blocked
    off_machine = [url for url in requests if not is_local(url, host, port)]
    assert off_machine == [], off_machine
