"""报告家庭情况变化 in a real browser (Debian chromium) on a phone: the form fits the screen, a field error
re-shows what was typed, and a report gets its tracking number."""

import re

import pytest
from django.urls import reverse

from benefits.support import enrolled_dibao

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


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


def test_report_a_change_on_a_phone(phone_page, live_server, regions, screenshot_dir):
    household, people, _enrolment = enrolled_dibao(regions.a_v)
    member = people[1]
    page = phone_page
    page.goto(live_server.url + reverse("portal:apply_index"))
    page.get_by_test_id("report-change").click()
    page.get_by_test_id("report-form").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.locator("#id_applicant_name").fill(member.name)
    page.locator("#id_applicant_id_number").fill(member.id_number)
    page.locator("#id_applicant_phone").fill("12345")  # wrong: a field error, nothing lost
    page.get_by_label("收入变化").check()
    page.locator("#id_description").fill("丈夫复工，每月工资约2000元。")
    page.locator("#id_consent").check()
    page.get_by_test_id("submit").click()
    page.get_by_test_id("error-applicant_phone").wait_for()
    assert page.locator("#id_description").input_value() == "丈夫复工，每月工资约2000元。"
    assert page.get_by_label("收入变化").is_checked()
    page.screenshot(
        path=str(screenshot_dir / "portal-report-change-error.png"), full_page=True, caret="initial"
    )

    page.locator("#id_applicant_phone").fill(member.phone)
    page.locator("#id_consent").check()
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/apply/done/$"))
    tracking = page.get_by_test_id("tracking-number").inner_text()
    assert re.fullmatch(r"CQ500101-\d{8}-\d{5}", tracking)
    page.screenshot(
        path=str(screenshot_dir / "portal-report-change-done.png"), full_page=True, caret="initial"
    )
    assert [e for e in page.console_errors if "status of 400" not in e] == []
