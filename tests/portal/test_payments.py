"""The household's own page on the portal after a decision: the decision letter (the console's notice, in the
portal's frame), every later change with its notice, the payments (待发放/已报送银行/已到账/发放失败/暂缓发放,
the account masked) — only that household's — and the SMS for acceptance, decision, change and a payment
returned failed, each once per event."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from benefits.support import act
from doudi.benefits.models import Enrolment
from doudi.portal.models import Notification, OutboxMessage
from doudi.portal.views import STATUS_SESSION_KEY
from payments.world import luhn, return_rows
from portal.payflow import MONTH, awaiting_approval, change_amount, household_with_account, pay, payroll_users

D = datetime.date
ACCOUNT = luhn("622202000000000123")
OTHER_ACCOUNT = luhn("622202000000000456")


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DOUDI_DATA_DIR = tmp_path / "data"


def open_status(client, case):
    """The verified session the status check opens (tracking number + ID number + SMS code)."""
    session = client.session
    session[STATUS_SESSION_KEY] = {
        "case": case.pk,
        "until": (timezone.now() + datetime.timedelta(minutes=5)).isoformat(),
    }
    session.save()


@pytest.fixture
def approved(regions, officers, frozen_today):
    """张小明's household approved on 9 March 2020 (338 a month from 2020-03), his ICBC account on file."""
    household, people = household_with_account(regions, [("张小明", 0), ("李红", 0), ("张乐", 0)], ACCOUNT)
    case = awaiting_approval(officers, people, frozen_today)
    frozen_today(D(2020, 3, 9))
    case = act(case, "approve", officers.a_approver, "同意")
    return case, household, people


@pytest.fixture
def neighbour(regions, officers):
    """Another dibao household of the same village, enrolled at 436 a month with its own account."""
    from payments.world import enrol

    household, people = household_with_account(regions, [("钱八", 100_000)], OTHER_ACCOUNT)
    enrol(household, "dibao", 436)
    return household, people


def status_page(client, case) -> str:
    open_status(client, case)
    response = client.get(reverse("portal:status_case"))
    assert response.status_code == 200
    return response.content.decode()


def payment_items(page: str) -> list[str]:
    return page.split('data-testid="payment"')[1:]


# --- payments ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the payroll reads committed rows through its own connection
def test_the_household_sees_its_payment_paid_and_only_its_own(
    client, regions, make_user, approved, neighbour
):
    case, household, people = approved
    run = pay(payroll_users(make_user, regions))
    assert run.lines.filter(status="paid", scheme="dibao").count() == 2  # both households were paid
    page = status_page(client, case)
    assert 'data-testid="payments"' in page
    # The household's 低保金 and the applicant's own 价格临时补贴 — nobody else's.
    own = run.lines.filter(person=people[0])
    assert set(own.values_list("scheme", flat=True)) == {"dibao", "price_subsidy"}
    assert page.count('data-testid="payment"') == own.count() == 2
    assert "价格临时补贴" in page
    assert f"{MONTH} · 最低生活保障金" in page and "338.00 元" in page and "已到账" in page
    assert "工商银行 6222 **** **** " + ACCOUNT[-4:] in page
    # Never the full account, the ID number, another household's money or account.
    assert ACCOUNT not in page and people[0].id_number not in page
    assert "436.00" not in page and OTHER_ACCOUNT[-4:] not in page and "钱八" not in page


