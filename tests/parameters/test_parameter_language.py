"""Parameters are shown in the user's language: Chinese names, descriptions and units (元/人/月) in the
Chinese console, English ones in the English console; the forms' error messages name the value in Chinese."""

import re

from django.conf import settings
from django.urls import reverse

from doudi.parameters.models import SimulationRun

_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_list_and_detail_show_chinese_names_descriptions_and_units(client, officer):
    client.force_login(officer)
    html = client.get(reverse("parameters:list")).content.decode()
    assert "城市最低生活保障标准" in html and "元/人/月" in html and "务工成本扣减比例" in html
    for english in ("CNY per", "per person per month", "multiple of", "share of the wage", "stand-in for"):
        assert english not in html
    detail = client.get(reverse("parameters:detail", args=["price_index.cpi_yoy"])).content.decode()
    assert "居民消费价格指数同比涨幅" in detail and "百分数" in detail  # the type, in words
    assert "recalled-check-NBS" not in detail and "待与国家统计局发布核对" in detail  # the status, in words


def test_in_english_the_same_pages_are_english(client, officer):
    client.force_login(officer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("parameters:list")).content.decode()
    assert "Urban minimum living standard" in html and "CNY per person per month" in html
    assert "城市最低生活保障标准" not in html


def test_a_bad_value_is_refused_in_chinese_naming_what_was_typed(client, admin):
    client.force_login(admin)
    url = reverse("parameters:add", args=["covid.bereavement_assistance"])
    form = {
        "effective_from": "2020-03-01",
        "region": "500101",
        "reference": "万州区民政局",
        "reason": "区县标准",
    }
    html = client.post(url, {**form, "value": "5000.123"}).content.decode()
    message = re.search(r'data-testid="error-value"[^>]*>(.*?)<', html, flags=re.S).group(1)
    assert "“5000.123”不是有效的取值" in message and "最多两位小数" in message
    assert "expected" not in html and "yuan" not in html
    assert "元/户" in html  # the unit beside the field, in Chinese


def test_simulation_overrides_are_refused_in_chinese_line_by_line(client, admin, population):
    client.force_login(admin)
    response = client.post(
        reverse("parameters:simulate"),
        {
            "period": "2020-03",
            "overrides": "dibao.standard.urban=abc\nno.such=1\nplain",
            "population": "synth",
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "“dibao.standard.urban=abc”：“abc”不是有效的取值" in html
    assert "没有名为 no.such 的参数" in html and "应写成“参数名=取值”" in html
    assert "unknown parameter" not in html and "is not a number" not in html
    assert not SimulationRun.objects.exists()
