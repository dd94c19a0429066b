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


def _fill_application(page, regions, *, name="张伟", number=None, phone="13800138000", income="300"):
    page.get_by_label("申请人姓名").fill(name)
    page.locator("#id_applicant_id_number").fill(number or id_number())
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("区县").select_option(regions.a.code)
    # The township and village selects are filled in by htmx from the region tree.
    page.locator(f"#id_township option[value='{regions.a_t.code}']").wait_for(state="attached")
    page.get_by_label("乡镇（街道）").select_option(regions.a_t.code)
    page.locator(f"#id_village option[value='{regions.a_v.code}']").wait_for(state="attached")
    page.get_by_label("村（社区）").select_option(regions.a_v.code)
    page.get_by_label("本人月收入（元）").fill(income)
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


@pytest.mark.parametrize(("scheme", "income"), [("dibao", "0"), ("dibao", ""), ("tekun", "0.00")])
def test_a_household_with_no_income_can_apply(page, live_server, regions, scheme, income):
    """The form says 没有收入填 0: zero, 0.00 and a blank income all open the case."""
    from doudi.intake.models import Case

    page.goto(live_server.url + reverse("portal:apply", args=[scheme]))
    _fill_application(page, regions, income=income)
    page.locator("#id_members-0-income").fill(income)
    page.get_by_test_id("submit").click()
    page.wait_for_url(re.compile(r"/apply/done/$"))
    tracking = page.get_by_test_id("tracking-number").inner_text()
    case = Case.objects.get(tracking_number=tracking)
    assert case.case_type == scheme and case.details["portal"]["applicant_income_fen"] == 0
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


# --- the whole dibao flow ---------------------------------------------------------------------------------------

PASSWORD = "Doudi-test-2020"


@pytest.fixture
def family(regions, make_user, settings):
    """A registered household of two in A's village (the applicant's phone on file), the officers, and
    the emergency window (so deliberation is skipped and the 公示 follows the township review)."""
    from doudi.regions.services import declare_window
    from doudi.registry.models import Household, Membership, Person

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    admin = make_user("city_admin", regions.city, "municipal_admin")
    declare_window(by=admin, name="疫情防控期间", start=datetime.date(2020, 1, 24), reason="一级响应")
    make_user("officer_t", regions.a_t, "township_officer")
    make_user("approver_a", regions.a, "district_approver")
    household = Household.objects.create(region=regions.a_v, area_type="urban", address="高笋塘路8号")
    applicant = Person.objects.create(
        id_number=id_number(),
        name="张伟",
        birth_date=datetime.date(1985, 4, 2),
        sex="M",
        region=regions.a_v,
        phone="13800138000",
    )
    spouse = Person.objects.create(
        id_number=id_number(birth=datetime.date(1987, 9, 9), seq=2),
        name="李娜",
        birth_date=datetime.date(1987, 9, 9),
        sex="F",
        region=regions.a_v,
    )
    for person, relation in ((applicant, "head"), (spouse, "spouse")):
        Membership.objects.create(
            household=household, person=person, relation=relation, joined_on=datetime.date(2010, 1, 1)
        )
    household.head = applicant
    household.save(update_fields=["head"])
    return household, applicant, spouse


def _login(browser, live_server, username):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda msg: msg.type == "error" and page.console_errors.append(msg.text))
    page.goto(live_server.url + reverse("console:login"))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/console/$"))
    return page


def _open_case(page, live_server, tracking):
    page.goto(live_server.url + reverse("intake:list") + "?all=1")
    page.get_by_test_id("case-row").filter(has_text=tracking).get_by_role("link", name=tracking).click()
    page.get_by_test_id("tracking-number").wait_for()
    assert page.get_by_test_id("tracking-number").inner_text() == tracking


def open_status(page, live_server, tracking, id_number_):
    """进度查询 with the tracking number, the ID number and the code texted to the phone on file."""
    from doudi.portal.models import OutboxMessage

    page.goto(live_server.url + reverse("portal:status"))
    page.get_by_label("受理编号").fill(tracking)
    page.get_by_label("申请人身份证号").fill(id_number_)
    page.get_by_test_id("send-code").click()
    page.get_by_test_id("status-info").wait_for()
    code = re.search(
        r"验证码为 (\d{6})", OutboxMessage.objects.filter(purpose="status_code").first().text
    ).group(1)
    page.get_by_label("短信验证码").fill(code)
    page.get_by_test_id("verify").click()
    page.wait_for_url(re.compile(r"/status/case/$"))


def _shot(page, screenshot_dir, name):
    page.screenshot(path=str(screenshot_dir / f"{name}.png"), full_page=True, caret="initial")