@pytest.mark.django_db(transaction=True)
def test_a_failed_payment_says_why_and_what_to_do_and_texts_once(client, regions, make_user, approved):
    from doudi.payments import bankfiles, services
    from doudi.portal.notifications import on_return_imported

    case, household, people = approved
    users = payroll_users(make_user, regions)
    run = pay(users, fail=[("dibao", household.pk)])
    items = payment_items(status_page(client, case))
    failed = next(i for i in items if "最低生活保障金" in i)
    assert 'data-status="failed"' in failed and "发放失败" in failed and "账户已销户" in failed
    assert "更正收款账户" in failed and "338.00 元" in failed and "已到账" not in failed
    assert any('data-status="paid"' in i and "价格临时补贴" in i for i in items)  # the other line was paid
    sms = OutboxMessage.objects.filter(purpose="payment_failed")
    assert sms.count() == 1
    message = sms.get()
    assert message.phone == people[0].phone
    assert f"{MONTH} 的最低生活保障金 338.00 元未能到账" in message.text and "村（社区）" in message.text
    assert ACCOUNT not in message.text

    # The same return imported again, and the event announced again: still one message.
    bank_file = run.bank_files.get()
    line = run.lines.get(scheme="dibao", status="failed")
    again = services.import_return(
        bank_file=bank_file,
        content=bankfiles.return_template(return_rows(run, "ICBC", {line.pk})),
        file_name="return-again.csv",
        officer=users.finance,
    )
    assert again.status == "loaded"
    on_return_imported(sender=None, imported=again)
    assert OutboxMessage.objects.filter(purpose="payment_failed").count() == 1
    assert Notification.objects.filter(key=f"failed:{line.pk}:{run.pk}").count() == 1


@pytest.mark.django_db(transaction=True)
def test_held_and_pending_payments_in_plain_words(client, regions, make_user, approved):
    from doudi.payments import services
    from doudi.payments.models import PayeeAccount
    from doudi.policy.periods import Period

    case, household, people = approved
    PayeeAccount.objects.filter(person=people[0]).update(status="superseded")  # no account any more
    users = payroll_users(make_user, regions)
    services.compute_run(services.freeze_run(month=Period.parse(MONTH), officer=users.admin))
    page = status_page(client, case)
    assert "暂缓发放" in page and "尚未登记收款账户" in page and "登记收款账户" in page
    assert "收款账户：" not in page  # no account: nothing to show, masked or not
    assert "338.00 元" in page  # the amount is known, only the account is missing
    # A price subsidy held for want of the month's index has no amount yet: never "0.00 元".
    from doudi.payments.models import PaymentLine

    PaymentLine.objects.filter(scheme="price_subsidy", person=people[0]).update(
        amount_fen=0, flag="index_missing"
    )
    page = status_page(client, case)
    assert "金额待定" in page and "当月价格指数尚未公布" in page and "0.00 元" not in page


@pytest.mark.django_db(transaction=True)
def test_a_payroll_still_computing_is_not_shown(client, regions, make_user, approved):
    from doudi.payments import services
    from doudi.payments.models import PayrollRun
    from doudi.policy.periods import Period

    case, household, people = approved
    users = payroll_users(make_user, regions)
    run = services.compute_run(services.freeze_run(month=Period.parse(MONTH), officer=users.admin))
    PayrollRun.objects.filter(pk=run.pk).update(status="running")
    assert 'data-testid="payments"' not in status_page(client, case)
    PayrollRun.objects.filter(pk=run.pk).update(status="computed")
    page = status_page(client, case)
    assert "待发放" in page and "审核后报送银行" in page


# --- the decision letter and the later changes ----------------------------------------------------------


@pytest.mark.django_db
def test_the_decision_letter_is_the_consoles_printable_notice(client, approved):
    case, household, people = approved
    page = status_page(client, case)
    seq = case.transitions.get(action="approve").seq
    url = reverse("portal:status_notice", args=[seq])
    assert f'href="{url}"' in page and 'data-testid="decision-letter"' in page
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and "最低生活保障审批决定书" in html
    assert "月低保金 338 元" in html and "2020-03" in html
    assert "第二十二条" in html and "行政复议" in html and "行政诉讼" in html
    assert "data-print" in html and "intake/intake.js" in html  # printable
    assert "portal-bar" in html and "console" not in html.split("<main")[0]  # the portal's frame
    assert reverse("portal:status_case") in html  # back to the status page, not to the console
    # The other notices of the case (受理通知书) are the citizen's too; a step without one is not.
    accept = case.transitions.get(action="accept").seq
    assert "受理通知书" in client.get(reverse("portal:status_notice", args=[accept])).content.decode()
    evaluate = case.transitions.get(action="evaluate").seq
    assert client.get(reverse("portal:status_notice", args=[evaluate])).status_code == 404
    assert client.get(reverse("portal:status_notice", args=[999])).status_code == 404


