"""举报 in a real browser (Debian chromium) on a phone: a citizen files a named report (after a refused
first try that keeps what was typed), gets a tracking number, and looks up its status — first received,
then the answer once a supervisor has concluded it."""

import re

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_whistle_report_on_a_phone_through_to_the_tracking_look_up(
    browser, live_server, regions, make_user, screenshot_dir
):
    from doudi.supervision import whistle
    from doudi.supervision.models import WhistleReport

    supervisor = make_user("sup", regions.city, "municipal_supervisor")
    context = browser.new_context(
        locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.goto(live_server.url + reverse("portal:home"))
        page.get_by_role("link", name="我要举报").first.click()
        page.get_by_test_id("whistle-form").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("#id_district").select_option(regions.a.code)
        page.get_by_label("优亲厚友、人情保、关系保").check()
        page.locator("#id_about").fill("某社区主任")
        page.locator("#id_anonymous").uncheck()
        page.locator("#id_reporter_name").fill("王秘密")
        page.locator("#id_reporter_phone").fill("13800138000")
        page.get_by_test_id("whistle-submit").click()  # no text yet: refused, nothing lost
        page.get_by_test_id("error-body").wait_for()
        assert page.locator("#id_reporter_name").input_value() == "王秘密"
        page.locator("#id_body").fill("社区主任的亲属有车有房仍享受低保。")
        page.get_by_test_id("whistle-submit").click()
        page.wait_for_url(re.compile(r"/jubao/done/$"))
        number = page.get_by_test_id("whistle-tracking").inner_text().strip()
        assert re.fullmatch(r"JB[0-9A-Z]{12}", number)
        page.screenshot(path=str(screenshot_dir / "whistle-done.png"), full_page=True, caret="initial")

        page.get_by_test_id("go-status").click()
        page.locator("#tracking_number").fill(" " + number.lower() + " ")
        page.get_by_test_id("whistle-lookup").click()
        assert page.get_by_test_id("whistle-state").inner_text() == "已受理"
        assert "王秘密" not in page.content()

        report = WhistleReport.objects.get(tracking_number=number)
        assert report.reporter_name == "王秘密"
        whistle.conclude(
            by=supervisor,
            pk=report.pk,
            version=1,
            outcome="referred",
            findings="转纪委监委",
            reply="已转有关部门依法处理。",
        )
        page.locator("#tracking_number").fill(number)
        page.get_by_test_id("whistle-lookup").click()
        assert page.get_by_test_id("whistle-state").inner_text() == "已办结"
        assert "已转有关部门依法处理。" in page.get_by_test_id("whistle-reply").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(screenshot_dir / "whistle-status.png"), full_page=True, caret="initial")
        # The refused first try answers 400 on purpose; nothing else (a CSP refusal, a script error).
        assert [e for e in errors if "status of 400" not in e] == []
    finally:
        context.close()


def test_whistle_pages_pass_axe_on_a_phone(browser, live_server, regions):
    from browser.axe import overflow, violations

    context = browser.new_context(locale="zh-CN", viewport=PHONE, bypass_csp=True, is_mobile=True)
    try:
        page = context.new_page()
        problems: list[str] = []

        def check(what):
            problems.extend(f"{what}: {v}" for v in violations(page))
            if overflow(page):
                problems.append(f"{what}: {overflow(page)} px wider than the phone")

        page.goto(live_server.url + reverse("portal:whistle"))
        check("form")
        page.get_by_test_id("whistle-submit").click()
        page.get_by_test_id("error-body").wait_for()
        check("form with errors")
        page.locator("#id_district").select_option(regions.a.code)
        page.get_by_label("其他").check()
        page.locator("#id_body").fill("低保评议不公开。")
        page.get_by_test_id("whistle-submit").click()
        page.wait_for_url(re.compile(r"/jubao/done/$"))
        check("done")
        number = page.get_by_test_id("whistle-tracking").inner_text().strip()
        page.goto(live_server.url + reverse("portal:whistle_status"))
        check("status")
        page.locator("#tracking_number").fill(number)
        page.get_by_test_id("whistle-lookup").click()
        page.get_by_test_id("whistle-status").wait_for()
        check("status answered")
        page.locator("#tracking_number").fill("JB0")
        page.get_by_test_id("whistle-lookup").click()
        page.get_by_test_id("whistle-status-error").wait_for()
        check("status not found")
        assert problems == []
    finally:
        context.close()
