"""盖章单位: who signs a unit's printed notices — set by the bureau, else the usual name for the level."""

from doudi.regions.models import Region, RegionLevel


def test_each_level_has_the_usual_signing_body(regions):
    assert regions.city.seal_name == "重庆市民政局"
    assert regions.a.seal_name == "重庆市万州区民政局"
    assert regions.a_t.seal_name == "高笋塘街道办事处"
    assert regions.a_v.seal_name == "高笋塘社区居民委员会"


def test_townships_villages_and_functional_zones(regions):
    from doudi.regions.services import create_region

    town = create_region(code="500101002", name="龙沙镇", parent=regions.a)
    village = create_region(code="500101002001", name="石峰村", parent=town)
    assert town.seal_name == "龙沙镇人民政府" and village.seal_name == "石峰村村民委员会"
    zone = Region.objects.create(
        code="500190",
        name="两江新区",
        level=RegionLevel.DISTRICT,
        parent=regions.city,
        path="500000/500190/",
        is_local_code=True,
    )
    assert zone.seal_name == "两江新区民政部门"


def test_the_bureau_names_its_own_signing_body(regions):
    regions.a.authority_name = "重庆两江新区社会保障局"
    assert regions.a.seal_name == "重庆两江新区社会保障局"
    regions.a.authority_name = ""
    assert regions.a.seal_name == "重庆市万州区民政局"


def test_a_district_officer_names_their_own_districts_signing_body(client, regions, officer_a, officer_b):
    from django.urls import reverse

    from doudi.audit.models import AuditEntry

    url = reverse("regions:authority_list")
    client.force_login(officer_a)
    page = client.get(url).content.decode()
    assert "重庆市万州区民政局" in page and 'data-testid="authority-500102"' not in page
    response = client.post(url, {"code": "500101", "authority_name": "  万州区社会保障局 "})
    assert response.status_code == 302
    regions.a.refresh_from_db()
    assert regions.a.seal_name == "万州区社会保障局"
    assert AuditEntry.objects.filter(object_type="regions.region", object_id="500101").exists()
    # Another district is out of scope (404); back to the default when cleared.
    assert client.post(url, {"code": "500102", "authority_name": "X"}).status_code == 404
    client.post(url, {"code": "500101", "authority_name": ""})
    regions.a.refresh_from_db()
    assert regions.a.seal_name == "重庆市万州区民政局"
    too_long = client.post(url, {"code": "500101", "authority_name": "局" * 65}, follow=True)
    assert "过长" in too_long.content.decode()
