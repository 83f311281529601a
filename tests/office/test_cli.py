"""``fieldlink user create`` and the demo's office logins, run as a user would."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from fieldlink.app import create_app
from fieldlink.config import Settings
from tests.office.helpers import sign_in
from tests.test_cli import run


def test_user_create_makes_an_owner_who_can_sign_in(fresh_database_url: str) -> None:
    assert run(["db", "upgrade"], fresh_database_url).returncode == 0
    run(["company", "create", "--name", "Acme", "--code", "acme"], fresh_database_url)
    made = run(
        [
            "user",
            "create",
            "--company",
            "acme",
            "--email",
            "Olivia@Acme.example",
            "--name",
            "Olivia Owens",
            "--password",
            "a long enough secret",
            "--json",
        ],
        fresh_database_url,
    )
    assert made.returncode == 0, made.stderr
    user = json.loads(made.stdout)
    assert user["role"] == "owner" and user["email"] == "olivia@acme.example"
    app = create_app(Settings(database_url=fresh_database_url))  # type: ignore[call-arg]
    with TestClient(app) as client:
        sign_in(client, "olivia@acme.example", "a long enough secret")
        assert client.get("/office/appointments").status_code == 200


def test_user_create_refuses_bad_input_with_one_line_and_exit_2(fresh_database_url: str) -> None:
    run(["db", "upgrade"], fresh_database_url)
    run(["company", "create", "--name", "Acme", "--code", "acme"], fresh_database_url)
    base = ["user", "create", "--company", "acme", "--name", "Pat"]
    for args, words in (
        (["--email", "pat@acme.example", "--password", "short"], "at least 10"),
        (["--email", "not-an-email", "--password", "long enough pw"], "email"),
        (["--email", "pat@acme.example", "--password", "long enough pw", "--role", "boss"], "role"),
    ):
        out = run([*base, *args], fresh_database_url)
        assert out.returncode == 2, out.stdout
        assert words in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    nowhere = run(
        [
            "user",
            "create",
            "--company",
            "nope",
            "--name",
            "P",
            "--email",
            "p@x.io",
            "--password",
            "long enough pw",
        ],
        fresh_database_url,
    )
    assert nowhere.returncode == 2 and "no company" in nowhere.stderr
    run([*base, "--email", "pat@acme.example", "--password", "long enough pw"], fresh_database_url)
    again = run(
        [*base, "--email", "PAT@acme.example", "--password", "long enough pw"], fresh_database_url
    )
    assert again.returncode == 2 and "already exists" in again.stderr


def test_demo_prints_office_logins_that_work(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    out = run(["demo", "--no-serve", "--json", "--database", db], db, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    logins = {u["role"]: u for u in info["office_logins"]}
    assert {"owner", "dispatcher", "technician"} <= set(logins)
    app = create_app(Settings(database_url=db))  # type: ignore[call-arg]
    with TestClient(app) as client:
        sign_in(client, logins["dispatcher"]["email"], logins["dispatcher"]["password"])
        page = client.get("/office/appointments")
        assert page.status_code == 200 and "appointments match" in page.text
