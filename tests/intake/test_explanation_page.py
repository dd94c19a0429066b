"""The dibao case page shows how the evaluation was computed: the arithmetic with its numbers and in
words, the notice's clause with the regulation's article beside it, the parameters by Chinese name."""

import datetime

from django.conf import settings
from django.urls import reverse

from benefits.support import declare_window, file_dibao, make_household, to_evaluated

D = datetime.date


def _evaluated_case(officers, regions, frozen_today):
    """POLICY §5 example 1: urban, 3 people, wages 1000 + 300, March 2020 → 338."""
    _household, people = make_household(regions.a_v, [("张小明", 0), ("李红", 0), ("张乐", 0)])
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    return to_evaluated(file_dibao(officers, people[0]), officers, people)


def test_the_case_page_shows_the_arithmetic_the_articles_and_chinese_parameter_names(
    officers, regions, frozen_today, client
):
    case = _evaluated_case(officers, regions, frozen_today)
    client.force_login(officers.a_township)
    html = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert "546 × 3 − 1300 = 338" in html  # the top-up, POLICY §5 example 1
    assert "低保标准 × 保障人口 − 计算收入" in html  # the same formula in words
    assert "1300 &lt; 1638 (= 546 × 3)" in html  # the income test
    assert (
        "《重庆市城乡居民最低生活保障条例》第12条" in html
        and "《重庆市城乡居民最低生活保障条例》第13条" in html
    )
    assert "《社会救助暂行办法》" in html and "渝肺炎组发〔2020〕14号 一(一)" in html
    assert "城市最低生活保障标准" in html and "凭记忆录入，待核对" in html  # name and source in Chinese


def test_in_english_the_articles_and_parameter_names_are_english(officers, regions, frozen_today, client):
    case = _evaluated_case(officers, regions, frozen_today)
    client.force_login(officers.a_township)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert "Urban minimum living standard" in html
    assert "Chongqing Regulation on Urban and Rural Minimum Living Security, art. 12" in html
    assert "Dibao standard × Persons covered − Counted income" in html
