"""``ispcore poller``: the scheduler against the API until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import httpx

from ispcore import __version__
from ispcore.network.poller.api import PollerApi
from ispcore.network.poller.scheduler import Scheduler


def event_loop_policy() -> None:
    """uvloop when installed (it comes with uvicorn[standard]): a quarter less CPU per SNMP
    round trip than the default loop."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def graphql_url(api_url: str) -> str:
    url = api_url.rstrip("/")
    return url if url.endswith("/graphql") else url + "/graphql"


async def run_poller(api_url: str, token: str, verify: bool = True) -> None:
    async with httpx.AsyncClient(timeout=30, verify=verify) as http:
        scheduler = Scheduler(PollerApi(http, graphql_url(api_url), token),
                              version=__version__)
        task = asyncio.create_task(scheduler.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
