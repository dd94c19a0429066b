"""Accessibility in a real browser: axe-core (vendored, WCAG 2 A/AA) finds no serious or critical
violation on the citizen portal and the staff console; at phone width nothing is wider than the screen
and table cells keep their words whole."""

import datetime
import re

import pytest
from django.urls import reverse

from benefits.support import (  # noqa: F401
    _fast_password_hashing,
    _fresh_cache,
    act,
    declare_window,
    file_dibao,
    make_household,
    officers,
    to_evaluated,
)
from browser.axe import overflow, violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "Doudi-test-2020"


@pytest.fixture
def world(regions, officers):  # noqa: F811
    """Hotlines, and a dibao case of a household of three in 公示 (so every page has content)."""
    from doudi.regions.services import create_hotline

    declare_window(officers, datetime.date(2020, 1, 24))
    create_hotline(by=None, district=regions.city, name="市民政局社会救助热线", phone="023-12345")
    create_hotline(
        by=None,
        district=regions.a,
        name="万州区民政局",
        phone="023-58000001",
        service_hours="工作日 9:00-17:00",
    )
    create_hotline(by=None, district=regions.b, name="涪陵区民政局", phone="023-72000001")
    household, people = make_household(regions.a_v, [("欧阳小明", 0), ("李红", 0), ("张乐", 0)])
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    file_dibao(officers, make_household(regions.a_v, [("司马相如", 0)])[1][0])  # a second row in the queue
    return type("World", (), {"household": household, "case": case})


def _context(browser, viewport):
    # Playwright injects axe inline, which the site's CSP refuses: bypass it for these tests only.
    return browser.new_context(
        locale="zh-CN", viewport=viewport, bypass_csp=True, is_mobile=viewport == PHONE
    )


def _check(page, what, viewport, problems):
    problems += [f"{what}: {v}" for v in violations(page)]
    if viewport == PHONE and overflow(page):
        problems.append(f"{what}: {overflow(page)} px wider than the phone")


def _portal_pages(page, base, viewport, problems):
    for name, url in (
        ("home", "/"),
        ("status", reverse("portal:status")),
        ("公示", reverse("disclosure:public")),
        ("hotlines", reverse("hotlines:directory")),
        ("console login", reverse("console:login")),
    ):
        page.goto(base + url)
        _check(page, name, viewport, problems)
    page.goto(base + reverse("portal:apply", args=["dibao"]))
    _check(page, "apply", viewport, problems)
    page.get_by_test_id("submit").click()
    page.get_by_test_id("form-errors").wait_for()
    _check(page, "apply with errors", viewport, problems)
    _self_check_pages(page, base, viewport, problems)


def _self_check_pages(page, base, viewport, problems):
    """救助政策 and 自助试算: the district's page, the self-check empty, refused, answered, and the
    application form it pre-fills."""
    for name, url in (
        ("policy index", reverse("portal:policy_index")),
        ("policy", reverse("portal:policy", args=["500101"])),
        ("self-check", reverse("portal:self_check", args=["500101"])),
    ):
        page.goto(base + url)
        _check(page, name, viewport, problems)
    page.get_by_test_id("submit").click()  # nothing chosen: urban or rural is required
    page.get_by_test_id("form-errors").wait_for()
    _check(page, "self-check with errors", viewport, problems)
    page.locator("#id_area_type_0").check()
    page.locator("#id_people-0-income").fill("300")
    page.get_by_test_id("add-person").click()
    page.locator("#id_people-1-relation").select_option("child")
    page.locator("#id_people-1-birth_month").fill("2012-05")
    page.locator("label[for=id_people-1-situations_0]").click()
    page.locator("#id_people-1-income").focus()
    page.locator("details").first.evaluate("d => d.open = true")  # the COVID dates, shown
    page.get_by_test_id("submit").click()
    page.get_by_test_id("answer").wait_for()
    for details in page.locator("[data-testid=answer] details").all():
        details.evaluate("d => d.open = true")
    _check(page, "self-check answer", viewport, problems)
    page.get_by_test_id("start-dibao").click()
    page.get_by_test_id("prefilled").wait_for()
    _check(page, "pre-filled application", viewport, problems)


