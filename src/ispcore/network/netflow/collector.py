"""``ispcore netflow``: NetFlow v5/v9 and IPFIX over UDP, summed per address and interval in
memory and written in batches.

When the socket is readable, the datagrams waiting on it are read at once (up to
``MAX_BATCH``; no task, no database, no timer: nothing is held back between reads). Per
datagram: the exporter by source address (others are dropped and counted
``unknown_exporter``) and a replay check; then each exporter's datagrams are decoded into a
:class:`~ispcore.network.netflow.vector.BatchSink`, which folds them into the exporter's
:class:`~ispcore.network.netflow.tally.Tally` (with numpy when the batch is large enough,
see :mod:`~ispcore.network.netflow.vector`): totals per address of the company's address
space (its supernets) and interval. Every ``flush_seconds`` the intervals that are due
(ended more than ``grace`` ago, or so far in the future that they would be refused anyway)
are cut into batches per company; each batch is written in its own transaction
(:mod:`ispcore.domain.usage.netflow_flush`), the assignments reloaded first and each
address mapped to its account then, by the one rule
(:mod:`ispcore.domain.usage.attribution`) over the interval. A batch that fails stays
queued, as it was, and is retried at the next flush; the entries held in memory (in
tallies and in queued batches) are bounded by ``max_entries``.

*Plan changes*: the API announces every change to a company's supernets, subnets,
assignments and exporters on the notifier's ``netflow`` channel once it commits
(:mod:`ispcore.domain.usage.plan_notices`); the collector reloads that company at once.
Whenever its subscription is (again) in place it reloads everything (what changed while it
was not listening was not heard), and it reloads everything every ``plan_seconds`` anyway.

*Replayed* datagrams: UDP may deliver a datagram twice, and a relay (samplicator, a mirror
port) or a capture played back may send it again. Every export header carries a sequence
number and the export time, so two datagrams of an exporter whose first 24 octets (the
header, and for v9/IPFIX the first set's header) are equal are the same datagram: seen again
within ``REPLAY_SECONDS`` it is dropped and counted ``replayed``. A replay later than that
is not recognised."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
import uuid
from collections import Counter, deque
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage import netflow_state
from ispcore.domain.usage.ingest import FUTURE_TOLERANCE, MAX_AGE
from ispcore.domain.usage.netflow_flush import (
    Applied,
    ExporterCounts,
    FlushEntry,
    apply_batch,
)
from ispcore.domain.usage.plan_notices import EVERY_COMPANY, NETFLOW_CHANNEL
from ispcore.network.netflow.common import Malformed
from ispcore.network.netflow.decoder import Decoder
from ispcore.network.netflow.metrics import NetflowMetrics
from ispcore.network.netflow.plan import TRANSIT, Holdings, Key, Membership, key_text
from ispcore.network.netflow.tally import Bound, Tally
from ispcore.network.netflow.vector import BatchSink

log = logging.getLogger(__name__)

#: A datagram seen again within 30 to 60 seconds is a replay.
REPLAY_SECONDS = 30.0
#: Octets of a datagram that identify it: the v5 header, or the v9/IPFIX header and the
#: first set's header.
IDENTITY = 24
#: Entries per batch (one transaction).
BATCH = 5000
#: Address spaces and assignment histories are reloaded at least this often (and before
#: writing, and at once when a change is announced).
PLAN_SECONDS = 60.0
#: A reload or a subscription that failed is tried again after this long.
RETRY_SECONDS = 1.0
#: Decoder counters that are not refusals.
NOT_REJECTED = frozenset({"datagrams", "flows", "templates", "withdrawn"})
#: Unknown source addresses remembered for the log.
UNKNOWN_SHOWN = 20
#: Attempts at writing what is left when the collector stops.
FINAL_ATTEMPTS = 3
#: Datagrams read from the socket per wake-up, at most (what a busy exporter sends in a few
#: milliseconds): decoded and folded as one batch.
MAX_BATCH = 256
#: The largest UDP payload.
RECV_SIZE = 65535


class Exporter:
    """What the collector keeps per exporter: its decoder (templates, sampling, counters),
    its tally, and its counters since the last cut."""

    def __init__(self, row: netflow_state.ExporterRow, tally: Tally) -> None:
        self.id = row.id
        self.company_id = row.company_id
        self.name = row.name
        self.address = row.address
        self.active = row.active
        self.decoder = Decoder()
        self.tally = tally
        self.sink = BatchSink(tally)
        self.received = 0
        self.replayed = 0
        self.errors = 0
        self.seen: set[bytes] = set()
        self.seen_before: set[bytes] = set()
        #: What the counters above (and the decoder's) were at the last cut.
        self.cut: Counter[str] = Counter()
        #: Everything since the process started, for /metrics.
        self.rejected_total: Counter[str] = Counter()

    def fold(self, datagrams: list[bytes]) -> Exception | None:
        """Decode a batch of this exporter's datagrams into its tally; returns the last
        unexpected error (each is counted in ``errors``; a malformed datagram is counted by
        the decoder under its reason and dropped alone)."""
        feed, address, sink = self.decoder.feed, self.address, self.sink
        failed = None
        for data in datagrams:
            try:
                feed(data, address, sink)
            except Malformed:
                pass
            except Exception as exc:
                self.errors += 1
                failed = exc
        try:
            sink.fold()
        except Exception as exc:
            self.errors += 1
            failed = exc
        return failed

    def update(self, row: netflow_state.ExporterRow) -> None:
        self.name, self.address, self.active = row.name, row.address, row.active
        self.tally.override = row.sampling_rate

    def counters(self) -> Counter[str]:
        now = Counter({k: v for k, v in self.decoder.counters.items() if k not in NOT_REJECTED})
        now.update(received=self.received, flows=self.decoder.counters["flows"],
                   replayed=self.replayed, error=self.errors,
                   memory_full=self.tally.dropped)
        return now

    def take_counts(self) -> ExporterCounts:
        """The counts since the last cut (and the cut moves on)."""
        now = self.counters()
        delta = now - self.cut  # Counter subtraction keeps the positive ones
        self.cut = now
        datagrams, flows = delta.pop("received", 0), delta.pop("flows", 0)
        self.rejected_total.update(delta)
        return ExporterCounts(datagrams=datagrams, flows=flows, rejected=delta)


@dataclass
class Batch:
    """A company's entries (exporter id, address key, interval number, [in, out, records])
    and exporter counts, written in one transaction as ``<run>:<seq>``."""

    company_id: int
    seq: int
    entries: list[tuple[int, Key, int, list[int]]]
    counts: dict[int, ExporterCounts] = field(default_factory=dict)
    attempts: int = 0


@dataclass
class Totals:
    """Since the process started (for /metrics and the log)."""

    unknown: int = 0
    credited: int = 0
    credited_bytes: int = 0
    unattributed: int = 0
    unattributed_bytes: int = 0
    failures: int = 0
    lost: int = 0
    unknown_addresses: Counter[str] = field(default_factory=Counter)


class NetflowCollector:
    def __init__(self, runtime: Any, *, host: str | None = None, port: int | None = None,
                 interval_seconds: int | None = None, grace_seconds: int | None = None,
                 flush_seconds: float | None = None, max_entries: int | None = None,
                 metrics_port: int | None = None, plan_seconds: float = PLAN_SECONDS
                 ) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.host = host or settings.netflow_host
        self.port = settings.netflow_port if port is None else port
        self.interval = interval_seconds or settings.netflow_interval_seconds
        if not 1 <= self.interval <= 3600 or 3600 % self.interval:
            raise ValueError(f"the NetFlow interval must divide an hour; {self.interval} s "
                             "does not")
        self.grace = settings.netflow_grace_seconds if grace_seconds is None else grace_seconds
        self.flush_seconds = flush_seconds or settings.netflow_flush_seconds
        self.plan_seconds = plan_seconds
        self.metrics_port = (settings.netflow_metrics_port if metrics_port is None
                             else metrics_port)
        self.bound = Bound(max_entries or settings.netflow_max_entries)
        self.replay_seconds = REPLAY_SECONDS
        self.run_id = uuid.uuid4().hex[:12]
        self.seq = 0
        self.exporters: dict[int, Exporter] = {}
        #: The hot path's lookup: source address -> active exporter.
        self.by_address: dict[str, Exporter] = {}
        self.plans: dict[int, Membership] = {}
        self.holdings: dict[int, Holdings] = {}
        self.pending: deque[Batch] = deque()
        self.totals = Totals()
        self.metrics = NetflowMetrics(self)
        #: Companies whose plan changed since the last reload (``EVERY_COMPANY``: all).
        self.stale: set[int | str] = set()
        self._replay_at = 0.0
        self._error_logged = False
        self._sock: socket.socket | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._refreshing = asyncio.Lock()
        self._wake = asyncio.Event()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Load the exporters and plans (or keep trying at each flush if the database is
        down), listen, and start flushing."""
        try:
            await self.refresh(plans=True)
        except Exception:
            log.exception("NetFlow: loading the exporters failed; retrying at each flush")
        loop = asyncio.get_running_loop()
        family, _, _, _, address = (await loop.getaddrinfo(
            self.host, self.port, type=socket.SOCK_DGRAM))[0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            sock.bind(address)
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self.port = sock.getsockname()[1]
        loop.add_reader(sock.fileno(), self._read_ready)
        if self.metrics_port:
            self.metrics.serve(self.host, self.metrics_port)
        self._tasks = [asyncio.create_task(loop_()) for loop_ in (
            self._flush_loop, self._reload_loop, self._listen)]
        log.info("NetFlow listening on %s:%d (interval %d s, grace %d s); %d exporters; "
                 "run %s", self.host, self.port, self.interval, self.grace,
                 len(self.by_address), self.run_id)

    async def stop(self) -> None:
        """Stop listening, then write everything held, intervals not over yet included."""
        if self._sock is not None:
            self._read_ready()  # what is already waiting in the socket
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for attempt in range(FINAL_ATTEMPTS):
            await self.flush(final=True)
            if not self.pending:
                break
            if attempt + 1 < FINAL_ATTEMPTS:
                await asyncio.sleep(1)
        if self.pending:
            lost = sum(len(b.entries) for b in self.pending)
            self.totals.lost += lost
            log.error("NetFlow: stopping with %d batches (%d address-interval totals) not "
                      "written: that usage is lost", len(self.pending), lost)
        self.metrics.close()

    async def serve(self) -> None:
        """Run until SIGTERM or SIGINT."""
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, done.set)
        await self.start()
        await done.wait()
        log.info("NetFlow shutting down")
        await self.stop()

    # --- per datagram -------------------------------------------------------------------

    def _read_ready(self) -> None:
        """Read the datagrams waiting on the socket (up to MAX_BATCH) and take them."""
        assert self._sock is not None
        receive = self._sock.recvfrom
        waiting = []
        for _ in range(MAX_BATCH):
            try:
                waiting.append(receive(RECV_SIZE))
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                log.debug("NetFlow socket error: %s", exc)
                break
        self.take_many(waiting)

    def take(self, data: bytes, addr: Any) -> None:
        """Take one datagram (a batch of one)."""
        self.take_many([(data, addr)])

    def take_many(self, datagrams: list[tuple[bytes, Any]]) -> None:
        """Take a batch of (datagram, source address): each exporter's are decoded and folded
        together, once the replays are dropped."""
        batches: dict[Exporter, list[bytes]] = {}
        for data, addr in datagrams:
            exporter = self.by_address.get(addr[0])
            if exporter is None:
                self._unknown(addr[0])
                continue
            exporter.received += 1
            identity = data[:IDENTITY]
            if identity in exporter.seen or identity in exporter.seen_before:
                exporter.replayed += 1
                continue
            exporter.seen.add(identity)
            batches.setdefault(exporter, []).append(data)
        for exporter, batch in batches.items():
            failed = exporter.fold(batch)
            if failed is not None and not self._error_logged:  # one traceback per flush
                self._error_logged = True
                log.error("NetFlow: a datagram from %s failed", exporter.address,
                          exc_info=failed)

    def _unknown(self, address: str) -> None:
        totals = self.totals
        totals.unknown += 1
        if address in totals.unknown_addresses or len(totals.unknown_addresses) < UNKNOWN_SHOWN:
            totals.unknown_addresses[address] += 1

    # --- refresh ------------------------------------------------------------------------

    async def refresh(self, *, plans: bool = False, companies: Collection[int | str] = ()
                      ) -> None:
        """Reload the exporters, and the address spaces and assignment histories of every
        company with ``plans``, else of ``companies`` (``EVERY_COMPANY``: all) and of
        companies new to the collector."""
        async with self._refreshing, self.runtime.db.read_rows() as conn:
            rows = await netflow_state.exporters(conn)
            known = {row.company_id for row in rows} | {b.company_id for b in self.pending}
            wanted = known if plans or EVERY_COMPANY in companies else (
                (known - set(self.plans)) | (known & set(companies)))
            if wanted:
                since = self.runtime.clock.now() - MAX_AGE - timedelta(days=1)
                spans = await netflow_state.address_space(conn, wanted)
                held = await netflow_state.assignments(conn, wanted, since)
                self._set_plans(wanted, spans, held)
            self._set_exporters(rows)

    def _set_plans(self, companies: set[int], spans: dict[int, list[Any]],
                   held: dict[int, list[Any]]) -> None:
        for company_id in companies:
            plan = Membership(spans.get(company_id, ()))
            if (old := self.plans.get(company_id)) is None or old.signature != plan.signature:
                self.plans[company_id] = plan
                for exporter in self.exporters.values():
                    if exporter.company_id == company_id:
                        exporter.tally.plan = plan
            self.holdings[company_id] = Holdings(held.get(company_id, ()))

    async def _reload_loop(self) -> None:
        """Reload the companies announced as changed at once, everything every
        ``plan_seconds``; a reload that fails is tried again shortly."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.plan_seconds)
            if not self._wake.is_set():
                self.stale.add(EVERY_COMPANY)
            self._wake.clear()
            stale, self.stale = self.stale, set()
            try:
                await self.refresh(companies=stale)
            except Exception:
                log.warning("NetFlow: reloading the address plans failed; trying again in "
                            "%s s", RETRY_SECONDS, exc_info=True)
                self.stale |= stale
                await asyncio.sleep(RETRY_SECONDS)
                self._wake.set()

    def changed(self, company: int | str) -> None:
        """The plan or exporters of ``company`` (``EVERY_COMPANY``: any) changed: reload."""
        self.stale.add(company)
        self._wake.set()

    async def _listen(self) -> None:
        """Each message on the ``netflow`` channel names a company whose plan or exporters
        changed; each (re)subscription means anything may have."""
        while True:
            try:
                async for message in self.runtime.notifier.subscribe(
                        NETFLOW_CHANNEL, ready=lambda: self.changed(EVERY_COMPANY)):
                    self.changed(int(message) if message.isdigit() else EVERY_COMPANY)
            except Exception:
                log.warning("NetFlow: the notifier's channel failed; listening again in %s s",
                            RETRY_SECONDS, exc_info=True)
            await asyncio.sleep(RETRY_SECONDS)

    def _set_exporters(self, rows: list[netflow_state.ExporterRow]) -> None:
        by_address: dict[str, Exporter] = {}
        for row in rows:
            exporter = self.exporters.get(row.id)
            if exporter is None:
                tally = Tally(self.plans.get(row.company_id) or Membership(()),
                              self.interval * 1000, self.bound, row.sampling_rate)
                exporter = self.exporters[row.id] = Exporter(row, tally)
            else:
                exporter.update(row)
            if row.active:
                by_address[row.address] = exporter
                if ":" not in row.address:  # as an IPv4 exporter shows on a dual-stack socket
                    by_address[f"::ffff:{row.address}"] = exporter
        gone = set(self.exporters) - {row.id for row in rows}
        for exporter_id in gone:
            exporter = self.exporters[exporter_id]
            exporter.active = False
            if not exporter.tally.tables:
                del self.exporters[exporter_id]
        self.by_address = by_address

    # --- flush --------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                await self.flush()
            except Exception:
                log.exception("NetFlow: the flush failed")

    async def flush(self, *, final: bool = False) -> None:
        """Cut the intervals that are due (all of them when ``final``) into batches, reload
        what changed, and write the queued batches in order until one fails."""
        async with self._lock:
            self._rotate_replays()
            received = self._cut(final)
            written = Applied()
            refreshed = False
            try:
                await self.refresh(plans=any(b.entries for b in self.pending))
                refreshed = True
            except Exception:
                log.warning("NetFlow: the database cannot be reached; %d batches wait",
                            len(self.pending), exc_info=True)
            if refreshed:
                await self._write(written)
            self._log(received, written)
            self._error_logged = False

    def _rotate_replays(self) -> None:
        now = time.monotonic()
        if now < self._replay_at:
            return
        self._replay_at = now + self.replay_seconds
        for exporter in self.exporters.values():
            exporter.seen_before, exporter.seen = exporter.seen, set()

    def _cut(self, final: bool) -> ExporterCounts:
        """Queue the due intervals and the exporters' counts; returns the counts summed."""
        now_ms = int(self.runtime.clock.now().timestamp() * 1000)
        ims = self.interval * 1000
        grace_ms = self.grace * 1000
        future_ms = int(FUTURE_TOLERANCE.total_seconds() * 1000)

        def due(number: int) -> bool:
            end = (number + 1) * ims
            return final or end + grace_ms <= now_ms or end > now_ms + future_ms

        by_company: dict[int, list[tuple[int, Key, int, list[int]]]] = {}
        counts: dict[int, dict[int, ExporterCounts]] = {}
        summed = ExporterCounts()
        for exporter in list(self.exporters.values()):
            entries = by_company.setdefault(exporter.company_id, [])
            for number, totals in exporter.tally.take(due):
                entries.extend((exporter.id, key, number, sums) for key, sums in totals.items())
                self.bound.used += len(totals)  # held by the batch until it is written
            taken = exporter.take_counts()
            summed.datagrams += taken.datagrams
            summed.flows += taken.flows
            summed.rejected.update(taken.rejected)
            if taken:
                counts.setdefault(exporter.company_id, {})[exporter.id] = taken
            if not exporter.active and not exporter.tally.tables:
                self.exporters.pop(exporter.id, None)
        for company_id, entries in by_company.items():
            company_counts = counts.get(company_id, {})
            if not entries and not company_counts:
                continue
            for lo in range(0, max(len(entries), 1), BATCH):
                self.seq += 1
                self.pending.append(Batch(company_id, self.seq, entries[lo:lo + BATCH],
                                          company_counts if lo == 0 else {}))
        return summed

    async def _write(self, written: Applied) -> None:
        while self.pending:
            batch = self.pending[0]
            batch.attempts += 1
            try:
                entries = self._entries(batch)
                async with self.runtime.unit_of_work(SYSTEM, action="netflow.flush") as uow:
                    applied = await apply_batch(uow, batch.company_id,
                                                f"{self.run_id}:{batch.seq}", entries,
                                                batch.counts)
            except Exception:
                self.totals.failures += 1
                log.warning("NetFlow: writing batch %d (%d entries, attempt %d) failed; "
                            "it is retried at the next flush", batch.seq, len(batch.entries),
                            batch.attempts, exc_info=True)
                return
            self.pending.popleft()
            self.bound.used -= len(batch.entries)
            self._count(applied, written)

    def _entries(self, batch: Batch) -> list[FlushEntry]:
        """The batch's entries with their times and the accounts the addresses' usage over
        the interval belongs to (the assignments as just reloaded). An interval still open
        (written because the collector stops) ends now. Interval numbers too far out for a
        datetime are refused here, as the validity check would refuse them."""
        holdings = self.holdings.get(batch.company_id) or Holdings(())
        now = self.runtime.clock.now()
        out = []
        for exporter_id, key, number, (bytes_in, bytes_out, records) in batch.entries:
            seconds = number * self.interval
            try:
                start = datetime.fromtimestamp(seconds, UTC)
                interval_end = end = datetime.fromtimestamp(seconds + self.interval, UTC)
                if start < now < end:
                    end = now
            except (OverflowError, ValueError, OSError):
                counts = batch.counts.setdefault(exporter_id, ExporterCounts())
                counts.rejected["in_future" if seconds > 0 else "too_old"] += 1
                continue
            account = (None if key == TRANSIT
                       else holdings.holder(key, start, interval_end))
            out.append(FlushEntry(exporter_id, key_text(key), start, end, bytes_in, bytes_out,
                                  records, account))
        return out

    def _count(self, applied: Applied, written: Applied) -> None:
        if applied.already:
            log.info("NetFlow: a batch had been written already (its commit went through "
                     "before); nothing written again")
            return
        for exporter_id, refused in applied.rejected.items():
            if (exporter := self.exporters.get(exporter_id)) is not None:
                exporter.rejected_total.update(refused)
            written.rejected.setdefault(exporter_id, Counter()).update(refused)
        for name in ("credited", "credited_bytes", "unattributed", "unattributed_bytes"):
            setattr(written, name, getattr(written, name) + getattr(applied, name))
            setattr(self.totals, name, getattr(self.totals, name) + getattr(applied, name))

    def _log(self, received: ExporterCounts, written: Applied) -> None:
        refused = Counter(received.rejected)
        for counter in written.rejected.values():
            refused.update(counter)
        unknown = dict(self.totals.unknown_addresses)
        self.totals.unknown_addresses.clear()
        if refused["memory_full"]:
            log.warning("NetFlow: %d flows dropped: %d address-interval totals held, the "
                        "limit (ISPCORE_NETFLOW_MAX_ENTRIES)", refused["memory_full"],
                        self.bound.used)
        busy = received or written.credited or written.unattributed or self.pending or unknown
        (log.info if busy else log.debug)(
            "NetFlow flush: %d datagrams, %d flows; credited %d samples (%d bytes), "
            "unattributed %d (%d bytes); refused %s; %d batches waiting, %d totals held; "
            "unknown exporters %s", received.datagrams, received.flows, written.credited,
            written.credited_bytes, written.unattributed, written.unattributed_bytes,
            dict(sorted(refused.items())), len(self.pending), self.bound.used, unknown)
