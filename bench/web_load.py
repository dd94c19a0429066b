"""P4 — the web at 1,000,000 households: Locust against gunicorn on PostgreSQL.

    python bench/web_load.py [--households 1000000] [--cases 300000] [--db doudi_bench_web] [--fresh]
                             [--users 8] [--seconds 30] [--workers 2] [--threads 4] [--write-docs]

Set-up (not timed; reused unless --fresh): create the database, migrate, generate the synthetic
province and COPY it in (doudi.registry.synth), file `--cases` open temporary-assistance cases on
households spread over every township (bulk insert, due dates over two months, a fifth without one),
create a township officer in the busiest township and a district officer, and sign them in (sessions
written to the database, so no login is measured); verified portal sessions for a sample of cases.

Timed: gunicorn (`--workers` processes × `--threads` threads, DEBUG off) serves the database; Locust
(headless, FastHttpUser, no wait between requests) runs each scenario for `--seconds`:

  * Officer: ID-number search, a case page (its read is audited), the officer's queue (keyset page);
  * Citizen: the portal's status page of a verified case.

Locust and gunicorn share the machine's cores (2 here), so the throughput is a floor. Printed: per
endpoint requests, failures, median, p95, p99 and requests/s. Targets (issue 14): search p95 ≤ 50 ms,
case page p95 ≤ 150 ms, queue p95 ≤ 200 ms, portal status ≥ 300 requests/s with 0 errors.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchdocs import write_section  # bench/ is the script's directory, first on sys.path
from verification import create_database  # the same database set-up as P3 and P2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
HEADING = "## P4 — the web at 1M households"
SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PORT = 8765
PASSWORD = "Bench-web-2020"
TARGETS = {"ID-number search": "p95 ≤ 50 ms", "case page": "p95 ≤ 150 ms", "officer's queue": "p95 ≤ 200 ms"}


def env(args) -> dict[str, str]:
    e = os.environ.copy()
    e.update(
        DATABASE_URL=f"{SERVER}/{args.db}",
        DJANGO_SETTINGS_MODULE="doudi.settings",
        DOUDI_DATA_DIR=str(ROOT / "var" / "bench" / "web"),
        DEBUG="0",
        SECRET_KEY="bench-web-load-secret-key-not-for-production-0123456789",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DB_CONN_MAX_AGE="600",
        LOG_LEVEL="ERROR",
        PYTHONPATH=str(ROOT / "src"),
    )
    return e


def set_up(args) -> dict:
    """The population, the cases, the users and their sessions; a set-up already done is reused."""
    os.environ.update(env(args))
    subprocess.run(
        [sys.executable, "-m", "doudi", "migrate", "--no-input", "-v0"], check=True, env=os.environ
    )
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    from doudi.accounts.services import create_staff_user
    from doudi.intake.models import Case
    from doudi.registry.models import Household
    from doudi.registry.synth import generate_population, load_population

    figures: dict = {}
    if not Household.objects.exists():
        t = time.perf_counter()
        load_population(generate_population(args.households, seed=2020))
        figures["population_s"] = round(time.perf_counter() - t, 1)
    if not Case.objects.exists():
        t = time.perf_counter()
        _file_cases(args.cases)
        figures["cases_s"] = round(time.perf_counter() - t, 1)
    with connection.cursor() as c:
        c.execute("ANALYZE")
        c.execute(
            "SELECT r.code FROM intake_case k JOIN regions_region v ON v.code = k.region_id "
            "JOIN regions_region r ON r.code = v.parent_id GROUP BY r.code ORDER BY count(*) DESC LIMIT 1"
        )
        township = c.fetchone()[0]
    from doudi.accounts.models import User
    from doudi.regions.models import Region

    officer = User.objects.filter(username="bench_township").first() or create_staff_user(
        username="bench_township",
        password=PASSWORD,
        region=Region.objects.get(code=township),
        roles=["township_officer"],
    )
    sessions = []
    for _ in range(8):
        s = SessionStore()
        s["_auth_user_id"] = str(officer.pk)
        s["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[-1]
        s["_auth_user_hash"] = officer.get_session_auth_hash()
        s.create()
        sessions.append(s.session_key)
    visible = Case.objects.visible_to(officer)
    case_ids = list(visible.values_list("pk", flat=True)[:2000])
    id_numbers = list(
        visible.exclude(applicant_id_number="").values_list("applicant_id_number", flat=True)[:2000]
    )
    from doudi.portal.views import STATUS_SESSION_KEY

    until = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).isoformat()
    citizens = []
    for pk in random.Random(7).sample(case_ids, min(200, len(case_ids))):
        s = SessionStore()
        s[STATUS_SESSION_KEY] = {"case": pk, "until": until}
        s.create()
        citizens.append(s.session_key)
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM registry_household")
        figures["households"] = c.fetchone()[0]
        c.execute("SELECT count(*) FROM registry_person")
        figures["persons"] = c.fetchone()[0]
        c.execute("SELECT count(*) FROM intake_case")
        figures["cases"] = c.fetchone()[0]
    figures["queue_cases"] = visible.count()
    figures["township"] = township
    return figures | {
        "sample": {
            "officer_sessions": sessions,
            "citizen_sessions": citizens,
            "case_ids": case_ids,
            "id_numbers": id_numbers,
        }
    }


def _file_cases(n: int) -> None:
    """`n` open 临时救助 cases on households drawn over the whole province, at the state in which the
    township acts, filed in March 2020 — the shape of a district's queue in the emergency."""
    from django.db import connection, transaction

    from doudi.intake.flows import FLOWS
    from doudi.intake.models import Case

    state = sorted(FLOWS["temporary"].acting_states({"township_officer"}))[0]
    with connection.cursor() as c:
        c.execute(
            "SELECT h.id, h.region_id, p.id, p.name, p.id_number FROM registry_household h "
            "JOIN registry_membership m ON m.household_id = h.id AND m.relation = 'head' "
            "JOIN registry_person p ON p.id = m.person_id ORDER BY random() LIMIT %s",
            [n],
        )
        rows = c.fetchall()
    rng = random.Random(2020)
    start = datetime.datetime(2020, 3, 1, 8, tzinfo=datetime.UTC)
    batch = []
    with transaction.atomic():
        for i, (hh, region, person, name, id_number) in enumerate(rows):
            filed = start + datetime.timedelta(minutes=rng.randrange(60 * 24 * 30))
            due = None if rng.random() < 0.2 else filed.date() + datetime.timedelta(days=rng.randrange(3, 60))
            batch.append(
                Case(
                    tracking_number=f"LS{region}{i:08d}",
                    case_type="temporary",
                    subtype="urgent",
                    channel="walk_in",
                    state=state,
                    region_id=region,
                    applicant_id=person,
                    household_id=hh,
                    applicant_name=name,
                    applicant_id_number=id_number,
                    summary="因疫情收入下降，申请临时救助",
                    filed_at=filed,
                    due_on=due,
                )
            )
            if len(batch) == 10_000:
                Case.objects.bulk_create(batch)
                batch = []
        Case.objects.bulk_create(batch)


