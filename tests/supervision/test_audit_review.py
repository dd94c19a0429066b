"""审计日志查阅 (issue 12 part 3): search, who read a person, unusual access with its rule, the chain
verified from the page, the Excel export, region scope and who may use the pages at all."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from stdnum.cn import ric

from doudi.accounts.roles import Role
from doudi.audit import services as audit_services
from doudi.audit.guards import install_guard, remove_guard
from doudi.audit.models import AuditAction, AuditEntry
from doudi.audit.services import record, record_read
from doudi.intake.models import Case
from doudi.registry.models import Person
from doudi.supervision import audit_review as review

REVIEWERS = {Role.AUDITOR, Role.MUNICIPAL_SUPERVISOR, Role.DISTRICT_SUPERVISOR}


def id_number(n: int, region: str = "500101") -> str:
    body = f"{region}19800101{n:03d}"
    return body + ric.calc_check_digit(body)


def make_person(n: int, village, name: str = "张三丰") -> Person:
    prefix = village.code[:6]
    return Person.objects.create(
        id_number=id_number(n, prefix),
        name=name,
        birth_date=datetime.date(1980, 1, 1),
        sex="M",
        region=village,
    )


def make_case(n: int, person: Person, officer) -> Case:
    return Case.objects.create(
        tracking_number=f"T{n:05d}",
        case_type="dibao",
        channel="walk_in",
        state="accepted",
        region=person.region,
        assigned_to=officer,
        applicant=person,
        summary="申请低保",
        filed_at=timezone.now(),
    )


def at_local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def frozen(monkeypatch):
    """Set the clock the audit log stamps entries with."""

    def freeze(moment: datetime.datetime) -> None:
        monkeypatch.setattr(audit_services.timezone, "now", lambda: moment)

    return freeze


@pytest.fixture
def people(regions):
    return [make_person(i, regions.a_v) for i in range(1, 41)]


@pytest.fixture
def staff(regions, make_user):
    return type(
        "Staff",
        (),
        dict(
            auditor=make_user("auditor", regions.city, "auditor"),
            supervisor=make_user("supervisor", regions.city, "municipal_supervisor"),
            sup_a=make_user("sup_a", regions.a, "district_supervisor"),
            sup_b=make_user("sup_b", regions.b, "district_supervisor"),
            snoop=make_user("snoop", regions.a, "district_officer"),
            worker=make_user("worker", regions.a, "district_officer"),
        ),
    )


DAY = datetime.date(2026, 11, 10)


# --- unusual access -------------------------------------------------------------------------------------------


def test_a_planted_snoop_is_found_and_the_case_worker_is_not(people, staff, frozen):
    frozen(at_local(DAY, 10))
    for p in people[:35]:
        make_case(p.pk, p, staff.worker)
    for p in people[:35]:
        record_read(actor=staff.snoop, obj=p)  # none of them his cases
        record_read(actor=staff.worker, obj=p)  # all of them hers
    found = review.unusual_access(staff.auditor, DAY, DAY)
    assert [(u.rule, u.actor_label, u.count, u.day) for u in found] == [
        (review.Rule.MANY_OUTSIDE, "snoop", 35, DAY)
    ]
    assert "30" in found[0].rule_text


def test_the_threshold_counts_distinct_records_outside_own_cases(people, staff, frozen):
    frozen(at_local(DAY, 10))
    for p in people[:29]:
        record_read(actor=staff.snoop, obj=p)
        record_read(actor=staff.snoop, obj=p)  # the same record twice is one record
    assert review.unusual_access(staff.auditor, DAY, DAY) == []
    record_read(actor=staff.snoop, obj=people[29])  # the 30th distinct record: flagged
    (u,) = review.unusual_access(staff.auditor, DAY, DAY)
    assert (u.rule, u.count) == (review.Rule.MANY_OUTSIDE, review.MANY_READS_PER_DAY)
    # His own case's person no longer counts as outside.
    make_case(1, people[0], staff.snoop)
    assert review.unusual_access(staff.auditor, DAY, DAY) == []
    # Another day's reads are another day.
    assert (
        review.unusual_access(
            staff.auditor, DAY + datetime.timedelta(days=1), DAY + datetime.timedelta(days=1)
        )
        == []
    )


@pytest.mark.parametrize(
    ("hour", "minute", "flagged"),
    [
        (21, 59, False),
        (22, 0, True),
        (23, 30, True),
        (0, 0, True),
        (5, 59, True),
        (6, 0, False),
        (12, 0, False),
    ],
)
def test_reads_at_night_are_flagged(people, staff, frozen, hour, minute, flagged):
    frozen(at_local(DAY, hour, minute))
    record_read(actor=staff.snoop, obj=people[0])
    found = review.unusual_access(staff.auditor, DAY, DAY)
    assert [(u.rule, u.actor_label, u.count) for u in found] == (
        [(review.Rule.NIGHT, "snoop", 1)] if flagged else []
    )


def _export(user, rows):
    record(
        actor=user,
        action=AuditAction.EXPORT,
        object_type="registry.person",
        object_id="persons.xlsx",
        region_path=user.region.path,
        after={"rows": rows},
    )


def test_bulk_and_frequent_exports_are_flagged(staff, frozen):
    frozen(at_local(DAY, 10))
    _export(staff.snoop, review.BULK_EXPORT_ROWS - 1)
    assert review.unusual_access(staff.auditor, DAY, DAY) == []
    _export(staff.snoop, review.BULK_EXPORT_ROWS)
    (bulk,) = review.unusual_access(staff.auditor, DAY, DAY)
    assert (bulk.rule, bulk.count) == (review.Rule.BULK_EXPORT, review.BULK_EXPORT_ROWS)
    assert bulk.seq == AuditEntry.objects.filter(action="export").order_by("-seq").first().seq
    for _ in range(review.EXPORTS_PER_DAY - 2):
        _export(staff.worker, 1)
    _export(staff.worker, 1)
    _export(staff.worker, 1)
    assert {u.rule for u in review.unusual_access(staff.auditor, DAY, DAY)} == {review.Rule.BULK_EXPORT}
    _export(staff.worker, 1)  # the 11th in a day
    rules = {(u.rule, u.actor_label) for u in review.unusual_access(staff.auditor, DAY, DAY)}
    assert rules == {(review.Rule.BULK_EXPORT, "snoop"), (review.Rule.FREQUENT_EXPORT, "worker")}


def test_unusual_page_lists_the_planted_access_with_its_rule(client, people, staff, frozen):
    frozen(at_local(DAY, 23, 10))
    record_read(actor=staff.snoop, obj=people[0])
    client.force_login(staff.auditor)
    page = client.get(reverse("supervision:audit_unusual"), {"date_from": DAY, "date_to": DAY})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-rule="night"' in text and "snoop" in text and "夜间" in text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-11-10", "date_to": "2026-11-09"}, "date_to"),
        ({"date_from": "2026-01-01", "date_to": "2026-11-09"}, "date_from"),
        ({"date_from": "not a day"}, "date_from"),
    ],
)
def test_unusual_page_refuses_bad_ranges(client, staff, params, field):
    client.force_login(staff.auditor)
    page = client.get(reverse("supervision:audit_unusual"), params)
    assert page.status_code == 400
    assert f'data-testid="error-{field}"' in page.content.decode()


# --- the search ---------------------------------------------------------------------------------------------------


def test_search_by_person_shows_their_entries_masked_and_is_itself_audited(client, people, staff, frozen):
    frozen(at_local(DAY, 10))
    target, other = people[0], people[1]
    record_read(actor=staff.snoop, obj=target)
    record_read(actor=staff.snoop, obj=other)
    client.force_login(staff.auditor)
    # A zero-width space and spaces pasted with the number are ignored.
    page = client.get(reverse("supervision:audit_search"), {"id_number": f" \u200b{target.id_number} "})
    assert page.status_code == 200
    rows = page.context["page"].entries
    assert [(e.actor_label, e.object_id) for e in rows] == [("snoop", str(target.pk))]
    table = page.content.decode().split('data-testid="audit-entries"')[1].split("</table>")[0]
    assert target.id_number not in table
    assert target.id_number[:6] + "********" + target.id_number[-4:] in table
    assert "张*丰" in table
    looked = AuditEntry.objects.order_by("-seq").first()
    assert (looked.actor_label, looked.action, looked.object_id) == ("auditor", "read", str(target.pk))


def test_search_by_user_action_and_dates(client, people, staff, frozen):
    frozen(at_local(DAY, 10))
    record_read(actor=staff.snoop, obj=people[0])
    frozen(at_local(DAY + datetime.timedelta(days=1), 10))
    record_read(actor=staff.snoop, obj=people[1])
    record(actor=staff.snoop, action=AuditAction.UPDATE, obj=people[1], after={"name": "x"})
    record_read(actor=staff.worker, obj=people[1])
    client.force_login(staff.auditor)

    def seqs(**params):
        page = client.get(reverse("supervision:audit_search"), params)
        assert page.status_code == 200, page.context["q"].errors
        return [
            (e.actor_label, e.action, e.at.astimezone(timezone.get_current_timezone()).date())
            for e in page.context["page"].entries
        ]

    nextday = DAY + datetime.timedelta(days=1)
    assert seqs(username="snoop", action="read") == [("snoop", "read", nextday), ("snoop", "read", DAY)]
    assert seqs(username="snoop", date_from=DAY, date_to=DAY) == [("snoop", "read", DAY)]
    assert seqs(username="snoop", date_from=nextday) == [
        ("snoop", "update", nextday),
        ("snoop", "read", nextday),
    ]
    assert seqs(action="update") == [("snoop", "update", nextday)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"id_number": "12345"}, "id_number"),
        ({"id_number": id_number(999, "500101")}, "id_number"),  # nobody has it
        ({"username": "nobody"}, "username"),
        ({"action": "drop table"}, "action"),
        ({"date_from": "2026-13-01"}, "date_from"),
        ({"date_from": "2026-11-10", "date_to": "2026-11-01"}, "date_to"),
        ({"seq": "-1"}, "seq"),
        ({"seq": "9" * 40}, "seq"),
    ],
)
def test_search_refuses_bad_input_with_the_field_named(client, staff, params, field):
    client.force_login(staff.auditor)
    page = client.get(reverse("supervision:audit_search"), params)
    assert page.status_code == 400
    assert field in page.context["q"].errors
    assert page.context["page"] is None


def test_an_empty_search_asks_for_a_condition(client, staff):
    client.force_login(staff.auditor)
    page = client.get(reverse("supervision:audit_search"))
    assert page.status_code == 200 and page.context["page"] is None
    assert "请至少填写一个查询条件" in page.content.decode()


def test_keyset_pages_walk_the_log_without_counting_it(
    client, people, staff, frozen, django_assert_max_num_queries
):
    frozen(at_local(DAY, 10))
    for i in range(120):
        record_read(actor=staff.snoop, obj=people[i % 40])
    client.force_login(staff.auditor)
    url = reverse("supervision:audit_search")
    first = client.get(url, {"username": "snoop"}).context["page"]
    assert len(first.entries) == 50 and first.newer is None and first.older is not None
    seen = [e.seq for e in first.entries]
    second = client.get(url, {"username": "snoop", "before": first.older}).context["page"]
    third = client.get(url, {"username": "snoop", "before": second.older}).context["page"]
    assert len(second.entries) == 50 and len(third.entries) == 20 and third.older is None
    seen += [e.seq for e in second.entries + third.entries]
    assert seen == sorted(seen, reverse=True) and len(set(seen)) == 120
    back = client.get(url, {"username": "snoop", "after": third.newer}).context["page"]
    assert [e.seq for e in back.entries] == [e.seq for e in second.entries]
    # No COUNT over the log on any page.
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(conn) as ctx:
        client.get(url, {"username": "snoop", "before": first.older})
    assert not any(
        "COUNT(" in q["sql"].upper() for q in ctx.captured_queries if "audit_auditentry" in q["sql"]
    )


def test_a_junk_cursor_is_the_first_page(client, people, staff):
    record_read(actor=staff.snoop, obj=people[0])
    client.force_login(staff.auditor)
    page = client.get(reverse("supervision:audit_search"), {"username": "snoop", "before": "x'; --"})
    assert page.status_code == 200 and len(page.context["page"].entries) == 1


def test_who_read_this_person(client, people, staff, frozen):
    frozen(at_local(DAY, 10))
    target = people[0]
    make_case(1, target, staff.worker)
    for _ in range(3):
        record_read(actor=staff.snoop, obj=target)
    record_read(actor=staff.worker, obj=target)
    record_read(actor=staff.worker, obj=Case.objects.get())
    record_read(actor=staff.supervisor, obj=people[1])  # someone else's record
    client.force_login(staff.auditor)
    page = client.get(reverse("supervision:audit_readers"), {"id_number": target.id_number})
    assert page.status_code == 200
    rows = [(r.actor_label, r.reads, r.handles_case) for r in page.context["rows"]]
    assert rows == [("snoop", 3, False), ("worker", 2, True)]
    shown = re.sub(
        r"<[^>]+>", "", page.content.decode().split('data-testid="readers"')[1].split("</table>")[0]
    )
    assert target.id_number not in shown and "张*丰" not in shown and "snoop" in shown


# --- the chain, from the page -------------------------------------------------------------------------------------


def test_the_chain_check_from_the_page_reports_intact(client, people, staff):
    record_read(actor=staff.snoop, obj=people[0])
    client.force_login(staff.auditor)
    assert client.get(reverse("supervision:audit_verify")).status_code == 200
    page = client.post(reverse("supervision:audit_verify"))
    assert page.status_code == 200
    assert 'data-testid="chain-ok"' in page.content.decode()
    verified = AuditEntry.objects.order_by("-seq").first()
    assert (verified.object_type, verified.actor_label, verified.after["ok"]) == (
        "audit.chain",
        "auditor",
        True,
    )


def test_the_chain_check_from_the_page_reports_the_tampered_entry(client, people, staff):
    for p in people[:5]:
        record_read(actor=staff.snoop, obj=p)
    tampered = AuditEntry.objects.filter(actor_label="snoop").order_by("seq")[2].seq
    remove_guard(connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET actor_label = 'someone else' WHERE seq = %s", [tampered])
    install_guard(connection)
    client.force_login(staff.supervisor)
    page = client.post(reverse("supervision:audit_verify"))
    text = page.content.decode()
    assert 'data-testid="chain-broken"' in text
    assert page.context["check"].first_broken == tampered
    assert re.search(rf"entry {tampered}: content does not match its hash", text)
    assert f"?seq={tampered}" in text
    verified = AuditEntry.objects.order_by("-seq").first()
    assert verified.after == {
        "ok": False,
        "checked": verified.seq - 1,
        "problems": 1,
        "first_broken": tampered,
    }


# --- export --------------------------------------------------------------------------------------------------------


def test_export_is_masked_and_audited(client, people, staff):
    for p in people[:3]:
        record_read(actor=staff.snoop, obj=p)
    client.force_login(staff.auditor)
    response = client.get(reverse("supervision:audit_export"), {"username": "snoop"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 3 and all(r[2] == "snoop" for r in rows)
    flat = " ".join(str(c) for r in rows for c in r)
    assert all(p.id_number not in flat for p in people[:3]) and "********" in flat
    exported = AuditEntry.objects.order_by("-seq").first()
    assert (exported.action, exported.actor_label, exported.after["rows"]) == ("export", "auditor", 3)


def test_export_without_a_condition_is_the_search_page(client, staff):
    client.force_login(staff.auditor)
    response = client.get(reverse("supervision:audit_export"))
    assert response.status_code == 200 and "请至少填写一个查询条件" in response.content.decode()
    assert not AuditEntry.objects.filter(action="export").exists()


# --- region scope and roles --------------------------------------------------------------------------------------


def test_a_district_supervisor_sees_their_district_only(client, regions, people, staff, frozen):
    frozen(at_local(DAY, 23))
    b_person = make_person(1, regions.b_v, name="李四")
    record_read(actor=staff.snoop, obj=people[0])  # district A, at night
    b_officer_read = record_read(actor=staff.sup_b, obj=b_person)
    assert review.scoped_entries(staff.sup_b).filter(pk=b_officer_read.pk).exists()
    assert not review.scoped_entries(staff.sup_b).filter(actor_label="snoop").exists()
    assert review.scoped_entries(staff.sup_a).filter(actor_label="snoop").exists()
    assert {u.actor_label for u in review.unusual_access(staff.sup_b, DAY, DAY)} == {"sup_b"}
    assert {u.actor_label for u in review.unusual_access(staff.auditor, DAY, DAY)} == {"snoop", "sup_b"}
    client.force_login(staff.sup_b)
    # A's person is unknown to B's supervisor, on every page.
    for name in ("audit_search", "audit_readers"):
        page = client.get(reverse(f"supervision:{name}"), {"id_number": people[0].id_number})
        assert page.status_code == 400 and "id_number" in page.context["q"].errors
    page = client.get(reverse("supervision:audit_search"), {"username": "snoop"})
    assert page.context["page"].entries == []


@pytest.mark.parametrize("role", [r for r in Role if r not in REVIEWERS])
def test_other_roles_cannot_open_the_audit_review(client, regions, make_user, role):
    user = make_user(
        f"u_{role.value}", regions.city if role.value.startswith("municipal") else regions.a, role.value
    )
    client.force_login(user)
    for name in ("audit_search", "audit_readers", "audit_unusual", "audit_verify", "audit_export"):
        assert client.get(reverse(f"supervision:{name}"), {"username": "x"}).status_code == 403, name
    assert client.post(reverse("supervision:audit_verify")).status_code == 403
    assert not AuditEntry.objects.filter(object_type="audit.chain").exists()


def test_the_menu_shows_the_audit_review_to_reviewers_only(client, staff):
    client.force_login(staff.auditor)
    assert reverse("supervision:audit_search") in client.get(reverse("console:home")).content.decode()
    client.force_login(staff.snoop)
    assert reverse("supervision:audit_search") not in client.get(reverse("console:home")).content.decode()
