"""From a household's approval to the yuan in its account, in a real browser (Debian chromium): the district
approves the dibao case in the console → the municipal administrator computes the month's payroll (the
console button; the task runs inline) → the district officer submits, the district approver approves,
municipal finance confirms (three users, three tiers) → finance generates the bank file and imports the
bank's return → the citizen, on a phone, sees the decision letter and the payment 已到账 with the amount
and the account masked, also in 长辈模式. And a failed return → the citizen sees 发放失败 with the reason.
"""

import re

import pytest
from django.urls import reverse

from benefits.support import _fast_password_hashing, officers  # noqa: F401  (hashing first: autouse)
from browser.test_dibao_flow import PHONE, _login, _open_case, _shot, open_status, phone_page  # noqa: F401
from payments.world import luhn

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACCOUNT = luhn("622202000000000123")


@pytest.fixture
def household(regions, make_user, settings, tmp_path):
    """张伟's household of three in A's village, his ICBC account on file; the officers and the payroll's
    users; the payroll computed inline (ImmediateBackend) with its files under a temp dir."""
    from benefits.support import make_household
    from portal.payflow import bank

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DOUDI_DATA_DIR = tmp_path / "data"
    from payments.world import account

    household, people = make_household(regions.a_v, [("张伟", 0), ("李娜", 0), ("张乐", 0)])
    account(people[0], bank(), ACCOUNT)
    make_user("finance", regions.city, "municipal_finance")
    return household, people


def _citizen_opens_status(page, live_server, case):
    open_status(page, live_server, case.tracking_number, case.applicant_id_number)


def _return_file(path, run, failed=()):
    """The bank's answer to the run's ICBC file: each line paid but the line ids in `failed` (账户已销户)."""
    from portal.payflow import bank_answer

    path.write_bytes(bank_answer(run, failed))
    return path


def _sign(page, live_server, run, button):
    page.goto(live_server.url + reverse("payments:payroll_run", args=[run.pk]))
    page.get_by_test_id("batches").get_by_role("button", name=button).click()
    page.get_by_text("已签署。").wait_for()


def _payment(page, scheme):
    return page.get_by_test_id("payment").filter(has_text=scheme)


