"""Each supervision check finds its planted case on the demo population, and nothing else; running
the checks again files nothing new.

The demo (`doudi demo`) is loaded and its current month's payroll computed; then one case per check is
planted on distinct lines (a second household's 低保 to the same head, a line from another district, a
death in each of the three sources, …)."""

import datetime as dt
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from doudi.benefits.models import Enrolment, EnrolmentChange
from doudi.disclosure.models import Publication
from doudi.intake.models import CaseTransition, CovidEvent
from doudi.payments import services as payments
from doudi.payments.models import PaymentLine
from doudi.policy.periods import Period
from doudi.regions.models import Region
from doudi.registry.models import Household, Membership, Person
from doudi.supervision import services
from doudi.supervision.models import Check, Finding, FindingTransition


def _copy(line: PaymentLine, ref: str, account: str, **changes) -> PaymentLine:
    fields = {
        f.attname: getattr(line, f.attname) for f in PaymentLine._meta.concrete_fields if f.attname != "id"
    }
    fields |= {"ref": ref, "account_number": account, "flag": "", "computed_fen": line.amount_fen} | changes
    return PaymentLine.objects.create(**fields)


def _enrolment(line: PaymentLine) -> Enrolment:
    return Enrolment.objects.get(household_id=line.beneficiary_id, scheme="dibao")


def _deaths_extract(person: Person, died: dt.date) -> None:
    from doudi.verification.extracts import extract_path
    from doudi.verification.models import Extract

    day = timezone.localdate()
    path = extract_path(settings.DOUDI_DATA_DIR, "deaths", day)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table(
            {"id_number": [person.id_number], "name": [person.name], "died_on": [died], "authority": ["公安"]}
        ),
        path,
    )
    Extract.objects.create(
        source="deaths",
        extract_date=day,
        status="loaded",
        rows=1,
        sha256="0" * 64,
        file_name="deaths.csv",
        file_format="csv",
        loaded_at=timezone.now(),
    )


