"""家庭情况变化报告 on the portal and in the console: found by ID number + name + the mobile on file, the
household must be in dibao; the application form's protections (field errors, cleaned names, consent,
rate limit, the same report twice → the first tracking number); the status page shows the report and
its decision; the village files it on the household's behalf."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from benefits.support import act, enrolled_dibao, figures, make_household
from doudi.intake.models import Case
from doudi.portal.models import OutboxMessage

D = datetime.date


@pytest.fixture
def enrolled(regions):
    return enrolled_dibao(regions.a_v)[:2]


def post_data(person, **overrides):
    data = {
        "applicant_name": person.name,
        "applicant_id_number": person.id_number,
        "applicant_phone": person.phone,
        "kinds": ["income", "work"],
        "description": "丈夫4月复工，每月工资约2000元。",
        "household_income": "2300",
        "consent": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_form_opens_a_case_for_the_household(client, enrolled, regions):
    household, people = enrolled
    url = reverse("portal:report_change")
    page = client.get(url)
    assert page.status_code == 200 and 'name="viewport"' in page.content.decode()
    response = client.post(url, post_data(people[1], applicant_name="李\u200b红"))  # invisible character
    assert response.status_code == 302 and response["Location"] == reverse("portal:apply_done")
    case = Case.objects.get(case_type="change_report")
    assert (case.channel, case.household_id, case.applicant_id, case.region) == (
        "portal",
        household.pk,
        people[1].pk,
        regions.a_v,
    )
    assert case.details["change_report"]["kinds"] == ["income", "work"]
    assert case.details["change_report"]["declared_income_fen"] == 230000
    assert case.details["consent"]["given_on"]
    done = client.get(reverse("portal:apply_done")).content.decode()
    assert case.tracking_number in done
    assert OutboxMessage.objects.filter(case=case, text__contains=case.tracking_number).count() == 1

    # the same report again (a double click): the first tracking number, nothing new, no second SMS
    again = client.post(url, post_data(people[1]))
    assert again.status_code == 302
    assert Case.objects.filter(case_type="change_report").count() == 1
    assert 'data-testid="repeated"' in client.get(reverse("portal:apply_done")).content.decode()
    assert OutboxMessage.objects.filter(case=case).count() == 1
    # another member of the household: still the one open report
    client.post(url, post_data(people[0]))
    assert Case.objects.filter(case_type="change_report").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"applicant_name": "  "}, "applicant_name"),
        ({"applicant_name": "\u200b\u200d"}, "applicant_name"),
        ({"applicant_id_number": "500101198504020000"}, "applicant_id_number"),
        ({"applicant_phone": "12345"}, "applicant_phone"),
        ({"kinds": None}, "kinds"),
        ({"kinds": ["lottery"]}, "kinds"),
        ({"description": ""}, "description"),
        ({"description": "\u200b\u2060"}, "description"),
        ({"household_income": "99999999999999"}, "household_income"),
        ({"household_income": "-1"}, "household_income"),
        ({"household_income": "1e5"}, None),
        ({"consent": None}, "consent"),
    ],
)
def test_bad_input_gives_field_errors_and_writes_nothing(client, enrolled, overrides, field):
    household, people = enrolled
    response = client.post(reverse("portal:report_change"), post_data(people[0], **overrides))
    if field is None:  # 1e5 is a number the form accepts
        assert response.status_code == 302
        return
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert not Case.objects.filter(case_type="change_report").exists()
    assert not OutboxMessage.objects.exists()


def test_not_found_or_not_in_dibao_is_one_answer(client, enrolled, regions):
    household, people = enrolled
    url = reverse("portal:report_change")
    wrong_name = client.post(url, post_data(people[0], applicant_name="王五"))
    wrong_phone = client.post(url, post_data(people[0], applicant_phone="13911112222"))
    outsider, _others = make_household(regions.a_v, [("赵六", 0)])
    not_enrolled = client.post(url, post_data(_others[0]))
    for response in (wrong_name, wrong_phone, not_enrolled):
        assert response.status_code == 400
        assert "未找到正在享受低保的家庭成员" in response.content.decode()
    assert not Case.objects.exists()


def test_rate_limited_once_the_limit_is_used(client, enrolled, settings):
    household, people = enrolled
    settings.DOUDI_PORTAL_RATE_LIMITS = {"apply": {"id": (1, 3600)}}
    url = reverse("portal:report_change")
    assert client.post(url, post_data(people[0])).status_code == 302
    limited = client.post(url, post_data(people[0]))
    assert limited.status_code == 429 and "Retry-After" in limited
    assert "2300" in limited.content.decode()  # what was typed is kept


def test_the_status_page_shows_the_report_and_its_decision(client, enrolled, regions, make_user, freeze):
    household, people = enrolled
    freeze(D(2020, 5, 6))
    client.post(reverse("portal:report_change"), post_data(people[0]))
    case = Case.objects.get(case_type="change_report")
    township = make_user("t", regions.a_t, "township_officer")
    approver = make_user("ap", regions.a, "district_approver")
    case = act(case, "accept", township)
    case = act(case, "economic_data", township, "电话核实", **figures(people, [1000, 300, 0]))
    case = act(case, "evaluate", township)
    case = act(case, "township_review", township, "情况属实", opinion="agree")
    case = act(case, "decide", approver, "收入变化后仍按原标准", outcome="none")
    session = client.session
    session["portal_case"] = {
        "case": case.pk,
        "until": (timezone.now() + datetime.timedelta(minutes=5)).isoformat(),
    }
    session.save()
    page = client.get(reverse("portal:status_case")).content.decode()
    assert (
        'data-testid="change-report"' in page and "维持每月 338 元" in page and "收入变化后仍按原标准" in page
    )
    assert 'data-testid="decision"' not in page  # not the generic "救助金额" line
    assert "区县作出决定" in page and "集体研究" not in page  # the steps in this workflow's words


def test_the_village_files_it_in_the_console(client, enrolled, regions, make_user):
    household, people = enrolled
    village = make_user("v", regions.a_v, "village_worker")
    client.force_login(village)
    url = reverse("intake:new_change_report")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"applicant_id_number": people[0].id_number, "summary": "", "kinds": []})
    assert bad.status_code == 400 and not Case.objects.exists()
    response = client.post(
        url,
        {
            "applicant_id_number": people[0].id_number,
            "summary": "家中老人去世",
            "kinds": ["members"],
            "on_behalf": "on",
        },
    )
    case = Case.objects.get(case_type="change_report")
    assert response.status_code == 302 and response["Location"] == reverse("intake:case", args=[case.pk])
    assert case.filed_on_behalf and case.region == regions.a_v and case.household == household
    again = client.post(
        url, {"applicant_id_number": people[1].id_number, "summary": "同上", "kinds": ["members"]}
    )
    assert again["Location"] == reverse("intake:case", args=[case.pk])
    assert Case.objects.filter(case_type="change_report").count() == 1
    other = make_user("bv", regions.b_v, "village_worker")
    client.force_login(other)
    refused = client.post(
        url, {"applicant_id_number": people[0].id_number, "summary": "x", "kinds": ["income"]}
    )
    assert refused.status_code == 400
    assert client.get(reverse("intake:case", args=[case.pk])).status_code == 404
