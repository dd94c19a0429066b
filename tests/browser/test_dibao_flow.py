"""The citizen portal in a real browser (Debian chromium): the apply page on a phone, and the whole dibao
flow — a citizen applies online → the township accepts and evaluates → 公示 appears masked on the public
page → an objection → district approval → enrolment."""

import datetime
import re

import pytest
from django.urls import reverse

from portal.helpers import id_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}  # a common phone viewport (CSS pixels)
# Screenshots keep the caret: hiding it makes Playwright inject a <style>, which our CSP (rightly) blocks.


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(
        locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    yield page
    context.close()


def _fill_application(page, regions, *, name="张伟", number=None, phone="13800138000"):
    page.get_by_label("申请人姓名").fill(name)
    page.locator("#id_applicant_id_number").fill(number or id_number())
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("区县").select_option(regions.a.code)
    # The township and village selects are filled in by htmx from the region tree.
    page.locator(f"#id_township option[value='{regions.a_t.code}']").wait_for(state="attached")
    page.get_by_label("乡镇（街道）").select_option(regions.a_t.code)
    page.locator(f"#id_village option[value='{regions.a_v.code}']").wait_for(state="attached")
    page.get_by_label("村（社区）").select_option(regions.a_v.code)
    page.get_by_label("本人月收入（元）").fill("300")
    page.locator("#id_members-0-name").fill("李娜")
    page.locator("#id_members-0-id_number").fill(id_number(birth=datetime.date(1987, 9, 9), seq=2))
    page.locator("#id_members-0-relation").select_option("spouse")
    page.locator("#id_members-0-income").fill("0")
    page.get_by_label("申请理由和家庭困难情况").fill("因疫情停工，家庭收入明显下降，无法维持基本生活。")
    page.locator("#id_consent").check()


def test_apply_page_on_a_phone(phone_page, live_server, regions, screenshot_dir):
    page = phone_page
    page.goto(live_server.url + reverse("portal:apply", args=["dibao"]))
    page.get_by_test_id("apply-form").wait_for()
    # Nothing wider than the screen: no sideways scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(screenshot_dir / "portal-apply-phone.png"), full_page=True, caret="initial")

    _fill_application(page, regions)
    page.get_by_role("button", name="＋ 添加家庭成员").click()
    page.locator("#id_members-1-name").wait_for()
    assert page.locator("#id_members-TOTAL_FORMS").input_value() == "2"
    page.screenshot(
        path=str(screenshot_dir / "portal-apply-phone-filled.png"), full_page=True, caret="initial"
    )
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/apply/done/$"))
    tracking = page.get_by_test_id("tracking-number").inner_text()
    assert re.fullmatch(r"CQ500101-\d{8}-\d{5}", tracking)
    page.screenshot(path=str(screenshot_dir / "portal-apply-done-phone.png"), full_page=True, caret="initial")
    assert page.console_errors == []


def test_apply_errors_on_a_phone(phone_page, live_server, regions, screenshot_dir):
    page = phone_page
    page.goto(live_server.url + reverse("portal:apply", args=["dibao"]))
    _fill_application(page, regions, number="500101198504020000", phone="12345")
    page.get_by_test_id("submit").click()
    page.get_by_test_id("form-errors").wait_for()
    assert page.get_by_test_id("error-applicant_id_number").is_visible()
    assert page.get_by_test_id("error-applicant_phone").is_visible()
    # The address chosen before the error is still selected.
    assert page.get_by_label("村（社区）").input_value() == regions.a_v.code
    page.screenshot(
        path=str(screenshot_dir / "portal-apply-errors-phone.png"), full_page=True, caret="initial"
    )
    # The re-shown form answers 400 (chromium logs it); nothing else may fail.
    assert [e for e in page.console_errors if "status of 400" not in e] == []
