"""One-off payments in the payroll: an approved 临时救助 / 一事一议 is paid once, to the applicant's account,
in the next payroll, and its case closes when the bank says the money arrived; a 先行救助 given in cash
is recorded as paid and deducted from the case that formalises it; aid in goods never reaches a bank."""

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from doudi.core.errors import Conflict
from doudi.intake import flows
from doudi.intake import services as intake
from doudi.intake.models import Case
from doudi.intake.workflows import temporary
from doudi.intake.workflows.common import local_today
from doudi.payments import bankfiles, services
from doudi.payments.models import BankFile, PaymentLine
from doudi.policy.periods import Period
from payments.world import return_rows, sign_all

MARCH, APRIL = Period.parse("2020-03"), Period.parse("2020-04")


@pytest.fixture
def village_worker(world):
    from doudi.accounts.services import create_staff_user

    return create_staff_user(
        username="a_village", password="Doudi-test-2020", region=world.regions.a_v, roles=["village_worker"]
    )


def head(household):
    household.refresh_from_db()
    return household.head


def accepted(world, person, case_type, **kwargs):
    u = world.users
    case = intake.open_case(
        by=u.a_officer,
        case_type=case_type,
        channel="walk_in",
        region=person.region,
        summary="因疫情收入下降，申请救助",
        applicant=person,
        **kwargs,
    )
    return intake.perform_action(case=case, action="accept", by=u.a_officer)


def approved_temporary(world, person, amount, aid_form="cash"):
    case = accepted(world, person, "temporary", subtype="urgent")
    return intake.perform_action(
        case=case,
        action="approve",
        by=world.users.a_approver,
        reason="同意",
        data={"amount": amount, "aid_form": aid_form},
    )


def decided_case_by_case(world, person, amount):
    u = world.users
    case = accepted(world, person, "case_by_case")
    case = intake.perform_action(
        case=case, action="propose", by=u.a_officer, data={"amount": amount, "situation": "重病"}
    )
    return decide(world, case, amount, "万州民政〔2020〕12号纪要")


def decide(world, case, amount, minutes_ref):
    return intake.perform_action(
        case=case,
        action="decide",
        by=world.users.a_approver,
        reason="同意",
        data={
            "meeting_on": local_today().isoformat(),
            "minutes_ref": minutes_ref,
            "participants": "张局长\n李科长\n王主任",
            "amount": amount,
        },
    )


def cash_first_aid(world, worker, person, amount, aid_form="cash"):
    return temporary.record_first_aid(
        by=worker,
        region=person.region,
        summary="突发困难，先行救助",
        amount=amount,
        aid_form=aid_form,
        given_on=local_today(),
        applicant=person,
    )


def compute(month):
    return services.compute_run(services.freeze_run(month=month))


def answer(world, run, bank_code, fail=()):
    """The bank's return for one bank file of the run: every line paid but those in `fail`."""
    bank_file = BankFile.objects.get(run=run, bank__code=bank_code)
    rows = return_rows(run, bank_code, fail)
    imported = services.import_return(
        bank_file=bank_file,
        content=bankfiles.return_template(rows),
        file_name=f"{run}-{bank_code}.csv",
        officer=world.users.finance,
    )
    assert imported.status == "loaded", imported.problems
    return imported


def case_lines(case):
    return PaymentLine.objects.filter(scheme=case.case_type, beneficiary_id=case.pk)


