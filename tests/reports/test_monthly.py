"""统计月报: figures against hand-computed sums over two paid months, coverage of 建档立卡, scoping, the
Excel report against the page, the empty month, bad input, the command line."""

from __future__ import annotations

import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook

from doudi.policy.periods import Period
from doudi.regions.models import Region
from doudi.reports.selectors import monthly_report

APRIL = Period.parse("2020-04")
MARCH = Period.parse("2020-03")
URL = reverse("reports:monthly")
XLSX = reverse("reports:monthly_xlsx")


def report(code: str, month: Period = APRIL):
    return monthly_report(Region.objects.get(code=code), month)


def row(rep, code):
    return next(r for r in rep.rows if r.code == code)


def test_april_figures_equal_the_hand_computed_sums(two_months):
    w = two_months
    rep = report("500000")
    assert [r.code for r in rep.rows] == ["500101", "500102"]
    a, b = row(rep, "500101"), row(rep, "500102")
    # 城市低保 in A: h_same (raised to 400), h_lower (500, held back in the window), h_noacct (446, held:
    # no account); 3 + 3 + 1 members.
    urban = a.cells["dibao_urban"]
    assert (urban.households, urban.persons, urban.due_fen, urban.paid_fen) == (3, 7, 134_600, 40_000)
    assert (urban.new, urban.stopped) == (0, 0)  # h_same's raise is a change, neither new nor stopped
    # 农村低保 in A: the household enrolled from April, 2 members, new.
    rural = a.cells["dibao_rural"]
    assert (rural.households, rural.persons, rural.due_fen, rural.new) == (1, 2, 84_000, 1)
    # 价格临时补贴 in A: 7 persons at 162 and the new household's 2 at 124, in 4 households.
    price = a.cells["price_subsidy"]
    assert (price.households, price.persons, price.due_fen, price.new) == (
        None,
        9,
        7 * 16_200 + 2 * 12_400,
        2,
    )
    # B: h_exit's dibao ended after March → stopped, and so its member's price subsidy.
    assert (b.cells["dibao_urban"].households, b.cells["dibao_urban"].stopped) == (0, 1)
    assert b.cells["price_subsidy"].stopped == 1
    tekun = b.cells["tekun"]
    assert (tekun.households, tekun.persons, tekun.due_fen, tekun.paid_fen) == (None, 1, 71_000, 0)
    assert b.amounts["issued"] == 71_000  # sent to the bank, no return yet
    # 丧葬救助: a household scheme without persons, one-off: no new or stopped.
    assert (b.cells["bereavement"].persons, b.cells["bereavement"].new) == (None, None)
    # Totals by status: due = paid + issued + pending + held + failed.
    t = rep.total
    assert t.amounts["due"] == sum(t.amounts[s] for s in ("paid", "issued", "pending", "held", "failed"))
    assert (t.amounts["due"], t.amounts["paid"], t.amounts["held"]) == (580_200, 40_000, 138_000)
    assert (t.new, t.stopped) == (3, 2)
    assert t.cells["dibao_urban"].persons == 7 and t.cells["dibao_rural"].persons == 2
    assert w.h_new.area_type == "rural"


def test_every_cell_equals_the_sum_over_the_lines(two_months):
    """The aggregate SQL against a plain Python pass over the same lines (the test's own hand sum)."""
    from doudi.payments.models import PaymentLine

    for month in (MARCH, APRIL):
        rep = report("500000", month)
        due, paid, count = Counter(), Counter(), Counter()
        for line in PaymentLine.objects.filter(month=str(month)).select_related("household"):
            key = f"dibao_{line.household.area_type}" if line.scheme == "dibao" else line.scheme
            due[line.district, key] += line.amount_fen
            count[line.district, key] += 1
            if line.status == "paid":
                paid[line.district, key] += line.amount_fen
        for r in rep.rows:
            for key, cell in r.cells.items():
                assert cell.due_fen == due[r.code, key], (month, r.code, key)
                assert cell.paid_fen == paid[r.code, key], (month, r.code, key)
                if key not in ("dibao_urban", "dibao_rural", "bereavement"):
                    assert cell.persons == count[r.code, key]
        assert rep.total.due_fen == sum(due.values())


def test_dibao_persons_are_the_household_size_the_amount_was_computed_on(two_months):
    from doudi.payments.models import PaymentLine
    from doudi.registry.models import Membership

    w = two_months
    lines = PaymentLine.objects.filter(month="2020-04", scheme="dibao", beneficiary_id=w.h_same.pk)
    assert lines.get().size == 3
    # The size the payroll used, not today's membership: a member who left in April is still counted.
    Membership.objects.filter(person=w.poor_member).update(left_on="2020-04-15")
    assert row(report("500000"), "500101").cells["dibao_urban"].persons == 7
    lines.update(size=5)
    assert row(report("500000"), "500101").cells["dibao_urban"].persons == 9


