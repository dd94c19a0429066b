"""The dibao screens of the console (Django test client): the case page's dibao panel with its forms,
the whole flow clicked through the same endpoints a browser uses, notices, region scope (404)."""

import datetime
import re

import pytest
from django.urls import reverse

from benefits.support import declare_window, file_dibao, make_household
from doudi.benefits.models import Enrolment
from doudi.disclosure.models import Publication
from doudi.intake.models import Case

D = datetime.date


@pytest.fixture
def family(regions):
    return make_household(regions.a_v, [("张小明", 0), ("李红", 0), ("张乐", 0)])


def page(client, user, case):
    client.force_login(user)
    response = client.get(reverse("intake:case", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def post(client, user, case, action, **fields):
    """Submit an action form as the browser does (the version read from the page)."""
    html = page(client, user, case)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    data = {"version": version, **fields}
    response = client.post(reverse("intake:act", args=[case.pk, action]), data)
    assert response.status_code == 302, response
    return Case.objects.get(pk=case.pk)


def test_whole_flow_through_the_console(officers, family, frozen_today, client):
    household, people = family
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = file_dibao(officers, people[0])
    html = page(client, officers.a_township, case)
    assert 'data-testid="dibao-panel"' in html and 'data-testid="action-accept"' in html
    # Dibao-specific actions are the panel's, not the generic block's.
    assert 'data-testid="action-economic_data"' not in html

    case = post(client, officers.a_township, case, "accept")
    assert case.state == "accepted"
    html = page(client, officers.a_township, case)
    for element in ('id="dibao-economic-form"', f'id="econ-{people[0].pk}-wage"', 'id="dibao-save-economic"'):
        assert element in html
    assert 'id="economic-method"' in html and 'id="economic-date"' in html
    fields = {"data_source": "declared", "data_deposits": "0", "data_vehicles": "0", "data_houses": "1"}
    for p, wage in zip(people, ["1000", "300", ""], strict=True):
        fields |= {f"data_income_{p.pk}_wage": wage, f"data_work_{p.pk}": "none"}
    # The method is required, and the day lies between the application and today.
    for bad in (
        {},
        {"data_method": "letter"},
        {"data_method": "phone", "data_investigated_on": "2020-03-03"},
    ):
        assert post(client, officers.a_township, case, "economic_data", **fields, **bad).state == "accepted"
    refused = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert "调查日期不能晚于今天" in refused
    post(
        client,
        officers.a_township,
        case,
        "economic_data",
        data_method="phone",
        data_investigated_on="2020-02-01",
        **fields,
    )
    assert "调查日期不能早于申请日期" in client.get(reverse("intake:case", args=[case.pk])).content.decode()
    case = post(
        client,
        officers.a_township,
        case,
        "economic_data",
        reason="电话核实",
        data_method="phone",
        data_investigated_on="2020-03-02",
        **fields,
    )
    assert case.state == "investigated"
    assert case.details["investigated"] == {"method": "phone", "on": "2020-03-02"}
    assert "电话核实（2020-03-02）" in page(client, officers.a_township, case)

    assert 'id="dibao-evaluate"' in page(client, officers.a_township, case)
    case = post(client, officers.a_township, case, "evaluate")
    html = page(client, officers.a_township, case)
    assert case.state == "evaluated"
    assert 'data-testid="dibao-decision"' in html and "纳入低保" in html
    assert 'data-testid="dibao-explanation"' in html and "dibao.standard.urban" in html
    assert 'data-testid="unverified-parameter"' in html  # 546 is not verified (POLICY §2)
    assert 'id="township-opinion-agree"' in html and "取消群众评议" in html

    case = post(client, officers.a_township, case, "township_review", data_opinion="agree", reason="同意纳入")
    assert case.state == "publicity"
    html = page(client, officers.a_township, case)
    assert 'data-testid="deliberation-skipped"' in html and 'data-testid="publication-running"' in html
    assert "2020-03-02" in html and "2020-03-08" in html and 'data-testid="publicity-until"' in html

    # A citizen objects on the public page; the officer finds the objection on the case page.
    client.logout()
    pub = Publication.objects.get(case=case)
    client.post(reverse("disclosure:objection", args=[pub.pk]), {"phone": "13912345678", "reason": "有房产"})
    objection = Case.objects.get(case_type="objection", related_case=case)
    html = page(client, officers.a_township, case)
    assert (
        f'id="objection-{objection.pk}-dismiss"' in html and f'id="objection-{objection.pk}-reason"' in html
    )
    case = post(
        client,
        officers.a_township,
        case,
        "dismiss_objection",
        data_objection=str(objection.pk),
        reason="房产为唯一住房",
    )
    assert case.state == "publicity"
    # The officer's queue listed the objection while it was open (the notification).
    frozen_today(D(2020, 3, 9))
    case = post(client, officers.a_township, case, "end_publicity")
    assert case.state == "awaiting_approval"

    html = page(client, officers.a_approver, case)
    assert 'id="dibao-approve"' in html and 'id="dibao-refuse"' in html and 'id="dibao-reinvestigate"' in html
    case = post(client, officers.a_approver, case, "approve", reason="同意")
    assert case.state == "approved"
    html = page(client, officers.a_approver, case)
    assert 'data-testid="dibao-enrolled"' in html and 'id="dibao-decision-notice"' in html
    assert Enrolment.objects.get(decision_case=case).monthly_amount == 338
    notice_url = re.search(r'id="dibao-decision-notice"', html) and re.search(
        r'href="([^"]+)" id="dibao-decision-notice"', html
    ).group(1)
    notice = client.get(notice_url).content.decode()
    assert "最低生活保障审批决定书" in notice and "data-print" in notice and "notice-sheet" in notice
    assert 'data-testid="decision-amount">338' in notice and "2020-03" in notice
    # Signed by the district's civil-affairs bureau; the household named by its head and address.
    assert 'data-testid="notice-investigated">电话核实（2020年3月2日）' in notice
    assert "重庆市万州区民政局（盖章）" in notice and ">万州区（盖章）" not in notice
    assert "张小明" in notice and "万州区高笋塘街道高笋塘社区解放路1号3单元" in notice
    assert f"H{household.pk}" not in notice


def test_objection_shows_in_the_township_queue(officers, family, frozen_today, client):
    from benefits.support import act, to_evaluated

    household, people = family
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    pub = Publication.objects.get(case=case)
    client.post(reverse("disclosure:objection", args=[pub.pk]), {"phone": "13912345678", "reason": "有房产"})
    objection = Case.objects.get(case_type="objection", related_case=case)
    client.force_login(officers.a_township)
    queue = client.get(reverse("intake:list")).content.decode()
    assert objection.tracking_number in queue


def test_district_b_cannot_see_district_a_dibao_cases(officers, family, frozen_today, client):
    household, people = family
    frozen_today(D(2020, 3, 2))
    case = file_dibao(officers, people[0])
    for user in (officers.b_township, officers.b_district, officers.b_approver):
        client.force_login(user)
        assert client.get(reverse("intake:case", args=[case.pk])).status_code == 404
        assert client.get(reverse("intake:notice", args=[case.pk, 1])).status_code == 404
        response = client.post(reverse("intake:act", args=[case.pk, "accept"]), {"version": case.version})
        assert response.status_code == 404
    assert Case.objects.get(pk=case.pk).state == "submitted"


def test_case_without_a_registered_household_asks_to_link_the_applicant(
    officers, regions, client, frozen_today
):
    from doudi.intake import services

    frozen_today(D(2020, 3, 2))
    case = services.open_case(
        by=officers.a_township,
        case_type="dibao",
        channel="hotline",
        region=regions.a_v,
        summary="来电申请低保",
        applicant_name="赵六",
    )
    case = post(client, officers.a_township, case, "accept")
    html = page(client, officers.a_township, case)
    assert 'data-testid="dibao-no-household"' in html
    post(client, officers.a_township, case, "economic_data", data_source="declared")
    assert Case.objects.get(pk=case.pk).state == "accepted"  # refused with a message, nothing written


def test_read_only_roles_see_the_panel_without_forms(officers, family, frozen_today, client):
    from benefits.support import to_evaluated

    household, people = family
    frozen_today(D(2020, 3, 2))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    html = page(client, officers.supervisor, case)
    assert 'data-testid="dibao-explanation"' in html
    assert 'id="dibao-township-review"' not in html and 'id="dibao-evaluate"' not in html
