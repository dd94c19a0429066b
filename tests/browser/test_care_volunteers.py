"""Issue 11 in a real browser (Debian chromium), on a desktop and a phone-sized viewport:
- a stranded person registered and given in-kind aid item by item (rescue), a bad item first (an
  invisible-only unit, an oversize amount) answered with the field errors and nothing typed lost;
- an elderly placement and a care arrangement with a volunteer registered, suggested and assigned, a
  blank reason refused, then the guardian back: the arrangement closed early ends the volunteer's service."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from browser.axe import violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Doudi-test-2020"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ZWSP = "\u200b"


def _context(browser, viewport):
    # bypass_csp: Playwright injects axe inline, which the site's CSP refuses (as in test_accessibility).
    phone = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if viewport is PHONE else {}
    return browser.new_context(locale="zh-CN", viewport=viewport, bypass_csp=True, **phone)


def _log_in(page, base, username):
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.goto(base + reverse("console:login"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/console/$"))


def _submit(page, test_id):
    with page.expect_navigation():
        page.get_by_test_id(test_id).click()


def _fits(page, viewport):
    """No wider than the viewport, and no axe violation on the page as it stands."""
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert violations(page) == []


def _clean_console(page):
    # The only console messages allowed: the browser noting the deliberate 400s of the bad input.
    assert [e for e in page.console_errors if "status of 400" not in e] == []


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_stranded_person_with_in_kind_aid(browser, live_server, regions, make_user, settings, viewport):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user("a_township", regions.a_t, "township_officer")
    context = _context(browser, viewport)
    try:
        page = context.new_page()
        _log_in(page, live_server.url, "a_township")
        page.goto(live_server.url + reverse("rescue:stranded_new"))
        _fits(page, viewport)
        page.locator("#id_name").fill("张师傅")
        page.locator("#id_id_number").fill("42010219800101001X")
        page.locator("#id_origin").fill("湖北省武汉市")
        page.locator("#id_destination").fill("湖北省武汉市")
        page.locator("#id_situation").fill(f"{ZWSP} ")  # invisible only: a blank situation
        _submit(page, "submit")
        assert "请填写此项" in page.get_by_test_id("error-situation").inner_text()
        assert page.locator("#id_name").input_value() == "张师傅"
        page.locator("#id_situation").fill("因交通管控滞留，无钱住宿")
        _submit(page, "submit")
        page.wait_for_url(re.compile(r"/console/rescue/stranded/\d+/$"))
        page.locator("#id_kind").select_option("lodging")
        page.locator("#id_description").fill("某宾馆单间")
        page.locator("#id_quantity").fill("3")
        page.locator("#id_unit").fill(ZWSP)
        page.locator("#id_amount").fill("100000.01")  # over the per-item maximum
        _submit(page, "add-aid")
        assert page.get_by_test_id("error-unit").is_visible()
        assert page.get_by_test_id("error-amount").is_visible()
        assert page.locator("#id_description").input_value() == "某宾馆单间"
        page.locator("#id_unit").fill("晚")
        page.locator("#id_amount").fill("240")
        _submit(page, "add-aid")
        page.locator("#id_kind").select_option("fare_home")
        page.locator("#id_description").fill("重庆—武汉火车票")
        page.locator("#id_quantity").fill("1")
        page.locator("#id_unit").fill("张")
        page.locator("#id_amount").fill("157.50")
        _submit(page, "add-aid")
        assert page.get_by_test_id("aid-item").count() == 2
        assert "397.50" in page.get_by_test_id("aid-total").inner_text()
        _fits(page, viewport)
        _clean_console(page)
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_placement_and_arrangement_with_a_volunteer(
    browser, live_server, regions, make_user, settings, viewport
):
    from stdnum.cn import ric

    from doudi.care.services import save_institution
    from doudi.registry.models import Category, Person, PersonCategory
    from doudi.volunteers.models import Assignment

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    district = make_user("a_district", regions.a, "district_officer")
    make_user("a_village", regions.a_v, "village_worker")
    save_institution(
        by=district,
        name="高笋塘敬老院",
        kind="elderly_home",
        region=regions.a_t,
        capacity=80,
        contact_name="李院长",
        contact_phone="13900001111",
    )
    body = "50010119400101001"
    person = Person.objects.create(
        id_number=body + ric.calc_check_digit(body + "0"),
        name="孙奶奶",
        birth_date=datetime.date(1940, 1, 1),
        sex="F",
        region=regions.a_v,
        phone="13712345678",
    )
    PersonCategory.objects.create(
        person=person, category=Category.TEKUN, valid_from=datetime.date(2019, 1, 1)
    )
    today = timezone.localdate()
    context = _context(browser, viewport)
    try:
        page = context.new_page()
        _log_in(page, live_server.url, "a_village")
        # A volunteer of the village, registered by the village.
        page.goto(live_server.url + reverse("volunteers:new"))
        _fits(page, viewport)
        page.locator("#id_name").fill("王志愿")
        page.locator("#id_phone").fill("13611112222")
        page.get_by_label("老人照护").check()
        page.get_by_label("送餐送药").check()
        page.locator("#id_capacity").fill("2")
        _submit(page, "submit")
        assert (
            "王志愿" in page.get_by_test_id("provider-facts").inner_text()
            or page.locator("h1").inner_text() == "王志愿"
        )

        # The placement, then the care arrangement.
        page.goto(live_server.url + reverse("care:arrangements"))
        page.locator("#id_pl-id_number").fill(person.id_number)
        page.locator("#id_pl-institution").select_option(label="高笋塘敬老院")
        page.locator("#id_pl-reason").select_option("family_isolated")
        page.locator("#id_pl-family_name").fill("孙女儿")
        page.locator("#id_pl-family_phone").fill("13500005555")
        page.locator("#id_pl-consent_on").fill(today.isoformat())
        page.locator("#id_pl-observation_from").fill(today.isoformat())
        page.locator("#id_pl-observation_to").fill((today + datetime.timedelta(days=14)).isoformat())
        _submit(page, "add-placement")
        assert "高笋塘敬老院" in page.get_by_test_id("placement").first.inner_text()
        page.locator("#id_arr-id_number").fill(person.id_number)
        page.locator("#id_arr-dependent_kind").select_option("elderly")
        page.locator("#id_arr-carer_name").fill("孙儿子")
        page.locator("#id_arr-carer_absence").select_option("close_contact")
        page.locator("#id_arr-provider_kind").select_option("volunteer")
        page.locator("#id_arr-provider_name").fill("社区志愿服务队")
        page.locator("#id_arr-provider_phone").fill("13600004444")
        page.locator("#id_arr-starts_on").fill(today.isoformat())
        page.locator("#id_arr-ends_on").fill((today + datetime.timedelta(days=10)).isoformat())
        _submit(page, "add-arrangement")
        page.get_by_test_id("arrangement").get_by_role("link", name="孙奶奶").click()
        page.get_by_test_id("volunteers-link").click()
        page.wait_for_url(re.compile(r"/console/volunteers/assign/arrangement/\d+/$"))
        _fits(page, viewport)
        assert "王志愿" in page.get_by_test_id("suggestion").first.inner_text()
        page.locator("#id_provider").select_option(label="王志愿")
        page.locator("#id_ends_on").fill("")  # blank: the field error, nothing assigned
        _submit(page, "assign")
        assert page.get_by_test_id("error-ends_on").is_visible()
        page.locator("#id_ends_on").fill((today + datetime.timedelta(days=10)).isoformat())
        page.locator("#id_provider").select_option(label="王志愿")
        _submit(page, "assign")
        assert page.get_by_test_id("assignment-state").inner_text() == "服务中"
        _fits(page, viewport)
        page.goto(live_server.url + reverse("volunteers:list"))
        assert "136****2222" in page.get_by_test_id("provider").inner_text()
        _fits(page, viewport)
        page.go_back()

        # The guardian is back: closed early with a written reason; the volunteer's service ends.
        with page.expect_navigation():
            page.get_by_test_id("back").click()
        page.locator("#id_reason_kind").select_option("carer_back")
        page.locator("#id_reason").fill("儿子解除隔离返家")
        _submit(page, "close")
        assert "儿子解除隔离返家" in page.get_by_test_id("closure").inner_text()
        _fits(page, viewport)
        page.get_by_test_id("volunteers-link").click()
        assert page.get_by_test_id("assignment-state").inner_text() == "已结束"
        assert Assignment.objects.get().state == "ended"
        _clean_console(page)
    finally:
        context.close()