def test_march_against_a_month_without_payroll_is_all_new_and_counts_the_failed_line(two_months):
    rep = report("500000", MARCH)
    lines = 16
    assert (rep.total.new, rep.total.stopped) == (lines, 0)
    a = row(rep, "500101")
    assert a.amounts["failed"] == 50_000  # h_lower's dibao came back failed
    assert a.cells["dibao_urban"].paid_fen == 33_800
    assert (a.cells["dibao_urban"].households, a.cells["dibao_urban"].persons) == (3, 7)


def test_coverage_of_the_registered_poor(two_months):
    from doudi.registry.models import PersonCategory

    rep = report("500000")
    a, b = row(rep, "500101"), row(rep, "500102")
    # A: 张小 (member of a dibao household) receives, 陈穷 (no enrolment) does not; B: the 特困 person.
    assert (a.poor, a.covered, a.coverage) == (2, 1, Decimal("50.0"))
    assert (b.poor, b.covered, b.coverage) == (1, 1, Decimal("100.0"))
    assert (rep.total.poor, rep.total.covered, rep.total.coverage) == (3, 2, Decimal("66.7"))
    # A category that ended before the month does not count; twice the category counts once.
    PersonCategory.objects.filter(person=two_months.poor_alone).update(valid_to="2020-03-31")
    PersonCategory.objects.create(
        person=two_months.poor_member, category="registered_poor", valid_from="2018-01-01"
    )
    a = row(report("500000"), "500101")
    assert (a.poor, a.covered, a.coverage) == (1, 1, Decimal("100.0"))
    # No 建档立卡 person: no coverage rate, not 0 %.
    PersonCategory.objects.filter(category="registered_poor").delete()
    assert report("500000").total.coverage is None


def test_a_district_sees_its_townships_and_cannot_see_another_district(two_months, client):
    w = two_months
    client.force_login(w.users.a_officer)
    page = client.get(URL, {"month": "2020-04"})
    assert page.status_code == 200
    rep = page.context["report"]
    assert rep.region.code == "500101" and [r.code for r in rep.rows] == ["500101001"]
    assert "涪陵区" not in page.content.decode()
    assert client.get(URL, {"month": "2020-04", "region": "500102"}).status_code == 404
    assert client.get(XLSX, {"month": "2020-04", "region": "500102"}).status_code == 404
    assert client.get(URL, {"month": "2020-04", "region": "500000"}).status_code == 404
    assert client.get(URL, {"month": "2020-04", "region": "999999"}).status_code == 404
    # The region picker offers the district and its townships, nothing of B.
    assert [r.code for r in page.context["regions"]] == ["500101", "500101001"]


def test_the_city_sees_every_district_and_drills_down_to_townships_and_villages(two_months, client):
    from doudi.accounts.services import create_staff_user

    w = two_months
    client.force_login(w.users.finance)
    page = client.get(URL, {"month": "2020-04"})
    html = page.content.decode()
    assert [r.code for r in page.context["report"].rows] == ["500101", "500102"]
    assert "?month=2020-04&amp;region=500101" in html and 'data-region="total"' in html
    township = client.get(URL, {"month": "2020-04", "region": "500101"}).context["report"]
    assert [r.code for r in township.rows] == ["500101001"]
    assert township.total.due_fen == row(report("500000"), "500101").due_fen
    villages = client.get(URL, {"month": "2020-04", "region": "500101001"}).context["report"]
    assert [r.code for r in villages.rows] == ["500101001001", "500101001002"]
    assert sum(r.due_fen for r in villages.rows) == township.total.due_fen
    # A township officer sees its own township, by village.
    officer = create_staff_user(
        username="t_officer", password="Doudi-test-2020", region=w.regions.a_t, roles=["township_officer"]
    )
    client.force_login(officer)
    own = client.get(URL, {"month": "2020-04"}).context["report"]
    assert own.region.code == "500101001" and len(own.rows) == 2
    assert client.get(URL, {"month": "2020-04", "region": "500101"}).status_code == 404
    # A village worker has no report.
    worker = create_staff_user(
        username="v_worker", password="Doudi-test-2020", region=w.regions.a_v, roles=["village_worker"]
    )
    client.force_login(worker)
    assert client.get(URL).status_code == 403


def test_the_menu_lists_the_report_for_report_roles_only(two_months):
    from doudi.core.nav import links_for

    assert "reports:monthly" in [link.url_name for link in links_for(two_months.users.a_officer)]
    assert "reports:monthly" in [link.url_name for link in links_for(two_months.users.finance)]