@pytest.mark.django_db
def test_notices_need_the_verified_session_of_that_case(client, regions, officers, approved):
    from benefits.support import file_dibao, make_household

    case, household, people = approved
    seq = case.transitions.get(action="approve").seq
    url = reverse("portal:status_notice", args=[seq])
    response = client.get(url)  # no verified session: to the status check, nothing shown
    assert response.status_code == 302 and response["Location"] == reverse("portal:status")
    # Verified for another case: this case's notices are not reachable through its sequence numbers.
    _other_household, other_people = make_household(regions.a_v, [("王五", 0)])
    other = file_dibao(officers, other_people[0])
    open_status(client, other)
    html = client.get(url).content.decode()
    assert "审批决定书" not in html and "张小明" not in html
    # Expired session: back to the check.
    session = client.session
    session[STATUS_SESSION_KEY] = {"case": case.pk, "until": "2000-01-01T00:00:00+00:00"}
    session.save()
    assert client.get(url).status_code == 302


@pytest.mark.django_db
def test_each_later_change_with_its_notice(client, officers, approved, frozen_today):

    case, household, people = approved
    enrolment = Enrolment.objects.get(decision_case=case)
    change = change_amount(enrolment, officers, 420, "家庭成员失业")
    page = status_page(client, case)
    url = reverse("portal:status_change_notice", args=[change.pk])
    assert "338 元 → 420 元" in page and f'href="{url}"' in page
    html = client.get(url).content.decode()
    assert "增发救助金通知书" in html and "由 338 元调整为 420 元" in html and "家庭成员失业" in html
    assert "行政复议" in html and "portal-bar" in html
    # The enrolment's own "enrolled" entry is the decision letter, not a change notice.
    enrolled = enrolment.changes.get(kind="enrolled")
    assert client.get(reverse("portal:status_change_notice", args=[enrolled.pk])).status_code == 404


@pytest.mark.django_db
def test_another_households_change_is_not_reachable(client, regions, officers, approved):
    from benefits.support import file_dibao, make_household
    from payments.world import enrol

    case, household, people = approved
    other_household, other_people = make_household(regions.a_v, [("王五", 0)])
    other_case = file_dibao(officers, other_people[0])
    other_enrolment = enrol(other_household, "dibao", 500)
    Enrolment.objects.filter(pk=other_enrolment.pk).update(decision_case=other_case)
    change = change_amount(other_enrolment, officers, 600, "x")
    open_status(client, case)
    assert client.get(reverse("portal:status_change_notice", args=[change.pk])).status_code == 404
    assert "600" not in status_page(client, case)


@pytest.mark.django_db
def test_the_page_in_elder_mode(client, approved):
    case, household, people = approved
    client.cookies["doudi_elder"] = "1"
    page = status_page(client, case)
    assert "portal/elder.css" in page and 'class="portal elder"' in page
    html = client.get(
        reverse("portal:status_notice", args=[case.transitions.get(action="approve").seq])
    ).content.decode()
    assert "portal/elder.css" in html


# --- SMS: accepted, decided, changed (each once) --------------------------------------------------------


@pytest.mark.django_db
def test_accepted_and_decided_are_texted_once(
    regions,
    officers,
    frozen_today,
    django_capture_on_commit_callbacks,
):
    from doudi.intake.models import Case, CaseTransition
    from doudi.intake.signals import case_transitioned
    from portal.payflow import household_with_account

    household, people = household_with_account(regions, [("张小明", 0), ("李红", 0), ("张乐", 0)], ACCOUNT)
    with django_capture_on_commit_callbacks(execute=True):
        case = awaiting_approval(officers, people, frozen_today)
    accepted = OutboxMessage.objects.get(purpose="accepted")
    assert accepted.phone == people[0].phone and accepted.case_id == case.pk
    assert case.tracking_number in accepted.text and "已受理" in accepted.text
    assert not OutboxMessage.objects.filter(purpose="decided").exists()  # not decided yet
    frozen_today(D(2020, 3, 9))
    with django_capture_on_commit_callbacks(execute=True):
        case = act(case, "approve", officers.a_approver, "同意")
    decided = OutboxMessage.objects.get(purpose="decided")
    assert "已批准" in decided.text and "自 2020-03 起每月 338 元" in decided.text
    assert "行政复议" in decided.text and case.tracking_number in decided.text
    # The approval's own enrolment entry sends nothing more; the same transition announced twice: once.
    transition = CaseTransition.objects.get(case=case, action="approve")
    with django_capture_on_commit_callbacks(execute=True):
        case_transitioned.send(sender=Case, case=case, transition=transition, by=officers.a_approver)
    assert OutboxMessage.objects.filter(purpose__in=["accepted", "decided"]).count() == 2
    assert OutboxMessage.objects.filter(purpose="changed").count() == 0


