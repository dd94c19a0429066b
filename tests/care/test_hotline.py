"""热线来电记录 (notice 四): a call answered on the spot or converted into one one-door case — never two —
recorded by township and district officers for their region; listed newest first on keyset pages with
masked phones, exported, and opened with an audited read."""

import datetime
import re
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from doudi.care import services
from doudi.care.models import HotlineCall
from doudi.core.errors import Conflict
from doudi.intake.models import Case, Channel, Department


@pytest.fixture
def caller(regions):
    from stdnum.cn import ric

    from doudi.registry.models import Person

    body = "50010119600101003"
    return Person.objects.create(
        id_number=body + ric.calc_check_digit(body + "0"),
        name="王来电",
        birth_date=datetime.date(1960, 1, 1),
        sex="M",
        region=regions.a_v,
        phone="13987654321",
    )


def _call(by, region, **over):
    data = {
        "submission_key": str(uuid.uuid4()),
        "region": region,
        "received_at": timezone.now() - datetime.timedelta(minutes=5),
        "category": "assistance",
        "summary": "咨询临时救助\u200b如何申请",
        "outcome": "answered",
        "answer": "告知可向所在乡镇街道申请，急难型可先行救助。",
        "caller_name": "",
        "caller_id_number": "",
        "caller_phone": "13912345678",
    }
    data.update(over)
    return services.record_hotline_call(by=by, **data)


def test_a_call_answered_on_the_spot_keeps_the_answer_and_opens_no_case(regions, staff):
    call = _call(staff.a_township, regions.a_t)
    assert call.outcome == "answered" and call.case is None
    assert call.summary == "咨询临时救助如何申请"  # invisible characters dropped
    assert not Case.objects.filter(channel=Channel.HOTLINE).exists()


def test_a_call_converted_at_once_opens_one_hotline_case_linked_both_ways(regions, staff, caller):
    call = _call(
        staff.a_district,
        regions.a_t,
        outcome="case",
        answer="",
        case_type="temporary:urgent",
        category="psychological",
        caller_id_number=caller.id_number.lower(),
        summary="家中老人确诊住院，\n家属情绪低落，生活困难",
    )
    case = call.case
    assert case.channel == Channel.HOTLINE and case.case_type == "temporary" and case.subtype == "urgent"
    assert case.applicant == caller and call.caller == caller and call.caller_name == "王来电"
    assert case.department == Department.PSYCHOLOGICAL and case.region == regions.a_t
    assert case.details["hotline_call"] == call.pk and "家属情绪低落" in case.summary
    assert case.hotline_call == call


def test_the_same_form_sent_twice_is_one_call_and_one_case(regions, staff):
    key = str(uuid.uuid4())
    first = _call(
        staff.a_township, regions.a_t, submission_key=key, outcome="case", case_type="stranded", answer=""
    )
    again = _call(
        staff.a_township, regions.a_t, submission_key=key, outcome="case", case_type="stranded", answer=""
    )
    assert first.pk == again.pk
    assert HotlineCall.objects.count() == 1 and Case.objects.filter(channel=Channel.HOTLINE).count() == 1


