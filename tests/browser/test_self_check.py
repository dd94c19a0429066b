"""自助试算 in a real browser (Debian chromium) on a 360 px phone: from the home page to a district's
policy page, the self-check (a member added by htmx, a child's birth month, a field error that keeps
what was typed), the engine's answer, and on to the application form pre-filled with what was typed —
submitted to a tracking number. Nothing wider than the screen; nothing blocked by the CSP."""

import datetime
import re

import pytest
from django.utils import timezone

from doudi.policy import load_defaults
from doudi.policy.contract import evaluate_request
from portal.helpers import id_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}  # a small Android phone (CSS pixels)


def _fits(page):
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _engine(today):
    """What the policy engine answers for the household typed below, this month."""
    request = {
        "period": today.strftime("%Y-%m"),
        "households": [
            {
                "id": "h",
                "region": "500101",
                "area_type": "urban",
                "members": [
                    {"id": "a", "income": {"wage": 600}},
                    {"id": "b", "income": {"wage": 150}},
                    {
                        "id": "c",
                        "birth_date": "2014-06-01",
                        "categories": ["de_facto_unsupported_child"],
                    },
                ],
            }
        ],
    }
    return evaluate_request(request, base_params=load_defaults())["households"][0]


def test_self_check_on_a_phone_through_to_a_prefilled_application(
    phone, live_server, regions, screenshot_dir
):
    from doudi.intake.models import Case
    from doudi.regions.services import create_hotline

    create_hotline(by=None, district=regions.a, name="万州区社会救助热线", phone="023-58000001")
    page = phone(PHONE)
    page.goto(live_server.url + "/")
    page.get_by_test_id("policy-link").click()
    page.get_by_label("选择区县").select_option(regions.a.code)
    page.get_by_role("button", name="查看").click()
    page.wait_for_url(re.compile(r"/policy/500101/$"))
    assert page.get_by_test_id("figure-dibao-urban").inner_text().isdigit()
    assert page.get_by_test_id("hotline-group").count() == 1
    assert _fits(page)
    page.screenshot(path=str(screenshot_dir / "policy-phone.png"), full_page=True, caret="initial")

    page.get_by_test_id("start-self-check").click()
    page.get_by_test_id("selfcheck-form").wait_for()
    assert _fits(page)
    page.get_by_label("城市（城镇）").check()
    page.locator("#id_people-0-income").fill("６００")  # typed on a Chinese keyboard
    page.get_by_test_id("add-person").click()
    page.locator("#id_people-1-relation").wait_for()
    page.locator("#id_people-1-relation").select_option("spouse")
    page.locator("#id_people-1-income").fill("-150")  # a slip: a field error, nothing lost
    page.get_by_test_id("add-person").click()
    page.locator("#id_people-2-relation").wait_for()
    assert page.locator("#id_people-TOTAL_FORMS").input_value() == "3"
    page.locator("#id_people-2-relation").select_option("child")
    page.locator("#id_people-2-birth_month").fill("2014-06")
    page.locator("label[for=id_people-2-situations_1]").click()  # 事实无人抚养儿童
    page.get_by_test_id("submit").click()

    page.get_by_test_id("error-people-1-income").wait_for()
    assert "不能为负数" in page.get_by_test_id("error-people-1-income").inner_text()
    assert page.locator("#id_people-0-income").input_value() == "６００"
    assert page.locator("#id_people-2-birth_month").input_value() == "2014-06"
    assert page.evaluate("document.activeElement.id") == "id_people-1-income"  # a11y.js: first error
    page.locator("#id_people-1-income").fill("150")
    page.get_by_test_id("submit").click()

    page.get_by_test_id("answer").wait_for()
    engine = _engine(timezone.localdate())
    assert engine["dibao"]["decision"] == "include"
    assert page.get_by_test_id("verdict").get_attribute("data-verdict") == "apply"
    assert page.get_by_test_id("amount-dibao").inner_text() == str(engine["dibao"]["amount"])
    allowance = engine["members"][2]["child_allowance"]["amount"]
    assert page.get_by_test_id("amount-children-2").inner_text() == str(allowance)
    assert page.get_by_test_id("total").inner_text() == str(engine["total"])
    page.get_by_test_id("finding-dibao").get_by_text("怎么算的").click()  # the engine's arithmetic
    assert "750 < " in page.get_by_test_id("finding-dibao").inner_text()
    assert _fits(page)
    page.screenshot(path=str(screenshot_dir / "self-check-answer-phone.png"), full_page=True, caret="initial")

    page.get_by_test_id("start-dibao").click()
    page.get_by_test_id("apply-form").wait_for()
    assert page.get_by_test_id("prefilled").is_visible()
    assert page.locator("#id_district").input_value() == regions.a.code
    assert page.locator("#id_applicant_income").input_value() == "600"
    assert page.locator("#id_members-0-relation").input_value() == "spouse"
    assert page.locator("#id_members-0-income").input_value() == "150"
    assert page.locator("#id_members-1-relation").input_value() == "child"
    assert "共同生活 3 人，上月家庭收入合计 750 元" in page.locator("#id_reason").input_value()
    assert Case.objects.count() == 0  # nothing stored before the citizen submits
    assert _fits(page)

    page.get_by_label("申请人姓名").fill("张伟")
    page.locator("#id_applicant_id_number").fill(id_number())
    page.get_by_label("手机号").fill("13800138000")
    page.get_by_label("乡镇（街道）").select_option(regions.a_t.code)
    page.locator(f"#id_village option[value='{regions.a_v.code}']").wait_for(state="attached")
    page.get_by_label("村（社区）").select_option(regions.a_v.code)
    page.locator("#id_members-0-name").fill("李娜")
    page.locator("#id_members-0-id_number").fill(id_number(birth=datetime.date(1987, 9, 9), seq=2))
    page.locator("#id_members-1-name").fill("张小军")
    page.locator("#id_members-1-id_number").fill(id_number(birth=datetime.date(2014, 6, 1), seq=3))
    page.locator("#id_consent").check()
    page.screenshot(path=str(screenshot_dir / "self-check-apply-phone.png"), full_page=True, caret="initial")
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/apply/done/$"))
    assert re.fullmatch(r"CQ500101-\d{8}-\d{5}", page.get_by_test_id("tracking-number").inner_text())

    case = Case.objects.get()
    portal = case.details["portal"]
    assert portal["applicant_income_fen"] == 60000
    assert [(m["relation"], m["income_fen"]) for m in portal["members"]] == [("spouse", 15000), ("child", 0)]
    assert [e for e in page.console_errors if "status of 400" not in e] == []