@pytest.mark.django_db
def test_a_refusal_is_texted(regions, officers, django_capture_on_commit_callbacks):
    from benefits.support import file_dibao, make_household

    _household, people = make_household(regions.a_v, [("王五", 0)])
    case = file_dibao(officers, people[0])
    with django_capture_on_commit_callbacks(execute=True):
        act(case, "reject", officers.a_township, "不属于本辖区")
    message = OutboxMessage.objects.get(purpose="decided")
    assert "不予受理" in message.text and "行政复议" in message.text


@pytest.mark.django_db
def test_a_rolled_back_step_texts_nobody(regions, officers, django_capture_on_commit_callbacks):
    from django.db import transaction

    from benefits.support import file_dibao, make_household

    _household, people = make_household(regions.a_v, [("王五", 0)])
    case = file_dibao(officers, people[0])
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                act(case, "accept", officers.a_township)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert not OutboxMessage.objects.exists() and not Notification.objects.exists()


@pytest.mark.django_db
def test_an_enrolment_change_is_texted_once(approved, officers, django_capture_on_commit_callbacks):
    from doudi.benefits.models import EnrolmentChange
    from doudi.benefits.signals import enrolment_changed

    case, household, people = approved
    enrolment = Enrolment.objects.get(decision_case=case)
    with django_capture_on_commit_callbacks(execute=True):
        change = change_amount(enrolment, officers, 420, "失业")
    enrolment_changed.send(sender=EnrolmentChange, change=change)  # announced again
    sms = OutboxMessage.objects.filter(purpose="changed")
    assert sms.count() == 1 and "调整为每月 420 元（原 338 元）" in sms.get().text
    assert case.tracking_number in sms.get().text


@pytest.mark.django_db
def test_no_phone_no_message_and_no_key_spent(regions, officers, django_capture_on_commit_callbacks):
    from benefits.support import file_dibao, make_household
    from doudi.registry.models import Person

    _household, people = make_household(regions.a_v, [("王五", 0)])
    Person.objects.filter(pk=people[0].pk).update(phone="")
    case = file_dibao(officers, Person.objects.get(pk=people[0].pk))
    with django_capture_on_commit_callbacks(execute=True):
        act(case, "accept", officers.a_township)
    assert not OutboxMessage.objects.exists() and not Notification.objects.exists()


@pytest.mark.django_db
def test_a_backend_failure_is_recorded_unsent(
    regions,
    officers,
    settings,
    django_capture_on_commit_callbacks,
):
    from benefits.support import file_dibao, make_household

    settings.DOUDI_SMS_BACKEND = "gateway"  # not configured: refuses
    settings.DOUDI_SMS_GATEWAY_URL = ""
    _household, people = make_household(regions.a_v, [("王五", 0)])
    case = file_dibao(officers, people[0])
    with django_capture_on_commit_callbacks(execute=True):
        act(case, "accept", officers.a_township)
    notification = Notification.objects.get()
    assert notification.purpose == "accepted" and not notification.sent