def test_an_approved_case_is_paid_once_across_months_and_closes_on_the_return(world):
    from doudi.payments.models import PayeeAccount
    from payments.world import account, luhn

    u = world.users
    payee = world.lower_head
    case = approved_temporary(world, payee, 1500)
    # Cash the payroll pays: the manual 办结（已发放） is refused and not offered.
    with pytest.raises(Conflict) as refused:
        intake.perform_action(case=case, action="close", by=u.a_officer, reason="已发放")
    assert "银行回盘到账后本案自动办结" in str(refused.value)
    assert "close" not in [a.name for a in flows.available_actions(case, u.a_officer)]

    march = compute(MARCH)
    line = case_lines(case).get()
    assert (line.run_id, line.month, line.amount_fen, line.status, line.flag) == (
        march.pk,
        "2020-03",
        150_000,
        "pending",
        "",
    )
    assert (line.person_id, line.bank_code, line.change) == (payee.pk, "ICBC", "new")
    assert line.district == "500101" and line.region_id == payee.region_id
    assert case.tracking_number in line.explanation and "区县审批 1500 元" in line.explanation
    assert "a_approver" in line.explanation and "本次发放 1500 元" in line.explanation
    # The batch of the district counts it under its own scheme.
    summary = march.batches.get(district=world.regions.a).summary["temporary"]
    assert (summary["count"], summary["total_fen"], summary["new"]) == (1, 150_000, 1)

    # April's payroll does not pay it again, and last month's one-off is not "stopped".
    april = compute(APRIL)
    assert case_lines(case).count() == 1
    april_summary = april.batches.get(district=world.regions.a).summary
    assert "temporary" not in april_summary
    assert sum(s["stopped"] for s in april_summary.values()) == 0
    # A second line for the case, in any month, is refused by the database.
    duplicate = case_lines(case).get()
    duplicate.pk, duplicate.ref, duplicate.month = None, "X", "2020-05"
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()

    # The bank fails it: the case stays approved; the follow-up (补发) pays it once corrected.
    sign_all(world, march)
    services.issue_bank_files(run=march, officer=u.finance)
    line.refresh_from_db()
    assert line.status == "issued"
    answer(world, march, "ICBC", fail={line.pk})
    answer(world, march, "CQRCB")
    case.refresh_from_db()
    assert case.state == flows.APPROVED
    PayeeAccount.objects.filter(person=payee).update(status="superseded")
    corrected = account(payee, world.icbc, luhn("622202999999999999"))
    follow = services.compute_run(services.create_follow_up(month=MARCH))
    line.refresh_from_db()
    assert (line.issue_run_id, line.account_id, line.status) == (follow.pk, corrected.pk, "pending")
    sign_all(world, follow)
    services.issue_bank_files(run=follow, officer=u.finance2)
    answer(world, follow, "ICBC")
    line.refresh_from_db()
    case.refresh_from_db()
    assert line.status == "paid"
    assert case.state == flows.CLOSED and case.closed_at is not None
    closing = case.transitions.order_by("seq").last()
    assert (closing.action, closing.by, closing.data["payment_ref"]) == ("close", u.finance, line.ref)
    assert case_lines(case).count() == 1


def test_cash_first_aid_is_recorded_paid_never_in_a_bank_file_and_deducted_when_formalised(
    world, village_worker, settings
):
    u = world.users
    payee = head(world.h_same)
    aid = cash_first_aid(world, village_worker, payee, 800)
    march = compute(MARCH)
    recorded = case_lines(aid).get()
    assert (
        recorded.status,
        recorded.flag,
        recorded.amount_fen,
        recorded.bank_code,
        recorded.account_number,
    ) == (
        "paid",
        "cash_given",
        80_000,
        "",
        "",
    )
    assert "已现金发放 800 元" in recorded.explanation and "a_village 登记" in recorded.explanation
    sign_all(world, march)
    files = services.issue_bank_files(run=march, officer=u.finance)
    for f in files:
        content = (settings.DOUDI_DATA_DIR / f.path).read_bytes()
        assert recorded.ref.encode() not in content
    assert sum(f.total_fen for f in files) == march.total_fen - 80_000 - sum(
        PaymentLine.objects.filter(run=march, status="held").values_list("amount_fen", flat=True)
    )
    recorded.refresh_from_db()
    assert recorded.status == "paid" and recorded.attempts == 0

    # 补办审批: the temporary case approves 1500; April's payroll pays 1500 − 800 already given.
    aid = intake.perform_action(case=aid, action="formalise", by=village_worker)
    formal = Case.objects.get(related_case=aid)
    formal = intake.perform_action(case=formal, action="accept", by=u.a_officer)
    formal = intake.perform_action(
        case=formal, action="approve", by=u.a_approver, data={"amount": 1500, "aid_form": "cash"}
    )
    april = compute(APRIL)
    line = case_lines(formal).get()
    assert (line.run_id, line.amount_fen, line.status) == (april.pk, 70_000, "pending")
    assert f"扣除先行救助 {aid.tracking_number} 已发 800 元（现金），本次发放 700 元" in line.explanation
    assert case_lines(aid).count() == 1  # the first aid is never recorded (or paid) twice