def test_from_approval_through_the_payroll_to_the_citizen_seeing_the_payment(
    browser,
    phone_page,  # noqa: F811 (the fixture imported above)
    live_server,
    regions,
    officers,  # noqa: F811
    household,
    screenshot_dir,
    tmp_path,  # noqa: F811
):
    from django.utils import timezone

    from doudi.benefits.models import Enrolment
    from doudi.payments.models import PaymentLine, PayrollRun
    from portal.payflow import awaiting_approval

    household_, people = household
    case = awaiting_approval(officers, people)
    month = f"{timezone.localdate():%Y-%m}"

    # 1. The district approves the case in the console: enrolled from this month.
    approver = _login(browser, live_server, "a_approver")
    _open_case(approver, live_server, case.tracking_number)
    approver.locator("#approve-reason").fill("同意")
    approver.locator("#dibao-approve").click()
    approver.get_by_test_id("dibao-enrolled").wait_for()
    enrolment = Enrolment.objects.get(decision_case=case, status="active")
    amount = enrolment.monthly_amount
    assert amount > 0 and f"{enrolment.from_month:%Y-%m}" == month

    # 2. The municipal administrator freezes and computes the month's payroll (the console's button).
    admin = _login(browser, live_server, "city_admin")
    admin.goto(live_server.url + reverse("payments:payroll_runs"))
    admin.locator("#month").fill(month)
    admin.get_by_role("button", name="冻结数据并生成花名册").click()
    admin.wait_for_url(re.compile(r"/payroll/\d+/$"))
    admin.get_by_test_id("progress").get_by_text("已计算").wait_for()
    run = PayrollRun.objects.get(month=month, round=0)
    line = PaymentLine.objects.get(run=run, scheme="dibao", beneficiary_id=household_.pk)
    assert (line.amount_fen, line.status) == (amount * 100, "pending")

    # 3. Three tiers, three users: district officer submits, district approver approves, finance confirms.
    district = _login(browser, live_server, "a_district")
    _sign(district, live_server, run, "提交审批")
    _sign(approver, live_server, run, "审批通过")
    finance = _login(browser, live_server, "finance")
    _sign(finance, live_server, run, "审核确认")
    assert run.batches.get().status == "confirmed"

    # 4. Finance generates the bank file and imports the bank's return (all paid).
    finance.get_by_role("button", name="生成代发文件（每个银行一个）").click()
    files = finance.get_by_test_id("bank-files")
    files.get_by_text("工商银行").wait_for()
    issued = PaymentLine.objects.filter(issue_run=run, status="issued").order_by("pk")
    assert line.pk in {x.pk for x in issued}
    answer = _return_file(tmp_path / "return.csv", run)
    files.locator("input[type=file]").set_input_files(str(answer))
    files.get_by_role("button", name="导入回盘").click()
    finance.get_by_text(f"回盘已导入：成功 {issued.count()} 笔，失败 0 笔。").wait_for()
    _shot(finance, screenshot_dir, "payroll-return-imported")
    line.refresh_from_db()
    assert line.status == "paid"

    # 5. The citizen, on a phone: the decision letter, and the payment 已到账 with the account masked.
    citizen = phone_page
    _citizen_opens_status(citizen, live_server, case)
    paid = _payment(citizen, "最低生活保障金")
    assert paid.get_by_test_id("payment-status").inner_text() == "已到账"
    assert paid.get_by_test_id("payment-amount").inner_text() == f"{amount}.00 元"
    assert (
        paid.get_by_test_id("payment-account").inner_text()
        == f"收款账户：工商银行 6222 **** **** {ACCOUNT[-4:]}"
    )
    assert month in paid.inner_text()
    content = citizen.content()
    assert ACCOUNT not in content and people[0].id_number not in content
    assert "李娜" not in content  # the other members' own payments are not theirs to see here
    assert citizen.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(citizen, screenshot_dir, "portal-payments-phone")

    citizen.get_by_test_id("decision-letter").click()
    citizen.get_by_test_id("notice").wait_for()
    letter = citizen.get_by_test_id("notice").inner_text()
    assert "最低生活保障审批决定书" in letter and f"月低保金 {amount} 元" in letter
    assert "行政复议" in letter and "第二十二条" in letter
    assert citizen.locator("#print-notice").is_visible()
    _shot(citizen, screenshot_dir, "portal-decision-letter-phone")

    # 长辈模式: larger type, the same payment.
    citizen.goto(live_server.url + reverse("portal:status_case"))
    citizen.get_by_test_id("elder-toggle").click()
    citizen.wait_for_url(re.compile(r"/status/case/$"))
    assert "elder" in citizen.locator("body").get_attribute("class")
    assert _payment(citizen, "最低生活保障金").get_by_test_id("payment-status").inner_text() == "已到账"
    assert citizen.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(citizen, screenshot_dir, "portal-payments-phone-elder")

    for p in (citizen, approver, admin, district, finance):
        assert [e for e in p.console_errors if "status of 4" not in e] == [], p.console_errors


