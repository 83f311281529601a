"""Webhook load: signed inbound-SMS and status-callback posts at rising concurrency.

    .venv/bin/python -m benchmarks.webhooks                      # 2 API workers, c=16,64,128
    .venv/bin/python -m benchmarks.webhooks --workers 4 --concurrency 32 128 --seconds 10
    .venv/bin/python -m benchmarks.webhooks --kinds status          # status callbacks only

Runs ``fieldlink serve --workers N`` on a fresh PostgreSQL database and drives it with wrk
(Debian's ``wrk``; LuaJIT, not Python, so the load generator is not the bottleneck — its
ceiling is measured first against ``/healthz``). Every request is distinct and correctly
signed (X-Twilio-Signature over FIELDLINK_BASE_URL + path + sorted form, precomputed into
the Lua script): inbound texts each carry a new MessageSid, status callbacks each settle a
different sent message. After each run the database is counted: every accepted webhook
must be recorded. ``FIELDLINK_BENCH_DATABASE_URL`` is the admin URL (default
postgresql://postgres@127.0.0.1/postgres).

Inbound texts are a mix: ``--keywords`` percent of them are STOP or START (applied and
answered by the webhook itself), the rest ordinary replies, which the webhook records for a
worker. "recorded" counts both (texts threaded plus texts queued for threading). After the
load, ``fieldlink worker`` processes are started and the rate at which they thread the
backlog is measured for ``--drain-seconds`` (``--drain-workers`` processes).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import text

from benchmarks.delivery import _free_port, fresh_database
from fieldlink.channels.signatures import twilio_signature
from fieldlink.db import make_engine
from fieldlink.migrate import upgrade

DB_NAME = "fieldlink_bench_webhooks"
TOKEN = "bench-auth-token"
NUMBER = "+19195550199"
PHONES = 500  # distinct senders of inbound texts (each gets a conversation)

# Requests are read from a data file at start (a Lua source with tens of thousands of
# string constants overflows LuaJIT's constant table); each wrk thread takes every n-th.
LUA = """
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  requests = {}
  local n = 0
  for line in io.lines("%(data)s") do
    if n %% %(threads)d == offset then
      local path, signature, body = line:match("([^\t]*)\t([^\t]*)\t(.*)")
      requests[#requests + 1] = wrk.format("POST", path, {
        ["Host"] = "%(host)s",
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body)
    end
    n = n + 1
  end
  index = 1
end
function request()
  local r = requests[index]
  index = index + 1
  if index > #requests then index = 1 end
  return r
