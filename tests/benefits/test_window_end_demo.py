"""疫情防控期结束 on the demo population (`doudi demo`): the preview's numbers are what the approval
applies and what the next payroll pays; deferred exits and reductions, an age-out, COVID assistance that
stops, a children's case whose deferred proofs fall due; every change with its printable notice."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from doudi.accounts.models import User
from doudi.benefits import services
from doudi.benefits.models import ChangeKind, Enrolment, EnrolmentStatus, WindowEndItem
from doudi.payments import services as payments
from doudi.payments.models import PaymentLine
from doudi.policy.periods import Period
from doudi.regions.models import EmergencyWindow
from doudi.registry.models import Household, Membership, Person, PersonCategory

D = dt.date
# The demo's case history is dated relative to today: the window ends on the last day of last month
# (L), so this month (M) is the first after it; the demo's enrolments began before L.
THIS = Period.parse(f"{timezone.localdate():%Y-%m}")
M, L, BEFORE_L = THIS, THIS.shift(-1), THIS.shift(-2)
END = L.last_day


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DOUDI_DATA_DIR = tmp_path / "data"


@pytest.fixture
def demo(transactional_db):
    call_command("demo", households=150, stdout=io.StringIO())
    return {u.username.removeprefix("demo_"): u for u in User.objects.filter(username__startswith="demo_")}


def _add_person(household, name, birth, **fields):
    from stdnum.cn import ric

    body = f"{household.region.code[:6]}{birth:%Y%m%d}{household.pk % 1000:03d}"
    person = Person.objects.create(
        id_number=body + ric.calc_check_digit(body + "0"),
        name=name,
        birth_date=birth,
        sex="F",
        region=household.region,
        **fields,
    )
    Membership.objects.create(household=household, person=person, relation="child", joined_on=D(2010, 1, 1))
    return person


def _pay(month):
    run = payments.compute_run(payments.freeze_run(month=Period.parse(month)))
    return list(PaymentLine.objects.filter(run=run))


def test_the_end_of_the_emergency_on_the_demo_population(demo, client):
    from doudi.intake import services as intake
    from doudi.intake.workflows import children
    from doudi.regions.services import end_window

    officer, approver = demo["district_officer"], demo["district_approver"]
    district = approver.region
    dibao = list(
        Enrolment.objects.filter(
            scheme="dibao", status="active", household__region__path__startswith=district.path
        ).order_by("pk")
    )
    assert len(dibao) >= 4, "the demo has dibao households in the logins' district"
    leaving, lower, covid_home = dibao[0], dibao[1], dibao[2]
    # No longer eligible (a wage far above the standard): an exit deferred while the window is open.
    Person.objects.filter(pk=leaving.household.head_id).update(income_wage_fen=1_000_000)
    # Enrolled above what the rules find: a reduction deferred while the window is open.
    services.change_amount(
        enrolment=lower,
        by=approver,
        amount=lower.monthly_amount + 100,
        effective_month=lower.from_month,
        reason="增发（一事一议）",
    )
    # An orphan who turned 18 in the window (the month before L): paid through the window's end, then stops.
    adult_on = BEFORE_L.first_day.replace(day=15)
    birth = adult_on.replace(year=adult_on.year - 18)
    orphan = _add_person(covid_home.household, "周满十八", birth, orphan_care="scattered")
    PersonCategory.objects.create(person=orphan, category="orphan", valid_from=birth)
    aged = Enrolment.objects.create(
        household=covid_home.household,
        person=orphan,
        scheme="children",
        from_month=BEFORE_L.shift(-6).first_day,
        monthly_amount=1200,
        approved_at=timezone.now(),
    )
    # COVID: confirmed on the 20th before L, discharged on the 5th of M (months paid: before L and L) …
    discharged = Person.objects.get(pk=covid_home.household.head_id)
    Person.objects.filter(pk=discharged.pk).update(
        covid_confirmed_on=BEFORE_L.first_day.replace(day=20), covid_discharged_on=M.first_day.replace(day=5)
    )
    # … and still in hospital, in the household that leaves dibao (no longer a covered recipient).
    Person.objects.filter(pk=leaving.household.head_id).update(covid_confirmed_on=L.first_day.replace(day=10))
    # A children's application under a commitment in the window, proofs still missing.
    village = covid_home.household.region
    child = _add_person(covid_home.household, "周承诺", D(2015, 3, 1))
    details = children.application_details(
        subtype="orphan", region=village, on=L.first_day.replace(day=10), uploaded=set(), commitment=True
    )
    case = intake.open_case(
        by=officer,
        case_type="children",
        subtype="orphan",
        channel="walk_in",
        region=village,
        summary="父母双亡，申请孤儿基本生活保障",
        applicant=child,
        details=details,
    )
    from doudi.intake.models import Case

    filed = dt.datetime.combine(L.first_day.replace(day=10), dt.time(10))
    Case.objects.filter(pk=case.pk).update(filed_at=timezone.make_aware(filed))

    # While the window is open: refused.
    with pytest.raises(services.ValidationError):
        services.prepare_window_end(region=district, by=officer)
    window = EmergencyWindow.objects.get(scope="city")
    end_window(window, END, demo["municipal_admin"], "市应急指挥部宣布结束")

    review = services.compute_window_end(services.prepare_window_end(region=district, by=officer))
    assert review.status == "ready" and review.month == M.first_day
    found = {
        (i.kind, i.enrolment_id or i.person_id or i.case_id): i
        for i in WindowEndItem.objects.filter(review=review)
    }
    exit_ = found[("exit", leaving.pk)]
    assert (exit_.before_amount, exit_.after_amount) == (leaving.monthly_amount, 0)
    reduce = found[("reduce", lower.pk)]
    assert (
        reduce.before_amount == lower.monthly_amount + 100 and 0 < reduce.after_amount < reduce.before_amount
    )
    age_out = found[("age_out", aged.pk)]
    assert (age_out.before_amount, age_out.after_amount) == (1200, 0)
    assert f"周满十八已于 {adult_on.isoformat()} 年满18周岁" in age_out.reason
    assert (
        found[("covid_stop", discharged.pk)].detail["discharged_on"] == M.first_day.replace(day=5).isoformat()
    )
    assert ("covid_stop", leaving.household.head_id) in found
    documents = found[("documents", child.pk)]
    assert documents.case_id == case.pk and documents.detail["items"]
    # Every enrolment item's household is in the district; the exits stop in M.
    assert {i.district for i in found.values()} == {district.code}

    # The page shows the whole effect before approval; the export lists it.
    client.force_login(approver)
    page = client.get(reverse("benefits:window_end", args=[review.pk]))
    assert page.status_code == 200
    assert (
        "疫情防控期结束后首月" in page.content.decode()
        and 'data-testid="approve-form"' in page.content.decode()
    )
    export = client.get(reverse("benefits:window_end_export", args=[review.pk]) + "?kind=exit")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxml")
    client.force_login(officer)  # the preparer: no approval button, and refused if tried
    assert (
        'data-testid="approve-form"'
        not in client.get(reverse("benefits:window_end", args=[review.pk])).content.decode()
    )
    with pytest.raises(services.PermissionDenied):
        services.approve_window_end(review=review, by=officer)

    approval = services.approve_window_end(review=review, by=approver)
    counts = services.apply_window_end(approval)
    assert counts == {"applied": WindowEndItem.objects.filter(review=review).count()}
    with pytest.raises(services.Conflict):
        services.approve_window_end(review=review, by=approver)

    # Applied through the benefits services, each in the ledger with the generated reason.
    leaving.refresh_from_db()
    assert (leaving.status, leaving.end_month) == (EnrolmentStatus.ENDED, L.first_day)
    assert leaving.changes.get(kind=ChangeKind.ENDED).reason == exit_.reason
    lower.refresh_from_db()
    assert lower.monthly_amount == reduce.after_amount
    change = lower.changes.filter(kind=ChangeKind.AMOUNT).latest("at", "pk")
    assert change.effective_month == M.first_day and change.after["window_end_review"] == review.pk
    aged.refresh_from_db()
    assert (aged.status, aged.end_month) == (EnrolmentStatus.ENDED, L.first_day)

    # Notices: the enrolment's change notice, the COVID stop's and the proofs' own.
    client.force_login(approver)
    for item in WindowEndItem.objects.filter(review=review):
        notice = client.get(reverse("benefits:window_end_notice", args=[review.pk, item.pk]), follow=True)
        text = notice.content.decode()
        assert notice.status_code == 200 and item.reason[:20] in text, item.kind
        if item.kind != "documents":
            assert "行政复议" in text and "行政诉讼" in text

    # The next payroll pays exactly what the preview said, with no deferred flag left in the district.
    december = [x for x in _pay(str(M)) if x.district == district.code]
    totals = review.summary["totals"]
    for scheme, t in totals.items():
        lines = [x for x in december if x.scheme == scheme]
        assert t["after_fen"] == sum(x.amount_fen for x in lines), scheme
        assert t["after_households"] == len({x.household_id for x in lines}), scheme
    assert not [x for x in december if x.flag in ("reduce", "exit", "deferred_hold", "deferred_exit")]
    assert not [x for x in december if x.scheme == "covid" and x.person_id == discharged.pk]
    # The window's last month still pays the old amounts (the reduction counts from December).
    november = [x for x in _pay(str(L)) if x.district == district.code]
    for scheme, t in totals.items():
        assert t["before_fen"] == sum(x.amount_fen for x in november if x.scheme == scheme), scheme
    assert Household.objects.get(pk=leaving.household_id).dibao_enrolled is False
