"""自助试算: the self-check answers with the policy engine's amounts and plain reasons, refuses bad
input field by field (never a 500), is rate-limited like the portal's other public forms, stores
nothing, and hands what was typed to the application form."""

import datetime
import re

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from doudi.intake.models import Case
from doudi.portal.models import Submission

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_parameters")]

A = "500101"


def url(code=A):
    return reverse("portal:self_check", args=[code])


def form(*people, **household):
    """POST data: `people` are dicts of a row's fields (the first is the citizen)."""
    data = {
        "area_type": "urban",
        "people-TOTAL_FORMS": str(len(people) or 1),
        "people-INITIAL_FORMS": "0",
        "people-MIN_NUM_FORMS": "1",
        "people-MAX_NUM_FORMS": "11",
    }
    for i, person in enumerate(people):
        for key, value in person.items():
            data[f"people-{i}-{key}"] = value
    data.update(household)
    return {k: v for k, v in data.items() if v is not None}


def shown(page, name):
    match = re.search(rf'data-testid="{re.escape(name)}"[^>]*>([^<]*)<', page)
    return match[1].strip() if match else None


def post(client, data, code=A):
    response = client.post(url(code), data)
    return response, response.content.decode()


def test_self_check_page_on_a_phone_asks_no_identity(client, regions):
    response = client.get(url())
    page = response.content.decode()
    assert response.status_code == 200
    assert "两分钟自助试算" in page and "万州区" in page
    assert "身份证号" in page  # only in the sentence saying it is not needed
    assert 'name="people-0-id_number"' not in page and "applicant_name" not in page
    assert 'name="people-0-income"' in page and 'inputmode="decimal"' in page