def _turn_on_elder_mode(page, base):
    page.goto(base + "/")
    with page.expect_navigation():
        page.get_by_test_id("elder-toggle").click()  # a plain link: the cookie is set by the server
    assert "elder" in page.locator("body").get_attribute("class")


@pytest.mark.parametrize(
    "viewport, elder",
    [(DESKTOP, False), (PHONE, False), (PHONE, True)],
    ids=["desktop", "phone", "elder-phone"],
)
def test_portal_passes_axe(browser, live_server, world, viewport, elder):
    context = _context(browser, viewport)
    try:
        page = context.new_page()
        if elder:
            _turn_on_elder_mode(page, live_server.url)
        problems = []
        _portal_pages(page, live_server.url, viewport, problems)
        assert problems == []
    finally:
        context.close()


SMALL_TARGETS = """() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary')].filter(el => {
        const own = el.getBoundingClientRect();
        if (!own.width || !own.height) return false;  // not shown
        // A checkbox or radio is tapped through its row (box and label together).
        const target = el.matches('[type=checkbox], [type=radio]') ? el.closest('.form-check') || el : el;
        return target.getBoundingClientRect().height < 44;
    }).map(el => el.outerHTML.slice(0, 120))"""


def _font_size(page, selector="body"):
    return page.evaluate(f"parseFloat(getComputedStyle(document.querySelector('{selector}')).fontSize)")


def test_elder_mode_larger_type_and_tap_targets(browser, live_server, world, screenshot_dir):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        assert _font_size(page) == 16
        assert page.evaluate(SMALL_TARGETS) != []  # the standard pages have small links and buttons
        _turn_on_elder_mode(page, live_server.url)
        assert page.url == live_server.url + "/"  # back where the citizen was
        pages = [
            "/",
            reverse("portal:apply_index"),
            reverse("portal:apply", args=["dibao"]),
            reverse("portal:status"),
            reverse("disclosure:public"),
            reverse("hotlines:directory"),
            reverse("portal:policy_index"),
            reverse("portal:policy", args=["500101"]),
            reverse("portal:self_check", args=["500101"]),
        ]
        for url in pages:  # the cookie keeps the mode on every public page
            page.goto(live_server.url + url)
            assert "elder" in page.locator("body").get_attribute("class"), url
            assert _font_size(page) >= 20, url
            assert _font_size(page, "h1, h2") >= 24, url
            assert page.evaluate(SMALL_TARGETS) == [], url
            assert overflow(page) == 0, url
            page.screenshot(path=str(screenshot_dir / f"elder{url.replace('/', '-')}.png"), full_page=True)
        page.goto(live_server.url + reverse("portal:status"))
        assert _font_size(page, "p.small") >= 20  # no small print
        # Switching back from any page returns there in the standard size.
        with page.expect_navigation():
            page.get_by_test_id("elder-toggle").click()
        assert page.url.endswith(reverse("portal:status"))
        assert _font_size(page) == 16
    finally:
        context.close()


def test_elder_mode_switches_without_javascript(browser, live_server, world):
    context = browser.new_context(locale="zh-CN", viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + reverse("portal:status"))
        page.get_by_test_id("elder-toggle").click()
        page.wait_for_url(re.compile(r"/status/$"))
        assert "elder" in page.locator("body").get_attribute("class")
        assert _font_size(page) >= 20
    finally:
        context.close()