def test_first_aid_escalated_to_case_by_case_is_deducted_there(world, village_worker):
    u = world.users
    payee = head(world.h_same)
    aid = cash_first_aid(world, village_worker, payee, 1000)
    aid = intake.perform_action(case=aid, action="formalise", by=village_worker)
    formal = intake.perform_action(case=Case.objects.get(related_case=aid), action="accept", by=u.a_officer)
    formal = intake.perform_action(
        case=formal, action="escalate", by=u.a_officer, reason="重大困难", data={"amount": 9000}
    )
    proposal = Case.objects.get(case_type="case_by_case", related_case=formal)
    decide(world, proposal, 8000, "纪要7号")
    compute(MARCH)
    line = case_lines(proposal).get()
    assert line.amount_fen == 700_000
    assert "区县集体研究决定 8000 元" in line.explanation and "纪要7号" in line.explanation
    assert "已发 1000 元" in line.explanation
    assert not case_lines(formal).exists()  # escalated: never paid itself


def test_aid_in_goods_makes_no_bank_line_and_is_closed_by_hand(world, village_worker):
    u = world.users
    payee = head(world.h_same)
    goods = approved_temporary(world, payee, 600, aid_form="goods")
    goods_aid = cash_first_aid(world, village_worker, payee, 300, aid_form="goods")
    # A cash approval wholly covered by the first aid leaves nothing to pay either.
    from doudi.registry.models import Person

    covered = cash_first_aid(world, village_worker, Person.objects.get(name="李四"), 500)
    covered = intake.perform_action(case=covered, action="formalise", by=village_worker)
    formal = intake.perform_action(
        case=Case.objects.get(related_case=covered), action="accept", by=u.a_officer
    )
    formal = intake.perform_action(
        case=formal, action="approve", by=u.a_approver, data={"amount": 500, "aid_form": "cash"}
    )
    run = compute(MARCH)
    assert not case_lines(goods).exists() and not case_lines(goods_aid).exists()
    assert not case_lines(formal).exists()
    assert case_lines(covered).get().status == "paid"  # the cash first aid itself is recorded
    assert not PaymentLine.objects.filter(run=run, scheme="temporary").exists()
    for case in (goods, formal):
        closed = intake.perform_action(case=case, action="close", by=u.a_officer, reason="已发放实物")
        assert closed.state == flows.CLOSED


def test_no_account_is_held_and_paid_by_a_follow_up(world):
    from payments.world import account, luhn

    u = world.users
    case = decided_case_by_case(world, world.noacct_head, 5000)
    run = compute(MARCH)
    line = case_lines(case).get()
    assert (line.status, line.flag, line.amount_fen, line.account_number) == (
        "held",
        "no_account",
        500_000,
        "",
    )
    assert "万州民政〔2020〕12号纪要" in line.explanation and "区县集体研究决定 5000 元" in line.explanation
    assert run.batches.get(district=world.regions.a).summary["case_by_case"]["held"] == 1
    sign_all(world, run)
    services.issue_bank_files(run=run, officer=u.finance)
    account(world.noacct_head, world.rcb, luhn("622202777777777777"))
    follow = services.compute_run(services.create_follow_up(month=MARCH))
    line.refresh_from_db()
    assert (line.issue_run_id, line.status, line.flag, line.bank_code) == (follow.pk, "pending", "", "CQRCB")
    case.refresh_from_db()
    assert case.state == flows.APPROVED  # not paid yet: still open


def test_snapshot_isolation_holds_for_one_offs(world):
    payee = world.lower_head
    case = approved_temporary(world, payee, 1500)
    run = services.freeze_run(month=MARCH)
    assert run.snapshot_rows["oneoffs"] == 1
    # Edited after freezing: the amount, and a new case approved — neither changes March.
    details = dict(case.details)
    details["decision"] = {**details["decision"], "amount": 2500}
    Case.objects.filter(pk=case.pk).update(details=details)
    late = approved_temporary(world, head(world.h_same), 900)
    run = services.compute_run(run)
    assert case_lines(case).get().amount_fen == 150_000
    assert not case_lines(late).exists()
    assert PaymentLine.objects.filter(run=run, scheme="temporary").count() == 1
    # The late case is paid by the next payroll.
    april = compute(APRIL)
    assert case_lines(late).get().run_id == april.pk


