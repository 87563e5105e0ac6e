"""Runs the workload: each device on its interval (first poll at a random point of its first
interval, so a restart does not poll everything at once), at most ``concurrency`` polls at a
time; results buffered and submitted in batches; a heartbeat with the lag.

Submission: a batch keeps its ``batchId`` across retries (the API takes a batch once), so a
lost response never stores results twice. When the API refuses a batch for some devices
(FORBIDDEN / NOT_FOUND: the device moved to another poller or was deleted; a check left the
template) those entries are dropped, the workload is fetched again and the rest goes out
under a new batch id.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ispcore.network.poller.api import PollerApi, PollerApiError, UserError
from ispcore.network.poller.probe import poll_device
from ispcore.network.poller.workload import PolledDevice, Workload

log = logging.getLogger(__name__)

Prober = Callable[[PolledDevice], Awaitable[dict[str, Any]]]
_FIELD = re.compile(r"devices\.(\d+)(?:\.results\.(\d+))?")


class Scheduler:
    def __init__(self, api: PollerApi, *, version: str, refresh_seconds: float = 300,
                 batch_seconds: float = 5, batch_size: int = 200,
                 max_buffered: int = 20000, prober: Prober = poll_device,
                 backoff: tuple[float, float] = (1.0, 60.0)) -> None:
        self.api = api
        self.version = version
        self.refresh_seconds = refresh_seconds
        self.batch_seconds = batch_seconds
        self.batch_size = batch_size
        self.max_buffered = max_buffered
        self.prober = prober
        self.backoff = backoff
        self.workload: Workload | None = None
        self.devices: dict[str, PolledDevice] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._semaphore = asyncio.Semaphore(1)
        self._concurrency = 0
        self._buffer: list[dict[str, Any]] = []
        self._flush_now = asyncio.Event()
        self._refresh_now = asyncio.Event()
        self._wake = asyncio.Event()
        self.max_lag = 0.0
        #: Counters for the operator (and tests): polls done, batches and devices accepted.
        self.polls = 0
        self.batches_sent = 0
        self.accepted = 0
        self.dropped = 0

    # -- workload -------------------------------------------------------------------------

    def apply(self, workload: Workload) -> None:
        """Takes a (new) workload: new devices start at a jittered point of their interval,
        known ones keep their schedule, removed ones stop."""
        now = time.monotonic()
        known = self.devices
        self.devices = {d.device_id: d for d in workload.devices}
        self.workload = workload
        for device_id, device in self.devices.items():
            if device_id not in known:
                self._push(now + random.uniform(0, device.interval_seconds), device_id)
        if workload.concurrency != self._concurrency:
            self._concurrency = workload.concurrency
            self._semaphore = asyncio.Semaphore(workload.concurrency)
        self._wake.set()

    def _push(self, due: float, device_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, device_id))

    async def _fetch_until_done(self) -> None:
        delay = self.backoff[0]
        while True:
            try:
                self.apply(await self.api.workload())
                return
            except PollerApiError as exc:
                log.warning("poller workload fetch failed, retrying in %.0fs: %s", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff[1])

    async def _refresh_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refresh_now.wait(), self.refresh_seconds)
            self._refresh_now.clear()
            await self._fetch_until_done()

    # -- polling --------------------------------------------------------------------------

    async def _schedule_loop(self) -> None:
        while True:
            now = time.monotonic()
            while self._heap and self._heap[0][0] <= now:
                due, _, device_id = heapq.heappop(self._heap)
                device = self.devices.get(device_id)
                if device is None:
                    continue  # left the workload
                if device_id in self._running:  # still busy with the last poll: lagging
                    self.max_lag = max(self.max_lag, now - due)
                else:
                    self._start(device, due)
                # Next slot on the grid; after a long stall, from now rather than a burst.
                nxt = due + device.interval_seconds
                self._push(nxt if nxt > now else now + device.interval_seconds, device_id)
            timeout = self._heap[0][0] - now if self._heap else 3600.0
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(timeout, 0.0))

    def _start(self, device: PolledDevice, due: float) -> None:
        self._running.add(device.device_id)
        task = asyncio.create_task(self._poll(device, due))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll(self, device: PolledDevice, due: float) -> None:
        try:
            async with self._semaphore:
                self.max_lag = max(self.max_lag, time.monotonic() - due)
                try:
                    result = await self.prober(device)
                except Exception:  # the prober reports device failures itself: a bug
                    log.exception("poll of device %s failed", device.device_id)
                    return
            self.polls += 1
            if device.device_id in self.devices:
                self._buffer.append(result)
                if len(self._buffer) > self.max_buffered:
                    del self._buffer[:len(self._buffer) - self.max_buffered]
                    log.warning("poller result buffer full: oldest results dropped")
                if len(self._buffer) >= self.batch_size:
                    self._flush_now.set()
        finally:
            self._running.discard(device.device_id)

    # -- submission -----------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), self.batch_seconds)
            self._flush_now.clear()
            await self.flush()

    async def flush(self) -> None:
        while self._buffer:
            batch, self._buffer = self._buffer[:self.batch_size], self._buffer[self.batch_size:]
            await self._submit(batch)

    async def _submit(self, devices: list[dict[str, Any]]) -> None:
        batch_id = uuid.uuid4().hex
        delay = self.backoff[0]
        while devices:
            try:
                result = await self.api.submit(batch_id, devices)
            except PollerApiError as exc:
                log.warning("submitting batch %s failed, retrying in %.0fs: %s", batch_id,
                            delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff[1])
                continue
            if not result.errors:
                self.batches_sent += 1
                self.accepted += result.accepted
                return
            devices = self._without_refused(devices, result.errors)
            batch_id = uuid.uuid4().hex  # a different content: a new batch
            self._refresh_now.set()

    def _without_refused(self, devices: list[dict[str, Any]],
                         errors: list[UserError]) -> list[dict[str, Any]]:
        drop_devices: set[int] = set()
        drop_results: set[tuple[int, int]] = set()
        for error in errors:
            match = _FIELD.match(error.field or "")
            if match is None or match.group(1) is None:
                log.error("batch refused as a whole (%s: %s): dropped", error.code,
                          error.message)
                self.dropped += len(devices)
                return []
            index = int(match.group(1))
            if match.group(2) is not None:  # one result refused (its check, value, ...)
                drop_results.add((index, int(match.group(2))))
            else:
                drop_devices.add(index)
            log.warning("API refused %s (%s): %s", error.field, error.code, error.message)
        kept = []
        for i, device in enumerate(devices):
            if i in drop_devices:
                self.dropped += 1
                continue
            if any(d == i for d, _ in drop_results):
                device = {**device, "results": [
                    r for m, r in enumerate(device["results"]) if (i, m) not in drop_results]}
            kept.append(device)
        return kept

    # -- heartbeat ------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            await self.heartbeat()
            seconds = self.workload.heartbeat_seconds if self.workload else 60
            await asyncio.sleep(seconds)

    async def heartbeat(self) -> None:
        lag, self.max_lag = self.max_lag, 0.0
        # Polls overdue right now count too (a poller stuck behind a full semaphore).
        now = time.monotonic()
        if self._heap and self._heap[0][0] < now:
            lag = max(lag, now - self._heap[0][0])
        try:
            for error in await self.api.heartbeat(self.version, round(lag, 3)):
                log.warning("heartbeat refused (%s): %s", error.code, error.message)
        except PollerApiError as exc:
            log.warning("heartbeat failed: %s", exc)

    # -- running --------------------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled; the buffer is flushed on the way out (best effort)."""
        await self._fetch_until_done()
        loops = [asyncio.create_task(loop()) for loop in (
            self._schedule_loop, self._flush_loop, self._heartbeat_loop, self._refresh_loop)]
        try:
            await asyncio.gather(*loops)
        finally:
            for task in (*loops, *self._tasks):
                task.cancel()
            await asyncio.gather(*loops, *self._tasks, return_exceptions=True)
            if self._buffer:
                try:
                    await asyncio.wait_for(self.flush(), 10)
                except (TimeoutError, PollerApiError):
                    log.warning("%d results not submitted at exit", len(self._buffer))