def test_a_failed_return_shows_the_citizen_why_and_what_to_do(
    browser,
    phone_page,  # noqa: F811 (the fixture imported above)
    live_server,
    regions,
    officers,  # noqa: F811
    household,
    tmp_path,
    screenshot_dir,  # noqa: F811
):
    """Approved and paid through the services up to the bank file; the bank's return, imported in the
    console, fails the line: the citizen sees 发放失败, the bank's reason and what to do, and gets one SMS."""

    from benefits.support import act
    from doudi.payments.models import PaymentLine
    from doudi.portal.models import OutboxMessage
    from portal.payflow import awaiting_approval

    household_, people = household
    case = act(awaiting_approval(officers, people), "approve", officers.a_approver, "同意")
    run = _pay_until_issued(officers)
    line = PaymentLine.objects.get(run=run, scheme="dibao", beneficiary_id=household_.pk)
    answer = _return_file(tmp_path / "return.csv", run, failed={line.pk})

    page = _login(browser, live_server, "finance")
    page.goto(live_server.url + reverse("payments:payroll_run", args=[run.pk]))
    files = page.get_by_test_id("bank-files")
    files.locator("input[type=file]").set_input_files(str(answer))
    files.get_by_role("button", name="导入回盘").click()
    page.get_by_text("失败 1 笔").first.wait_for()
    line.refresh_from_db()
    assert (line.status, line.failure_reason) == ("failed", "账户已销户")
    sms = OutboxMessage.objects.filter(purpose="payment_failed")
    assert sms.count() == 1 and sms.get().phone == people[0].phone

    citizen = phone_page
    _citizen_opens_status(citizen, live_server, case)
    failed = _payment(citizen, "最低生活保障金")
    assert failed.get_by_test_id("payment-status").inner_text() == "发放失败"
    assert failed.get_by_test_id("payment-reason").inner_text() == "原因：账户已销户"
    assert "更正收款账户" in failed.get_by_test_id("payment-advice").inner_text()
    assert "已到账" not in failed.inner_text()
    _shot(citizen, screenshot_dir, "portal-payment-failed-phone")
    assert [e for e in citizen.console_errors + page.console_errors if "status of 4" not in e] == []


def test_the_households_pages_pass_axe_on_a_phone_and_in_elder_mode(
    browser,
    live_server,
    regions,
    officers,  # noqa: F811
    household,
    tmp_path,
):
    """The status page with its payments and the decision letter: no serious axe violation and nothing
    wider than a 390 px phone; in 长辈模式 20 px type and every tap target at least 44 px high."""
    from benefits.support import act
    from browser.axe import overflow, violations
    from browser.test_accessibility import SMALL_TARGETS, _font_size
    from portal.payflow import awaiting_approval

    household_, people = household
    case = act(awaiting_approval(officers, people), "approve", officers.a_approver, "同意")
    _pay_until_issued(officers)
    context = browser.new_context(
        locale="zh-CN", viewport=PHONE, bypass_csp=True, is_mobile=True, has_touch=True
    )  # axe is injected inline: the CSP is bypassed for this check only
    try:
        page = context.new_page()
        _citizen_opens_status(page, live_server, case)
        letter = reverse("portal:status_notice", args=[case.transitions.get(action="approve").seq])
        problems = []
        for elder in (False, True):
            if elder:
                with page.expect_navigation():
                    page.get_by_test_id("elder-toggle").click()
            for url in (reverse("portal:status_case"), letter):
                page.goto(live_server.url + url)
                what = f"{url} elder={elder}"
                if url != letter:
                    assert page.get_by_test_id("payment").count() >= 1  # the page has its payments
                problems += [f"{what}: {v}" for v in violations(page)]
                if overflow(page):
                    problems.append(f"{what}: {overflow(page)} px wider than the phone")
                if elder:
                    assert _font_size(page) >= 20, url
                    assert page.evaluate(SMALL_TARGETS) == [], url
        assert problems == []
    finally:
        context.close()


def _pay_until_issued(staff):
    """This month's payroll computed, signed by the three tiers and its bank file issued (services)."""
    from django.utils import timezone

    from doudi.accounts.models import User
    from portal.payflow import issue

    users = type(
        "Users",
        (),
        {
            "a_officer": staff.a_district,
            "a_approver": staff.a_approver,
            "finance": User.objects.get(username="finance"),
            "admin": staff.city_admin,
        },
    )
    return issue(users, month=f"{timezone.localdate():%Y-%m}")
