"""The printable check report explains the re-evaluation as the case page does: steps by name, the
arithmetic with its numbers, the notice's clause with the regulation's article, parameters by name."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from doudi.verification.models import CheckReport


@pytest.mark.django_db
def test_the_report_shows_the_arithmetic_articles_and_parameter_names(
    client, make_household, township_a, load
):
    h = make_household([{"name": "张三丰", "income_wage_fen": 50_000}], last_amount=300)
    person = h.memberships.get().person
    day = timezone.localdate() - dt.timedelta(days=1)
    load("social_insurance", [{"id_number": person.id_number, "name": "张三丰", "employer": "甲", "monthly_wage": "700"}],
         extract_date=day)  # fmt: skip
    client.force_login(township_a)
    client.post(reverse("verification:consent_record", args=[h.pk]),
                {"signed_on": day.isoformat(), "signatories": "张三丰", "document_number": "SQ-1"})  # fmt: skip
    client.post(reverse("verification:check", args=[h.pk]), {"period": "2020-03"})
    page = client.get(reverse("verification:report", args=[CheckReport.objects.get().pk])).content.decode()
    explained = page[page.index('data-testid="explanation"') :]
    assert "700 &lt; 546 (= 546 × 1)" in explained  # the verified wage fails the income test
    assert "收入条件" in explained and "《重庆市城乡居民最低生活保障条例》第12条" in explained
    assert "城市最低生活保障标准 = 546" in explained and "<code>dibao." not in explained
