"""The citizen landing page: services with their online applications, hotlines by district, no fake links."""

from types import ModuleType

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def hotlines(regions):
    from doudi.regions.services import create_hotline

    return {
        "city": create_hotline(by=None, district=regions.city, name="市民政局救助热线", phone="023-12345"),
        "a": create_hotline(
            by=None,
            district=regions.a,
            name="万州区社会救助热线",
            phone="023-58000001",
            service_hours="8:30-17:30",
        ),
        "b": create_hotline(by=None, district=regions.b, name="涪陵区社会救助热线", phone="023-72000001"),
        "off": create_hotline(
            by=None, district=regions.b, name="停用热线", phone="023-72000009", active=False
        ),
    }


def test_landing_page_is_at_root_and_chinese(client):
    assert reverse("portal:home") == "/"
    response = client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in page
    for text in ("兜底·社会救助", "最低生活保障（低保）", "特困人员救助供养", "儿童福利", "临时救助"):
        assert text in page
    # Each scheme links to its online application, and the status check is one click away.
    for scheme in ("dibao", "tekun", "children", "temporary"):
        assert f'href="{reverse("portal:apply", args=[scheme])}"' in page
    assert f'href="{reverse("portal:status")}"' in page
    assert 'name="viewport"' in page


def _groups(response):
    return [(region.code, [h.name for h in lines]) for region, lines in response.context["hotline_groups"]]


def test_hotlines_city_wide_first_then_the_chosen_district(client, hotlines):
    response = client.get("/", {"district": "500101"})
    assert _groups(response) == [("500000", ["市民政局救助热线"]), ("500101", ["万州区社会救助热线"])]
    page = response.content.decode()
    assert 'href="tel:023-58000001"' in page and "8:30-17:30" in page
    assert "停用热线" not in page and "涪陵区社会救助热线" not in page


def test_without_a_district_only_the_city_wide_lines_and_a_choice(client, hotlines):
    """Not every district's lines in one long list (42 districts: 7,000 px on a phone)."""
    response = client.get("/")
    assert _groups(response) == [("500000", ["市民政局救助热线"])]
    page = response.content.decode()
    assert 'data-testid="pick-district"' in page and '<option value="" selected' not in page
    assert "万州区社会救助热线" not in page and "no-hotlines" not in page
    # The full list stays one link away.
    assert f'href="{reverse("hotlines:directory")}" data-testid="all-hotlines">全部区县<' in page


def test_district_of_the_citizens_own_case(client, regions, hotlines):
    """After applying (or opening their case's status), the home page shows the case's district."""
    from doudi.intake.services import open_case
    from doudi.portal.views import APPLIED_SESSION_KEY, STATUS_SESSION_KEY

    case = open_case(by=None, case_type="dibao", channel="portal", region=regions.b_v, summary="申请低保",
                     applicant_name="张伟", applicant_id_number="", applicant_phone="13800138000")  # fmt: skip
    for key in (APPLIED_SESSION_KEY, STATUS_SESSION_KEY):
        session = client.session
        session.clear()
        session[key] = {"case": case.pk}
        session.save()
        assert [code for code, _ in _groups(client.get("/"))] == ["500000", "500102"], key
        # A district picked on the page wins.
        assert [code for code, _ in _groups(client.get("/", {"district": "500101"}))] == ["500000", "500101"]
    session = client.session
    session[STATUS_SESSION_KEY] = {"case": 999999}  # a case that no longer exists: no district, no error
    session.save()
    assert [code for code, _ in _groups(client.get("/"))] == ["500000"]


def test_no_city_wide_line_still_offers_the_districts(client, regions):
    from doudi.regions.services import create_hotline

    create_hotline(by=None, district=regions.a, name="万州区社会救助热线", phone="023-58000001")
    page = client.get("/").content.decode()
    assert 'data-testid="pick-district"' in page and "热线信息正在整理中" not in page


def test_district_filter_keeps_city_lines(client, hotlines):
    response = client.get("/", {"district": "500102"})
    groups = response.context["hotline_groups"]
    assert [region.code for region, _ in groups] == ["500000", "500102"]
    assert response.context["selected"].code == "500102"
    assert '<option value="500102" selected>' in response.content.decode()


def test_unknown_district_shows_the_city_wide_lines(client, hotlines):
    response = client.get("/", {"district": "999999"})
    assert response.context["selected"] is None
    assert _groups(response) == [("500000", ["市民政局救助热线"])]


def test_no_hotlines_yet_says_so(client, regions):
    response = client.get("/")
    assert "热线信息正在整理中" in response.content.decode()


def _urlconf(with_disclosure: bool):
    """The site's public URLs, with or without a 公示 page, whatever the disclosure app's state."""
    from django.http import HttpResponse
    from django.urls import include, path

    patterns = [
        path("i18n/", include("django.conf.urls.i18n")),
        path("console/", include("doudi.console.urls")),
        path("hotlines/", include("doudi.regions.public_urls")),
        path("", include("doudi.portal.urls")),
    ]
    if with_disclosure:
        dummy = ([path("", lambda request: HttpResponse(""), name="public")], "disclosure")
        patterns.insert(0, path("gongshi/", include(dummy)))
    module = ModuleType(f"portal_test_urls_{with_disclosure}")  # hashable, as Django's resolver cache needs
    module.urlpatterns = patterns
    return module


def test_links_to_hotlines_and_staff_login(client, hotlines):
    page = client.get("/").content.decode()
    assert f'href="{reverse("hotlines:directory")}"' in page
    assert f'href="{reverse("console:login")}"' in page


def test_public_notice_link_only_when_the_page_exists(client, hotlines):
    with override_settings(ROOT_URLCONF=_urlconf(with_disclosure=True)):
        page = client.get("/").content.decode()
        assert 'href="/gongshi/"' in page and "查看公示" in page
    with override_settings(ROOT_URLCONF=_urlconf(with_disclosure=False)):
        page = client.get("/").content.decode()
        assert "查看公示" not in page and "/gongshi/" not in page


def test_landing_page_in_english(client, hotlines):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/").content.decode()
    assert '<html lang="en">' in page
    assert "Temporary assistance" in page
    assert "临时救助" not in page
