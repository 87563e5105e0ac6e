"""Whether a failed sign-in takes as long for an unknown email as for a known one (so timing
does not tell which emails have accounts).

Variants, interleaved round by round (the order rotates) so machine noise hits all alike;
each is ``auth.login`` in a unit of work, committed on failure as the ``login`` resolver
does, with the real argon2id cost (the tests use a cheap one):

  unknown       an email nobody has, any password: a dummy argon2 check, a failure counted
  known-wrong   the admin's email, a wrong password: a real check, a failure counted
  known-right   the admin's email and password: a real check, a session opened
  argon2        ``verify_password`` alone: the floor all three share

Each try comes from a new client address, so the per-(login, address) throttle never makes
one wait: the figures are the full path every time.

Run:  .venv/bin/python bench/login_timing.py [--db sqlite|postgresql] [--rounds 40]

Prints figures and the unknown/known-wrong ratio; asserts none (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common


async def main(db: str, rounds: int) -> None:
    from ispcore.domain.common.errors import DomainError
    from ispcore.domain.identity import auth
    from ispcore.domain.identity.actor import Actor
    from ispcore.domain.identity.secrets import hash_password, verify_password

    print(common.machine_line())
    async with common.temp_database(db) as database:
        runtime = await common.open_runtime(database.url, migrate=True)
        try:
            await common.admin_with_token(runtime)
            stored = await hash_password(common.ADMIN_PASSWORD)
            tries = iter(range(1, 10**6))

            def sign_in(email: str, password: str) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    n = next(tries)
                    ip = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
                    # A refusal is committed: the failure count stays, as in the resolver.
                    async with runtime.unit_of_work(Actor(ip=ip), action="login") as uow:
                        with contextlib.suppress(DomainError):
                            await auth.login(uow, email=email, password=password, ip=ip)

                return run

            async def argon2() -> None:
                await verify_password(stored, "not the password")

            variants: dict[str, Callable[[], Awaitable[None]]] = {
                "unknown": sign_in("nobody@example.com", "not the password"),
                "known-wrong": sign_in(common.ADMIN_EMAIL, "not the password"),
                "known-right": sign_in(common.ADMIN_EMAIL, common.ADMIN_PASSWORD),
                "argon2": argon2,
            }
            times: dict[str, list[float]] = {name: [] for name in variants}
            names = list(variants)
            for warm in names:
                await variants[warm]()
            for round_ in range(rounds):
                order = names[round_ % len(names):] + names[:round_ % len(names)]
                for name in order:
                    started = time.perf_counter()
                    await variants[name]()
                    times[name].append((time.perf_counter() - started) * 1000)
        finally:
            await runtime.close()

    print(f"\n{rounds} rounds, {db}; ms per sign-in")
    common.print_table(["variant", "median", "p90", "min"], [
        (name, f"{common.median(t):.1f}", f"{common.percentile(t, 90):.1f}", f"{min(t):.1f}")
        for name, t in times.items()])
    unknown, wrong = common.median(times["unknown"]), common.median(times["known-wrong"])
    print(f"\nunknown / known-wrong: {unknown / wrong:.3f} "
          f"(difference {unknown - wrong:+.1f} ms of {wrong:.1f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    asyncio.run(main(args.db, args.rounds))