def test_a_case_in_two_frozen_payrolls_is_paid_by_the_first_computed_only(world):
    case = approved_temporary(world, world.lower_head, 1200)
    march = services.freeze_run(month=MARCH)
    april = services.freeze_run(month=APRIL)  # frozen before March is computed: it holds the case too
    assert april.snapshot_rows["oneoffs"] == 1
    april = services.compute_run(april)
    march = services.compute_run(march)
    assert (march.status, april.status) == ("computed", "computed")
    assert list(case_lines(case).values_list("run_id", flat=True)) == [april.pk]
    assert "temporary" not in march.batches.get(district=world.regions.a).summary
    # Computing March again (as after a crash) gives the same lines.
    assert services.compute_run(march).line_count == march.line_count


def test_the_command_and_the_review_page_show_them(world, client, capsys):
    case = approved_temporary(world, world.lower_head, 1500)
    bereavement = decided_case_by_case(world, world.noacct_head, 3000)
    call_command("payroll", "compute", "--month", "2020-03")
    call_command("payroll", "status", "--month", "2020-03")
    out = capsys.readouterr().out
    assert "temporary 临时救助: 1 lines  1,500.00 yuan  held 0" in out
    assert "case_by_case 一事一议救助: 1 lines  3,000.00 yuan  held 1" in out
    run = services.freeze_run(month=MARCH)
    client.force_login(world.users.a_officer)
    page = client.get(reverse("payments:payroll_run", args=[run.pk])).content.decode()
    assert "临时救助" in page and "一事一议救助" in page
    review = json.loads(page.split('id="payroll-data" type="application/json">')[1].split("</script>")[0])
    assert review["labels"] == ["万州区"]
    lines = client.get(
        reverse("payments:payroll_lines", args=[run.pk]), {"scheme": "temporary"}
    ).content.decode()
    line = case_lines(case).get()
    assert line.ref in lines and case.tracking_number in lines
    assert line.account_number not in lines
    assert case_lines(bereavement).get().ref not in lines


def test_the_case_page_shows_the_payment(world, client):
    case = approved_temporary(world, world.lower_head, 1500)
    compute(MARCH)
    client.force_login(world.users.a_officer)
    page = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    line = case_lines(case).get()
    assert 'data-testid="payout"' in page and line.ref in page and "待发放" in page


def test_an_applicant_outside_the_registry_or_any_household_is_closed_by_hand(world):
    from doudi.registry.models import Person
    from payments.world import id_number

    u = world.users
    outsider = intake.open_case(
        by=u.a_officer,
        case_type="temporary",
        subtype="urgent",
        channel="walk_in",
        region=world.regions.a_v,
        summary="外地务工人员",
        applicant_name="外地人",
    )
    outsider = intake.perform_action(case=outsider, action="accept", by=u.a_officer)
    lone = Person.objects.create(
        id_number=id_number(dt.date(1970, 1, 1)),
        name="独居者",
        birth_date=dt.date(1970, 1, 1),
        sex="M",
        region=world.regions.a_v,
    )
    cases = [
        intake.perform_action(case=outsider, action="approve", by=u.a_approver, data={"amount": 800}),
        approved_temporary(world, lone, 700),
    ]
    run = services.freeze_run(month=MARCH)
    assert run.snapshot_rows["oneoffs"] == 0
    services.compute_run(run)
    for case in cases:
        assert not case_lines(case).exists()
        closed = intake.perform_action(case=case, action="close", by=u.a_officer, reason="现金")
        assert closed.state == flows.CLOSED


def test_award_edges():
    from doudi.intake.workflows.payout import one_off_award

    assert one_off_award("temporary", "T1", {}) is None
    assert one_off_award("temporary", "T1", {"decision": {"amount": 0}}) is None
    declined = {"decision": {"amount": 0, "outcome": "declined"}}
    assert one_off_award("case_by_case", "C1", declined) is None
    big = one_off_award("case_by_case", "C1", {"decision": {"amount": 10**9, "outcome": "approved"}})
    assert big.pay == 10**9
    # First aid larger than the decision: nothing to pay, never a negative amount.
    over = one_off_award(
        "temporary", "T2", {"decision": {"amount": 300}, "first_aid": {"amount": 800, "case": "F1"}}
    )
    assert (over.deducted, over.pay) == (300, 0)
    assert one_off_award("first_aid", "F2", {"first_aid": {"amount": 500, "aid_form": "services"}}) is None
