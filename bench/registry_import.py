"""Registry bulk import of one roster file: 50,000 people by default, .xlsx and CSV.

    python bench/registry_import.py [--rows 50000] [--database-url URL]

Builds a throw-away database (SQLite file in a temporary folder, or `test_<name>` on the PostgreSQL
server of --database-url, dropped afterwards), a district with two villages and an officer, generates
a valid roster (households of 1–4 people, IDs of four provinces, money columns, categories), and times
`registry.importing.import_file` — reading, whole-file validation and the one-transaction write — for
the .xlsx and the CSV rendering of the same rows (a fresh database for each).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADERS = ["户编号", "村社区代码", "城乡类别", "地址", "存款（元）", "车辆（辆）", "姓名", "身份证号", "与户主关系",
           "手机号", "工资性收入（元/月）", "类别", "出生日期"]  # fmt: skip
WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def resident_id(area: str, birth: datetime.date, seq: int) -> str:
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def roster(n: int) -> list[list[str]]:
    rows: list[list[str]] = []
    household = 0
    while len(rows) < n:
        household += 1
        for k in range(min(1 + household % 4, n - len(rows))):
            i = len(rows)
            birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=7 * (i // 1000))
            rows.append([
                f"H{household}", "500101001001" if household % 2 else "500101001002", "城市" if household % 3 else "农村",
                f"幸福路{household}号", f"{household % 50}000.50", str(household % 2), f"居民{i}",
                resident_id(("500101", "110101", "440305", "510104")[i % 4], birth, i % 1000),
                "户主" if k == 0 else "子女", "13800000000", "1500" if k == 0 else "0",
                "低保对象" if k == 0 and household % 5 == 0 else "", "",
            ])  # fmt: skip
    return rows


def as_xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADERS)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def as_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="doudi-bench-import-")
    os.environ["DOUDI_VAR_DIR"] = tmp
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from doudi.accounts.services import create_staff_user
    from doudi.regions.services import create_region
    from doudi.registry import importing
    from doudi.registry.models import Household, Person

    if connection.vendor == "sqlite":
        settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"{tmp}/test.sqlite3"
    rows = roster(args.rows)
    files = {"xlsx": as_xlsx(rows), "csv": as_csv(rows)}
    print(f"database: {connection.vendor}; rows: {len(rows)}")
    original_name = settings.DATABASES["default"]["NAME"]
    for fmt, data in files.items():
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            city = create_region(code="500000", name="重庆市", parent=None)
            district = create_region(code="500101", name="万州区", parent=city)
            township = create_region(code="500101001", name="高笋塘街道", parent=district)
            create_region(code="500101001001", name="高笋塘社区", parent=township)
            create_region(code="500101001002", name="太白社区", parent=township)
            officer = create_staff_user(username="bench", password="Bench-import-2020", region=district,
                                        roles=["district_officer"])  # fmt: skip
            started = time.perf_counter()
            result = importing.import_file(officer=officer, data=data, filename=f"roster.{fmt}")
            elapsed = time.perf_counter() - started
            assert result.ok, result.errors[:5]
            assert Person.objects.count() == len(rows)
            print(
                f"{fmt:5s} {len(data) / 1e6:5.1f} MB  import {elapsed:5.1f} s  "
                f"({result.persons} people, {Household.objects.count()} households, {result.categories} categories)"
            )
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)
    print(
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
