"""热线来电 in a real browser (Debian chromium): a township officer records a call on a phone, first
without the case type (a field error, nothing lost), then converted into a one-door case; the call's
page links the case (channel 热线电话), the list masks the caller's number, and another district's
officer cannot open the call."""

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


def test_a_hotline_call_converted_into_a_case(browser, live_server, regions, make_user, screenshot_dir):
    from doudi.care.models import HotlineCall

    make_user("a_township", regions.a_t, "township_officer")
    make_user("b_district", regions.b, "district_officer")
    context = _phone(browser)
    try:
        page = context.new_page()
        _log_in(page, live_server.url, "a_township")
        page.goto(live_server.url + reverse("care:hotline_calls"))
        page.get_by_test_id("new-call").click()
        page.wait_for_url(re.compile(r"/hotline/new/$"))
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        received = timezone.localtime() - datetime.timedelta(minutes=10)
        page.locator("#id_received_at").fill(received.strftime("%Y-%m-%dT%H:%M"))
        page.locator("#id_caller_name").fill("李求助")
        page.locator("#id_caller_phone").fill("13911112222")
        page.locator("#id_category").select_option("stranded")
        page.locator("#id_summary").fill("火车站有一名外地老人滞留，无钱返乡")
        page.get_by_label("转一门受理案件").check()
        page.get_by_test_id("submit").click()  # no case type chosen: a field error, the text kept
        page.get_by_test_id("error-case_type").wait_for()
        assert page.locator("#id_summary").input_value() == "火车站有一名外地老人滞留，无钱返乡"
        page.locator("#id_case_type").select_option("stranded")
        page.get_by_test_id("submit").click()
        page.wait_for_url(re.compile(r"/console/care/hotline/\d+/$"))
        assert "转一门受理案件" in page.get_by_test_id("outcome").inner_text()
        call = HotlineCall.objects.get()
        assert call.case is not None and call.case.channel == "hotline"
        assert call.case.tracking_number in page.get_by_test_id("case").inner_text()
        page.screenshot(path=str(screenshot_dir / "care-hotline-call.png"), full_page=True, caret="initial")
        page.get_by_test_id("case").get_by_role("link").click()
        page.wait_for_url(re.compile(r"/cases/\d+/"))
        assert "热线电话" in page.content()
        page.goto(live_server.url + reverse("care:hotline_calls"))
        row = page.get_by_test_id("call-row").first.inner_text()
        assert "139****2222" in row and call.case.tracking_number in row
    finally:
        context.close()

    context = _phone(browser)
    try:
        page = context.new_page()
        _log_in(page, live_server.url, "b_district")
        response = page.goto(live_server.url + reverse("care:hotline_call", args=[call.pk]))
        assert response is not None and response.status == 404
    finally:
        context.close()
