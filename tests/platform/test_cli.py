"""The `ispcore` command on a fresh embedded (SQLite) directory, as a newcomer runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ispcore import migrate
from tests.conftest import free_port

ISPCORE = [sys.executable, "-m", "ispcore.cli"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPCORE_")}
    env["ISPCORE_LOG_LEVEL"] = "WARNING"
    return env


def run(workdir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*ISPCORE, *args], cwd=workdir, env=_env(), input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_migrate_seed_user_and_token(workdir):
    migrated = run(workdir, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"at revision {migrate.head_revision()}" in migrated.stdout
    assert (workdir / "ispcore.db").exists()

    seeded = run(workdir, "seed", "--demo")
    assert seeded.returncode == 0, seeded.stderr
    assert "Prairie Fiber" in seeded.stdout
    again = run(workdir, "seed", "--demo")
    assert again.stdout.strip() == "demo data already present"

    weak = run(workdir, "user", "create", "--email", "ops@example.com", "--name", "Ops",
               "--password-stdin", stdin="short\n")
    assert weak.returncode != 0 and "at least 12 characters" in weak.stderr
    common = run(workdir, "user", "create", "--email", "ops@example.com", "--name", "Ops",
                 "--password-stdin", stdin="password1234\n")
    assert common.returncode != 0 and "This is a very common password" in common.stderr

    made = run(workdir, "user", "create", "--email", "ops@example.com", "--name", "Ops",
               "--password-stdin", stdin="a long enough passphrase\n")
    assert made.returncode == 0, made.stderr

    token = run(workdir, "token", "create", "--email", "ops@example.com", "--name", "ci",
                "--scope", "companies:read")
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("isp_pat_")

    unknown = run(workdir, "token", "create", "--email", "nobody@example.com", "--name", "x")
    assert unknown.returncode != 0 and "no user" in unknown.stderr


def test_serve_migrates_a_new_embedded_database_and_answers(workdir):
    port = free_port()
    env = {**_env(), "ISPCORE_LOG_LEVEL": "INFO"}
    server = subprocess.Popen([*ISPCORE, "serve", "--port", str(port)], cwd=workdir, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("server did not start")
        assert httpx.get(f"{base}/readyz").json()["checks"] == {"database": "ok"}
        assert "graphiql" in httpx.get(f"{base}/graphiql").text.lower()
        seeded = run(workdir, "seed", "--demo")
        assert seeded.returncode == 0, seeded.stderr
        token = run(workdir, "token", "create", "--email", "admin@demo.ispcore.example",
                    "--name", "curl").stdout.strip()
        response = httpx.post(f"{base}/graphql", json={"query": """{ companies { totalCount }
            accounts(filter: {accountStatusId: {isNull: false}}) { totalCount }
            search(query: "ana silva", types: [CONTACT]) { title } }"""},
                              headers={"Authorization": f"Bearer {token}"})
        assert response.json() == {"data": {"companies": {"totalCount": 2},
                                            "accounts": {"totalCount": 6},
                                            "search": [{"title": "Ana Silva"}] * 2}}
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    # Structured logs: JSON lines, the access line of a request carrying its request id.
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "uvicorn.access"
              and line["request_id"] == response.headers["x-request-id"]]
    assert len(access) == 1 and "POST /graphql" in access[0]["message"]
    assert {"time", "level", "logger", "message", "request_id"} <= set(access[0])