def _wrapped_cells(page, table):
    """Short cells (≤ 8 characters: names, types, states) that the browser broke over several lines."""
    return page.evaluate(
        """(table) => [...document.querySelectorAll(table + ' td')].filter(td => {
            const text = td.innerText.trim();
            if (!text || text.length > 8) return false;
            const range = document.createRange();
            range.selectNodeContents(td);
            return range.getBoundingClientRect().height > 1.5 * parseFloat(getComputedStyle(td).lineHeight);
        }).map(td => td.innerText.trim())""",
        table,
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_console_passes_axe(browser, live_server, world, viewport):
    context = _context(browser, viewport)
    try:
        page = context.new_page()
        problems = []
        _log_in(page, live_server.url, "a_township")
        _check(page, "console home", viewport, problems)
        page.goto(live_server.url + reverse("intake:list") + "?all=1")
        _check(page, "queue", viewport, problems)
        assert _wrapped_cells(page, "[data-testid=case-list]") == []  # no name one character per line
        page.goto(live_server.url + reverse("intake:case", args=[world.case.pk]))
        _check(page, "case", viewport, problems)
        page.goto(live_server.url + reverse("console:household", args=[world.household.pk]))
        _check(page, "household", viewport, problems)
        assert _wrapped_cells(page, "[data-testid=current-members]") == []
        assert problems == []
    finally:
        context.close()


def _log_in(page, base, username):
    page.goto(base + reverse("console:login"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/console/$"))


def test_every_console_menu_page_on_a_phone(browser, live_server, world):
    """Every page of the city administrator's menus (the most of them), at 390 px."""
    context = _context(browser, PHONE)
    try:
        page = context.new_page()
        _log_in(page, live_server.url, "city_admin")
        links = page.evaluate("[...document.querySelectorAll('#console-nav a[href]')].map(a => a.pathname)")
        assert len(links) > 10
        problems = []
        for url in dict.fromkeys(links):
            page.goto(live_server.url + url)
            _check(page, url, PHONE, problems)
        assert problems == []
    finally:
        context.close()


def _submit(page, test_id):
    with page.expect_navigation():
        page.get_by_test_id(test_id).click()


def _focused(page):
    return page.evaluate("document.activeElement.id || document.activeElement.dataset.testid || ''")


def test_focus_moves_to_the_first_error_after_a_failed_submission(page, live_server, world):
    page.goto(live_server.url + reverse("portal:apply", args=["dibao"]))
    _submit(page, "submit")
    assert page.get_by_test_id("form-errors").is_visible()
    assert _focused(page) == "id_applicant_name"  # the first field in error, not the top of the page
    page.locator("#id_applicant_name").fill("张伟")
    page.locator("#id_applicant_id_number").fill("500101198504020000")  # wrong check digit
    _submit(page, "submit")
    assert _focused(page) == "id_applicant_id_number"

    page.goto(live_server.url + reverse("portal:status"))
    _submit(page, "verify")
    assert _focused(page) == "id_tracking_number"

    page.goto(live_server.url + reverse("disclosure:public"))
    with page.expect_navigation():
        page.get_by_test_id("objection-link").first.click()
    with page.expect_navigation():
        page.locator("#objection-submit").click()
    assert _focused(page) == "objection-phone"
    # The script runs under the CSP; only the re-shown forms' 400 answers are logged.
    assert [e for e in page.console_errors if "status of 400" not in e] == []


def test_hotlines_on_a_phone_show_the_citizens_district(browser, live_server):
    """The demo's 42 lines (12345 and one per district): the home page shows the city-wide line, then the
    chosen district's, never all of them; 「全部区县」 still leads to the whole list."""
    from doudi.regions.demo import load_demo_hotlines
    from doudi.regions.loading import load_chongqing

    load_chongqing()
    assert load_demo_hotlines() == 42
    context = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        lines = page.get_by_test_id("hotline-group").locator("li")
        assert lines.count() == 1  # 12345 only, with the choice of district above it
        page.get_by_label("选择区县").select_option(label="渝中区")
        with page.expect_navigation():
            page.get_by_role("button", name="查看").click()
        groups = page.get_by_test_id("hotline-group")
        assert groups.count() == 2 and "渝中区" in groups.nth(1).inner_text()
        assert overflow(page) == 0
        with page.expect_navigation():
            page.get_by_test_id("all-hotlines").click()
        assert page.get_by_test_id("hotline").count() == 42
    finally:
        context.close()
