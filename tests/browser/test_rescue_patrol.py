"""巡查报告 in a real browser (Debian chromium) on a phone: a patrol reports a person without symptoms,
the rule guides them to the district's station, and the station's page lists the person it takes in."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
PASSWORD = "Doudi-test-2020"


def _phone(browser):
    return browser.new_context(
        locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )


def _log_in(page, base, username):
    page.goto(base + reverse("console:login"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/console/$"))


def test_patrol_report_on_a_phone_through_to_the_station(
    browser, live_server, regions, make_user, screenshot_dir
):
    from doudi.rescue.services import register_station

    officer = make_user("a_district", regions.a, "district_officer")
    make_user("a_patrol", regions.a_t, "patrol_reporter")
    make_user("a_station", regions.a, "rescue_station")
    station = register_station(by=officer, name="万州区救助管理站", region=regions.a, capacity=60)

    context = _phone(browser)
    try:
        page = context.new_page()
        _log_in(page, live_server.url, "a_patrol")
        page.goto(live_server.url + reverse("rescue:report_new"))
        page.get_by_test_id("field-report").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.get_by_label("城管").check()
        page.locator("#id_unit_name").fill("万州区城管执法大队")
        page.locator("#id_reporter_name").fill("刘队员")
        page.locator("#id_place").fill("火车站广场")
        found = timezone.localtime() - datetime.timedelta(hours=1)
        page.locator("#id_found_at").fill(found.strftime("%Y-%m-%dT%H:%M"))
        page.locator("#id_description").fill("女性，约30岁，滞留无返程车票")
        page.get_by_test_id("submit").click()  # no station chosen: field errors, nothing lost
        page.get_by_test_id("error-station").wait_for()
        assert page.locator("#id_place").input_value() == "火车站广场"
        page.locator("#id_station").select_option(str(station.pk))
        page.locator("#id_accepted").select_option("yes")
        page.get_by_test_id("submit").click()
        page.wait_for_url(re.compile(r"/console/rescue/reports/\d+/$"))
        assert "引导至救助管理站" in page.get_by_test_id("outcome").inner_text()
        assert "万州区救助管理站" in page.get_by_test_id("station").inner_text()
        page.screenshot(path=str(screenshot_dir / "rescue-field-report.png"), full_page=True, caret="initial")
    finally:
        context.close()

    context = _phone(browser)
    try:
        page = context.new_page()
        _log_in(page, live_server.url, "a_station")
        page.goto(live_server.url + reverse("rescue:station_detail", args=[station.pk]))
        guided = page.get_by_test_id("guided").inner_text()
        assert "火车站广场" in guided and "接受" in guided
    finally:
        context.close()
