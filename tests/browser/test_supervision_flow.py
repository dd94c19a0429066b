"""A supervisor's main flow in a real browser (Debian chromium): the district dashboard → the open
findings of a township (drill-down list) → one finding → confirmed with the amount to recover after a
refused first try (an amount that is not a number) → a repayment recorded, the recovery's balance shown."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from browser.test_dibao_flow import _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_to_drill_down_to_finding_to_resolution(
    browser, live_server, regions, make_user, screenshot_dir
):
    from doudi.supervision.models import CheckRun, Finding, FindingState

    make_user("sup_a", regions.a, "district_supervisor")
    run = CheckRun.objects.create(month="2020-04", trigger="command", started_at=timezone.now())
    finding = Finding.objects.create(
        key="paid_twice:2020-04:dibao:4242",
        check_code="paid_twice",
        month="2020-04",
        region=regions.a_v,
        district="500101",
        amount_fen=54_600,
        evidence={"scheme": "dibao", "lines": 2, "total_fen": 109_200},
        first_run=run,
        last_run=run,
        found_at=timezone.now(),
    )
    # Another township's finding and one already explained: not in the list clicked below.
    Finding.objects.create(
        key="paid_twice:2020-04:dibao:4343",
        check_code="paid_twice",
        month="2020-04",
        region=regions.a_v2,
        district="500101",
        amount_fen=1_000,
        state=FindingState.EXPLAINED,
        first_run=run,
        last_run=run,
        found_at=timezone.now(),
    )

    page = _login(browser, live_server, "sup_a")
    try:
        page.goto(live_server.url + reverse("supervision:dashboard") + "?month=2020-04")
        row = page.get_by_test_id("dashboard-rows").locator(f'tr[data-region="{regions.a_t.code}"]')
        open_findings = row.locator('a[href*="/dashboard/findings/"]')
        assert open_findings.inner_text() == "1"
        page.screenshot(path=str(screenshot_dir / "supervision-dashboard.png"), full_page=True)

        open_findings.click()
        page.get_by_test_id("drill-count").wait_for()
        assert "共 1 条" in page.get_by_test_id("drill-count").inner_text()
        links = page.get_by_test_id("drill-link")
        assert links.count() == 1 and links.inner_text() == finding.key
        links.click()

        page.get_by_test_id("evidence").wait_for()
        assert page.get_by_test_id("state").inner_text() == "待处理"
        # A first try with an amount that is not one: refused with the reason, nothing changed.
        page.locator("#reason").fill("经核实为同一人在两户重复领取低保。")
        page.locator("#recover").fill("五百四十六元")
        page.get_by_role("button", name="确认问题").click()
        page.get_by_role("alert").wait_for()
        assert "请填写金额（元，最多两位小数）" in page.get_by_role("alert").inner_text()
        assert page.get_by_test_id("state").inner_text() == "待处理"
        finding.refresh_from_db()
        assert finding.state == FindingState.OPEN and finding.recover_fen is None

        page.locator("#reason").fill("经核实为同一人在两户重复领取低保。")
        page.locator("#recover").fill("546")
        page.get_by_role("button", name="确认问题").click()
        page.get_by_test_id("recovery").wait_for()
        assert page.get_by_test_id("state").inner_text() == "已确认"
        assert (
            "应追回 546.00 元，已追回 0.00 元，尚欠 546.00 元" in page.get_by_test_id("recovery").inner_text()
        )

        page.locator("#amount").fill("546.00")
        page.locator("#paid_on").fill(dt.date(2020, 5, 20).isoformat())
        page.locator("#reference").fill("JK20200520-01")
        page.get_by_role("button", name="登记退回").click()
        page.get_by_text("JK20200520-01").wait_for()
        assert page.get_by_test_id("state").inner_text() == "已追回"
        assert "尚欠 0.00 元" in page.get_by_test_id("recovery").inner_text()
        page.screenshot(path=str(screenshot_dir / "supervision-finding.png"), full_page=True)
        finding.refresh_from_db()
        assert (finding.state, finding.recover_fen) == (FindingState.RECOVERED, 54_600)
        assert [t.to_state for t in finding.transitions.order_by("seq")][-2:] == ["confirmed", "recovered"]
        assert page.console_errors == []
    finally:
        page.context.close()
