"""The query plans of the hot pages (docs/scale.md, issue 14 part 3).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/doudi_bench_web python bench/plans.py [--out FILE]

On a database set up by bench/web_load.py (the synthetic province and its open cases). Each hot page —
ID-number search, a case page, the officer's queue, the portal's status page, the supervisors'
dashboard (city and district) — is requested once through Django's test client inside a transaction that is then rolled
back (its staff users, sessions and the audited read: nothing stays), with its SQL captured. Each
captured SELECT is then run again under EXPLAIN (ANALYZE, BUFFERS) in a read-only transaction. Printed
per page: the number of queries, their summed execution time and buffers, and the plans of the costliest.
Execution times depend on the machine's load; buffer counts and plan shapes do not.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


class Rollback(Exception):
    pass


def capture() -> dict[str, list[str]]:
    """page → the SQL of its queries, the page requested once, everything it wrote rolled back."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from doudi.accounts.services import create_staff_user
    from doudi.intake.models import Case
    from doudi.portal.views import STATUS_SESSION_KEY
    from doudi.regions.models import Region

    settings.ALLOWED_HOSTS = ["*"]
    pages: dict[str, list[str]] = {}
    try:
        with transaction.atomic():
            with connection.cursor() as c:
                c.execute(
                    "SELECT r.code FROM intake_case k JOIN regions_region v ON v.code = k.region_id "
                    "JOIN regions_region r ON r.code = v.parent_id GROUP BY r.code ORDER BY count(*) DESC LIMIT 1"
                )
                township = Region.objects.get(code=c.fetchone()[0])
            officer = create_staff_user(
                username="plans_township",
                password="Plans-2020-x",
                region=township,
                roles=["township_officer"],
            )
            city = create_staff_user(
                username="plans_city",
                password="Plans-2020-x",
                region=Region.objects.get(parent__isnull=True),
                roles=["municipal_supervisor"],
            )
            district = create_staff_user(
                username="plans_district",
                password="Plans-2020-x",
                region=township.parent,
                roles=["district_supervisor"],
            )
            case = Case.objects.visible_to(officer).exclude(applicant_id_number="").order_by("pk")[100]
            staff, supervisor, district_supervisor, citizen = Client(), Client(), Client(), Client()
            staff.force_login(officer)
            supervisor.force_login(city)
            district_supervisor.force_login(district)
            session = citizen.session
            session[STATUS_SESSION_KEY] = {"case": case.pk, "until": "2999-01-01T00:00:00+00:00"}
            session.save()
            requests = [
                ("ID-number search", staff, "/console/search/", {"q": case.applicant_id_number}),
                ("case page", staff, f"/console/cases/{case.pk}/", {}),
                ("officer's queue", staff, "/console/cases/", {}),
                ("portal status", citizen, "/status/case/", {}),
                ("dashboard, city", supervisor, "/console/supervision/dashboard/", {"month": "2020-03"}),
                (
                    "dashboard, district",
                    district_supervisor,
                    "/console/supervision/dashboard/",
                    {"month": "2020-03"},
                ),
            ]
            for name, client, url, query in requests:
                client.get(url, query, secure=True)  # warm: the caches a page fills on its first request
                with CaptureQueriesContext(connection) as queries:
                    response = client.get(url, query, secure=True)
                assert response.status_code == 200, (name, response.status_code)
                pages[name] = [q["sql"] for q in queries.captured_queries]
            raise Rollback
    except Rollback:
        pass
    return pages


PLAIN_READ = re.compile(r"^\s*SELECT\b", re.IGNORECASE)


def explain(pages: dict[str, list[str]], top: int) -> str:
    from django.db import connection, transaction

    out = []
    for name, queries in pages.items():
        measured = []
        with transaction.atomic(), connection.cursor() as c:
            c.execute("SET TRANSACTION READ ONLY")
            for sql in queries:
                if not PLAIN_READ.match(sql) or "FOR UPDATE" in sql or "django_session" in sql:
                    continue
                c.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
                plan = c.fetchone()[0][0]
                c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                text = "\n".join(row[0] for row in c.fetchall())
                node = plan["Plan"]
                buffers = node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)
                measured.append((plan["Execution Time"], buffers, sql, text))
        total_ms = sum(m[0] for m in measured)
        total_buffers = sum(m[1] for m in measured)
        out.append(
            f"## {name}: {len(queries)} queries ({len(measured)} reads explained), "
            f"{total_ms:.1f} ms execution, {total_buffers} buffers"
        )
        for ms, buffers, sql, text in sorted(measured, key=lambda m: -m[1])[:top]:
            out.append(f"\n-- {ms:.2f} ms, {buffers} buffers\n{sql}\n{text}\n")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, help="write the report here (default: print it)")
    parser.add_argument("--top", type=int, default=4, help="plans shown per page (the most buffers first)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    import django

    django.setup()
    report = explain(capture(), args.top) + f"\n\nload average {os.getloadavg()[0]:.1f}\n"
    if args.out:
        args.out.write_text(report, encoding="utf-8")
    else:
        print(report)


if __name__ == "__main__":
    main()
