"""举报 (条例第34条, issue 12 part 4): the public form, the tracking number and its status page, the
supervisors' queue (assign, conclude, insert-only ledger), hostile input — and the reporter's identity
hidden from every role but the supervisors', on every page, export, the API and the audit log."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from stdnum.cn import ric

from doudi.accounts.roles import ROLE_LEVEL, SUPERVISOR_ROLES, Role
from doudi.audit.models import AuditEntry
from doudi.core.errors import Conflict
from doudi.intake import sla
from doudi.supervision import whistle
from doudi.supervision.models import WhistleReport, WhistleState, WhistleTransition

REPORTER_ID = "50010119800101001" + ric.calc_check_digit("50010119800101001")
IDENTITY = {"reporter_name": "王秘密", "reporter_phone": "13800138000", "reporter_id_number": REPORTER_ID}
SECRETS = ("王秘密", "13800138000", REPORTER_ID, "王*密", "138****8000")
BODY = "某村干部的亲属不符合条件仍享受低保，请调查。"


@pytest.fixture(autouse=True)
def _fresh_limits(db):
    cache.clear()
    yield
    cache.clear()


def token(n: int = 1) -> str:
    return f"test-submission-token-{n:04d}"


def file(regions, n: int = 1, **kw):
    fields = {"district": regions.a.code, "kind": "favouritism", "body": BODY, "anonymous": False, **IDENTITY}
    fields.update(kw)
    return whistle.file_report(submission=token(n), **fields).report


@pytest.fixture
def sup(regions, make_user):
    return make_user("sup", regions.city, "municipal_supervisor")


def _form(regions, **kw):
    data = {
        "submission": token(99),
        "district": regions.a.code,
        "kind": "fraud",
        "about": "",
        "body": BODY,
        "anonymous": "",
        **IDENTITY,
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


# --- the identity, for every role ------------------------------------------------------------------------------

LEVEL_NODE = {1: "city", 2: "a", 3: "a_t", 4: "a_v"}


def _texts_seen_by(client, report) -> tuple[str, dict[str, int]]:
    """Every page, export and API answer about the report, joined; and their status codes."""
    seen, codes = [], {}
    for name, args in (
        ("supervision:whistle_queue", []),
        ("supervision:whistle_detail", [report.pk]),
        ("supervision:audit_search", []),
    ):
        params = {"action": "read"} if name == "supervision:audit_search" else {}
        r = client.get(reverse(name, args=args), params)
        codes[name] = r.status_code
        seen.append(r.content.decode())
    r = client.get(reverse("supervision:whistle_export"))
    codes["supervision:whistle_export"] = r.status_code
    if r.status_code == 200:
        sheet = load_workbook(io.BytesIO(r.content)).active
        seen.append(
            " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None)
        )
    r = client.get("/api/v1/openapi.json")
    seen.append(r.content.decode())
    r = client.post(reverse("portal:whistle_status"), {"tracking_number": report.tracking_number})
    seen.append(r.content.decode())
    return "\n".join(seen), codes


@pytest.mark.parametrize("role", list(Role))
def test_the_reporter_is_seen_by_the_supervisor_roles_only(client, regions, make_user, role):
    report = file(regions)
    whistle.assign(
        by=make_user("boss", regions.city, "municipal_supervisor"),
        pk=report.pk,
        version=1,
        assignee_id=str(make_user("sup_a", regions.a, "district_supervisor").pk),
    )
    user = make_user(f"u_{role.value}", getattr(regions, LEVEL_NODE[ROLE_LEVEL[role]]), role.value)
    client.force_login(user)
    seen, codes = _texts_seen_by(client, report)
    if role in SUPERVISOR_ROLES:
        assert codes["supervision:whistle_detail"] == 200
        assert all(s in seen for s in ("王秘密", "13800138000", REPORTER_ID))
    else:
        assert not [s for s in SECRETS if s in seen], role
        if role == Role.AUDITOR:  # reads the queue, without the reporter
            assert codes["supervision:whistle_detail"] == 200 and "实名举报（举报人信息受保护" in seen
        else:
            assert codes["supervision:whistle_queue"] == 403
            assert codes["supervision:whistle_detail"] == 404
            assert codes["supervision:whistle_export"] == 403
    # And the audit log, which auditors read, never held it.
    logged = " ".join(f"{e.before} {e.after} {e.reason} {e.object_id}" for e in AuditEntry.objects.all())
    assert not [s for s in SECRETS if s in logged]


def test_the_export_names_the_reporter_for_a_supervisor_and_is_audited(client, regions, sup, make_user):
    file(regions)
    file(
        regions,
        n=2,
        anonymous=True,
        reporter_name="",
        reporter_phone="",
        reporter_id_number="",
        body="另一件事",
    )
    client.force_login(sup)
    r = client.get(reverse("supervision:whistle_export"))
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(min_row=2, values_only=True))
    assert sorted((row[9], row[10]) for row in rows) == [("匿名", None), ("实名", "王秘密")]
    exported = AuditEntry.objects.filter(action="export").get()
    assert exported.after["rows"] == 2 and "with reporter identity" in exported.reason
    client.force_login(make_user("aud", regions.city, "auditor"))
    r = client.get(reverse("supervision:whistle_export"))
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(min_row=2, values_only=True))
    assert sorted((row[9], row[10]) for row in rows) == [("匿名", None), ("实名", "（受保护）")]


def test_a_supervisors_read_of_a_named_reporter_is_logged(client, regions, sup):
    report = file(regions)
    client.force_login(sup)
    client.get(reverse("supervision:whistle_detail", args=[report.pk]))
    read = AuditEntry.objects.filter(action="read", object_type="supervision.whistlereport").get()
    assert read.actor_label == "sup" and "含举报人信息" in read.reason


# --- filing -------------------------------------------------------------------------------------------------------


def test_an_anonymous_report_gets_a_tracking_number_a_due_date_and_keeps_no_identity(regions):
    now = timezone.make_aware(datetime.datetime(2026, 11, 10, 9, 0))
    filed = whistle.file_report(
        submission=token(),
        district=regions.a.code,
        kind="fraud",
        body=BODY,
        anonymous=True,
        now=now,
        **IDENTITY,  # typed, then "anonymous" ticked: dropped
    )
    r = filed.report
    assert whistle.TRACKING_RE.match(r.tracking_number) and not filed.again
    assert (r.reporter_name, r.reporter_phone, r.reporter_id_number) == ("", "", "")
    assert r.due_on == sla.add_working_days(datetime.date(2026, 11, 10), whistle.HANDLING_WORKING_DAYS)
    assert [(t.action, t.to_state) for t in r.transitions.all()] == [("file", "received")]
    entry = AuditEntry.objects.get(object_type="supervision.whistlereport")
    assert entry.after == {"tracking_number": r.tracking_number, "kind": "fraud", "anonymous": True}


def test_tracking_numbers_are_random_not_a_sequence(regions):
    numbers = {file(regions, n=i, body=f"{BODY}{i}").tracking_number for i in range(20)}
    assert len(numbers) == 20 and all(n.startswith("JB") and len(n) == 14 for n in numbers)


def test_a_named_report_needs_a_name_and_a_phone_and_says_everything_at_once(regions):
    with pytest.raises(ValidationError) as exc:
        whistle.file_report(
            submission=token(),
            district="999999",
            kind="nonsense",
            body="\u200b\u200b \ufeff",  # only invisible characters
            anonymous=False,
            reporter_name="\u200b",
            reporter_phone="12",
            reporter_id_number=REPORTER_ID[:-1] + ("1" if REPORTER_ID[-1] != "1" else "2"),  # bad checksum
        )
    assert set(exc.value.message_dict) == {
        "district",
        "kind",
        "body",
        "reporter_name",
        "reporter_phone",
        "reporter_id_number",
    }
    assert not WhistleReport.objects.exists()


def test_body_length_edges_and_invisible_characters(regions):
    with pytest.raises(ValidationError) as exc:
        file(regions, body="举" * (whistle.MAX_BODY + 1))
    assert "body" in exc.value.message_dict
    r = file(
        regions,
        n=2,
        body="举" * whistle.MAX_BODY,
        reporter_name="王\u200b秘\u202e密",
        about="\u200b张某\ufeff",
    )
    assert len(r.body) == whistle.MAX_BODY and r.reporter_name == "王秘密" and r.about == "张某"
    r = file(regions, n=3, body="第一行\r\n\r\n\r\n第二行\u200b", reporter_phone="138-0013 8000")
    assert r.body == "第一行\n\n第二行" and r.reporter_phone == "13800138000"


def test_the_same_form_twice_is_one_report_and_the_same_text_again_is_marked(regions):
    first = file(regions)
    again = whistle.file_report(submission=token(1), district=regions.a.code, kind="favouritism", body=BODY)
    assert again.again and again.report.pk == first.pk and WhistleReport.objects.count() == 1
    second = file(regions, n=2, body=BODY.replace("，", "， "))  # the same words, spaced differently
    assert second.duplicate_of_id == first.pk and second.tracking_number != first.tracking_number
    third = file(regions, n=3, body=BODY + "补充")
    assert third.duplicate_of_id is None


# --- the public pages -----------------------------------------------------------------------------------------------


def test_the_public_form_files_and_the_status_page_answers(client, regions):
    page = client.get(reverse("portal:whistle"))
    assert page.status_code == 200 and "匿名举报" in page.content.decode()
    submission = page.context["form"].initial["submission"]
    r = client.post(reverse("portal:whistle"), _form(regions, submission=submission))
    assert r.status_code == 302 and r["Location"] == reverse("portal:whistle_done")
    done = client.get(r["Location"])
    number = WhistleReport.objects.get().tracking_number
    assert number in done.content.decode() and number not in r["Location"]
    # The same form posted again (a double tap): the same report.
    client.post(reverse("portal:whistle"), _form(regions, submission=submission))
    assert WhistleReport.objects.count() == 1
    # Looked up however it is typed.
    typed = f" {number[:6].lower()}-{number[6:]} "
    status = client.post(reverse("portal:whistle_status"), {"tracking_number": typed})
    text = status.content.decode()
    assert status.status_code == 200 and "已受理" in text
    assert not [s for s in SECRETS if s in text] and BODY not in text


def test_the_status_page_shows_the_answer_but_not_the_findings(client, regions, sup):
    report = file(regions)
    whistle.conclude(
        by=sup,
        pk=report.pk,
        version=1,
        outcome="duplicate",
        findings="内部调查：并入原件",
        reply="已并入原举报办理。",
    )
    text = client.post(
        reverse("portal:whistle_status"), {"tracking_number": report.tracking_number}
    ).content.decode()
    assert "已办结" in text and "已并入原举报办理。" in text and "内部调查" not in text


@pytest.mark.parametrize("typed", ["", "JB", "JB000000000000", "JB" + "A" * 40, "<script>", "\u200b"])
def test_an_unknown_tracking_number_is_404(client, regions, typed):
    file(regions)
    r = client.post(reverse("portal:whistle_status"), {"tracking_number": typed})
    assert r.status_code == 404 and 'data-testid="whistle-status-error"' in r.content.decode()


def test_the_public_form_shows_every_error_and_keeps_what_was_typed(client, regions):
    r = client.post(
        reverse("portal:whistle"),
        _form(regions, district="", body="\u200b", reporter_name="", reporter_phone="abc"),
    )
    assert r.status_code == 400
    text = r.content.decode()
    for field in ("district", "body", "reporter_name", "reporter_phone"):
        assert f'data-testid="error-{field}"' in text
    assert 'value="abc"' in text and not WhistleReport.objects.exists()


def test_an_oversize_post_is_refused_without_a_server_error(client, regions):
    r = client.post(reverse("portal:whistle"), _form(regions, body="举" * 1_500_000))
    assert r.status_code == 400 and not WhistleReport.objects.exists()


def test_an_expired_or_forged_form_token_is_refused(client, regions):
    r = client.post(reverse("portal:whistle"), _form(regions, submission="short"))
    assert r.status_code == 400 and 'data-testid="error-submission"' in r.content.decode()


def test_filing_is_rate_limited_per_address_and_refusals_cost_nothing(client, regions, settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"whistle": {"ip": (2, 3600)}}
    for _ in range(3):  # refused forms do not count
        assert client.post(reverse("portal:whistle"), _form(regions, body="")).status_code == 400
    for n in (1, 2):
        assert (
            client.post(
                reverse("portal:whistle"), _form(regions, submission=token(n), body=f"{BODY}{n}")
            ).status_code
            == 302
        )
    r = client.post(reverse("portal:whistle"), _form(regions, submission=token(3), body=f"{BODY}3"))
    assert r.status_code == 429 and r["Retry-After"] == "3600"
    assert WhistleReport.objects.count() == 2


def test_status_look_ups_are_rate_limited(client, regions, settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"whistle_status": {"ip": (3, 3600)}}
    for _ in range(3):
        assert (
            client.post(reverse("portal:whistle_status"), {"tracking_number": "JB22222222222X"}).status_code
            == 404
        )
    assert (
        client.post(reverse("portal:whistle_status"), {"tracking_number": "JB22222222222X"}).status_code
        == 429
    )


def test_the_done_page_without_a_filing_goes_back_to_the_form(client):
    assert client.get(reverse("portal:whistle_done"))["Location"] == reverse("portal:whistle")


# --- the queue and its state machine --------------------------------------------------------------------------------


def test_assign_then_conclude_with_an_insert_only_ledger(regions, sup, make_user):
    sup_a = make_user("sup_a", regions.a, "district_supervisor")
    report = file(regions)
    report = whistle.assign(by=sup, pk=report.pk, version=1, assignee_id=str(sup_a.pk), note="请核实")
    assert (report.state, report.assigned_to, report.version) == (WhistleState.ASSIGNED, sup_a, 2)
    report = whistle.conclude(
        by=sup_a,
        pk=report.pk,
        version=2,
        outcome="substantiated",
        findings="经查属实，已停发。",
        reply="经查属实，已依法处理。",
    )
    assert report.state == WhistleState.CONCLUDED and report.concluded_at is not None
    ledger = list(report.transitions.values_list("seq", "action", "from_state", "to_state", "by__username"))
    assert ledger == [
        (1, "file", "", "received", None),
        (2, "assign", "received", "assigned", "sup"),
        (3, "conclude", "assigned", "concluded", "sup_a"),
    ]
    t = WhistleTransition.objects.first()
    with pytest.raises(PermissionError):
        t.save()
    with pytest.raises(PermissionError):
        WhistleTransition.objects.all().delete()
    with pytest.raises(Conflict):  # concluded is final
        whistle.assign(by=sup, pk=report.pk, version=3, assignee_id=str(sup_a.pk))


def test_refusals_leave_the_report_as_it_was(regions, sup, make_user):
    sup_b = make_user("sup_b", regions.b, "district_supervisor")
    officer = make_user("officer", regions.a, "district_officer")
    auditor = make_user("aud", regions.city, "auditor")
    report = file(regions)
    with pytest.raises(Conflict):  # a stale version: someone acted first
        whistle.assign(by=sup, pk=report.pk, version=7, assignee_id=str(sup.pk))
    with pytest.raises(ValidationError) as exc:  # only a supervisor responsible for the district
        whistle.assign(by=sup, pk=report.pk, version=1, assignee_id=str(officer.pk))
    assert "assignee" in exc.value.message_dict
    with pytest.raises(ValidationError):
        whistle.assign(by=sup, pk=report.pk, version=1, assignee_id=str(sup_b.pk))
    with pytest.raises(ValidationError) as exc:  # not investigated: only a duplicate or a referral
        whistle.conclude(by=sup, pk=report.pk, version=1, outcome="substantiated", findings="x", reply="y")
    assert "outcome" in exc.value.message_dict
    for user in (auditor, officer):
        with pytest.raises(PermissionDenied):
            whistle.assign(by=user, pk=report.pk, version=1, assignee_id=str(sup.pk))
    from django.http import Http404

    with pytest.raises(Http404):  # another district's supervisor: not there at all
        whistle.assign(by=sup_b, pk=report.pk, version=1, assignee_id=str(sup_b.pk))
    report.refresh_from_db()
    assert (report.state, report.version, report.transitions.count()) == (WhistleState.RECEIVED, 1, 1)


def test_the_queue_pages_assign_conclude_and_show_overdue(client, regions, sup):
    report = file(regions)
    WhistleReport.objects.filter(pk=report.pk).update(
        due_on=timezone.localdate() - datetime.timedelta(days=1)
    )
    client.force_login(sup)
    page = client.get(reverse("supervision:whistle_queue"), {"overdue": "1"})
    assert (
        'data-testid="overdue"' in page.content.decode() and report.tracking_number in page.content.decode()
    )
    r = client.post(reverse("supervision:whistle_assign", args=[report.pk]), {"version": 1, "assignee": ""})
    assert r.status_code == 400 and 'data-testid="error-assignee"' in r.content.decode()
    r = client.post(
        reverse("supervision:whistle_assign", args=[report.pk]), {"version": 1, "assignee": sup.pk}
    )
    assert r.status_code == 302
    r = client.post(
        reverse("supervision:whistle_conclude", args=[report.pk]),
        {
            "version": 2,
            "outcome": "unsubstantiated",
            "findings": "查无实据",
            "reply": "经核查，举报问题不属实。",
        },
    )
    assert r.status_code == 302
    report.refresh_from_db()
    assert report.state == WhistleState.CONCLUDED
    # Someone else's stale form now: a warning, nothing changed.
    r = client.post(
        reverse("supervision:whistle_assign", args=[report.pk]),
        {"version": 2, "assignee": sup.pk},
        follow=True,
    )
    assert "已办结" in r.content.decode() or "已被他人处理" in r.content.decode()
    assert client.get(reverse("supervision:whistle_queue"), {"overdue": "1"}).context["rows"] == []


def test_a_district_supervisor_sees_their_district_only(client, regions, make_user):
    file(regions)
    b_report = file(regions, n=2, district=regions.b.code, body="涪陵的事")
    client.force_login(make_user("sup_b", regions.b, "district_supervisor"))
    rows = client.get(reverse("supervision:whistle_queue")).context["rows"]
    assert [r.pk for r, _who in rows] == [b_report.pk]