end
"""


def _stat(pid: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from the state on (3rd)


def cpu_seconds(root: int, database: str) -> tuple[float, float]:
    """CPU seconds used so far by the server (``root`` and its children) and by the
    PostgreSQL backends connected to ``database``. On a shared machine this is the figure
    that carries over: the idle throughput is about 2 cores / (CPU per request)."""
    tick = os.sysconf("SC_CLK_TCK")
    server = db = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or (fields := _stat(pid)) is None:
            continue
        used = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if int(pid) == root or int(fields[1]) == root:
            server += used
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(b"postgres: ") and f" {database} ".encode() in cmdline:
            db += used
    return server, db


@dataclass(frozen=True)
class Result:
    kind: str
    concurrency: int
    requests: int
    non_2xx: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    recorded: int
    server_cpu_ms: float
    db_cpu_ms: float
    wrk_cpu_ms: float


def inbound_body(i: int, keywords: float) -> str:
    """The i-th inbound text: ``keywords`` percent are STOP or START in turn, spread evenly."""
    every = round(100 / keywords) if keywords > 0 else 0
    if every and i % every == 0:
        return "STOP" if (i // every) % 2 == 0 else "START"
    return "Running about 10 minutes late, gate code 1234"


def signed_requests(
    kind: str, base_url: str, start: int, n: int, keywords: float = 0.0
) -> list[str]:
    """``n`` distinct signed posts, one ``path<TAB>signature<TAB>body`` line each."""
    out = []
    for i in range(start, start + n):
        if kind == "inbound":
            path = "/webhooks/sms/inbound"
            form = {
                "From": f"+1984555{i % PHONES:04d}",
                "To": NUMBER,
                "Body": inbound_body(i, keywords),
                "MessageSid": f"SMbench{i:010d}",
                "AccountSid": "ACbench",
            }
        else:
            path = f"/webhooks/sms/status?m=flm-{i}"
            form = {
                "MessageSid": f"SMsent{i:010d}",
                "MessageStatus": "delivered",
                "AccountSid": "ACbench",
            }
        signature = twilio_signature(TOKEN, base_url + path, form)
        out.append(f"{path}\t{signature}\t{urlencode(form)}")
    return out


def seed(url: str, sent_messages: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        company_id = conn.execute(
            text(
                "INSERT INTO companies (name, company_code, sms_number, sender_email, "
                "business_phone, sms_registration, country, time_zone, settings, created_at, "
                "updated_at) VALUES ('Bench HVAC', 'bench', :n, 'svc@bench.example', "
                "'+19195550100', 'approved', 'US', 'America/New_York', '{}', now(), now()) "
                "RETURNING id"
            ),
            {"n": NUMBER},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO users (company_id, name, email, role, active, certifications, "
                "created_at, updated_at) VALUES (:c, 'Olive', 'olive@bench.example', 'owner', "
                "true, '[]', now(), now())"
            ),
            {"c": company_id},
        )
        # Texts already sent, one per status callback to come: ids 1..n, provider ids
        # SMsent<id>, as the delivery handler leaves them.
        conn.execute(
            text(
                'INSERT INTO messages (id, company_id, touchpoint, channel, "to", language, '
                "body, status, reasons, provider_id, attempts, created_at, updated_at, sent_at) "
                "SELECT g, :c, 'service_reminder', 'sms', '+19195551234', 'en', 'Reminder', "
                "'sent', '[]', 'SMsent' || lpad(g::text, 10, '0'), 1, now(), now(), now() "
                "FROM generate_series(1, :n) g"
            ),
            {"c": company_id, "n": sent_messages},
        )
        conn.execute(text("SELECT setval('messages_id_seq', :n)"), {"n": sent_messages})
    engine.dispose()


def counts(url: str) -> tuple[int, int]:
    """(inbound texts recorded, messages marked delivered). An inbound text is recorded
    once it is threaded or queued for threading (a pending ``sms.receive`` job)."""
    engine = make_engine(url)
    with engine.connect() as conn:
        inbound = conn.scalar(
            text(
                "SELECT (SELECT count(*) FROM conversation_messages WHERE direction = 'inbound')"
                " + (SELECT count(*) FROM outbox WHERE topic = 'sms.receive'"
                " AND status <> 'done')"
            )
        )
        delivered = conn.scalar(text("SELECT count(*) FROM messages WHERE status = 'delivered'"))
    engine.dispose()
    return int(inbound or 0), int(delivered or 0)


def wrk_cpu_seconds() -> float:
    """CPU seconds used by the finished child processes so far (wrk; the server is a
    child too but is only counted once reaped, at the end)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_stack(root: int) -> str:
    """Which HTTP parser and event loop the server's processes loaded."""
    found = set()
    for pid in [str(root), *os.listdir("/proc")]:
        if not pid.isdigit() or (fields := _stat(pid)) is None:
            continue
        if int(pid) != root and int(fields[1]) != root:
            continue
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        found |= {name for name in ("httptools", "uvloop") if name in maps}
    return " + ".join(sorted(found)) or "h11 + asyncio"


def run_wrk(
    base_url: str, script: Path | None, path: str, concurrency: int, seconds: int
) -> tuple[int, int, int, float, float, float]:
    """(requests, non-2xx, socket errors, req/s, p50 ms, p99 ms)."""
    args = ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script is not None:
        args += ["-s", str(script)]
    out = subprocess.run(
        [*args, base_url + path], capture_output=True, text=True, check=True
    ).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors = sum(int(x) for x in m.groups())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return requests, non_2xx, errors, rps, _ms(out, "50%"), _ms(out, "99%")


