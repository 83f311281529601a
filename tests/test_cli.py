"""The ``fieldlink`` command line, run as a user would (a real process on a real database)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

FIELDLINK = [sys.executable, "-m", "fieldlink"]


def run(args: list[str], db: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FIELDLINK_DATABASE_URL": db}
    return subprocess.run(
        [*FIELDLINK, *args], env=env, capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_db_upgrade_then_company_create_prints_a_working_key(fresh_database_url: str) -> None:
    assert run(["db", "upgrade"], fresh_database_url).returncode == 0
    out = run(
        ["company", "create", "--name", "Acme", "--code", "acme", "--json"], fresh_database_url
    )
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert created["company_code"] == "acme" and created["api_key"].startswith("flk_")

    from fastapi.testclient import TestClient

    from fieldlink.app import create_app
    from fieldlink.config import Settings

    app = create_app(Settings(database_url=fresh_database_url))  # type: ignore[call-arg]
    with TestClient(app) as client:
        r = client.get("/v1/company", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert r.status_code == 200 and r.json()["id"] == created["id"]


def test_company_create_refuses_a_taken_code_with_a_message(fresh_database_url: str) -> None:
    run(["db", "upgrade"], fresh_database_url)
    run(["company", "create", "--name", "Acme", "--code", "acme"], fresh_database_url)
    again = run(["company", "create", "--name", "Other", "--code", "ACME"], fresh_database_url)
    assert again.returncode == 2
    assert "taken" in again.stderr and "Traceback" not in again.stderr


def test_apikey_create_and_revoke(fresh_database_url: str) -> None:
    run(["db", "upgrade"], fresh_database_url)
    run(["company", "create", "--name", "Acme", "--code", "acme"], fresh_database_url)
    made = run(["apikey", "create", "--company", "acme", "--json"], fresh_database_url)
    key = json.loads(made.stdout)
    revoked = run(
        ["apikey", "revoke", str(key["id"]), "--company", "acme", "--json"], fresh_database_url
    )
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["revoked_at"]
    missing = run(["apikey", "create", "--company", "nobody"], fresh_database_url)
    assert missing.returncode == 2 and "no company" in missing.stderr


def test_db_upgrade_on_an_unreachable_server_says_so(tmp_path: Path) -> None:
    out = run(["db", "upgrade"], "postgresql://nobody@127.0.0.1:1/none")
    assert out.returncode == 2
    assert "could not migrate" in out.stderr and "Traceback" not in out.stderr


def test_demo_serves_the_api_with_the_printed_key(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            *FIELDLINK,
            "demo",
            "--port",
            str(port),
            "--json",
            "--database",
            f"sqlite:///{tmp_path / 'demo.db'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        headers = {"Authorization": f"Bearer {info['api_key']}"}
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        company = httpx.get(f"{info['api']}/company", headers=headers).json()
        assert company["name"] == "Acme Heating & Air"
        assert company["sms_number"] == "+19195550199"
        users = httpx.get(
            f"{info['api']}/users", headers=headers, params={"role": "technician"}
        ).json()
        assert len(users["items"]) == 3
        assert info["customers"] == 50 and info["appointments"] >= 20
        # The demo played part of a day: the log explains what was not sent, and the
        # worker inside the demo delivers the rest to the log sink.
        suppressed = httpx.get(
            f"{info['api']}/messages",
            headers=headers,
            params={"status": "suppressed", "limit": 500},
        ).json()["items"]
        reasons = {m["reasons"][0]["code"] for m in suppressed}
        assert {"do_not_service", "duplicate"} <= reasons
        for _ in range(100):
            sent = httpx.get(
                f"{info['api']}/messages", headers=headers, params={"status": "sent"}
            ).json()["items"]
            if sent:
                break
            time.sleep(0.1)
        assert sent, "the demo's worker delivered nothing"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_worker_command_runs_until_sigterm_and_exits_cleanly(fresh_database_url: str) -> None:
    import signal
    import time

    run(["db", "upgrade"], fresh_database_url)
    env = {**os.environ, "FIELDLINK_DATABASE_URL": fresh_database_url}
    proc = subprocess.Popen(
        [*FIELDLINK, "worker", "--concurrency", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until a worker thread says it has started
        line = proc.stderr.readline()
        assert line, f"worker exited early with {proc.poll()}"
        if " started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 0


def test_company_create_with_an_area_code_queues_number_provisioning(
    fresh_database_url: str,
) -> None:
    run(["db", "upgrade"], fresh_database_url)
    out = run(
        [
            "company",
            "create",
            "--name",
            "Acme",
            "--code",
            "acme",
            "--sms-area-code",
            "919",
            "--json",
        ],
        fresh_database_url,
    )
    assert out.returncode == 0, out.stderr
    key = json.loads(out.stdout)["api_key"]

    from fastapi.testclient import TestClient

    from fieldlink.app import create_app
    from fieldlink.config import Settings

    app = create_app(Settings(database_url=fresh_database_url))  # type: ignore[call-arg]
    with TestClient(app) as client:
        r = client.get("/v1/company/sms-number", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200 and r.json()["area_code"] == "919"
    bad = run(
        ["company", "create", "--name", "B", "--code", "bee", "--sms-area-code", "91"],
        fresh_database_url,
    )
    assert bad.returncode == 2 and "area code" in bad.stderr


def test_serve_believes_forwarded_client_ips_only_from_the_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Behind a proxy on another host, per-IP sign-in throttles must count customers, not
    the proxy: `fieldlink serve` hands FIELDLINK_TRUSTED_PROXIES to Uvicorn's proxy headers."""
    import uvicorn
    from typer.testing import CliRunner

    from fieldlink.cli import app as cli
    from fieldlink.config import get_settings

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    for value, expected in ((None, "127.0.0.1"), ("10.0.0.0/24", "10.0.0.0/24")):
        if value is None:
            monkeypatch.delenv("FIELDLINK_TRUSTED_PROXIES", raising=False)
        else:
            monkeypatch.setenv("FIELDLINK_TRUSTED_PROXIES", value)
        get_settings.cache_clear()
        result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
        assert result.exit_code == 0, result.output
        assert seen["proxy_headers"] is True and seen["forwarded_allow_ips"] == expected
    get_settings.cache_clear()