@pytest.mark.django_db(transaction=True)
def test_each_check_finds_its_planted_case_and_nothing_else():
    call_command("demo", households=300, stdout=io.StringIO())
    month = Period.parse(timezone.localdate().strftime("%Y-%m"))
    payments.compute_run(payments.freeze_run(month=month))
    m = str(month)
    from django_tasks_db.models import DBTaskResult

    assert (
        DBTaskResult.objects.filter(task_path__endswith="supervise_task").count() == 1
    )  # queued by the payroll
    first = dt.date.fromisoformat(m + "-01")

    # The demo as it is: nothing to find.
    clean = services.run_checks(m)
    assert Finding.objects.count() == 0, list(Finding.objects.values_list("key", flat=True))
    assert set(clean.results) == {
        "duplicates",
        "after_death",
        "tekun_dibao",
        "shared_account",
        "staff_relative",
        "amount_mismatch",
        "override_no_reason",
        "late_payment",
        "disclosure",
    }

    lines = list(PaymentLine.objects.filter(month=m, scheme="dibao").exclude(status="held").order_by("ref"))
    assert len(lines) >= 14
    serial = iter(range(1, 100))

    def fresh():
        n = next(serial)
        return f"99{n:018d}", f"6222990000000{n:06d}"

    expected: set[tuple[str, int]] = set()

    # 1. a second household's 低保 paid to the same head, same district
    ref, acct = fresh()
    twin = Household.objects.create(region_id=lines[0].region_id, area_type="urban")
    _copy(lines[0], ref, acct, beneficiary_id=twin.pk, household_id=twin.pk)
    expected.add((Check.PAID_TWICE, lines[0].person_id))
    # 2. a line from another district to the same person
    other = Region.objects.filter(level=4).exclude(path__startswith=lines[1].region.path[:14]).first()
    ref, acct = fresh()
    _copy(
        lines[1],
        ref,
        acct,
        scheme="covid",
        beneficiary_id=lines[1].person_id,
        region_id=other.code,
        district=other.code[:6],
    )
    expected.add((Check.TWO_DISTRICTS, lines[1].person_id))
    # 3. paid after death: the registry, a COVID death event, a deaths extract
    Person.objects.filter(pk=lines[2].person_id).update(covid_died_on=first - dt.timedelta(days=10))
    CovidEvent.objects.create(
        person_id=lines[3].person_id,
        kind="died",
        date=first - dt.timedelta(days=3),
        source="manual",
        recorded_at=timezone.now(),
    )
    _deaths_extract(lines[4].person, first - dt.timedelta(days=40))
    expected |= {(Check.PAID_AFTER_DEATH, lines[i].person_id) for i in (2, 3, 4)}
    # 4. 特困 paid to a member counted in the household's 低保 (no 特困 category)
    member = (
        Membership.objects.filter(household_id=lines[5].beneficiary_id, left_on__isnull=True).first().person
    )
    ref, acct = fresh()
    _copy(lines[5], ref, acct, scheme="tekun", beneficiary_id=member.pk, person_id=member.pk)
    expected.add((Check.TEKUN_AND_DIBAO, member.pk))
    # 5. one account for two unrelated households
    PaymentLine.objects.filter(pk=lines[7].pk).update(account_number=lines[6].account_number)
    expected.add((Check.SHARED_ACCOUNT, min(lines[6].person_id, lines[7].person_id)))
    # 6. the approver's declared relative
    approver = _enrolment(lines[8]).approved_by
    services.declare_relative(staff=approver, person=lines[8].person, relation="sibling")
    expected.add((Check.STAFF_RELATIVE, lines[8].person_id))
    # 7. an amount changed after the payroll computed it
    PaymentLine.objects.filter(pk=lines[9].pk).update(amount_fen=lines[9].amount_fen + 12_345)
    expected.add((Check.AMOUNT_MISMATCH, lines[9].person_id))
    # 8. an amount override whose reason is only invisible characters
    e = _enrolment(lines[10])
    EnrolmentChange.objects.create(
        enrolment=e,
        kind="amount",
        effective_month=first,
        at=timezone.now(),
        by_label="x",
        before={"monthly_amount": e.monthly_amount},
        after={"monthly_amount": e.monthly_amount + 50},
        reason=" \u200b\u3000",
    )
    expected.add((Check.OVERRIDE_NO_REASON, lines[10].person_id))
    # 9. decided three weeks after the time limit, first paid this month
    e = _enrolment(lines[11])
    Enrolment.objects.filter(pk=e.pk).update(from_month=first)
    decided = CaseTransition.objects.filter(case=e.decision_case, to_state="approved").get()
    with connection.cursor() as c:
        c.execute(
            f"UPDATE {CaseTransition._meta.db_table} SET at = %s WHERE id = %s",
            [decided.at + dt.timedelta(days=21), decided.pk],
        )
    expected.add((Check.LATE_PAYMENT, lines[11].person_id))
    # 10. decided without 公示; 11. 公示 of three days
    Publication.objects.filter(case=_enrolment(lines[12]).decision_case).delete()
    expected.add((Check.NO_DISCLOSURE, lines[12].person_id))
    p = Publication.objects.filter(case=_enrolment(lines[13]).decision_case).get()
    Publication.objects.filter(pk=p.pk).update(end_date=p.start_date + dt.timedelta(days=2))
    expected.add((Check.SHORT_DISCLOSURE, lines[13].person_id))

    run = services.run_checks(m)
    found = set(Finding.objects.values_list("check_code", "person_id"))
    assert found == expected
    assert {c for c, _ in found} == set(Check.values)  # every check has its planted case
    assert sum(r["new"] for r in run.results.values()) == len(expected)
    # Evidence names what was seen.
    death = Finding.objects.get(check_code=Check.PAID_AFTER_DEATH, person_id=lines[4].person_id)
    assert death.evidence["deaths"] == [
        {"source": "deaths_extract", "died_on": str(first - dt.timedelta(days=40))}
    ]
    assert Finding.objects.get(check_code=Check.AMOUNT_MISMATCH).amount_fen == 12_345
    shared = Finding.objects.get(check_code=Check.SHARED_ACCOUNT)
    assert "****" in shared.evidence["account"] and lines[6].account_number not in str(shared.evidence)
    late = Finding.objects.get(check_code=Check.LATE_PAYMENT)
    assert late.evidence["days_late"] > 0 and late.case_id == _enrolment(lines[11]).decision_case_id

    # Run again: nothing new, nothing doubled, each finding keeps its one 'found' entry.
    again = services.run_checks(m)
    assert sum(r["new"] for r in again.results.values()) == 0
    assert sum(r["found"] for r in again.results.values()) == len(expected)
    assert Finding.objects.count() == len(expected)
    assert FindingTransition.objects.count() == len(expected)
    assert set(Finding.objects.values_list("last_run", flat=True)) == {again.pk}
