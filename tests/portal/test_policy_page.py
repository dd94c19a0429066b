"""救助政策 (五 宣传): a district's public page shows the standards the engine computes from the
parameters in force — the bureau's stored values and the district's own — with dates, the 待核实
flag, who can apply and how, the time limit, the hotlines, and the way to the self-check."""

import datetime
import re

import pytest
from django.urls import reverse

from doudi.parameters.services import add_parameter_value

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_parameters")]

A = "500101"


def page_of(client, code=A):
    response = client.get(reverse("portal:policy", args=[code]))
    assert response.status_code == 200
    return response.content.decode()


def figure(page, key):
    match = re.search(rf'data-testid="figure-{key}">([^<]*)<', page)
    return match[1] if match else None


@pytest.fixture
def admin(regions, make_user):
    return make_user("city_admin", regions.city, "municipal_admin")


def test_march_2020_standards_are_the_engine_answers(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    page = page_of(client)
    assert "万州区社会救助政策" in page and "2020 年 3 月执行的标准" in page
    assert figure(page, "dibao-urban") == "546" and figure(page, "dibao-rural") == "420"
    assert figure(page, "tekun") == "710"  # R2: 546 × 1.3 = 709.8 → 710
    assert "546 × 1.3 = 709.8 → 710" in page
    assert figure(page, "children-scattered") == "1200" and figure(page, "children-institutional") == "1500"
    # R4 in March 2020: food +18.3 %, doubled: 546 × 0.183 × 2 = 199.836 → 200; rural 420 → 154.
    assert figure(page, "price-urban") == "200" and figure(page, "price-rural") == "154"
    assert "食品价格指数同比上涨 18.3%，发放倍数 2" in page
    assert "CPI）同比涨幅达到 3.5% 或食品价格同比涨幅达到 6% 时启动" in page
    # R5: 2 × the standard; R6: the district has set no amount.
    assert figure(page, "covid-urban") == "1092" and figure(page, "covid-rural") == "840"
    assert figure(page, "bereavement") == "—" and "本区县尚未公布标准" in page
    assert (
        "不超过 24 个月的低保标准 × 家庭人数" in page and "名下没有机动车" in page and "名下没有船舶" in page
    )
    assert figure(page, "temporary-urgent") == "3000" and figure(page, "temporary-first-aid") == "1000"
    # Unverified defaults are flagged where the citizen sees them.
    assert "待核实" in page and 'data-testid="unverified-note"' in page


def test_a_month_without_price_index_says_so(client, regions, freeze):
    freeze(datetime.date(2021, 10, 8))
    page = page_of(client)
    assert figure(page, "dibao-urban") == "636" and figure(page, "tekun") == "827"
    assert figure(page, "price-urban") == "—" and "本月价格指数尚未录入" in page
    assert "2021-09-01 起执行" in page


def test_stored_values_and_the_district_own_values_change_the_page(client, regions, admin, freeze):
    freeze(datetime.date(2021, 10, 8))
    add_parameter_value(
        user=admin,
        name="dibao.standard.urban",
        effective_from=datetime.date(2021, 10, 1),
        value=700,
        reference="渝民发〔2021〕9号",
        reason="调整标准",
        verified=True,
    )
    add_parameter_value(
        user=admin,
        name="covid.bereavement_assistance",
        region=A,
        effective_from=datetime.date(2020, 1, 24),
        value=5000,
        reference="万州区民政局通知",
        reason="区县确定",
    )
    add_parameter_value(
        user=admin,
        name="price_subsidy.district_supplement",
        region=A,
        effective_from=datetime.date(2020, 1, 1),
        value=20,
        reference="万州区",
        reason="区县增发",
    )
    page = page_of(client)
    assert figure(page, "dibao-urban") == "700" and "2021-10-01 起执行" in page
    assert figure(page, "tekun") == "910"  # follows the standard: 700 × 1.3
    assert figure(page, "covid-urban") == "1400"
    assert figure(page, "bereavement") == "5000"
    assert "本区县每人每月另外增发 20 元" in page
    other = page_of(client, "500102")  # the neighbour keeps the city's values
    assert figure(other, "bereavement") == "—" and "另外增发" not in other


def test_window_and_time_limit_follow_the_district_declaration(client, regions, officers, freeze):
    from benefits.support import declare_window

    freeze(datetime.date(2020, 3, 15))
    page = page_of(client)
    assert 'data-testid="window"' not in page and "受理后 30 日内办结" in page
    declare_window(officers, datetime.date(2020, 1, 24))
    page = page_of(client)
    assert "疫情防控期间（自 2020-01-24 起）" in page
    assert "受理后 7 个工作日内办结" in page


def test_ended_window_stops_the_covid_amounts(client, regions, officers, freeze):
    from benefits.support import declare_window

    freeze(datetime.date(2020, 9, 15))
    declare_window(officers, datetime.date(2020, 1, 24), datetime.date(2020, 6, 30))
    page = page_of(client)
    assert figure(page, "covid-urban") == "—" and "本月不在疫情防控期间" in page


def test_who_can_apply_how_and_whom_to_call(client, regions):
    from doudi.regions.services import create_hotline

    create_hotline(by=None, district=regions.city, name="市民政局社会救助热线", phone="023-12345")
    create_hotline(by=None, district=regions.a, name="万州区民政局", phone="023-58000001")
    create_hotline(by=None, district=regions.b, name="涪陵区民政局", phone="023-72000001")
    page = page_of(client)
    for scheme in ("dibao", "tekun", "children", "temporary"):
        assert f'data-testid="scheme-{scheme}"' in page
        assert f'href="{reverse("portal:apply", args=[scheme])}"' in page
    assert "家庭成员收入证明" in page and "代为申请" in page
    assert 'href="tel:023-58000001"' in page and "023-12345" in page and "涪陵区民政局" not in page
    assert f'href="{reverse("portal:self_check", args=[A])}"' in page


def test_index_lists_districts_and_redirects_a_choice(client, regions):
    response = client.get(reverse("portal:policy_index"))
    page = response.content.decode()
    assert "万州区" in page and "涪陵区" in page and "高笋塘街道" not in page
    response = client.get(reverse("portal:policy_index"), {"district": A})
    assert response.status_code == 302 and response["Location"] == reverse("portal:policy", args=[A])
    for bad in ("999999", regions.a_t.code, "<script>", "5" * 500):
        assert client.get(reverse("portal:policy_index"), {"district": bad}).status_code == 200


def test_unknown_codes_are_404(client, regions):
    for code in ("999999", regions.a_t.code, regions.a_v.code, "x" * 40):
        assert client.get(reverse("portal:policy", args=[code])).status_code == 404


def test_home_and_apply_pages_lead_to_the_self_check(client, regions):
    home = client.get("/").content.decode()
    assert f'href="{reverse("portal:policy_index")}"' in home
    apply_index = client.get(reverse("portal:apply_index")).content.decode()
    assert f'href="{reverse("portal:policy_index")}"' in apply_index


def test_policy_page_in_english(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    client.cookies["django_language"] = "en"
    page = page_of(client)
    assert "Social assistance policy" in page and "Urban minimum living standard" in page
    assert figure(page, "dibao-urban") == "546"
    main = page.split("<main", 1)[1].split("</main>", 1)[0]
    chinese = set(re.findall(r"[\u4e00-\u9fff]+", main)) - {"万州区", "涪陵区", "重庆市"}
    assert chinese == set(), chinese