def test_whole_dibao_flow_from_the_portal_to_enrolment(
    browser, phone_page, live_server, regions, family, screenshot_dir
):
    from doudi.benefits.models import Enrolment
    from doudi.disclosure.models import Publication
    from doudi.intake.models import Case
    from doudi.portal.models import OutboxMessage

    household, applicant, spouse = family

    # 1. The citizen applies on the portal, on a phone.
    citizen = phone_page
    citizen.goto(live_server.url + reverse("portal:home"))
    citizen.get_by_test_id("apply-dibao").first.click()
    citizen.get_by_test_id("apply-form").wait_for()
    _fill_application(citizen, regions)
    citizen.get_by_test_id("submit").click()
    citizen.wait_for_url(re.compile(r"/apply/done/$"))
    tracking = citizen.get_by_test_id("tracking-number").inner_text()
    case = Case.objects.get(tracking_number=tracking)
    assert (case.channel, case.applicant, case.household) == ("portal", applicant, household)
    assert tracking in OutboxMessage.objects.get(case=case, purpose="applied").text  # and by SMS

    # 2. The township officer accepts, enters the household's figures and evaluates.
    officer = _login(browser, live_server, "officer_t")
    _open_case(officer, live_server, tracking)
    officer.get_by_role("button", name="确认受理").click()
    officer.locator("#dibao-save-economic").wait_for()
    officer.locator(f"#econ-{applicant.pk}-wage").fill("300")
    officer.locator(f"#econ-{spouse.pk}-wage").fill("0")
    officer.locator("#econ-houses").fill("1")
    officer.locator("#economic-method").select_option("phone")
    officer.locator("#economic-reason").fill("电话核实，收入按申请人申报")
    officer.locator("#dibao-save-economic").click()
    officer.locator("#dibao-evaluate").click()
    officer.get_by_test_id("dibao-decision").wait_for()
    assert "纳入低保" in officer.get_by_test_id("dibao-decision").inner_text()
    amount = officer.get_by_test_id("dibao-amount").inner_text()
    assert officer.get_by_test_id("dibao-explanation").is_visible()
    _shot(officer, screenshot_dir, "dibao-evaluated")

    # 3. Township review: in the window, deliberation is skipped and the 公示 starts.
    assert officer.locator("#township-opinion-agree").is_checked()
    officer.locator("#township-review-reason").fill("家庭收入低于低保标准，同意纳入")
    officer.locator("#dibao-township-review").click()
    officer.get_by_test_id("publication-running").wait_for()
    assert officer.get_by_test_id("deliberation-skipped").is_visible()

    # 4. The 公示 on the public page, masked.
    citizen.goto(live_server.url + reverse("disclosure:public"))
    entry = citizen.get_by_test_id("gongshi-entry").filter(has_text="高笋塘社区")
    entry.wait_for()
    assert entry.get_by_test_id("entry-name").inner_text() == "张*"
    masked = entry.get_by_test_id("entry-id").inner_text()
    assert masked.startswith(applicant.id_number[:6]) and masked.endswith(applicant.id_number[-4:])
    assert applicant.id_number not in citizen.content() and "张伟" not in citizen.content()
    assert "13800138000" not in citizen.content() and "高笋塘路8号" not in citizen.content()
    _shot(citizen, screenshot_dir, "gongshi-phone")

    # 5. Someone objects.
    entry.get_by_test_id("objection-link").click()
    citizen.locator("#objection-name").fill("王邻居")
    citizen.locator("#objection-phone").fill("13912345678")
    citizen.locator("#objection-reason").fill("申请人家有一辆货车。")
    citizen.locator("#objection-submit").click()
    citizen.get_by_test_id("objection-done").wait_for()
    objection_number = citizen.get_by_test_id("objection-number").inner_text()
    objection = Case.objects.get(tracking_number=objection_number)
    assert (objection.case_type, objection.related_case_id) == ("objection", case.pk)

    # 6. The township looks into it and finds it unfounded.
    officer.reload()
    block = officer.get_by_test_id(f"objection-{objection.pk}")
    block.wait_for()
    officer.locator(f"#objection-{objection.pk}-reason").fill("经核实，货车为邻居所有，异议不成立")
    officer.locator(f"#objection-{objection.pk}-dismiss").click()
    officer.locator(f"#objection-{objection.pk}-form").wait_for(state="detached")  # decided: no more buttons
    assert Case.objects.get(pk=objection.pk).closed_at is not None

    # 7. The 公示 period has run (moved into the past rather than waiting seven days).
    from django.utils import timezone

    today = timezone.localdate()
    Publication.objects.filter(case=case).update(
        start_date=today - datetime.timedelta(days=8), end_date=today - datetime.timedelta(days=1)
    )
    officer.reload()
    officer.locator("#dibao-end-publicity").click()
    officer.get_by_test_id("publicity-until").wait_for(state="detached")
    assert Case.objects.get(pk=case.pk).state == "awaiting_approval"
    citizen.goto(live_server.url + reverse("disclosure:public"))
    assert citizen.get_by_test_id("gongshi-entry").count() == 0  # its period over, it left the page

    # 8. The district approves; the household is enrolled from this month.
    approver = _login(browser, live_server, "approver_a")
    _open_case(approver, live_server, tracking)
    approver.locator("#approve-reason").fill("同意")
    approver.locator("#dibao-approve").click()
    approver.get_by_test_id("dibao-enrolled").wait_for()
    enrolled = approver.get_by_test_id("dibao-enrolled").inner_text()
    assert f"{today:%Y-%m}" in enrolled and amount.strip("元 ") in enrolled
    enrolment = Enrolment.objects.get(household=household, scheme="dibao", status="active")
    assert enrolment.from_month == today.replace(day=1) and enrolment.decision_case_id == case.pk
    _shot(approver, screenshot_dir, "dibao-approved")

    # 9. The citizen follows the outcome on the portal: tracking number + ID number + SMS code.
    open_status(citizen, live_server, tracking, applicant.id_number)
    assert citizen.get_by_test_id("state").inner_text() == "已批准"
    assert (
        citizen.get_by_test_id("decision").inner_text()
        == f"自 {today:%Y-%m} 起每月 {enrolment.monthly_amount} 元"
    )
    timeline = citizen.get_by_test_id("timeline").inner_text()
    assert "提交申请" in timeline and "已受理" in timeline and "已批准" in timeline
    assert "officer_t" not in citizen.content() and "approver_a" not in citizen.content()
    _shot(citizen, screenshot_dir, "portal-status-phone")

    for p in (citizen, officer, approver):
        assert [e for e in p.console_errors if "status of 4" not in e] == [], p.console_errors
