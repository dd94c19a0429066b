"""补发差额 (arrears): a standard raised for months already paid is topped up exactly, once, and explained;
a lower amount is listed, never clawed back; the arrears run goes through the tiers and the bank."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from doudi.core.errors import Conflict
from doudi.payments import bankfiles, services
from doudi.payments.models import ArrearsReduction, LineStatus, PaymentLine, PayrollRun
from doudi.policy.periods import Period

MAR, APR, JUN = Period.parse("2020-03"), Period.parse("2020-04"), Period.parse("2020-06")


def pay(*months):
    return [services.compute_run(services.freeze_run(month=m)) for m in months]


def set_value(world, name, value, since=dt.date(2020, 3, 1), region=None):
    from doudi.parameters.models import ParameterValue
    from doudi.parameters.services import add_parameter_value

    current = (
        ParameterValue.objects.filter(name=name, region=region or "", effective_from=since)
        .order_by("-revision")
        .first()
    )
    return add_parameter_value(
        user=world.users.city_admin,
        name=name,
        effective_from=since,
        value=value,
        region=region,
        reference="渝民发〔2020〕测试号",
        reason="追溯调整",
        supersedes=current.pk if current else None,
    )


def arrears(first=MAR, last=APR, month=JUN):
    run = services.create_arrears(first=first, last=last, month=month)
    return services.compute_run(run)


def paid(beneficiary, scheme, month):
    """Everything paid or issued for (beneficiary, scheme, month), in fen."""
    return sum(
        PaymentLine.objects.filter(beneficiary_id=beneficiary, scheme=scheme, month=str(month)).values_list(
            "amount_fen", flat=True
        )
    )


def top_ups(run):
    return {
        (line.month, line.scheme, line.beneficiary_id): line for line in PaymentLine.objects.filter(run=run)
    }


def test_a_raised_standard_is_topped_up_to_the_fen_for_each_month_and_explained(world):
    pay(MAR, APR)
    set_value(world, "dibao.standard.urban", 600)
    run = arrears()
    assert (run.kind, run.month, run.status, run.arrears_seq) == ("arrears", "2020-06", "computed", 1)
    got = top_ups(run)
    for m in ("2020-03", "2020-04"):
        # 3 persons, income 1300: 600 × 3 − 1300 = 500 against 338 paid → 162 more.
        same = got[(m, "dibao", world.h_same.pk)]
        assert (same.amount_fen, same.previous_fen, same.arrears_seq, same.status) == (
            16_200,
            33_800,
            1,
            "pending",
        )
        assert paid(world.h_same.pk, "dibao", m) == 50_000
        assert same.explanation.startswith(
            f"{m} 最低生活保障金：城市最低生活保障标准由 546 元调整为 600 元（自 2020-03-01 起）"
        )
        assert "已发 338 元，应发 500 元，补发 162 元" in same.explanation
        # 特困: 1.3 × 600 = 780 against 710.
        assert got[(m, "tekun", world.tekun.pk)].amount_fen == 7_000
        # Held at the enrolled 500 (rules found 338); now 500 exactly: nothing owed. Exit deferred: nothing.
        assert (m, "dibao", world.h_lower.pk) not in got
        assert (m, "dibao", world.h_exit.pk) not in got
        # The orphan's allowance does not depend on the standard.
        assert (m, "children", world.orphan.pk) not in got
        # No account: owed, but held until the payee has one.
        held = got[(m, "dibao", world.h_noacct.pk)]
        assert (held.amount_fen, held.status, held.flag) == (5_400, "held", "no_account")
    # Price subsidy 2020-03 (food 18.3 %, ×2): 600 × 0.183 × 2 = 219.6 → 220 against 200.
    assert got[("2020-03", "price_subsidy", world.tekun.pk)].amount_fen == 2_000
    # Refs: owed month, arrears number, position — digits, unique, 20 long.
    assert all(len(line.ref) == 20 and line.ref.isdigit() for line in got.values())
    assert run.line_count == len(got) and run.total_fen == sum(line.amount_fen for line in got.values())
    assert not ArrearsReduction.objects.filter(run=run).exists()


def test_nothing_changed_pays_nothing_and_a_second_raise_pays_only_the_remainder(world):
    pay(MAR, APR)
    set_value(world, "dibao.standard.urban", 600)
    first = arrears()
    again = arrears()
    assert (again.arrears_seq, again.line_count, again.total_fen) == (2, 0, 0)
    assert again.round == first.round + 1 and not again.batches.exists()
    set_value(world, "dibao.standard.urban", 650)
    third = arrears()
    got = top_ups(third)
    same = got[("2020-03", "dibao", world.h_same.pk)]
    # 650 × 3 − 1300 = 650: 500 already paid (338 + 162), 150 more.
    assert (same.amount_fen, same.previous_fen, same.arrears_seq) == (15_000, 50_000, 3)
    assert "城市最低生活保障标准由 600 元调整为 650 元" in same.explanation
    assert paid(world.h_same.pk, "dibao", "2020-03") == 65_000
    # The household held at 500 is now owed 650 − 500.
    assert got[("2020-03", "dibao", world.h_lower.pk)].amount_fen == 15_000
    assert paid(world.tekun.pk, "tekun", "2020-04") == 84_500  # 1.3 × 650


def test_a_lower_amount_is_listed_for_the_bureau_and_never_clawed_back(world):
    pay(MAR)
    # The food index for 2020-03 corrected down to 5 %: below its trigger, CPI 4.3 % applies instead:
    # 546 × 4.3 % × 2 = 46.956 → 47 against 200 paid.
    set_value(world, "price_index.food_yoy", Decimal("5.0"))
    run = arrears(MAR, MAR)
    assert not PaymentLine.objects.filter(run=run, scheme="price_subsidy").exists()
    reduced = ArrearsReduction.objects.get(run=run, scheme="price_subsidy", beneficiary_id=world.tekun.pk)
    assert (reduced.paid_fen, reduced.due_fen, reduced.month) == (20_000, 4_700, "2020-03")
    assert "食品价格同比涨幅由 18.3 %调整为 5 %" in reduced.explanation and "不追回" in reduced.explanation
    assert paid(world.tekun.pk, "price_subsidy", "2020-03") == 20_000
    # A lower standard: dibao never falls below the enrolled amount without a written decision (R1).
    # 500 × 3 − 1300 = 200 < 338 enrolled: still 338, as paid — nothing listed. The household without
    # an account was paid 446 (546 − 100, above its enrolled 436); now 400 → the enrolled 436: 10 listed.
    set_value(world, "dibao.standard.urban", 500)
    run = arrears(MAR, MAR)
    assert not PaymentLine.objects.filter(run=run).exists()
    listed = ArrearsReduction.objects.filter(run=run, scheme="dibao")
    assert [(r.beneficiary_id, r.paid_fen, r.due_fen) for r in listed] == [
        (world.h_noacct.pk, 44_600, 43_600)
    ]
    assert paid(world.h_noacct.pk, "dibao", "2020-03") == 44_600


def test_a_district_standard_set_late_pays_the_held_bereavement(world):
    from doudi.registry.models import Person

    died = dt.date(2020, 3, 5)
    Person.objects.filter(pk=world.h_same.head_id).update(
        covid_confirmed_on=dt.date(2020, 2, 20), covid_died_on=died
    )
    (run,) = pay(MAR)
    held = PaymentLine.objects.get(run=run, scheme="bereavement", beneficiary_id=world.h_same.pk)
    assert (held.status, held.flag, held.amount_fen) == ("held", "district_standard", 0)
    set_value(world, "covid.bereavement_assistance", 5000, since=dt.date(2020, 1, 1), region="500101")
    got = top_ups(arrears(MAR, MAR))
    line = got[("2020-03", "bereavement", world.h_same.pk)]
    assert line.amount_fen == 500_000
    assert "病亡人员家庭临时救助标准由 未设定调整为 5000 元" in line.explanation


def test_owed_months_must_be_paid_and_one_arrears_run_is_open_at_a_time(world):
    pay(MAR)
    with pytest.raises(Conflict, match="2020-04"):
        services.create_arrears(first=MAR, last=APR, month=JUN)
    with pytest.raises(ValidationError):
        services.create_arrears(first=APR, last=MAR, month=JUN)
    with pytest.raises(ValidationError):
        services.create_arrears(first=MAR, last=MAR.shift(36), month=JUN)
    with pytest.raises(ValidationError) as refused:  # paid before the month it pays for
        services.create_arrears(first=MAR, last=MAR, month=MAR.shift(-1))
    assert "month" in refused.value.message_dict
    with pytest.raises(PermissionDenied):
        services.create_arrears(first=MAR, last=MAR, officer=world.users.a_officer)
    frozen = services.create_arrears(first=MAR, last=MAR, month=JUN)
    assert services.create_arrears(first=MAR, last=MAR, month=JUN).pk == frozen.pk  # the same request twice
    with pytest.raises(Conflict):
        services.create_arrears(first=MAR, last=MAR.shift(1), month=JUN)
    with pytest.raises(IntegrityError), transaction.atomic():  # the database refuses a second open one
        PayrollRun.objects.create(month="2020-07", round=1, kind="arrears", arrears_seq=99)


def test_the_database_keeps_no_yuan_twice_for_arrears_lines(world):
    pay(MAR)
    set_value(world, "dibao.standard.urban", 600)
    run = arrears(MAR, MAR)
    line = PaymentLine.objects.filter(run=run).first()
    line.pk, line.ref = None, "1"
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()
    line.arrears_seq, line.amount_fen, line.ref = 7, 0, "2"
    with pytest.raises(IntegrityError), transaction.atomic():
        line.save()


def test_an_arrears_run_goes_through_the_tiers_the_bank_file_and_the_return(world, settings):
    u = world.users
    pay(MAR)
    set_value(world, "dibao.standard.urban", 600)
    run = arrears(MAR, MAR)
    batch = run.batches.get(district=world.regions.a)
    services.sign_batch(batch=batch, action="submit", officer=u.a_officer)
    with pytest.raises(PermissionDenied):
        services.sign_batch(batch=batch, action="approve", officer=u.a_officer)
    services.sign_batch(batch=batch, action="approve", officer=u.a_approver)
    with pytest.raises(Conflict):  # the other district is not confirmed yet
        services.sign_batch(batch=batch, action="confirm", officer=u.finance)
        services.issue_bank_files(run=run, officer=u.finance)
    other = run.batches.get(district=world.regions.b)
    services.sign_batch(batch=other, action="submit", officer=u.b_officer)
    services.sign_batch(batch=other, action="approve", officer=u.b_approver)
    services.sign_batch(batch=other, action="confirm", officer=u.finance)
    files = {f.bank.code: f for f in services.issue_bank_files(run=run, officer=u.finance)}
    icbc = files["ICBC"]
    text = (settings.DOUDI_DATA_DIR / icbc.path).read_bytes().decode("gb18030").splitlines()
    same = PaymentLine.objects.get(run=run, scheme="dibao", beneficiary_id=world.h_same.pk)
    assert f"{same.ref},{same.account_number},张三,162.00,最低生活保障金" in text
    assert icbc.file_name == f"ICBC_2020-06_r{run.round}.csv"
    issued = PaymentLine.objects.filter(issue_run=run, bank_code="ICBC")
    assert text[-1] == f"合计,{issued.count()},{bankfiles.yuan_text(sum(x.amount_fen for x in issued))}"
    rows = [
        {"ref": x.ref, "account_number": x.account_number, "amount_fen": x.amount_fen, "result": "paid"}
        for x in issued
    ]
    imported = services.import_return(
        bank_file=icbc, content=bankfiles.return_template(rows), file_name="r.csv", officer=u.finance
    )
    assert imported.status == "loaded" and imported.paid_count == len(rows)
    same.refresh_from_db()
    assert same.status == LineStatus.PAID
    # The month's own line is untouched by the arrears run.
    own = PaymentLine.objects.get(
        month="2020-03", arrears_seq=0, scheme="dibao", beneficiary_id=world.h_same.pk
    )
    assert own.amount_fen == 33_800


def test_the_console_computes_arrears_and_each_district_sees_its_months_before_submitting(
    world, client, settings
):
    from django.urls import reverse

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    pay(MAR)
    set_value(world, "dibao.standard.urban", 600)
    set_value(world, "price_index.food_yoy", Decimal("5.0"))
    client.force_login(world.users.a_officer)
    assert (
        client.post(reverse("payments:arrears_create"), {"from": "2020-03", "to": "2020-03"}).status_code
        == 403
    )
    client.force_login(world.users.city_admin)
    bad = client.post(reverse("payments:arrears_create"), {"from": "2020-3", "to": "2020-03"}, follow=True)
    assert "补发起始月份" in bad.content.decode() and not PayrollRun.objects.filter(kind="arrears").exists()
    unpaid = client.post(
        reverse("payments:arrears_create"), {"from": "2020-03", "to": "2020-04"}, follow=True
    )
    assert "2020-04" in unpaid.content.decode() and not PayrollRun.objects.filter(kind="arrears").exists()
    response = client.post(
        reverse("payments:arrears_create"), {"from": "2020-03", "to": "2020-03", "month": "2020-06"}
    )
    run = PayrollRun.objects.get(kind="arrears")
    assert response.status_code == 302 and response["Location"] == reverse(
        "payments:payroll_run", args=[run.pk]
    )
    run.refresh_from_db()
    assert run.status == "computed"
    assert "补发差额（2020-03 至 2020-03）" in client.get(reverse("payments:payroll_runs")).content.decode()
    client.force_login(world.users.a_officer)
    page = client.get(reverse("payments:payroll_run", args=[run.pk])).content.decode()
    review = page.split('data-testid="arrears-review"')[1].split("</table>")[0]
    assert "万州区" in review and "涪陵区" not in review and "2020-03" in review
    # 低保金 in A: 162 (the household of three) + 54 (the one without an account), on 338 + 446 paid.
    assert "216.00" in review and "784.00" in review
    assert "提交审批" in page  # the district officer submits from here
    lines = client.get(reverse("payments:payroll_lines", args=[run.pk])).content.decode()
    line = PaymentLine.objects.get(run=run, scheme="dibao", beneficiary_id=world.h_same.pk)
    assert line.ref in lines and "补发 162 元" in lines and line.account_number not in lines
    # The lower price subsidy of the 特困 person (district B) is listed for B only, never for A.
    reductions = client.get(reverse("payments:arrears_reductions", args=[run.pk])).content.decode()
    assert "孙老" not in reductions and "不追回" in reductions
    client.force_login(world.users.b_officer)
    reductions = client.get(reverse("payments:arrears_reductions", args=[run.pk])).content.decode()
    # 600 × 4.3 % × 2 = 51.6 → 52 due, 200 paid.
    assert "孙*" in reductions and "200.00" in reductions and "52.00" in reductions


def test_the_command_freezes_and_computes_with_progress(world):
    from io import StringIO

    from django.core.management import CommandError, call_command

    pay(MAR)
    set_value(world, "dibao.standard.urban", 600)
    out = StringIO()
    call_command(
        "payroll", "arrears", "--from", "2020-03", "--to", "2020-03", "--month", "2020-06", stdout=out
    )
    text = out.getvalue()
    run = PayrollRun.objects.get(kind="arrears")
    assert f"2020-03: {run.line_count} lines" in text and "0 lower amount(s) listed" in text
    with pytest.raises(CommandError, match="2020-05"):
        call_command("payroll", "arrears", "--from", "2020-05", "--to", "2020-05", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("payroll", "arrears", "--from", "2020-13", "--to", "2020-05", stdout=StringIO())


def test_the_monthly_report_counts_arrears_in_the_owed_months_amounts_not_as_recipients(world):
    from doudi.regions.models import Region
    from doudi.reports.selectors import monthly_report

    def figures():
        rep = monthly_report(Region.objects.get(code="500000"), MAR)
        a = next(r for r in rep.rows if r.code == "500101")
        cells = (a.cells["dibao_urban"], a.cells["price_subsidy"])
        return [(c.households, c.persons, c.new, c.due_fen) for c in cells]

    pay(MAR)
    before = figures()
    set_value(world, "dibao.standard.urban", 600)
    run = arrears(MAR, MAR)
    top = {
        scheme: sum(
            PaymentLine.objects.filter(run=run, scheme=scheme, district="500101").values_list(
                "amount_fen", flat=True
            )
        )
        for scheme in ("dibao", "price_subsidy")
    }
    assert top["dibao"] == 16_200 + 5_400 and top["price_subsidy"] > 0
    after = figures()
    assert [f[:3] for f in after] == [f[:3] for f in before]
    assert [f[3] for f in after] == [before[0][3] + top["dibao"], before[1][3] + top["price_subsidy"]]


def test_the_citizen_sees_the_top_up_as_arrears_of_its_month(world):
    from doudi.benefits.models import Enrolment
    from doudi.intake import services as intake
    from doudi.portal.selectors import citizen_payments

    case = intake.open_case(
        by=None,
        case_type="tekun",
        channel="portal",
        region=world.tekun.region,
        summary="特困供养",
        applicant=world.tekun,
    )
    Enrolment.objects.filter(person=world.tekun, scheme="tekun").update(decision_case=case)
    pay(MAR)
    set_value(world, "dibao.standard.urban", 600)
    arrears(MAR, MAR)
    shown = {(p.month, p.scheme, p.amount_fen) for p in citizen_payments(case)}
    assert ("2020-03", "特困人员基本生活费", 71_000) in shown
    assert ("2020-03", "特困人员基本生活费（补发差额）", 7_000) in shown


def test_an_arrears_run_interrupted_after_its_lines_gives_the_same_lines_when_computed_again(
    world, monkeypatch
):
    pay(MAR, APR)
    set_value(world, "dibao.standard.urban", 600)
    set_value(world, "price_index.food_yoy", Decimal("5.0"))
    run = services.create_arrears(first=MAR, last=APR, month=JUN)
    finish = services._finish

    def crash(*args, **kwargs):
        raise RuntimeError("killed between the lines and the batches")

    monkeypatch.setattr(services, "_finish", crash)
    with pytest.raises(RuntimeError):
        services.compute_run(run)
    run.refresh_from_db()
    assert run.status == "failed" and not run.batches.exists()

    def snapshot():
        lines = PaymentLine.objects.filter(run=run).order_by("ref")
        reductions = ArrearsReduction.objects.filter(run=run).order_by("month", "scheme", "beneficiary_id")
        return (
            list(lines.values_list("ref", "month", "scheme", "beneficiary_id", "amount_fen", "explanation")),
            list(
                reductions.values_list(
                    "month", "scheme", "beneficiary_id", "paid_fen", "due_fen", "explanation"
                )
            ),
        )

    first = snapshot()
    assert first[0] and first[1]
    monkeypatch.setattr(services, "_finish", finish)
    run = services.compute_run(run)
    assert run.status == "computed" and snapshot() == first
    assert run.batches.count() == 2 and run.line_count == len(first[0])


# --- enrolment changes dated back to months already paid (追溯变更) ---------------------------------


def test_a_raise_dated_back_to_paid_months_is_topped_up_for_each_and_explained(world):
    from doudi.benefits import services as benefits

    pay(MAR, APR)
    # A change report filed in March, decided after April was paid: 400 a month from March.
    benefits.change_amount(
        enrolment=world.e_same,
        by=world.users.a_approver,
        amount=400,
        effective_month=dt.date(2020, 3, 1),
        reason="家庭情况变化报告：收入减少",
    )
    run = arrears()
    got = top_ups(run)
    for m in ("2020-03", "2020-04"):
        line = got[(m, "dibao", world.h_same.pk)]
        assert (line.amount_fen, line.previous_fen) == (6_200, 33_800)
        assert paid(world.h_same.pk, "dibao", m) == 40_000
        assert line.explanation.startswith(f"{m} 最低生活保障金：月救助金由 338 元调整为 400 元")
        assert "已发 338 元，应发 400 元，补发 62 元" in line.explanation
    # Nobody else's enrolment changed and no parameter did: nothing else owed.
    assert {key[2] for key in got} == {world.h_same.pk}
    # Paid once: the next arrears run owes nothing more.
    assert arrears().line_count == 0


def test_a_raise_from_a_later_month_leaves_the_earlier_months_alone(world):
    from doudi.benefits import services as benefits

    pay(MAR, APR)
    benefits.change_amount(
        enrolment=world.e_same,
        by=world.users.a_approver,
        amount=400,
        effective_month=dt.date(2020, 4, 1),
        reason="收入减少",
    )
    got = top_ups(arrears())
    assert set(got) == {("2020-04", "dibao", world.h_same.pk)}


def test_an_enrolment_decided_late_for_paid_months_pays_them_in_full(world):
    from payments.world import account, enrol, household, luhn

    pay(MAR, APR)
    # Decided after April was paid, in force from March: not in either month's frozen payroll.
    h, people = household(world.regions.a_v, [{"name": "周九", "wage": 20_000}])
    enrol(h, "dibao", 300, from_month=dt.date(2020, 3, 1))
    account(people[0], world.icbc, luhn("622202999999999999"))
    got = top_ups(arrears())
    for m in ("2020-03", "2020-04"):
        line = got[(m, "dibao", h.pk)]
        assert line.previous_fen == 0 and line.change == "new"
        assert line.amount_fen == paid(h.pk, "dibao", m) and line.amount_fen >= 30_000
        assert "追溯纳入保障" in line.explanation
    # A month before the enrolment's first owes nothing: March and April only.
    assert {key[0] for key in got if key[2] == h.pk} == {"2020-03", "2020-04"}


def test_the_payroll_page_lists_months_with_backdated_changes_until_an_arrears_run_covers_them(world, client):
    from doudi.benefits import services as benefits
    from doudi.payments import selectors

    pay(MAR, APR)
    assert selectors.backdated_changes() == []
    benefits.change_amount(
        enrolment=world.e_same,
        by=world.users.a_approver,
        amount=400,
        effective_month=dt.date(2020, 4, 1),
        reason="收入减少",
    )
    # Effective from April: April owes it, March does not.
    assert selectors.backdated_changes() == [{"month": "2020-04", "count": 1}]
    client.force_login(world.users.city_admin)
    page = client.get("/console/payments/payroll/").content.decode()
    assert "2020-04（1 笔）" in page
    arrears(first=APR, last=APR)
    assert selectors.backdated_changes() == []
