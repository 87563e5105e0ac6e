"""Flow records per second through ispcore's NetFlow decoder alone and through the
collector's pipeline (decode, plan membership, per-address totals per interval), against a
bare ``struct.unpack_from`` loop over the same datagrams, measured in the same run.

Datagrams (built here with ``struct``, DATAGRAMS of each kind, default 20,000):

  v5            30 records each (1,464 bytes).
  v9            a softflowd-like IPv4 template (src, dst, octets, packets, first, last,
                ports, protocol: 29-byte records) in the first datagram only, then one data
                FlowSet of 20 records per datagram.
  ipfix         the same fields with 64-bit counters and flowStart/EndMilliseconds (45-byte
                records), template in the first message, 20 records per data set.
  v9-ipv6       (no target) v9 with IPv6 addresses (65-byte records): the generic path.
  ipfix-varlen  (no target) IPFIX with a variable-length field (applicationName): the
                record-by-record path.

  decoder       ``Decoder().decode(datagram, exporter)`` over every datagram, a fresh decoder
                per round (so the template is learned in the timed run); each datagram's
                flows are counted and dropped, as the collector will fold them into its
                per-address totals (keeping 600,000 flows alive instead makes the garbage
                collector's passes dominate: 3x slower).
  collector     what ``ispcore netflow`` does with the datagrams it reads from its socket
                at one wake-up (up to ``collector.MAX_BATCH``, 256; ``--batch``): the same
                ``Exporter.fold(datagrams)`` the collector calls, on batches of BATCH
                datagrams in turn, into a fresh exporter (decoder and
                :class:`~ispcore.network.netflow.tally.Tally`) per round. It decodes each
                datagram into the exporter's ``BatchSink``, which folds the batch's
                fixed-length IPv4 records with numpy (``network/netflow/vector.py``) and
                the rest record by record: per flow, the interval of its end time, whether
                each end is in the company's plan (100.64.0.0/17: half the addresses; its
                caches are kept across rounds, as the collector keeps them), and the bytes
                added to the address's (or transit's) totals for the interval. Not timed:
                ``recvfrom`` and the per-datagram exporter lookup and replay check
                (``NetflowCollector.take_many``), as the baseline reads no socket either.
  baseline      per datagram: the header's count (v5) or the data set's length (v9, IPFIX),
                then per record one ``Struct.unpack_from`` of src, dst and octets at the
                record's offset, layout known in advance: no template, no flow objects.

Each round runs the three in turn (the order rotates); ROUNDS rounds (default 7) after a
warm-up, the median is reported: records/s of each and the ratios decoder/baseline and
collector/baseline. Targets (the collector's): v5 >= 0.3, v9 and IPFIX >= 0.2.

Run:  PYTHONPATH=src .venv/bin/python bench/netflow.py [--datagrams 20000] [--rounds 7]
                                                    [--batch 256]
Prints figures and ratios; asserts no timing (the machine is shared and noisy). About 45 s.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

_SRC = Path(__file__).resolve().parents[1] / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from ispcore.domain.usage.netflow_state import ExporterRow  # noqa: E402
from ispcore.network.netflow import Decoder  # noqa: E402
from ispcore.network.netflow.collector import MAX_BATCH, Exporter  # noqa: E402
from ispcore.network.netflow.plan import Membership  # noqa: E402
from ispcore.network.netflow.tally import Bound, Tally  # noqa: E402

SECS = 1_790_000_000
V5_HEADER = struct.Struct("!HHIIIIBBH")
V5_RECORD = struct.Struct("!IIIHHIIIIHHBBBBHHBBH")
V4_FIELDS = [(8, 4), (12, 4), (1, 4), (2, 4), (22, 4), (21, 4), (7, 2), (11, 2), (4, 1)]
V4_RECORD = struct.Struct("!IIIIIIHHB")
V6_FIELDS = [(27, 16), (28, 16), (1, 8), (2, 8), (22, 4), (21, 4), (7, 2), (11, 2), (4, 1)]
V6_RECORD = struct.Struct("!16s16sQQIIHHB")
IPFIX_FIELDS = [(8, 4), (12, 4), (1, 8), (2, 8), (152, 8), (153, 8), (7, 2), (11, 2), (4, 1)]
IPFIX_RECORD = struct.Struct("!IIQQQQHHB")
VAR_FIELDS = [(8, 4), (12, 4), (1, 8), (2, 8), (96, 65535), (152, 8), (153, 8)]


def flow_set(set_id: int, body: bytes) -> bytes:
    pad = -len(body) % 4
    return struct.pack("!HH", set_id, 4 + len(body) + pad) + body + bytes(pad)


def template(tid: int, fields: list[tuple[int, int]]) -> bytes:
    return struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", *f)
                                                           for f in fields)


def v9(sets: list[bytes], seq: int) -> bytes:
    return struct.pack("!HHIIII", 9, 0, 3_600_000, SECS, seq, 1) + b"".join(sets)


def ipfix(sets: list[bytes], seq: int) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), SECS, seq, 1) + body


def build(kind: str, count: int, per: int, rnd: random.Random) -> list[bytes]:
    def addr() -> int:
        return 0x64400000 + rnd.randrange(1 << 16)

    out = []
    for seq in range(count):
        if kind == "v5":
            records = [V5_RECORD.pack(addr(), addr(), 1, 2, 3, 10, rnd.randrange(1 << 20),
                                      3_500_000, 3_590_000, 4, 5, 0, 0x18, 6, 0, 1, 2, 24,
                                      24, 0) for _ in range(30)]
            out.append(V5_HEADER.pack(5, 30, 3_600_000, SECS, 0, seq, 0, 0, 0)
                       + b"".join(records))
            continue
        if kind == "v9":
            rows = [V4_RECORD.pack(addr(), addr(), rnd.randrange(1 << 20), 10, 3_500_000,
                                   3_590_000, 1, 2, 6) for _ in range(per)]
            sets = [flow_set(256, b"".join(rows))]
            first = [flow_set(0, template(256, V4_FIELDS))]
        elif kind == "v9-ipv6":
            rows = [V6_RECORD.pack(rnd.randbytes(16), rnd.randbytes(16), rnd.randrange(1 << 20),
                                   10, 3_500_000, 3_590_000, 1, 2, 6) for _ in range(per)]
            sets = [flow_set(256, b"".join(rows))]
            first = [flow_set(0, template(256, V6_FIELDS))]
        elif kind == "ipfix":
            rows = [IPFIX_RECORD.pack(addr(), addr(), rnd.randrange(1 << 20), 10,
                                      SECS * 1000 - 90_000, SECS * 1000, 1, 2, 6)
                    for _ in range(per)]
            sets = [flow_set(256, b"".join(rows))]
            first = [flow_set(2, template(256, IPFIX_FIELDS))]
        else:  # ipfix-varlen
            rows = []
            for _ in range(per):
                name = rnd.choice([b"http", b"https", b"quic", b"dns"])
                rows.append(struct.pack("!IIQQ", addr(), addr(), rnd.randrange(1 << 20), 10)
                            + bytes([len(name)]) + name
                            + struct.pack("!QQ", SECS * 1000 - 90_000, SECS * 1000))
            sets = [flow_set(256, b"".join(rows))]
            first = [flow_set(2, template(256, VAR_FIELDS))]
        if seq == 0:
            sets = first + sets
        out.append((v9 if kind.startswith("v9") else ipfix)(sets, seq))
    return out


def run_decoder(datagrams: list[bytes]) -> int:
    dec = Decoder()
    decode = dec.decode
    n = 0
    for datagram in datagrams:
        n += len(decode(datagram, "192.0.2.1"))
    return n


#: The company's plan in the collector runs: the lower half of the addresses the flows use.
PLAN = Membership([(4, 0x64400000, 0x64407FFF)])


EXPORTER = ExporterRow(id=1, company_id=1, name="edge", address="192.0.2.1",
                       sampling_rate=None, active=True)
#: Datagrams per batch (what the collector reads from its socket at one wake-up).
BATCH = MAX_BATCH


def run_collector(datagrams: list[bytes]) -> int:
    exporter = Exporter(EXPORTER, Tally(PLAN, 60_000, Bound(10**7)))
    fold = exporter.fold
    for lo in range(0, len(datagrams), BATCH):
        fold(datagrams[lo:lo + BATCH])
    assert not exporter.errors
    return exporter.decoder.flows


_V5_PICK = struct.Struct("!II12xI")        # src, dst, (nexthop, ifs, dPkts), dOctets
_V5_COUNT = struct.Struct("!2xH")
_SET = struct.Struct("!2xH")


def baseline(kind: str) -> Callable[[list[bytes]], int]:
    """A bare loop that knows the layout: unpack src, dst, octets of each record."""
    if kind == "v5":
        def run(datagrams: list[bytes]) -> int:
            n = 0
            unpack, count_of = _V5_PICK.unpack_from, _V5_COUNT.unpack_from
            for datagram in datagrams:
                count = count_of(datagram)[0]
                for off in range(24, 24 + 48 * count, 48):
                    _src, _dst, _octets = unpack(datagram, off)
                n += count
            return n
        return run
    pick, header, size = {
        "v9": (struct.Struct("!III"), 20, V4_RECORD.size),
        "v9-ipv6": (struct.Struct("!16s16sQ"), 20, V6_RECORD.size),
        "ipfix": (struct.Struct("!IIQ"), 16, IPFIX_RECORD.size),
        "ipfix-varlen": (struct.Struct("!IIQ"), 16, 0),
    }[kind]

    def run_sets(datagrams: list[bytes]) -> int:
        n = 0
        unpack, set_len = pick.unpack_from, _SET.unpack_from
        first = True
        for datagram in datagrams:
            pos = header
            if first:  # skip the template set
                pos += set_len(datagram, pos)[0]
                first = False
            end = pos + set_len(datagram, pos)[0]
            pos += 4
            if size:
                count = (end - pos) // size
                for off in range(pos, pos + size * count, size):
                    _src, _dst, _octets = unpack(datagram, off)
                n += count
            else:  # variable: 24 octets, a name of 1 + its length, 16 octets
                while end - pos >= 41:
                    _src, _dst, _octets = unpack(datagram, pos)
                    pos += 24 + 1 + datagram[pos + 24] + 16
                    n += 1
        return n
    return run_sets


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return f.read().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datagrams", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-set", type=int, default=20)
    parser.add_argument("--batch", type=int, default=MAX_BATCH,
                        help="datagrams per batch for the collector")
    args = parser.parse_args()
    global BATCH
    BATCH = args.batch
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"collector batches of {BATCH} datagrams, /proc/loadavg at start: {loadavg()}")
    rnd = random.Random(5)
    targets = {"v5": 0.3, "v9": 0.2, "ipfix": 0.2}
    rows = []
    for kind in ("v5", "v9", "ipfix", "v9-ipv6", "ipfix-varlen"):
        datagrams = build(kind, args.datagrams, args.per_set, rnd)
        base = baseline(kind)
        records = run_decoder(datagrams)
        assert base(datagrams) == records, kind  # same records on both sides (a setup check)
        assert run_collector(datagrams) == records, kind
        runs = [("decoder", run_decoder), ("collector", run_collector), ("baseline", base)]
        times: dict[str, list[float]] = {name: [] for name, _ in runs}
        for r in range(args.rounds):
            for name, fn in runs[r % 3:] + runs[:r % 3]:
                t0 = time.perf_counter()
                fn(datagrams)
                times[name].append(time.perf_counter() - t0)
        median = {name: statistics.median(t) for name, t in times.items()}
        rows.append((kind, records, records / median["decoder"],
                     records / median["collector"], records / median["baseline"],
                     median["baseline"] / median["decoder"],
                     median["baseline"] / median["collector"], targets.get(kind)))
    print(f"\n{'kind':<13} {'records':>9} {'decoder rec/s':>14} {'collector rec/s':>16} "
          f"{'baseline rec/s':>15} {'dec.':>5} {'coll.':>6}  target (collector)")
    for kind, records, dec_rate, coll_rate, base_rate, dec_ratio, ratio, target in rows:
        verdict = "-" if target is None else (
            f">= {target} {'met' if ratio >= target else 'MISSED'}")
        print(f"{kind:<13} {records:>9,} {dec_rate:>14,.0f} {coll_rate:>16,.0f} "
              f"{base_rate:>15,.0f} {dec_ratio:>5.2f} {ratio:>6.2f}  {verdict}")
    print(f"\n/proc/loadavg at end: {loadavg()}")


if __name__ == "__main__":
    main()
