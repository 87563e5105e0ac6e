"""The ``ispcore`` command."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import click

from ispcore.config import get_settings

T = TypeVar("T")


def _run(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    return asyncio.run(fn(*args))


async def _with_runtime(work: Callable[[Any], Awaitable[T]]) -> T:
    from ispcore.runtime import build_runtime

    runtime = await build_runtime(get_settings())
    try:
        return await work(runtime)
    finally:
        await runtime.close()


async def _system_uow(runtime: Any, work: Callable[[Any], Awaitable[T]], action: str) -> T:
    from ispcore.domain.identity.actor import SYSTEM

    async with runtime.unit_of_work(SYSTEM, action=action) as uow:
        return await work(uow)


async def _migrate() -> str | None:
    """Upgrade the configured database; needs only the database (no Redis, no jobs)."""
    from ispcore import migrate
    from ispcore.db import Database

    db = Database(get_settings().database_url)
    try:
        await migrate.upgrade(db.engine)
        return await migrate.current_revision(db.engine)
    finally:
        await db.dispose()


@click.group()
def main() -> None:
    """ispcore: operations and billing backend for ISPs (GraphQL API)."""


@main.command()
@click.option("--host", default=None, help="Bind address (default ISPCORE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default ISPCORE_PORT or 8000).")
@click.option("--workers", default=1, show_default=True, help="Worker processes (scaled mode).")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Run the API server. A new embedded (SQLite) database is migrated first."""
    import uvicorn

    settings = get_settings()
    if not settings.scaled and workers > 1:
        raise click.ClickException(
            "--workers needs scaled mode (ISPCORE_REDIS_URL): embedded mode keeps jobs, rate "
            "limits and subscriptions in one process.")
    if settings.is_sqlite:
        revision = _run(_migrate)
        click.echo(f"embedded database at {settings.database_url} (revision {revision})",
                   err=True)
    uvicorn.run("ispcore.app:serve_app", factory=True, host=host or settings.host,
                port=port or settings.port, workers=workers, log_config=None,
                proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
                ws="websockets-sansio")


@main.command()
def worker() -> None:
    """Run an ARQ worker (scaled mode: needs ISPCORE_REDIS_URL)."""
    from arq.worker import run_worker

    from ispcore.logging_setup import configure_logging

    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException("ispcore worker needs ISPCORE_REDIS_URL (scaled mode); "
                                   "in embedded mode `ispcore serve` runs the jobs itself.")
    from ispcore.workers.settings import WorkerSettings

    configure_logging(settings.log_level)
    run_worker(WorkerSettings)  # type: ignore[arg-type]


@main.command()
@click.option("--host", default=None, help="Bind address (default ISPCORE_RADIUS_HOST).")
@click.option("--auth-port", default=None, type=int,
              help="Authentication port (default ISPCORE_RADIUS_AUTH_PORT or 1812).")
@click.option("--acct-port", default=None, type=int,
              help="Accounting port (default ISPCORE_RADIUS_ACCT_PORT or 1813).")
def radius(host: str | None, auth_port: int | None, acct_port: int | None) -> None:
    """Run the RADIUS authentication and accounting server until SIGTERM or SIGINT."""
    from ispcore.logging_setup import configure_logging
    from ispcore.network.radius.server import RadiusServer

    configure_logging(get_settings().log_level)

    async def work(runtime: Any) -> None:
        await RadiusServer(runtime, host=host, auth_port=auth_port,
                           acct_port=acct_port).serve()

    _run(_with_runtime, work)


@main.command()
@click.option("--host", default=None, help="Bind address (default ISPCORE_NETFLOW_HOST).")
@click.option("--port", default=None, type=int,
              help="UDP port (default ISPCORE_NETFLOW_PORT or 2055).")
@click.option("--metrics-port", default=None, type=int,
              help="Prometheus /metrics port (default ISPCORE_NETFLOW_METRICS_PORT or 9158; "
              "0: none).")
def netflow(host: str | None, port: int | None, metrics_port: int | None) -> None:
    """Run the NetFlow v5/v9 and IPFIX collector until SIGTERM or SIGINT."""
    from ispcore.logging_setup import configure_logging
    from ispcore.network.netflow.collector import NetflowCollector

    configure_logging(get_settings().log_level)

    async def work(runtime: Any) -> None:
        try:
            collector = NetflowCollector(runtime, host=host, port=port,
                                         metrics_port=metrics_port)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        await collector.serve()

    _run(_with_runtime, work)