def test_a_call_is_converted_into_a_case_exactly_once(regions, staff):
    call = _call(staff.a_township, regions.a_t, caller_name="匿名求助人", category="stranded")
    case = services.convert_hotline_call(by=staff.a_township, call=call, case_type="stranded")
    call.refresh_from_db()
    assert call.case == case and call.outcome == "case" and call.answer  # the answer given stays
    with pytest.raises(Conflict):
        services.convert_hotline_call(by=staff.a_district, call=call, case_type="care")
    assert Case.objects.filter(channel=Channel.HOTLINE).count() == 1


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"answer": "  \u200b "}, "answer"),
        ({"outcome": "case", "case_type": ""}, "case_type"),
        ({"outcome": "case", "case_type": "objection"}, "case_type"),
        ({"summary": "\u200b"}, "summary"),
        ({"summary": "长" * 2001}, "summary"),
        ({"category": "weather"}, "category"),
        ({"caller_id_number": "500101196013320031"}, "caller_id_number"),
        ({"caller_phone": "12"}, "caller_phone"),
        ({"received_at": timezone.now() + datetime.timedelta(days=1)}, "received_at"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"region": None}, "region"),
        # 临时救助 needs an applicant: a call converted without the caller's name is a field error.
        ({"outcome": "case", "case_type": "temporary:urgent", "answer": ""}, "caller_name"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(regions, staff, over, field):
    over = dict(over)
    region = over.pop("region", regions.a_t)
    with pytest.raises(ValidationError) as exc:
        _call(staff.a_township, region, **over)
    assert field in exc.value.message_dict
    assert not HotlineCall.objects.exists() and not Case.objects.exists()


def test_only_township_and_district_officers_of_the_region_record_calls(regions, staff):
    with pytest.raises(ValidationError) as exc:
        _call(staff.a_district, regions.b_t)
    assert "region" in exc.value.message_dict
    for user in (staff.a_village, staff.auditor, staff.a_inst):
        with pytest.raises(PermissionDenied):
            _call(user, regions.a_t)
    call = _call(staff.a_township, regions.a_t)
    with pytest.raises(PermissionDenied):
        services.convert_hotline_call(by=staff.b_district, call=call, case_type="care")


def _ids(page: str) -> list[str]:
    return re.findall(r'care/hotline/(\d+)/"', page)


def _rows(page: str) -> int:
    return page.count('data-testid="call-row"')


def test_pages_are_region_scoped_masked_paginated_exported_and_audited(regions, staff, client):
    from doudi.audit.models import AuditEntry

    now = timezone.now()
    calls = [
        _call(staff.a_township, regions.a_t, received_at=now - datetime.timedelta(minutes=60 - i))
        for i in range(55)
    ]
    _call(staff.a_district, regions.a, category="complaint", caller_name="张投诉")
    client.force_login(staff.a_district)
    first = client.get(reverse("care:hotline_calls")).content.decode()
    assert _rows(first) == 50 and "139****5678" in first and "13912345678" not in first
    assert 'rel="next"' in first and "张投诉" in first  # newest first
    after = first.split('rel="next" href="?')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(reverse("care:hotline_calls") + "?" + after).content.decode()
    assert _rows(second) == 6 and reverse("care:hotline_call", args=[calls[0].pk]) in second
    # Back from page 2 (a descending keyset read backwards): page 1 again, newest first.
    before = second.split('rel="prev" href="?')[1].split('"')[0].replace("&amp;", "&")
    back = client.get(reverse("care:hotline_calls") + "?" + before).content.decode()
    assert _ids(back) == _ids(first) and len(set(_ids(first)) | set(_ids(second))) == 56
    filtered = client.get(reverse("care:hotline_calls") + "?category=complaint").content.decode()
    assert _rows(filtered) == 1
    bad = client.get(reverse("care:hotline_calls") + "?date_from=notaday&region=999999")
    assert bad.status_code == 200
    export = client.get(reverse("care:hotline_calls") + "?format=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxml")
    assert AuditEntry.objects.filter(action="export", object_type="care.hotline_calls").exists()
    detail = client.get(reverse("care:hotline_call", args=[calls[0].pk])).content.decode()
    assert "13912345678" in detail
    assert AuditEntry.objects.filter(action="read", object_id=str(calls[0].pk)).exists()
    # Another district: nothing listed, the call is 404, the form refuses the region.
    client.force_login(staff.b_district)
    assert _rows(client.get(reverse("care:hotline_calls")).content.decode()) == 0
    assert client.get(reverse("care:hotline_call", args=[calls[0].pk])).status_code == 404
    assert (
        client.post(reverse("care:hotline_call", args=[calls[0].pk]), {"case_type": "care"}).status_code
        == 404
    )
    # A village worker may not record calls.
    client.force_login(staff.a_village)
    assert client.get(reverse("care:hotline_call_new")).status_code == 403


def test_the_form_records_converts_and_answers_bad_input_with_field_errors(regions, staff, client):
    client.force_login(staff.a_township)
    page = client.get(reverse("care:hotline_call_new"))
    assert page.status_code == 200
    base = {
        "submission_key": str(uuid.uuid4()),
        "region": regions.a_t.pk,
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "category": "stranded",
        "summary": "车站有一名外地老人滞留",
        "outcome": "case",
        "case_type": "stranded",
    }
    bad = client.post(reverse("care:hotline_call_new"), {**base, "outcome": "answered"})
    assert bad.status_code == 400 and 'data-testid="error-answer"' in bad.content.decode()
    bad = client.post(reverse("care:hotline_call_new"), {**base, "region": regions.b_t.pk})
    assert bad.status_code == 400
    bad = client.post(reverse("care:hotline_call_new"), {**base, "received_at": "x"})
    assert bad.status_code == 400
    done = client.post(reverse("care:hotline_call_new"), base)
    assert done.status_code == 302
    call = HotlineCall.objects.get()
    assert call.case is not None and done["Location"] == reverse("care:hotline_call", args=[call.pk])
    assert client.post(reverse("care:hotline_call_new"), base).status_code == 302  # sent twice: one call
    assert HotlineCall.objects.count() == 1
    again = client.post(reverse("care:hotline_call", args=[call.pk]), {"case_type": "care"})
    assert again.status_code == 409 and Case.objects.count() == 1
