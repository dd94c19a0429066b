"""Smoke test in a real browser: a district officer logs in, finds a person by ID number, opens the
household and sees its members; out-of-scope pages are 404; repeated wrong passwords lock the account."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from console.population import PASSWORD, build_population

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def population(regions, make_user):
    pop = build_population(regions, make_user)
    make_user("officer_a", regions.a, "district_officer")
    return pop


def _login(page, live_server, username="officer_a", password=PASSWORD):
    page.goto(live_server.url + reverse("console:login"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_officer_finds_household_by_id_number(page, live_server, population, screenshot_dir):
    _login(page, live_server)
    page.wait_for_url(re.compile(r"/console/$"))
    assert page.get_by_test_id("user-name").inner_text() == "officer_a"

    page.get_by_role("button", name="人员与家庭").click()  # the menu that holds the search
    page.get_by_role("link", name="人员查询").click()
    page.get_by_role("searchbox").fill(population.li.id_number.lower())
    page.get_by_role("button", name="查询").click()
    results = page.get_by_test_id("results")
    assert "李四" in results.inner_text()
    page.screenshot(path=str(screenshot_dir / "search.png"), full_page=True)
    assert population.li.id_number not in page.content()  # lists show masked numbers only

    results.get_by_role("link", name=str(population.h_a)).click()
    page.wait_for_url(re.compile(rf"/console/households/{population.h_a.pk}/$"))
    members = page.get_by_test_id("current-members")
    assert "张三" in members.inner_text() and "李四" in members.inner_text()
    assert "王五" in page.get_by_test_id("past-members").inner_text()
    page.screenshot(path=str(screenshot_dir / "household.png"), full_page=True)

    page.get_by_test_id("current-members").get_by_role("link", name="李四").click()
    assert page.get_by_test_id("full-id").inner_text() == population.li.id_number
    page.screenshot(path=str(screenshot_dir / "person.png"), full_page=True)

    # The user menu (Bootstrap's dropdown, our only script) opens and signs out.
    page.get_by_test_id("user-name").click()
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile(r"/console/login/"))
    assert page.console_errors == []  # nothing blocked by the CSP, no script errors


def test_out_of_scope_household_is_404(page, live_server, population):
    _login(page, live_server)
    page.wait_for_url(re.compile(r"/console/$"))
    response = page.goto(live_server.url + reverse("console:household", args=[population.h_b.pk]))
    assert response.status == 404
    response = page.goto(live_server.url + reverse("console:person", args=[population.zhang_b.pk]))
    assert response.status == 404


def test_lockout_after_repeated_wrong_passwords(page, live_server, population, screenshot_dir):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(page, live_server, password="not-the-password")
    assert page.get_by_test_id("locked-out").is_visible()
    page.screenshot(path=str(screenshot_dir / "locked-out.png"))
    _login(page, live_server)  # the right password no longer helps
    assert page.get_by_test_id("locked-out").is_visible()
    assert "/console/login/" in page.url


def test_language_switch_to_english(page, live_server, population, screenshot_dir):
    _login(page, live_server)
    page.wait_for_url(re.compile(r"/console/$"))
    page.goto(live_server.url + reverse("console:household", args=[population.h_a.pk]))
    page.locator("footer button[value=en]").click()  # labelled 英语 in Chinese
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Current members").is_visible()
    assert "Relation to head" in page.get_by_test_id("current-members").inner_text()
    page.screenshot(path=str(screenshot_dir / "household-en.png"), full_page=True)
    assert page.console_errors == []


def test_portal_landing_page_on_a_phone(browser, live_server, regions, screenshot_dir):
    from doudi.regions.services import create_hotline

    create_hotline(by=None, district=regions.city, name="市民政局社会救助热线", phone="023-12345")
    create_hotline(
        by=None,
        district=regions.a,
        name="万州区民政局",
        phone="023-58000001",
        service_hours="工作日 9:00-17:00",
    )
    create_hotline(by=None, district=regions.b, name="涪陵区民政局", phone="023-72000001")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        errors = []
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.goto(live_server.url + "/")
        assert page.get_by_role("heading", name="兜底·社会救助").is_visible()
        for scheme in ("dibao", "tekun", "children", "temporary"):
            assert page.get_by_test_id(f"apply-{scheme}").is_visible()
        page.get_by_label("选择区县").select_option("500101")
        page.get_by_role("button", name="查看").click()
        groups = page.get_by_test_id("hotline-group").all_inner_texts()
        assert len(groups) == 2
        assert "市民政局社会救助热线" in groups[0] and "万州区民政局" in groups[1]
        # Nothing wider than the phone's screen (mobile-first).
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(screenshot_dir / "portal-mobile.png"), full_page=True)
        assert errors == []
    finally:
        context.close()