def _sheet_rows(content: bytes):
    wb = load_workbook(io.BytesIO(content))
    ws = wb.active
    return ws, [[c.value for c in r] for r in ws.iter_rows()]


def test_the_excel_report_matches_the_page_and_is_audited(two_months, client):
    from doudi.audit.models import AuditEntry

    client.force_login(two_months.users.finance)
    page = client.get(URL, {"month": "2020-04"})
    rep = page.context["report"]
    response = client.get(XLSX, {"month": "2020-04", "region": "500000"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws, rows = _sheet_rows(response.content)
    assert rows[0][0] == "重庆市社会救助资金发放月报"
    head = "\n".join(str(r[0]) for r in rows[1:4])
    assert "重庆市民政局" in head and "2020-04" in head and "生成时间" in head
    assert rep.generated_at and "金额单位：元" in head
    # Table one: a row per district and 合计, in the page's order; the column groups as on the page.
    groups = rows[6]
    labels = [c.label for c in rep.columns]
    assert [g for g in groups[1:] if g][: len(labels)] == labels
    assert rows[7][1:5] == ["户数", "人数", "应发金额", "实发金额"]
    body = rows[8 : 8 + len(rep.rows) + 1]
    assert [r[0] for r in body] == ["万州区", "涪陵区", "合计"]
    for sheet_row, r in zip(body, [*rep.rows, rep.total], strict=True):
        values = []
        for c in rep.columns:
            cell = r.cells[c.key]
            values += [
                "—" if cell.households is None else cell.households,
                "—" if cell.persons is None else cell.persons,
                Decimal(cell.due_fen) / 100,
                Decimal(cell.paid_fen) / 100,
            ]
        values += [
            Decimal(r.amounts[k]) / 100 for k in ("due", "paid", "issued", "pending", "held", "failed")
        ]
        got = [
            Decimal(str(v)) if isinstance(v, float | int) and not isinstance(v, bool) else v
            for v in sheet_row[1:]
        ]
        assert got == [Decimal(v) if isinstance(v, int) else v for v in values]
    money = ws.cell(row=9, column=4)
    assert money.number_format == "#,##0.00" and money.value == 1346
    # Table two: new, stopped, coverage.
    start = 8 + len(rep.rows) + 1 + 1
    assert rows[start][0] == "二、增减变动与建档立卡覆盖"
    total = rows[start + 3 + len(rep.rows)]
    while total[-1] is None:
        total.pop()
    assert total[0] == "合计" and total[-5:] == [3, 2, 3, 2, pytest.approx(66.7)]
    assert ws.cell(row=start + 4 + len(rep.rows), column=len(total)).number_format == "0.0"
    assert total[1:-5] == [
        v
        for c in rep.columns
        if c.monthly
        for v in (rep.total.cells[c.key].new, rep.total.cells[c.key].stopped)
    ]
    # One EXPORT entry per download, naming the report.
    entries = AuditEntry.objects.filter(action="export", object_type="reports.monthly")
    assert entries.count() == 1 and entries.get().after["month"] == "2020-04"
    client.get(XLSX, {"month": "2020-04", "region": "500000"})
    assert entries.count() == 2


def test_a_month_without_payroll_says_so(two_months, client):
    client.force_login(two_months.users.a_officer)
    for month in ("2020-06", "9999-12"):
        page = client.get(URL, {"month": month})
        assert page.status_code == 200
        assert b'data-testid="report-empty"' in page.content
        assert "尚未生成发放花名册" in page.content.decode()
        assert b'data-testid="report-xlsx"' not in page.content
    download = client.get(XLSX, {"month": "2020-06"})
    assert download.status_code == 302 and "month=2020-06" in download["Location"]
    assert "尚未生成发放花名册" in client.get(download["Location"]).content.decode()


def test_the_default_month_is_the_latest_payroll(two_months, client):
    client.force_login(two_months.users.a_officer)
    assert str(client.get(URL).context["report"].month) == "2020-04"


@pytest.mark.parametrize("month", ["2020-13", "abc", "0000-01", "2020-4", "2020-04-01", "2020–04"])
def test_a_bad_month_is_a_400_naming_the_field(two_months, client, month):
    client.force_login(two_months.users.a_officer)
    for url in (URL, XLSX):
        response = client.get(url, {"month": month})
        assert response.status_code == 400
        assert "统计月份" in response.content.decode()


def test_invisible_characters_around_the_month_are_ignored(two_months, client):
    client.force_login(two_months.users.a_officer)
    page = client.get(URL, {"month": "\u200b2020-04\ufeff ", "region": "500101\u200b"})
    assert page.status_code == 200 and str(page.context["report"].month) == "2020-04"
    # Full-width digits (a Chinese input method) read as digits.
    page = client.get(URL, {"month": "２０２０-０４"})
    assert page.status_code == 200 and str(page.context["report"].month) == "2020-04"


def test_the_same_request_twice_gives_the_same_figures(two_months):
    first, second = report("500000"), report("500000")
    assert first.rows == second.rows and first.total == second.total


def test_the_command_prints_the_figures_and_writes_the_same_excel(two_months, tmp_path):
    out = io.StringIO()
    path = tmp_path / "report.xlsx"
    call_command(
        "report", "monthly", "--month", "2020-04", "--district", "500101", "--xlsx", str(path), stdout=out
    )
    text = out.getvalue()
    assert "万州区 (500101) 2020-04" in text
    assert "高笋塘街道 (500101001): due 3,568.00  paid 400.00" in text
    assert "城市低保: households 3  persons 7  due 1,346.00  paid 400.00  new 0  stopped 0" in text
    _ws, rows = _sheet_rows(path.read_bytes())
    assert rows[0][0] == "万州区社会救助资金发放月报" and rows[8][0] == "高笋塘街道"
    city = io.StringIO()
    call_command("report", "monthly", "--month", "2020-04", stdout=city)
    assert "合计: due 5,802.00  paid 400.00  issued 710.00" in city.getvalue()
    err = io.StringIO()
    call_command("report", "monthly", "--month", "2020-06", stdout=io.StringIO(), stderr=err)
    assert "尚未生成发放花名册" in err.getvalue()
    with pytest.raises(CommandError, match="--month"):
        call_command("report", "monthly", "--month", "2020-13")
    with pytest.raises(CommandError, match="--district"):
        call_command("report", "monthly", "--month", "2020-04", "--district", "123")


@pytest.mark.parametrize("scheme", ["temporary", "one_off_test"])
def test_a_one_off_payment_has_a_column_of_its_own_without_new_stopped_or_coverage(two_months, scheme):
    """One-off payments (临时救助, 一事一议, 先行救助) are counted per case in the month paid; a scheme
    code the lines hold that PayScheme does not name still gets a column (last), never dropped."""
    from doudi.payments.models import PaymentLine

    line = PaymentLine.objects.filter(month="2020-04", scheme="tekun").get()
    # A one-off line is keyed by its case: a case id equal to a 建档立卡 person's id covers nobody.
    # The 特困 line becomes a one-off one by delete and insert: a one-off line never changes its key
    # in place (on PostgreSQL a trigger keeps one payment per case across the month partitions).
    PaymentLine.objects.filter(pk=line.pk).delete()
    line.pk, line.scheme, line.beneficiary_id = None, scheme, two_months.poor_alone.pk
    line.save()
    rep = report("500000")
    keys = [c.key for c in rep.columns]
    assert scheme in keys and (scheme == "temporary" or keys[-1] == scheme)
    cell = row(rep, "500102").cells[scheme]
    assert (cell.households, cell.persons, cell.due_fen, cell.new, cell.stopped) == (
        None,
        1,
        71_000,
        None,
        None,
    )
    b = row(rep, "500102")
    assert b.due_fen == sum(c.due_fen for c in b.cells.values())
    assert (row(rep, "500101").poor, row(rep, "500101").covered) == (2, 1)
    # The 特困 person has no 特困 line in April any more: stopped in that scheme.
    assert b.cells["tekun"].stopped == 1


def test_an_arrears_line_adds_to_the_owed_months_amounts_and_is_never_a_recipient_or_stopped(two_months):
    """补发差额 for March paid later: March's 应发 grows by the top-up; recipients, persons, new and the
    April 停发 stay as they were."""
    from doudi.payments.models import PaymentLine

    before_march, before_april = report("500000", MARCH), report("500000")
    line = PaymentLine.objects.get(month="2020-03", scheme="dibao", beneficiary_id=two_months.h_exit.pk)
    line.pk, line.ref, line.arrears_seq, line.amount_fen, line.change = None, "ARR1", 1, 5_400, "new"
    line.save()
    march, april = report("500000", MARCH), report("500000")
    b, b0 = row(march, "500102").cells["dibao_urban"], row(before_march, "500102").cells["dibao_urban"]
    assert b.due_fen == b0.due_fen + 5_400
    assert (b.households, b.persons, b.new) == (b0.households, b0.persons, b0.new)
    assert april.total.stopped == before_april.total.stopped == 2


def test_a_village_reports_itself_as_its_one_row(two_months):
    village = report("500101001001")
    assert [r.code for r in village.rows] == ["500101001001"] and not village.rows[0].drillable
    sibling = report("500101001002")
    township = report("500101001")
    assert village.total.due_fen + sibling.total.due_fen == township.total.due_fen
    assert village.total.cells["dibao_urban"].persons == 4  # h_same (3) and h_noacct (1)