def run_locust(args, user_class: str, sample_file: Path, users: int) -> dict[str, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "stats"
        cmd = [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{args.seconds}s",
            "--host",
            f"http://127.0.0.1:{PORT}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "ERROR",
            user_class,
        ]
        e = os.environ.copy() | {"WEB_LOAD_SAMPLE": str(sample_file)}
        subprocess.run(cmd, check=False, env=e, capture_output=True, text=True)
        out = {}
        with open(f"{prefix}_stats.csv", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["Name"] == "Aggregated":
                    continue
                out[row["Name"]] = {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "median_ms": float(row["50%"]),
                    "p95_ms": float(row["95%"]),
                    "p99_ms": float(row["99%"]),
                    "rps": round(float(row["Requests/s"]), 1),
                }
        return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=300_000)
    parser.add_argument("--db", default="doudi_bench_web")
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--users", type=int, default=8, help="concurrent Locust users per scenario")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    create_database(args)
    figures = set_up(args)
    sample = figures.pop("sample")
    for k, v in figures.items():
        print(f"{k}: {v}")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(sample, f)
        sample_file = Path(f.name)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "doudi.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            str(args.workers),
            "-k",
            "gthread",
            "--threads",
            str(args.threads),
            "--log-level",
            "error",
        ],
        env=env(args),
        start_new_session=True,
    )
    try:
        _wait_for_server()
        load_before = os.getloadavg()[0]
        results = {
            "Officer": run_locust(args, "Officer", sample_file, args.users),
            "Citizen": run_locust(args, "Citizen", sample_file, args.users),
        }
        load_after = os.getloadavg()[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        sample_file.unlink(missing_ok=True)
    rows = [(name, r) for scenario in results.values() for name, r in scenario.items()]
    print(f"load average {load_before:.1f} before, {load_after:.1f} after")
    for name, r in rows:
        print(
            f"{name}: {r['requests']} requests, {r['failures']} failures, median {r['median_ms']} ms, "
            f"p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, {r['rps']} requests/s"
        )
    if args.write_docs:
        write_docs(args, figures, rows, load_before, load_after)


def _wait_for_server() -> None:
    import urllib.error
    import urllib.request

    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/console/login/", timeout=2).read()
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer within a minute")


def write_docs(args, figures: dict, rows, load_before: float, load_after: float) -> None:
    lines = [
        HEADING,
        "",
        f"`python bench/web_load.py --write-docs` on {os.cpu_count()} cores, Python {platform.python_version()}: "
        f"gunicorn {args.workers} workers × {args.threads} threads on PostgreSQL (loopback), "
        f"{figures['households']:,} households / {figures['persons']:,} persons, {figures['cases']:,} open cases "
        f"({figures['queue_cases']:,} in the measured township officer's queue). Locust (FastHttpUser, "
        f"{args.users} users, no wait) runs on the same cores for {args.seconds} s per scenario. Load average "
        f"{load_before:.1f} before, {load_after:.1f} after.",
        "",
        "| page | requests | failures | median | p95 | p99 | requests/s | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        target = TARGETS.get(name, "≥ 300 requests/s, 0 errors" if name == "portal status" else "")
        lines.append(
            f"| {name} | {r['requests']:,} | {r['failures']} | {r['median_ms']:.0f} ms | {r['p95_ms']:.0f} ms | "
            f"{r['p99_ms']:.0f} ms | {r['rps']} | {target} |"
        )
    lines.append("")
    write_section(HEADING, "\n".join(lines))


if __name__ == "__main__":
    main()
