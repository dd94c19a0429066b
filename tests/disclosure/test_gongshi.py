"""The public 公示 page: masked entries only, filters, entries leave when their period ends, the
objection form (linked case, validation, honeypot, rate limit), the long-term list of recipients."""

import datetime
import re

import pytest
from django.urls import reverse

from benefits.support import act, declare_window, file_dibao, make_household, objection_of, to_evaluated
from doudi.core.masking import mask_id_number
from doudi.disclosure.models import Publication
from doudi.intake.models import Case

D = datetime.date


@pytest.fixture
def published(officers, regions, frozen_today):
    """A dibao case in 公示 since Monday 2 March 2020 (window open: no deliberation)."""
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    household, people = make_household(
        regions.a_v, [("欧阳小明", 0), ("李红", 0), ("张乐", 0)], address="万州区高笋塘路88号"
    )
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    return type("Published", (), {"case": case, "household": household, "people": people,
                                  "pub": Publication.objects.get(case=case)})  # fmt: skip


def html_of(client, url=None, **params):
    response = client.get(url or reverse("disclosure:public"), params)
    assert response.status_code == 200
    return response.content.decode()


def test_entry_shows_exactly_the_allowed_fields(published, client):
    head = published.people[0]
    html = html_of(client)
    entry = html.split('data-testid="gongshi-entry"')[1].split("</article>")[0]
    assert 'data-testid="entry-name">欧**明<' in entry
    assert f'data-testid="entry-id">{mask_id_number(head.id_number)}<' in entry
    assert 'data-testid="entry-village">高笋塘社区<' in entry
    assert 'data-testid="entry-amount">338<' in entry and "最低生活保障" in entry
    assert "2020-03-02" in entry and "2020-03-08" in entry
    secrets = [head.id_number, head.phone, published.household.address, "欧阳小明", f"H{published.household.pk}",
               published.case.tracking_number, str(head.birth_date), *(p.name for p in published.people[1:]),
               *(p.id_number for p in published.people[1:]), *(p.phone for p in published.people)]  # fmt: skip
    for secret in secrets:
        # Not inside a longer run of letters and digits: a random CSRF token may contain "H1".
        assert not re.search(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", html), secret
    assert 'name="viewport"' in html  # mobile-friendly
    # The stored copy itself holds nothing more.
    pub = published.pub
    assert (pub.masked_name, pub.masked_id, pub.village_name, pub.scheme, pub.amount) == (
        "欧**明",
        mask_id_number(head.id_number),
        "高笋塘社区",
        "dibao",
        338,
    )


def test_filter_by_district_and_village(published, officers, regions, client):
    _h, others = make_household(regions.b_v, [("刘大华", 0)])
    case = file_dibao(officers, others[0], by=officers.b_township)
    case = act(case, "accept", officers.b_township)
    from benefits.support import figures

    case = act(case, "economic_data", officers.b_township, "", **figures(others, [100]))
    case = act(case, "evaluate", officers.b_township)
    act(case, "township_review", officers.b_township, "同意", opinion="agree")

    everything = html_of(client)
    assert "欧**明" in everything and "刘*华" in everything
    only_b = html_of(client, district=regions.b.code)
    assert "刘*华" in only_b and "欧**明" not in only_b
    only_a_village = html_of(client, district=regions.a.code, village=regions.a_v.code)
    assert "欧**明" in only_a_village and "刘*华" not in only_a_village
    assert 'value="500101001001"' in only_a_village  # the village choices of the district
    other_village = html_of(client, district=regions.a.code, village=regions.a_v2.code)
    assert 'data-testid="gongshi-empty"' in other_village
    # A village outside the chosen district is ignored rather than leaking another district's list.
    mixed = html_of(client, district=regions.b.code, village=regions.a_v.code)
    assert "欧**明" not in mixed and "刘*华" in mixed


def test_entries_leave_the_page_when_the_period_ends(published, client, frozen_today):
    frozen_today(D(2020, 3, 8))  # last day
    assert "欧**明" in html_of(client)
    frozen_today(D(2020, 3, 9))
    html = html_of(client)
    assert "欧**明" not in html and 'data-testid="gongshi-empty"' in html
    # The objection link says the period is over (not a bare 404) and shows no one's name any more.
    closed = client.get(reverse("disclosure:objection", args=[published.pub.pk]))
    page = closed.content.decode()
    assert closed.status_code == 410 and 'data-testid="objection-closed"' in page
    assert "已经结束" in page and "2020-03-08" in page and "欧**明" not in page
    before = Case.objects.filter(case_type="objection").count()
    response = client.post(
        reverse("disclosure:objection", args=[published.pub.pk]),
        {"phone": "13912345678", "reason": "该户有车"},
    )
    assert response.status_code == 410 and "该户有车</textarea>" in response.content.decode()  # kept
    assert Case.objects.filter(case_type="objection").count() == before
    assert client.get(reverse("disclosure:objection", args=[published.pub.pk + 999])).status_code == 404


def test_an_objector_follows_the_objection_with_its_tracking_number(published, client):
    """With their ID number the objector checks progress on the portal like any applicant."""
    import re

    from doudi.portal.models import OutboxMessage
    from portal.helpers import id_number

    url = reverse("disclosure:objection", args=[published.pub.pk])
    number = id_number(seq=77)
    bad = client.post(url, {"phone": "13912345678", "reason": "该户有经营收入", "id_number": "123"})
    assert bad.status_code == 400 and 'data-testid="error-id_number"' in bad.content.decode()
    assert objection_of(published.case) is None
    spelt = f"{number[:6]} {number[6:]}".lower()
    done = client.post(url, {"phone": "139-1234-5678", "reason": "该户有经营收入", "id_number": spelt})
    objection = objection_of(published.case)
    assert objection.applicant_id_number == number
    assert 'data-testid="objection-track"' in done.content.decode()
    status = reverse("portal:status")
    client.post(status, {"op": "send", "tracking_number": objection.tracking_number, "id_number": number})
    code = re.search(r"验证码为 (\d{6})", OutboxMessage.objects.get(purpose="status_code").text).group(1)
    verified = client.post(
        status,
        {"op": "verify", "tracking_number": objection.tracking_number, "id_number": number, "code": code},
    )
    assert verified.status_code == 302
    page = client.get(verified["Location"]).content.decode()
    assert objection.tracking_number in page
    # Without an ID number the done page points to the hotline instead.
    anonymous = client.post(url, {"phone": "13912345678", "reason": "另一条异议"}).content.decode()
    assert "objection-track" not in anonymous and "求助热线" in anonymous


def test_objection_opens_a_linked_case_in_the_responsible_unit(published, client):
    url = reverse("disclosure:objection", args=[published.pub.pk])
    form = client.get(url).content.decode()
    for element in (
        'id="objection-form"',
        'id="objection-phone"',
        'id="objection-reason"',
        'id="objection-submit"',
    ):
        assert element in form
    assert published.people[0].id_number not in form
    response = client.post(
        url, {"name": "王先生", "phone": "139-1234-5678", "reason": "该户有经营收入", "website": ""}
    )
    html = response.content.decode()
    objection = objection_of(published.case)
    assert response.status_code == 200 and objection.tracking_number in html
    assert (objection.case_type, objection.channel, objection.region_id) == (
        "objection",
        "portal",
        published.case.region_id,
    )
    assert objection.applicant_name == "王先生" and objection.details["publication"] == published.pub.pk
    assert "该户有经营收入" in objection.summary and objection.filed_by is None


def test_objection_form_validates_and_writes_nothing_on_error(published, client):
    url = reverse("disclosure:objection", args=[published.pub.pk])
    response = client.post(url, {"name": "", "phone": "", "reason": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="error-phone"' in html and 'data-testid="error-reason"' in html
    response = client.post(url, {"phone": "abc", "reason": "有车"})
    assert response.status_code == 400 and objection_of(published.case) is None


def test_honeypot_opens_nothing(published, client):
    url = reverse("disclosure:objection", args=[published.pub.pk])
    response = client.post(url, {"phone": "13912345678", "reason": "spam", "website": "http://spam.example"})
    assert response.status_code == 200 and 'data-testid="objection-done"' in response.content.decode()
    assert objection_of(published.case) is None


def test_objections_are_rate_limited_per_address(published, client, settings):
    settings.DOUDI_GONGSHI_OBJECTION_RATE = (2, 3600)
    url = reverse("disclosure:objection", args=[published.pub.pk])
    data = {"phone": "13912345678", "reason": "有车"}
    assert client.post(url, data).status_code == 200
    assert client.post(url, data).status_code == 200
    third = client.post(url, data)
    assert third.status_code == 429 and 'data-testid="rate-limited"' in third.content.decode()
    assert Case.objects.filter(case_type="objection", related_case=published.case).count() == 2
    other = client.post(url, data, REMOTE_ADDR="10.0.0.9")  # another address is not limited
    assert other.status_code == 200


def test_public_pages_need_no_login_and_show_no_staff_data(published, client):
    assert client.get(reverse("disclosure:public")).status_code == 200
    assert client.get(reverse("disclosure:recipients")).status_code == 200


def test_recipients_list_after_approval(published, officers, client, frozen_today):
    frozen_today(D(2020, 3, 9))
    case = act(published.case, "end_publicity", officers.a_township)
    assert "欧**明" not in html_of(client, reverse("disclosure:recipients"))
    act(case, "approve", officers.a_approver)
    html = html_of(client, reverse("disclosure:recipients"))
    assert "欧**明" in html and ">338<" in html and "高笋塘社区" in html
    assert published.people[0].id_number not in html and published.household.address not in html
    assert "欧**明" not in html_of(client, reverse("disclosure:recipients"), district="500102")


def test_staff_see_only_their_region_publications(published, officers):
    from doudi.disclosure.selectors import case_publications

    assert case_publications(officers.a_township, published.case) == [published.pub]
    assert case_publications(officers.b_township, published.case) == []


def test_each_scheme_is_named_in_words(published, client):
    """A 特困 entry reads 特困人员供养, not its code."""
    Publication.objects.filter(pk=published.pub.pk).update(scheme="tekun")
    entry = html_of(client).split('data-testid="gongshi-entry"')[1].split("</article>")[0]
    assert "特困人员供养" in entry and "tekun" not in entry