@pytest.mark.django_db(transaction=True)
def test_a_person_level_case_shows_that_persons_payments_not_the_other_members(client, settings):
    """特困 and an orphan in one household (the payroll tests' world): the 特困 person's case shows his
    特困 allowance and his own price subsidy — not the orphan's allowance nor the guardian's account."""
    from doudi.intake import services as intake
    from doudi.payments import services
    from doudi.payments.models import PaymentLine
    from doudi.policy.periods import Period
    from payments.world import build_world

    w = build_world()
    case = intake.open_case(
        by=None,
        case_type="tekun",
        channel="portal",
        region=w.tekun.region,
        summary="特困供养",
        applicant=w.tekun,
    )
    Enrolment.objects.filter(person=w.tekun, scheme="tekun").update(decision_case=case)
    run = services.compute_run(services.freeze_run(month=Period.parse(MONTH), officer=w.users.city_admin))
    orphan = PaymentLine.objects.get(run=run, scheme="children", beneficiary_id=w.orphan.pk)
    page = status_page(client, case)
    assert "特困人员基本生活费" in page and "710.00 元" in page
    assert page.count('data-testid="payment"') == PaymentLine.objects.filter(person=w.tekun).count()
    assert "儿童基本生活费" not in page and "1,200.00" not in page
    assert orphan.account_number[-4:] not in page and "孙监护" not in page and "孙娃" not in page


@pytest.mark.django_db(transaction=True)
def test_a_wrong_identity_gets_the_neutral_answer_and_no_payment(client, regions, make_user, approved):
    """After the household is paid: another member's ID number, a mistyped tracking number or a wrong code
    all get the same 404 "not found" and nothing of the household; the payment pages need the session."""
    import re

    from doudi.portal.models import VerificationCode

    case, household, people = approved
    pay(payroll_users(make_user, regions))
    client.post(
        reverse("portal:status"),
        {"op": "send", "tracking_number": case.tracking_number, "id_number": case.applicant_id_number},
    )
    code = re.search(r"验证码为 (\d{6})", OutboxMessage.objects.filter(purpose="status_code").first().text)[1]

    def verify(tracking, number, code_):
        return client.post(
            reverse("portal:status"),
            {"op": "verify", "tracking_number": tracking, "id_number": number, "code": code_},
        )

    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [
        verify(case.tracking_number, people[1].id_number, code),  # the spouse's own ID number
        verify(
            case.tracking_number[:-1] + str((int(case.tracking_number[-1]) + 1) % 10),
            case.applicant_id_number,
            code,
        ),
        verify(case.tracking_number, case.applicant_id_number, wrong),
    ]
    assert {r.status_code for r in answers} == {404}
    errors = {re.search(r'data-testid="status-error">([^<]*)<', r.content.decode())[1] for r in answers}
    assert len(errors) == 1 and "未找到匹配的申请" in errors.pop()
    for r in answers:
        assert "338.00" not in r.content.decode() and "6222" not in r.content.decode()
    assert client.get(reverse("portal:status_case")).status_code == 302  # no session: back to the check
    # The right three open the page with the payment.
    assert verify(case.tracking_number, case.applicant_id_number, code).status_code == 302
    assert "338.00 元" in client.get(reverse("portal:status_case")).content.decode()
    assert VerificationCode.objects.filter(used_at__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_a_temporary_assistance_case_shows_its_one_off_payment(client):
    from doudi.payments import bankfiles, services
    from doudi.payments.models import PaymentLine
    from doudi.policy.periods import Period
    from payments.test_oneoffs import approved_temporary
    from payments.world import build_world, sign_all

    w = build_world()
    case = approved_temporary(w, w.lower_head, 800)
    run = sign_all(w, services.compute_run(services.freeze_run(month=Period.parse(MONTH))))
    services.issue_bank_files(run=run, officer=w.users.finance)
    line = PaymentLine.objects.get(scheme="temporary", beneficiary_id=case.pk)
    bank_file = run.bank_files.get(bank__code=line.bank_code)
    services.import_return(
        bank_file=bank_file,
        content=bankfiles.return_template(return_rows(run, line.bank_code)),
        file_name="r.csv",
        officer=w.users.finance,
    )
    item = next(i for i in payment_items(status_page(client, case)) if "临时救助" in i)
    assert "800.00 元" in item and "已到账" in item and line.account_number not in item
