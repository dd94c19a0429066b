"""P4's load-independent measure: the queries of each hot page, and where one request spends its CPU.

    python bench/web_profile.py [--db doudi_bench_web] [--repeat 20] [--profile PAGE] [--queries PAGE]

In-process (Django's test client, no server, no Locust) against the database that bench/web_load.py
built, with its users and sample: per page, the number of queries before the response and after it
(appending the page's audited read to the chain, audit/pending.py), the wall time of the request and the
CPU it cost this process (median over `--repeat` requests), and the CPU the PostgreSQL backend spent
on it (mean, from /proc, at the kernel's 10 ms tick — read over many requests). The CPU figures, not a
p95 under saturation, say how many requests/s two cores can serve; a query count does not depend on
what else runs on the machine at all. `--profile PAGE` prints cProfile's top functions of one
page (cumulative), `--queries PAGE` its SQL with each query's time.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

# WEB_PROFILE_SRC: another checkout's src/ to measure (e.g. main's, to compare); default this one's.
ROOT = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("WEB_PROFILE_SRC") or ROOT / "src")
from web_load import env  # noqa: E402  (bench/ is the script's directory, first on sys.path)

sys.path.insert(0, str(SRC))  # before the checkout web_load put there
PAGES = ("search", "case", "queue", "portal")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="doudi_bench_web")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--profile", choices=PAGES)
    parser.add_argument("--queries", choices=PAGES)
    parser.add_argument("--explain", choices=PAGES, help="EXPLAIN (ANALYZE, BUFFERS) each SELECT of the page")
    args = parser.parse_args()
    os.environ.update(env(args))  # the load bench's settings (DEBUG off, its database and secret)
    os.environ["ALLOWED_HOSTS"] += ",testserver"  # the test client's host
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    urls = _urls()
    officer, citizen = Client(), Client()
    officer.cookies["sessionid"] = urls.pop("officer_session")
    citizen.cookies["sessionid"] = urls.pop("citizen_session")
    clients = {"search": officer, "case": officer, "queue": officer, "portal": citizen}
    rng = random.Random(1)
    from django.core.signals import request_finished

    try:
        from doudi.audit import pending
    except ImportError:  # a checkout before audit/pending.py (to compare with): nothing after the response
        pending = None

    print(
        f"{'page':8} {'queries':>7} {'after':>5} {'wall ms':>8} {'python cpu ms':>13} {'server cpu ms':>13}"
    )
    for page in PAGES:
        counts, after, wall, cpu, server = [], [], [], [], []
        clients[page].get(urls[page][0])  # warm: templates compiled, connection open
        for _ in range(args.repeat):
            url = rng.choice(urls[page])
            backend = _backend_cpu(connection)
            # The page's queries, then (`after`) those of chaining its audited read once it has been sent.
            if pending is not None:
                request_finished.disconnect(
                    pending.request_finished, dispatch_uid="doudi.audit.pending.finished"
                )
            try:
                with CaptureQueriesContext(connection) as ctx:
                    t, c = time.perf_counter(), time.process_time()
                    response = clients[page].get(url)
                    wall.append((time.perf_counter() - t) * 1000)
                    with CaptureQueriesContext(connection) as chain:
                        if pending is not None:
                            pending.request_finished()
                    cpu.append((time.process_time() - c) * 1000)
            finally:
                if pending is not None:
                    request_finished.connect(
                        pending.request_finished, dispatch_uid="doudi.audit.pending.finished"
                    )
            server.append(_backend_cpu(connection) - backend)
            assert response.status_code == 200, (url, response.status_code)
            counts.append(len(ctx.captured_queries) - len(chain.captured_queries))
            after.append(len(chain.captured_queries))
        print(
            f"{page:8} {max(counts):>7} {max(after):>5} {statistics.median(wall):>8.1f} "
            f"{statistics.median(cpu):>13.1f} {sum(server) / len(server):>13.1f}"
        )
    if args.queries:
        where: list[str] = []

        def origin(execute, sql, params, many, context):
            where.append(_origin())
            return execute(sql, params, many, context)

        with CaptureQueriesContext(connection) as ctx, connection.execute_wrapper(origin):
            clients[args.queries].get(rng.choice(urls[args.queries]))
        for q, w in zip(ctx.captured_queries, where, strict=False):
            print(f"{float(q['time']) * 1000:7.2f} ms  {w}\n           {q['sql'][:300]}")
    if args.explain:
        with CaptureQueriesContext(connection) as ctx:
            clients[args.explain].get(rng.choice(urls[args.explain]))
        with connection.cursor() as cursor:
            for q in ctx.captured_queries:
                if not q["sql"].startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + q["sql"])
                plan = cursor.fetchone()[0][0]
                top = plan["Plan"]
                print(
                    f"{plan['Execution Time']:8.2f} ms  {top['Node Type']:<14} "
                    f"shared hit {top.get('Shared Hit Blocks', 0)} read {top.get('Shared Read Blocks', 0)}  "
                    f"{q['sql'][:150]}"
                )
                if os.environ.get("WEB_PROFILE_PLANS") and plan["Execution Time"] > 1:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                    print(q["sql"])
                    print("\n".join(r[0] for r in cursor.fetchall()))
    if args.profile:
        url = rng.choice(urls[args.profile])
        clients[args.profile].get(url)
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.repeat):
            clients[args.profile].get(url)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def _origin() -> str:
    """The innermost frames of doudi's own code (or a template's line) that made a query."""
    import traceback

    frames = [
        f"{Path(f.filename).name}:{f.lineno} {f.name}"
        for f in traceback.extract_stack()
        if "/doudi/" in f.filename and "web_profile" not in f.filename
    ]
    return " < ".join(reversed(frames[-3:])) or "django"


def _backend_cpu(connection) -> float:
    """CPU milliseconds the PostgreSQL backend serving this connection has used so far (from /proc; the
    server runs on this machine)."""
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _urls() -> dict:
    """Pages of the sample that bench/web_load.py's set-up made (its township officer's cases and their
    ID numbers), and a new session for the officer and for a citizen whose code was verified."""
    import datetime

    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    from doudi.accounts.models import User
    from doudi.intake.models import Case
    from doudi.portal.views import STATUS_SESSION_KEY

    officer = User.objects.filter(username="bench_township").first()
    if officer is None:
        raise SystemExit("no bench_township: run bench/web_load.py once first (its set-up makes the sample)")
    visible = Case.objects.visible_to(officer)
    cases = list(visible.values_list("pk", flat=True)[:200])
    ids = list(visible.exclude(applicant_id_number="").values_list("applicant_id_number", flat=True)[:200])
    staff = SessionStore()
    staff["_auth_user_id"] = str(officer.pk)
    staff["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[-1]
    staff["_auth_user_hash"] = officer.get_session_auth_hash()
    staff.create()
    citizen = SessionStore()
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    citizen[STATUS_SESSION_KEY] = {"case": cases[0], "until": until.isoformat()}
    citizen.create()
    return {
        "officer_session": staff.session_key,
        "citizen_session": citizen.session_key,
        "search": [f"/console/search/?q={n}" for n in ids],
        "case": [f"/console/cases/{pk}/" for pk in cases],
        "queue": ["/console/cases/"],
        "portal": ["/status/case/"],
    }


if __name__ == "__main__":
    main()