def test_a_household_under_the_standard_is_told_to_apply_with_the_engine_amount(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    response, page = post(
        client, form({"income": "1000"}, {"relation": "spouse", "income": "300"}, {"relation": "child"})
    )
    assert response.status_code == 200
    # POLICY.md §5 example 1: 546 × 3 − 1300 = 338; price subsidy 200 each → 938.
    assert 'data-verdict="apply"' in page
    assert shown(page, "amount-dibao") == "338"
    assert shown(page, "total") == "938"
    assert shown(page, "extra-amount-price_subsidy") == "600"
    assert "人均 433.33 元" in page and "低于当地城市低保标准每人每月 546 元" in page
    assert "1300 &lt; 1638 (= 546 × 3)" in page  # the engine's own arithmetic, shown
    assert 'data-testid="start-dibao"' in page


def test_income_above_the_standard_is_told_why(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    _, page = post(client, form({"income": "2000"}))
    assert 'data-verdict="none"' in page
    assert 'data-testid="not-dibao"' in page
    assert "不低于当地城市低保标准每人每月 546 元：收入高于低保标准" in page
    assert 'data-testid="start-dibao"' not in page


def test_each_asset_over_its_limit_is_named(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    _, page = post(client, form({"income": "0"}, deposits="20000", vehicles="1", boats="1", houses="2"))
    assert "存款等金融资产 20000 元，超过 13104 元（24 个月的低保标准 × 人数）" in page
    assert "有机动车 1 辆，超过规定的 0 辆" in page
    assert "有船舶 1 艘，超过规定的 0 艘" in page
    assert "有住房 2 套，超过规定的 1 套" in page
    assert 'data-verdict="none"' in page


def test_tekun_orphan_and_covid_patient_each_with_the_engine_amount(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    _, page = post(
        client,
        form(
            {"income": "0", "confirmed_on": "2020-02-10", "discharged_on": "2020-03-11"},
            {"relation": "parent", "situations": ["tekun"]},
            {"relation": "grandchild", "birth_month": "2012-05", "situations": ["orphan"]},
        ),
    )
    assert shown(page, "amount-tekun-1") == "710"  # 546 × 1.3 = 709.8 → 710
    assert shown(page, "amount-children-2") == "1200"
    assert shown(page, "extra-amount-covid_p1") == "1092"  # 2 × 546, the March month (03-10 < 03-11)
    assert "从确诊起共 2 个月，合计 2184 元" in page
    assert "特困人员单独计算，不计入家庭的低保人数" in page
    for scheme in ("dibao", "tekun", "children"):
        assert f'data-testid="start-{scheme}"' in page


@pytest.mark.parametrize(
    "born, amount, reason",
    [
        # 18 in January 2019: the month after is not in the window (from 2020-01-24) — no allowance.
        ("2001-01", None, "已满18周岁（18周岁生日所在月之后不再发放儿童基本生活费）"),
        # 18 in February 2020: March is in the window — the allowance continues (POLICY.md §5 ex. 4).
        ("2002-02", "1200", "已满18周岁，疫情防控期间继续发放"),
    ],
)
def test_an_orphan_turning_eighteen(client, regions, freeze, born, amount, reason):
    freeze(datetime.date(2020, 3, 15))
    _, page = post(client, form({"birth_month": born, "situations": ["orphan"]}))
    assert reason in page
    assert shown(page, "amount-children-0") == amount
    assert ('data-testid="not-children"' in page) == (amount is None)


def test_an_uncovered_patient_and_sudden_hardship_point_to_temporary_assistance(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    _, page = post(client, form({"income": "5000", "confirmed_on": "2020-03-02"}, sudden_hardship="on"))
    assert 'data-testid="finding-temporary"' in page
    assert "可以申请临时救助（急难型或支出型）" in page
    assert "不属于按月领取确诊患者救助的人员" in page


def test_registered_poor_patient_is_covered(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    _, page = post(client, form({"income": "5000", "confirmed_on": "2020-03-02"}, registered_poor="on"))
    assert shown(page, "extra-amount-covid_p1") == "1092"


# --- what a phone sends -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, counted",
    [
        ("１０００", "1000"),  # full-width digits from a Chinese keyboard
        ("1,000元", "1000"),
        ("\u200b1000\u200b", "1000"),  # a zero-width space pasted from a chat
        ("\ufeff 1000.5 ", "1000.50"),
        ("", "0"),
        ("0", "0"),
        ("100000000", "100000000"),  # the largest amount the engine takes
    ],
)
def test_amounts_are_read_as_meant(client, regions, typed, counted):
    response, page = post(client, form({"income": typed}))
    assert response.status_code == 200
    assert f"家庭上月收入合计 {counted} 元" in page


@pytest.mark.parametrize(
    "field, typed, message",
    [
        ("people-0-income", "-500", "金额不能为负数"),
        ("people-0-income", "100000000.01", "金额不能超过 100000000 元"),
        ("people-0-income", "12.345", "金额最多保留两位小数"),
        ("people-0-income", "一千", "请填写金额（数字）"),
        ("people-0-income", "1e5", "请填写金额（数字）"),
        ("people-0-income", "NaN", "请填写金额（数字）"),
        ("people-0-income", "9" * 5000, "内容过长"),
        ("deposits", "-1", "金额不能为负数"),
        ("vehicles", "-1", "应为 0 至 99 之间的整数"),
        ("vehicles", "1.5", "请填写整数"),
        ("houses", "100", "应为 0 至 99 之间的整数"),
        ("boats", "０.5", "请填写整数"),
        ("people-0-birth_month", "2012-13", "请按“年-月”填写"),
        ("people-0-birth_month", "1899-12", "不能早于 1900 年"),
        ("people-0-confirmed_on", "2020-02-30", "请填写有效日期"),
        ("people-0-confirmed_on", "2019-11-30", "日期不能早于 2019-12-01"),
        ("people-0-situations", "millionaire", "不在可用的选项中"),
        ("area_type", "suburban", "不在可用的选项中"),
    ],
)
def test_bad_input_is_a_field_error_not_a_500(client, regions, field, typed, message):
    data = form({"income": "0"})
    data[field] = typed
    response, page = post(client, data)
    assert response.status_code == 400
    assert 'data-testid="form-errors"' in page
    assert f'data-testid="error-{field}"' in page
    error = re.search(rf'data-testid="error-{re.escape(field)}">([^<]*)<', page)[1]
    assert message in error
    assert 'data-testid="answer"' not in page
    assert 'aria-invalid="true"' in page


def test_blank_form_asks_for_urban_or_rural_only(client, regions):
    response, page = post(client, form({}, area_type=""))
    assert response.status_code == 400
    assert shown(page, "error-area_type") == "请选择城市或农村。"
    assert page.count("invalid-feedback") == 1


def test_future_dates_and_inconsistent_covid_dates(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    _, page = post(
        client,
        form(
            {"birth_month": "2020-04"},
            {"relation": "child", "confirmed_on": "2020-03-10", "discharged_on": "2020-03-01"},
            {"relation": "child", "died_on": "2020-03-01"},
            {"relation": "child", "confirmed_on": "2020-03-16"},
        ),
    )
    assert shown(page, "error-people-0-birth_month") == "出生年月不能晚于本月。"
    assert shown(page, "error-people-1-discharged_on") == "出院日期不能早于确诊日期。"
    assert shown(page, "error-people-2-died_on") == "请先填写确诊日期。"
    assert shown(page, "error-people-3-confirmed_on") == "日期不能晚于今天。"


def test_a_child_row_needs_its_birth_month_and_every_other_row_its_relation(client, regions):
    _, page = post(client, form({"situations": ["orphan"]}, {"income": "800"}))
    assert shown(page, "error-people-0-birth_month") == "孤儿、事实无人抚养儿童请填写出生年月。"
    assert shown(page, "error-people-1-relation") == "请选择与本人的关系。"


def test_blank_extra_rows_are_left_out(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    data = form({"income": "100"}, {}, {"relation": ""})
    _, page = post(client, data)
    assert "按 1 人计算" in page


@pytest.mark.parametrize(
    "tamper",
    [
        {"people-TOTAL_FORMS": "500"},
        {"people-TOTAL_FORMS": "abc"},
        {"people-TOTAL_FORMS": None, "people-INITIAL_FORMS": None},
        {"people-TOTAL_FORMS": "0"},
    ],
)
def test_tampered_row_counts_are_an_error(client, regions, tamper):
    data = form({"income": "0"})
    data.update({k: v for k, v in tamper.items() if v is not None})
    for k, v in tamper.items():
        if v is None:
            data.pop(k)
    response, page = post(client, data)
    assert response.status_code == 400
    assert 'data-testid="form-errors"' in page


def test_twelve_people_are_refused(client, regions):
    response, page = post(client, form(*[{"income": "0", "relation": "child"} for _ in range(12)]))
    assert response.status_code == 400
    assert "11" in shown(page, "error-people")


def test_the_posted_district_is_ignored_for_the_page_one(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    _, page = post(client, form({"income": "0"}, district="999999"))
    assert shown(page, "amount-dibao") == "546"


def test_oversize_body_is_refused_plainly(client, regions):
    data = form({"income": "0"}, padding="x" * 70_000)
    response, page = post(client, data)
    assert response.status_code == 413
    assert "提交的内容过多" in page
    assert 'data-testid="answer"' not in page


def test_a_body_beyond_django_limit_is_a_400_page_not_a_500(regions, settings):
    from django.test import Client

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    # A browser's POST is read by the CSRF check before the view: Django refuses it there.
    client = Client(enforce_csrf_checks=True)
    client.get(url())  # the CSRF cookie, as a browser has it
    response = client.post(url(), form({"income": "0"}, padding="x" * 200_000))
    assert response.status_code == 400
    assert "提交的内容过大" in response.content.decode()


def test_unknown_district_and_a_township_code_are_404(client, regions):
    assert client.get(url("999999")).status_code == 404
    assert client.get(url(regions.a_t.code)).status_code == 404
    assert client.post(url(regions.a_t.code), form({})).status_code == 404


def test_same_request_twice_gives_the_same_answer(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    data = form({"income": "300"}, {"relation": "spouse", "income": "100"})
    first = post(client, data)[1]
    second = post(client, data)[1]
    strip = re.compile(r"[A-Za-z0-9]{64}")  # the CSRF tokens
    assert strip.sub("", first) == strip.sub("", second)


def test_self_check_is_rate_limited_per_ip(client, regions, settings):
    settings.DOUDI_PORTAL_RATE_LIMITS = {"selfcheck": {"ip": (2, 3600)}}
    data = form({"income": "0"})
    assert post(client, data)[0].status_code == 200
    assert post(client, data)[0].status_code == 200
    response, page = post(client, data)
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "操作过于频繁" in page
    assert 'name="people-0-income" value="0"' in page  # the form is re-shown as typed
    prefill = client.post(reverse("portal:apply_prefilled", args=["dibao"]), {**data, "district": A})
    assert prefill.status_code == 429


def test_the_person_row_endpoint(client, regions):
    response = client.get(reverse("portal:self_check_row", args=[A]), {"index": "1"})
    page = response.content.decode()
    assert 'name="people-1-relation"' in page and 'name="people-1-income"' in page
    assert 'value="2"' in page  # the count grows
    for bad in ("0", "11", "-1", "x", ""):
        assert client.get(reverse("portal:self_check_row", args=[A]), {"index": bad}).status_code == 204
    assert client.get(reverse("portal:self_check_row", args=["999999"]), {"index": "1"}).status_code == 404


# --- nothing stored; the hand-over to the application ---------------------------------------------


def _prefill(client, data, scheme="dibao", row="0"):
    return client.post(reverse("portal:apply_prefilled", args=[scheme]), {**data, "district": A, "row": row})


def test_nothing_is_stored_by_the_self_check_or_the_prefill(client, regions):
    data = form({"income": "800"}, {"relation": "spouse", "income": "200"})
    response = client.post(url(), data)
    prefill = _prefill(client, data)
    assert response.status_code == prefill.status_code == 200
    assert Case.objects.count() == 0 and Submission.objects.count() == 0
    assert Session.objects.count() == 0
    assert "sessionid" not in response.cookies and "sessionid" not in prefill.cookies


def test_the_answer_carries_what_was_typed_to_the_application_form(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    data = form(
        {"income": "1000"},
        {"relation": "spouse", "income": "300"},
        {"relation": "child", "birth_month": "2012-05", "situations": ["de_facto_unsupported_child"]},
        deposits="2000",
    )
    page = client.post(url(), data).content.decode()
    # The buttons re-send the typed values (hidden), one form per scheme.
    assert 'name="people-1-income" value="300"' in page
    assert 'name="row" value="2"' in page  # the child's row for the children's application

    response = _prefill(client, data, "children", "2")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="prefilled"' in page
    assert '<option value="500101" selected>' in page
    assert re.search(r'<option value="500101001"', page)  # the district's townships to choose from
    assert 'name="applicant_income" value="1000"' in page
    assert '<option value="spouse" selected>' in page and 'name="members-0-income" value="300"' in page
    assert '<option value="child" selected>' in page and 'name="members-1-income" value="0"' in page
    assert re.search(r'value="de_facto_unsupported_child"[^>]*checked', page)
    assert "共同生活 3 人，上月家庭收入合计 1300 元；存款等金融资产 2000 元" in page
    assert 'name="members-INITIAL_FORMS" value="0"' in page  # a pre-filled row may be emptied
    assert f'action="{reverse("portal:apply", args=["children"])}"' in page


def test_a_prefilled_application_is_submitted_like_any(client, regions, application):
    data = form({"income": "800"}, {"relation": "spouse", "income": "250.5"})
    page = _prefill(client, data).content.decode()
    assert 'name="members-0-income" value="250.5"' in page
    submitted = application(
        **{
            "applicant_income": "800",
            "members-0-income": "250.5",
            "reason": "（据自助试算）共同生活 2 人，上月家庭收入合计 1050.50 元",
        }
    )
    response = client.post(reverse("portal:apply", args=["dibao"]), submitted)
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.details["portal"]["applicant_income_fen"] == 80000
    assert case.details["portal"]["members"][0]["income_fen"] == 25050


def test_a_tampered_prefill_shows_the_empty_form(client, regions):
    response = _prefill(client, form({"income": "-5"}))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="prefill-failed"' in page
    assert 'name="applicant_income"' in page and 'name="applicant_income" value' not in page


def test_prefill_answers_only_post_and_known_schemes(client, regions):
    assert client.get(reverse("portal:apply_prefilled", args=["dibao"])).status_code == 405
    assert _prefill(client, form({}), scheme="lottery").status_code == 404


def test_prefill_oversize_body_goes_back_to_the_empty_form(client, regions):
    response = _prefill(client, form({}, padding="x" * 70_000))
    assert response.status_code == 302 and response["Location"] == reverse("portal:apply", args=["dibao"])


def test_self_check_in_english(client, regions, freeze):
    freeze(datetime.date(2020, 3, 15))
    client.cookies["django_language"] = "en"
    page = client.get(url()).content.decode()
    assert "Two-minute self-check" in page and "两分钟" not in page
    _, page = post(
        client, form({"income": "1000"}, {"relation": "spouse", "income": "300"}, {"relation": "child"})
    )
    assert "We suggest you apply for" in page
    assert shown(page, "amount-dibao") == "338"
    answer = page.split('data-testid="answer"', 1)[1].split("</section>", 1)[0]
    assert not re.search(r"[\u4e00-\u9fff]", answer), answer  # every reason in English
