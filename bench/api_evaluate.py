"""P5 — one `POST /api/v1/evaluate` of a 4-person household: p95 ≤ 20 ms.

    python bench/api_evaluate.py [--requests 500] [--runs 3] [--workers 2] [--database-url URL] [--write-docs]

Migrates a throw-away SQLite database (or the one given), starts gunicorn from the venv on a free
port on 127.0.0.1 with the production settings (DEBUG off), sends `--requests` sequential requests
of the same household after a short warm-up (`--runs` times), prints p50/p95/p99 in milliseconds,
and stops the server. The anonymous rate limit is raised for the run (`DOUDI_API_ANON_RATE`), not removed, so
the throttle's work is measured too. Each request opens a new connection (gunicorn's sync workers
do not keep connections alive), as a client without a connection pool would.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchdocs import write_section  # bench/ is the script's directory, first on sys.path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HEADING = "## P5 — POST /api/v1/evaluate"

# A 4-person urban household enrolled in dibao, March 2020: a migrant worker (work-cost deduction),
# a spouse discharged from hospital after COVID (R5), a scattered orphan in their care (R3) and a
# grandparent with 特困 status (R2, outside the dibao unit); every rule R1–R6 runs.
HOUSEHOLD = {
    "period": "2020-03",
    "households": [
        {
            "id": "h1",
            "region": "500101",
            "area_type": "urban",
            "dibao": {"enrolled": True, "last_amount": 900},
            "assets": {"deposits": 12000, "vehicles": 0, "houses": 1},
            "members": [
                {"id": "p1", "birth_date": "1978-05-02", "income": {"wage": 1800}, "work": "migrant"},
                {
                    "id": "p2",
                    "birth_date": "1980-11-20",
                    "income": {"business": 300},
                    "categories": ["registered_poor"],
                    "covid": {"confirmed_on": "2020-02-10", "discharged_on": "2020-03-11"},
                },
                {
                    "id": "p3",
                    "birth_date": "2009-04-15",
                    "categories": ["orphan"],
                    "orphan_care": "scattered",
                },
                {
                    "id": "p4",
                    "birth_date": "1945-01-30",
                    "income": {"transfer": 200},
                    "categories": ["tekun"],
                },
            ],
        }
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port: int, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/api/v1/evaluate", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/openapi.json")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer in time")


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def run(requests: int, workers: int, database_url: str | None, runs: int = 3) -> dict[str, Any]:
    var = Path(tempfile.mkdtemp(prefix="doudi-bench-p5-"))
    env = {
        **os.environ,
        "DOUDI_VAR_DIR": str(var),
        "DEBUG": "0",
        "DOUDI_API_ANON_RATE": "1000000/m",
        "LOG_LEVEL": "ERROR",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    server = None
    try:
        subprocess.run([str(BIN / "doudi"), "migrate", "-v0"], env=env, check=True)
        port = free_port()
        server = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "doudi.wsgi",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            env=env,
            cwd=var,
            start_new_session=True,
        )
        wait_ready(port, server)
        body = json.dumps(HOUSEHOLD).encode()
        status, content = post(port, body)
        if status != 200:
            raise SystemExit(f"evaluate answered {status}: {content[:500]!r}")
        total = json.loads(content)["households"][0]["total"]
        for _ in range(max(20, workers * 10)):  # warm every worker (imports, parameter cache)
            post(port, body)
        measured = []
        for _ in range(runs):
            timings = []
            for _ in range(requests):
                start = time.perf_counter()
                status, _content = post(port, body)
                timings.append((time.perf_counter() - start) * 1000)
                if status != 200:
                    raise SystemExit(f"evaluate answered {status}")
            timings.sort()
            measured.append(
                {
                    "p50": round(statistics.median(timings), 2),
                    "p95": round(percentile(timings, 95), 2),
                    "p99": round(percentile(timings, 99), 2),
                    "max": round(timings[-1], 2),
                    "load_average": round(os.getloadavg()[0], 1),
                }
            )
        # The machine is shared: report the run with the median p95, and every run beside it.
        median_run = sorted(measured, key=lambda m: m["p95"])[len(measured) // 2]
        return {
            **median_run,
            "runs": measured,
            "requests": requests,
            "workers": workers,
            "database": "PostgreSQL" if database_url and database_url.startswith("postgres") else "SQLite",
            "total_yuan": total,
        }
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server's own process group: gunicorn and its workers
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        shutil.rmtree(var, ignore_errors=True)


def write_docs(figures: dict[str, Any]) -> None:
    """Replace (or add) this benchmark's section of docs/benchmarks.md, leaving the others alone."""
    runs = figures["runs"]
    section = "\n".join(
        [
            HEADING,
            "",
            f"`python bench/api_evaluate.py --write-docs` on {os.cpu_count()} cores, Python "
            f"{platform.python_version()}: gunicorn with {figures['workers']} sync workers on 127.0.0.1, "
            f"{figures['database']}; {len(runs)} runs of {figures['requests']} sequential requests after a "
            "warm-up, a new connection each, of a 4-person household that runs every rule R1–R6 (total "
            f"{figures['total_yuan']} yuan), anonymous (the per-IP rate limit raised, not removed). The "
            "machine is shared with other work: the run with the median p95 is shown, then every run with "
            "the 1-minute load average at its end.",
            "",
            "Where a request's time goes (profiled in-process, quiet machine): the rules with their "
            "explanation ≈ 2–3 ms, rendering the indented JSON byte-identical with `doudi evaluate` ≈ 1.5 ms, "
            "Django's middleware and the new TCP connection the rest. No database query is on the path: "
            "the parameter set is cached per worker and its stamp re-read at most once a second.",
            "",
            "| measure | figure | target |",
            "|---|---|---|",
            f"| p50 | {figures['p50']} ms | |",
            f"| p95 | {figures['p95']} ms | ≤ 20 ms |",
            f"| p99 | {figures['p99']} ms | |",
            f"| max | {figures['max']} ms | |",
            "",
            "| run | p50 ms | p95 ms | p99 ms | load average |",
            "|---|---|---|---|---|",
            *(
                f"| {i} | {m['p50']} | {m['p95']} | {m['p99']} | {m['load_average']} |"
                for i, m in enumerate(runs, 1)
            ),
            "",
        ]
    )
    write_section(HEADING, section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--runs", type=int, default=3, help="measurements of --requests each; the median is shown"
    )
    parser.add_argument("--database-url", default=None, help="default: a throw-away SQLite database")
    parser.add_argument("--write-docs", action="store_true", help=f"write the figures under '{HEADING}'")
    args = parser.parse_args()
    figures = run(args.requests, args.workers, args.database_url, args.runs)
    print(json.dumps(figures, indent=2))
    print(
        f"p50 {figures['p50']} ms   p95 {figures['p95']} ms   p99 {figures['p99']} ms   (target p95 ≤ 20 ms)"
    )
    if args.write_docs:
        write_docs(figures)


if __name__ == "__main__":
    main()
