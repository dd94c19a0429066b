"""Loading the tree: the shipped Chongqing list, demo subdivisions, and files validated whole."""

import csv
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from stdnum import numdb

from doudi.audit.models import AuditEntry
from doudi.regions.loading import (
    DIVISIONS_FILE,
    FUNCTIONAL_ZONES,
    RegionFileInvalid,
    load_chongqing,
    load_regions_file,
)
from doudi.regions.models import Region, RegionLevel

pytestmark = pytest.mark.django_db


def _tsv_rows():
    with DIVISIONS_FILE.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def write_csv(path: Path, rows, header=("code", "name", "parent_code"), encoding="utf-8"):
    with path.open("w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_chongqing_is_one_municipality_and_41_districts_with_paths():
    created = load_chongqing()
    assert created == 42
    assert Region.objects.filter(level=RegionLevel.MUNICIPALITY).count() == 1
    districts = Region.objects.filter(level=RegionLevel.DISTRICT)
    assert districts.count() == 41
    city = Region.objects.get(code="500000")
    assert (city.name, city.path, city.parent_id) == ("重庆市", "500000/", None)
    for d in districts:
        assert d.parent_id == "500000"
        assert d.path == f"500000/{d.code}/"
        assert d.district_code == d.code
    expected = {r["code"]: r["name"] for r in _tsv_rows() if r["kind"] != "municipality"}
    expected |= dict(FUNCTIONAL_ZONES)
    assert dict(districts.values_list("code", "name")) == expected


def test_load_is_idempotent_and_audited_once():
    assert load_chongqing() == 42
    audits = AuditEntry.objects.count()
    assert audits == 1
    entry = AuditEntry.objects.get()
    assert entry.action == "import" and entry.after["created"] == 42
    assert load_chongqing() == 0
    assert Region.objects.count() == 42
    assert AuditEntry.objects.count() == audits


def test_functional_zones_are_flagged_local():
    load_chongqing()
    local = set(Region.objects.filter(is_local_code=True).values_list("name", flat=True))
    assert local == {"两江新区", "重庆高新区", "万盛经开区"}
    assert Region.objects.filter(is_local_code=False, level=RegionLevel.DISTRICT).count() == 38


def test_local_codes_collide_with_nothing():
    """The local codes are in neither the shipped list nor python-stdnum's current+historic table."""
    shipped = {r["code"] for r in _tsv_rows()}
    loc = numdb.get("cn/loc")
    for code, _name in FUNCTIONAL_ZONES:
        assert code not in shipped
        county = dict(loc.info(code)[1][1])
        assert "county" not in county, f"{code} is a real or historic division: {county}"


def test_demo_subdivisions_in_three_districts():
    created = load_chongqing(with_demo_subdivisions=True)
    assert created > 42
    townships = Region.objects.filter(level=RegionLevel.TOWNSHIP)
    villages = Region.objects.filter(level=RegionLevel.VILLAGE)
    assert {t.district_code for t in townships} == {"500103", "500101", "500229"}
    assert {v.district_code for v in villages} == {"500103", "500101", "500229"}
    jfb = Region.objects.get(name="解放碑街道")
    assert jfb.path == "500000/500103/500103002/"
    community = jfb.children.first()
    assert community.level == RegionLevel.VILLAGE and community.path == f"{jfb.path}{community.code}/"
    assert Region.objects.filter(name__endswith="村", parent__name__endswith="镇").exists()
    assert load_chongqing(with_demo_subdivisions=True) == 0


def test_loads_on_top_of_an_existing_partial_tree(regions):
    """The shared fixture's nodes match the shipped list; loading adds only what is missing."""
    before = Region.objects.count()
    created = load_chongqing(with_demo_subdivisions=True)
    assert Region.objects.count() == before + created
    assert Region.objects.get(code="500101001").name == "高笋塘街道"


def test_good_csv_file_is_loaded_parent_first(tmp_path, admin):
    load_chongqing()
    # Children before their parents in the file: the loader orders the inserts itself.
    path = write_csv(
        tmp_path / "ok.csv",
        [
            ("500103002001", "大井巷社区", "500103002"),
            ("500103002", "解放碑街道", "500103"),
            ("500112001", "两江新区某街道", "500190"),
            ("500112001001", "某社区", "500112001"),
        ],
    )
    before = AuditEntry.objects.count()
    result = load_regions_file(path, by=admin)
    assert result.created == 4 and result.unchanged == 0
    assert result.by_level == {3: 2, 4: 2}
    assert Region.objects.get(code="500103002001").path == "500000/500103/500103002/500103002001/"
    assert Region.objects.get(code="500112001001").district_code == "500190"
    assert AuditEntry.objects.count() == before + 1
    entry = AuditEntry.objects.last()
    assert entry.action == "import" and entry.actor_label == "city_admin" and entry.after["created"] == 4
    again = load_regions_file(path, by=admin)
    assert (again.created, again.unchanged) == (0, 4)
    assert AuditEntry.objects.count() == before + 1


def test_xlsx_with_numeric_codes_and_chinese_headers(tmp_path):
    load_chongqing()
    wb = Workbook()
    ws = wb.active
    ws.append(["区划代码", "名称", "上级代码"])
    ws.append([500229105, "东安镇", 500229])
    ws.append([500229105201, "兴田村", 500229105])
    wb.save(tmp_path / "towns.xlsx")
    result = load_regions_file(tmp_path / "towns.xlsx", by=None)
    assert result.created == 2
    assert Region.objects.get(code="500229105201").parent_id == "500229105"


def test_gb18030_csv(tmp_path):
    load_chongqing()
    path = write_csv(tmp_path / "gbk.csv", [("500103002", "解放碑街道", "500103")], encoding="gb18030")
    assert load_regions_file(path, by=None).created == 1
    assert Region.objects.get(code="500103002").name == "解放碑街道"


BAD_CASES = {
    "unknown parent": ([("500103002", "解放碑街道", "500199")], 2, "parent_code", "不存在"),
    "duplicate code": (
        [("500103002", "解放碑街道", "500103"), ("500103002", "又一个", "500103")],
        3,
        "code",
        "重复",
    ),
    "bad code format": ([("50010X002", "坏", "500103")], 2, "code", "格式错误"),
    "wrong length for level": ([("500103002001", "社区", "500103")], 2, "code", "9 位"),
    "code not under parent": ([("500104002", "错位", "500103")], 2, "code", "开头"),
    "cycle": ([("500103008", "甲", "500103009"), ("500103009", "乙", "500103008")], 2, "parent_code", "循环"),
    "below village": (
        [
            ("500103002", "解放碑街道", "500103"),
            ("500103002001", "大井巷社区", "500103002"),
            ("500103002002", "太深", "500103002001"),
        ],
        4,
        "parent_code",
        "村社区",
    ),
    "empty name": ([("500103002", "", "500103")], 2, "name", "不能为空"),
    "conflicts with stored node": ([("500103", "改名区", "500000")], 2, "code", "已存在"),
}


@pytest.mark.parametrize("case", BAD_CASES, ids=list(BAD_CASES))
def test_bad_file_is_rejected_whole(tmp_path, case):
    load_chongqing()
    rows, line, field, fragment = BAD_CASES[case]
    # A good row first: it must not be written either.
    path = write_csv(tmp_path / "bad.csv", [("500229105", "东安镇", "500229"), *rows])
    regions_before, audit_before = Region.objects.count(), AuditEntry.objects.count()
    with pytest.raises(RegionFileInvalid) as exc:
        load_regions_file(path, by=None)
    errors = exc.value.row_errors
    assert any(e.line == line + 1 and e.field == field and fragment in e.message for e in errors), errors
    assert Region.objects.count() == regions_before
    assert AuditEntry.objects.count() == audit_before


def test_every_bad_row_is_listed(tmp_path):
    load_chongqing()
    path = write_csv(
        tmp_path / "bad.csv",
        [
            ("500103002", "解放碑街道", "500103"),
            ("5001", "短", "500103"),
            ("500103003", "甲", "500199"),
            ("500103002", "重复", "500103"),
        ],
    )
    with pytest.raises(RegionFileInvalid) as exc:
        load_regions_file(path, by=None)
    assert [e.line for e in exc.value.row_errors] == [3, 4, 5]
    assert "第3行" in exc.value.messages[0]


def test_missing_column_is_reported(tmp_path):
    load_chongqing()
    path = write_csv(tmp_path / "cols.csv", [("500103002", "x")], header=("code", "name"))
    with pytest.raises(RegionFileInvalid) as exc:
        load_regions_file(path, by=None)
    assert "parent_code" in exc.value.row_errors[0].message


def test_only_municipal_admin_may_load(tmp_path, officer_a):
    path = write_csv(tmp_path / "ok.csv", [("500101002", "太白街道", "500101")])
    with pytest.raises(PermissionDenied):
        load_regions_file(path, by=officer_a)
    with pytest.raises(PermissionDenied):
        load_chongqing(by=officer_a)


def test_command(tmp_path, capsys):
    call_command("load_regions")
    assert Region.objects.count() == 42
    good = write_csv(tmp_path / "ok.csv", [("500103002", "解放碑街道", "500103")])
    call_command("load_regions", "--file", str(good))
    assert Region.objects.filter(code="500103002").exists()
    bad = write_csv(
        tmp_path / "bad.csv", [("500103003", "两路口街道", "500103"), ("500103004", "x", "999999")]
    )
    with pytest.raises(CommandError) as exc:
        call_command("load_regions", "--file", str(bad))
    assert exc.value.returncode == 2
    assert "第3行" in capsys.readouterr().err
    assert not Region.objects.filter(code="500103003").exists()


def test_demo_command_is_idempotent():
    call_command("load_regions", "--demo")
    counts = (Region.objects.count(), AuditEntry.objects.count())
    call_command("load_regions", "--demo")
    assert (Region.objects.count(), AuditEntry.objects.count()) == counts


class _Rollback(Exception):
    pass


# Random trees below two districts, written to the file in any order.
tree_rows = st.lists(
    st.tuples(
        st.sampled_from(["500101", "500229"]),
        st.integers(1, 9),
        st.lists(st.integers(1, 9), max_size=3, unique=True),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=tree_rows, order=st.randoms(use_true_random=False), corrupt=st.booleans())
def test_any_order_loads_the_same_tree_and_one_bad_row_writes_nothing(tmp_path_factory, tree, order, corrupt):
    rows = []
    for district, t, villages in tree:
        township = f"{district}{t:03d}"
        rows.append((township, f"镇{t}", district))
        rows += [(f"{township}{v:03d}", f"村{v}", township) for v in villages]
    order.shuffle(rows)
    if corrupt:
        rows.append((rows[0][0], "重复", rows[0][2]))
    path = write_csv(tmp_path_factory.mktemp("tree") / "tree.csv", rows)
    try:
        with transaction.atomic():
            load_chongqing()
            if corrupt:
                with pytest.raises(RegionFileInvalid):
                    load_regions_file(path, by=None)
                assert Region.objects.count() == 42
            else:
                assert load_regions_file(path, by=None).created == len(rows)
                for code, _name, parent in rows:
                    node = Region.objects.get(code=code)
                    assert node.path == Region.objects.get(code=parent).path + code + "/"
                    assert node.level == (3 if len(code) == 9 else 4)
            raise _Rollback
    except _Rollback:
        pass


def test_hostile_xlsx_and_csv_are_refused(tmp_path):
    from hostile_files import far_cell_workbook

    (tmp_path / "far.xlsx").write_bytes(far_cell_workbook())
    (tmp_path / "long.csv").write_bytes(b"code,name,parent_code\n" + b"5" * 200_000 + b"\n")
    for name, reason in (("far.xlsx", "A1:XFD1048576"), ("long.csv", "第 2 行超过")):
        with pytest.raises(RegionFileInvalid) as exc:
            load_regions_file(tmp_path / name, by=None)
        assert reason in exc.value.row_errors[0].message