@main.command()
@click.option("--api-url", required=True,
              help="The API's base URL (https://api.example.net) or its /graphql endpoint.")
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="File holding the poller token (default: ISPCORE_POLLER_TOKEN).")
@click.option("--insecure", is_flag=True, help="Do not verify the API's TLS certificate.")
def poller(api_url: str, token_file: str | None, insecure: bool) -> None:
    """Run an SNMP/ICMP poller for the devices the API gives it, until SIGTERM or SIGINT."""
    import os
    from pathlib import Path

    from ispcore.logging_setup import configure_logging
    from ispcore.network.poller.main import event_loop_policy, run_poller

    token = (Path(token_file).read_text().strip() if token_file
             else os.environ.get("ISPCORE_POLLER_TOKEN", "").strip())
    if not token:
        raise click.ClickException("no poller token: set ISPCORE_POLLER_TOKEN or pass "
                                   "--token-file (the API shows the token once, at creation)")
    configure_logging(get_settings().log_level)
    event_loop_policy()
    _run(run_poller, api_url, token, not insecure)


@main.command("print-schema")
def print_schema() -> None:
    """Print the GraphQL schema (SDL); ``schema.graphql`` is this output, committed."""
    from ispcore.schema import build_schema

    click.echo(build_schema().as_str())


@main.command()
def migrate() -> None:
    """Upgrade the database schema to the latest revision."""
    click.echo(f"database at revision {_run(_migrate)}")


@main.command()
@click.option("--demo", is_flag=True, required=True, help="Load demonstration data.")
def seed(demo: bool) -> None:
    """Load demonstration data: an admin user and two companies (safe to re-run)."""
    from ispcore.demo import seed_demo

    async def work(runtime: Any) -> list[str]:
        return await _system_uow(runtime, seed_demo, "seed")

    _run(_migrate)
    for line in _run(_with_runtime, work):
        click.echo(line)


@main.command("freeradius-clients")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write to this file (mode 0600) instead of standard output.")
def freeradius_clients(output: str | None) -> None:
    """Print a FreeRADIUS clients.conf for the active NAS clients, their secrets opened with
    the vault key (ISPCORE_VAULT_KEY): the ``nas`` view shows no secrets."""
    import os

    from ispcore.domain.common.errors import DomainError
    from ispcore.domain.network.freeradius import clients_conf

    try:
        conf = _run(_with_runtime, lambda rt: _system_uow(rt, clients_conf,
                                                          "cli.freeradius_clients"))
    except DomainError as exc:
        raise click.ClickException("; ".join(e.message for e in exc.errors)) from exc
    if output is None:
        click.echo(conf, nl=False)
        return
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(conf)


@main.group()
def user() -> None:
    """Manage users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", default="admin", show_default=True, help="Role name.")
@click.option("--password", default=None, help="Omit to be prompted (or pipe it with "
              "--password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def user_create(email: str, name: str, role: str, password: str | None,
                password_stdin: bool) -> None:
    """Create a user."""
    from ispcore.domain.common.errors import DomainError
    from ispcore.domain.identity import users

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def work(uow: Any) -> Any:
        if role == "admin":
            await users.ensure_admin_role(uow)
        found = await users.get_role_by_name(uow, role)
        return await users.create_user(uow, email=email, name=name, password=password,
                                       role_id=found.id)

    try:
        created = _run(_with_runtime, lambda rt: _system_uow(rt, work, "cli.user_create"))
    except DomainError as exc:
        raise click.ClickException("; ".join(e.message for e in exc.errors)) from exc
    click.echo(f"created user {created.email} (id {created.id})")


@main.group()
def token() -> None:
    """Manage personal access tokens."""


@token.command("create")
@click.option("--email", required=True, help="The user the token acts as.")
@click.option("--name", required=True, help="What the token is for.")
@click.option("--scope", "scopes", multiple=True, help="Narrow to a permission (repeatable).")
@click.option("--expires-in-days", type=int, default=None, help="Omit for no expiry.")
def token_create(email: str, name: str, scopes: tuple[str, ...],
                 expires_in_days: int | None) -> None:
    """Create a personal access token and print its secret (shown only once)."""
    from dataclasses import replace

    from sqlalchemy import select

    from ispcore.domain.common.errors import DomainError
    from ispcore.domain.identity import access_tokens
    from ispcore.domain.identity.models import Role, User
    from ispcore.domain.identity.users import role_permissions
    from ispcore.domain.identity.validation import canonical_email

    async def work(uow: Any) -> str:
        found = await uow.session.scalar(select(User).where(User.email == canonical_email(email)))
        if found is None:
            raise click.ClickException(f"no user with email {email}")
        role = await uow.session.get_one(Role, found.role_id)
        # Act as the user, so the token can hold no more than the user has.
        uow.actor = replace(uow.actor, is_system=False, user_id=found.id,
                            permissions=role_permissions(role))
        expires = (uow.clock.now() + timedelta(days=expires_in_days)
                   if expires_in_days is not None else None)
        created = await access_tokens.create_token(uow, name=name, scopes=list(scopes) or None,
                                                   expires_at=expires)
        return created.secret

    try:
        secret = _run(_with_runtime, lambda rt: _system_uow(rt, work, "cli.token_create"))
    except DomainError as exc:
        raise click.ClickException("; ".join(e.message for e in exc.errors)) from exc
    click.echo(secret)


if __name__ == "__main__":  # pragma: no cover
    main()