def _ms(out: str, pct: str) -> float:
    match = re.search(rf"^\s+{re.escape(pct)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FIELDLINK_DATABASE_URL": url,
        "FIELDLINK_BASE_URL": f"http://127.0.0.1:{port}",
        "FIELDLINK_TWILIO_AUTH_TOKEN": TOKEN,
        "FIELDLINK_TWILIO_ACCOUNT_SID": "ACbench",
        "FIELDLINK_SECRET_KEY": "bench-secret",
        "FIELDLINK_LOG_LEVEL": "WARNING",  # no access line per request
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fieldlink",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("fieldlink serve did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="Uvicorn worker processes")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--pool", type=int, default=30_000, help="distinct requests per run")
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=("inbound", "status"),
        default=["inbound", "status"],
        help="which webhooks to run (the /healthz ceiling always runs)",
    )
    parser.add_argument("--database", default=DB_NAME, help="name of the database made for it")
    parser.add_argument(
        "--keywords", type=float, default=2.0, help="percent of inbound texts that are STOP/START"
    )
    parser.add_argument(
        "--drain-seconds", type=int, default=20, help="how long to measure the worker's threading"
    )
    parser.add_argument("--drain-workers", type=int, default=2, help="fieldlink worker processes")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    admin = os.environ.get(
        "FIELDLINK_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/postgres"
    )
    url = fresh_database(admin, args.database)
    runs = [(kind, c) for kind in args.kinds for c in args.concurrency]
    seed(url, sent_messages=args.pool * len(args.concurrency))
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = start_server(url, port, args.workers)
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            run_wrk(base_url, None, "/healthz", 64, 3)  # warm-up
            cpu_before = cpu_seconds(server.pid, args.database)
            wrk_before = wrk_cpu_seconds()
            ceiling = run_wrk(base_url, None, "/healthz", 64, args.seconds)
            wrk_after = wrk_cpu_seconds()
            cpu_after = cpu_seconds(server.pid, args.database)
            print(
                f"server: {server_stack(server.pid)}; "
                f"ceiling, GET /healthz (wrk + server, no database): {ceiling[3]:,.0f} req/s, "
                f"p50 {ceiling[4]:.1f} ms, p99 {ceiling[5]:.1f} ms, CPU/request: server "
                f"{1000 * (cpu_after[0] - cpu_before[0]) / max(ceiling[0], 1):.2f} ms, wrk "
                f"{1000 * (wrk_after - wrk_before) / max(ceiling[0], 1):.2f} ms; "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            offsets = {"inbound": 0, "status": 1}
            for kind, concurrency in runs:
                start = offsets[kind]
                offsets[kind] += args.pool
                data = Path(tmp) / f"{kind}-{concurrency}.tsv"
                data.write_text(
                    "\n".join(signed_requests(kind, base_url, start, args.pool, args.keywords))
                )
                script = Path(tmp) / f"{kind}-{concurrency}.lua"
                script.write_text(
                    LUA % {"data": data, "threads": 2, "host": base_url.split("://", 1)[1]}
                )
                before = counts(url)
                cpu_before = cpu_seconds(server.pid, args.database)
                wrk_before = wrk_cpu_seconds()
                done, non_2xx, errors, rps, p50, p99 = run_wrk(
                    base_url, script, "/", concurrency, args.seconds
                )
                wrk_ms = 1000 * (wrk_cpu_seconds() - wrk_before) / max(done, 1)
                time.sleep(0.5)
                cpu_after = cpu_seconds(server.pid, args.database)
                after = counts(url)
                recorded = after[0] - before[0] if kind == "inbound" else after[1] - before[1]
                per_request = [
                    1000 * (a - b) / max(done, 1)
                    for a, b in zip(cpu_after, cpu_before, strict=True)
                ]
                result = Result(
                    kind,
                    concurrency,
                    done,
                    non_2xx,
                    errors,
                    rps,
                    p50,
                    p99,
                    recorded,
                    *per_request,
                    wrk_ms,
                )
                results.append(result)
                accepted = done - non_2xx
                print(
                    f"{kind:8} c={concurrency:<4} {rps:8,.0f} req/s  p50 {p50:6.1f} ms  "
                    f"p99 {p99:6.1f} ms  requests {done:,} (non-2xx {non_2xx}, socket errors "
                    f"{errors})  recorded {recorded:,} of {accepted:,} accepted  CPU/request: "
                    f"server {per_request[0]:.2f} ms, database {per_request[1]:.2f} ms, "
                    f"wrk {wrk_ms:.2f} ms; load {os.getloadavg()[0]:.1f}"
                    + ("" if done <= args.pool else "  [pool wrapped: repeats are retries]"),
                    flush=True,
                )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    if "inbound" in args.kinds and args.drain_seconds > 0:
        drain(url, base_url, args.database, args.drain_workers, args.drain_seconds)


def queued_texts(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        left = conn.scalar(
            text("SELECT count(*) FROM outbox WHERE topic = 'sms.receive' AND status <> 'done'")
        )
    engine.dispose()
    return int(left or 0)


def drain(url: str, base_url: str, database: str, workers: int, seconds: int) -> None:
    """Start ``workers`` worker processes (server stopped) and measure how fast they thread
    the recorded texts: the rate a burst is worked off at once the webhooks have taken it."""
    env = {
        **os.environ,
        "FIELDLINK_DATABASE_URL": url,
        "FIELDLINK_BASE_URL": base_url,
        "FIELDLINK_SECRET_KEY": "bench-secret",
        "FIELDLINK_LOG_LEVEL": "WARNING",
    }
    start_left = queued_texts(url)
    procs = [
        subprocess.Popen([sys.executable, "-m", "fieldlink", "worker"], env=env)
        for _ in range(workers)
    ]
    began = time.perf_counter()
    cpu_before = [cpu_seconds(p.pid, database) for p in procs]
    left = start_left
    try:
        while time.perf_counter() - began < seconds and left:
            time.sleep(0.5)
            left = queued_texts(url)
        elapsed = time.perf_counter() - began
        cpu_after = [cpu_seconds(p.pid, database) for p in procs]
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
    done = start_left - left
    worker_cpu = sum(a[0] - b[0] for a, b in zip(cpu_after, cpu_before, strict=True))
    db_cpu = cpu_after[0][1] - cpu_before[0][1]  # backends of the database, counted once
    print(
        f"threading by {workers} worker process(es): {done:,} of {start_left:,} recorded texts "
        f"in {elapsed:.1f} s = {done / elapsed:,.0f} texts/s (start-up included); "
        f"CPU/text: worker {1000 * worker_cpu / max(done, 1):.2f} ms, database "
        f"{1000 * db_cpu / max(done, 1):.2f} ms; {left:,} left",
        flush=True,
    )


if __name__ == "__main__":
    main()
