"""条例第11–13条 facts entered by hand and by import: the console forms of a household's asset items and
farming months and of a member's standing and separate assessment, and the import columns for the same
facts — each checked as the service checks it, the field (or sheet row and column) named, nothing
written from a file with any error."""

import datetime as dt
from pathlib import Path

import pytest
from django.urls import reverse
from idnumbers import make_id
from test_registry_importing import counts, run, to_csv

from doudi.audit.models import AuditAction, AuditEntry
from doudi.registry import importing
from doudi.registry.models import Household, Membership, Person

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def family(regions):
    household = Household.objects.create(region=regions.a_v, area_type="rural", vehicles=1)
    people = []
    for i, (name, born) in enumerate([("户主", dt.date(1970, 1, 1)), ("女儿", dt.date(2012, 6, 6))]):
        person = Person.objects.create(
            id_number=make_id("500101", born.strftime("%Y%m%d"), 10 + i), name=name, birth_date=born,
            sex="M", region=regions.a_v,
        )  # fmt: skip
        Membership.objects.create(household=household, person=person, relation="head" if i == 0 else "child",
                                  joined_on=dt.date(2010, 1, 1))  # fmt: skip
        people.append(person)
    household.head = people[0]
    household.save(update_fields=["head"])
    return household, people


def _facts_url(person):
    return reverse("registry:membership_facts", args=[Membership.objects.get(person=person).pk])


ECONOMICS = {
    "deposits_fen": "1234.50", "securities_fen": "800", "claims_fen": "", "vehicles": "1",
    "disability_vehicles": "1", "boats": "1", "houses": "1", "farming": "on",
    "farming_cash_income_fen": "12000", "farming_in_kind_income_fen": "2400.40", "farming_direct_costs_fen": "3000",
}  # fmt: skip


def test_the_household_page_links_the_forms_and_the_asset_items_are_saved_in_fen_and_audited(
    client, district_a, family
):
    household, (head, _daughter) = family
    client.force_login(district_a)
    page = client.get(reverse("console:household", args=[household.pk])).content.decode()
    assert reverse("registry:household_economics", args=[household.pk]) in page and _facts_url(head) in page
    url = reverse("registry:household_economics", args=[household.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, ECONOMICS)
    assert response.status_code == 302 and response["Location"] == reverse(
        "console:household", args=[household.pk]
    )
    household.refresh_from_db()
    assert (household.deposits_fen, household.securities_fen, household.claims_fen) == (123450, 80000, 0)
    assert (household.vehicles, household.disability_vehicles, household.boats, household.houses) == (
        1,
        1,
        1,
        1,
    )
    assert household.farming and (
        household.farming_cash_income_fen, household.farming_in_kind_income_fen, household.farming_direct_costs_fen
    ) == (1200000, 240040, 300000)  # fmt: skip
    entry = AuditEntry.objects.filter(action=AuditAction.UPDATE, object_id=str(household.pk)).latest("id")
    assert entry.after["securities_fen"] == 80000 and entry.before["farming"] is False
    page = client.get(reverse("console:household", args=[household.pk])).content.decode()
    assert "12,000.00" in page or "12000.00" in page


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"farming": ""}, "farming_cash_income_fen", "只有农业家庭"),
        ({"boats": "-1"}, "boats", ""),
        ({"securities_fen": "1.234"}, "securities_fen", ""),
        ({"houses": "x"}, "houses", ""),
    ],
)
def test_bad_asset_input_is_a_400_on_its_field_and_nothing_changes(
    client, district_a, family, change, field, words
):
    household, _people = family
    client.force_login(district_a)
    response = client.post(
        reverse("registry:household_economics", args=[household.pk]), {**ECONOMICS, **change}
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and words in " ".join(errors[field])
    household.refresh_from_db()
    assert (household.securities_fen, household.boats, household.farming) == (0, 0, False)


def test_a_members_standing_and_separate_assessment_are_entered_with_their_rules(client, district_a, family):
    household, (head, daughter) = family
    client.force_login(district_a)
    reads = AuditEntry.objects.filter(action=AuditAction.READ).count()
    assert client.get(_facts_url(head)).status_code == 200
    assert (
        AuditEntry.objects.filter(action=AuditAction.READ).count() == reads + 1
    )  # the page names the person
    # A conscript must say whether married; a minor cannot be assessed separately.
    response = client.post(_facts_url(head), {"standing": "serving_conscript", "married": ""})
    assert response.status_code == 400 and "married" in response.context["form"].errors
    response = client.post(
        _facts_url(daughter), {"standing": "present", "separate_reason": "severe_disability"}
    )
    assert response.status_code == 400 and "成年" in " ".join(
        response.context["form"].errors["separate_reason"]
    )
    response = client.post(_facts_url(head), {"standing": "clergy", "living_apart_since": "2018-09-01"})
    assert response.status_code == 302
    m = Membership.objects.get(person=head)
    assert (m.standing, m.living_apart_since, m.married) == ("clergy", dt.date(2018, 9, 1), None)
    response = client.post(
        _facts_url(head), {"standing": "present", "married": "no", "separate_reason": "bedridden_illness"}
    )
    m.refresh_from_db()
    assert response.status_code == 302
    assert (m.standing, m.married, m.separate_reason, m.separate_assessment) == (
        "present", False, "bedridden_illness", True
    )  # fmt: skip
    page = client.get(reverse("console:household", args=[household.pk])).content.decode()
    assert "重病卧床" in page


def test_the_forms_are_for_writers_in_scope(client, supervisor, district_b, family):
    household, (head, _daughter) = family
    client.force_login(supervisor)
    assert client.get(reverse("registry:household_economics", args=[household.pk])).status_code == 403
    assert client.post(_facts_url(head), {"standing": "prisoner"}).status_code == 403
    assert (
        "edit-economics" not in client.get(reverse("console:household", args=[household.pk])).content.decode()
    )
    client.force_login(district_b)
    assert client.get(reverse("registry:household_economics", args=[household.pk])).status_code == 404
    assert client.post(_facts_url(head), {"standing": "prisoner"}).status_code == 404
    assert Membership.objects.get(person=head).standing == "present"


ART_HEADERS = ["户编号", "村社区代码", "城乡类别", "有价证券（元）", "债权（元）", "残疾人代步车（辆）", "船舶（艘）",
               "农业家庭", "12个月现金收入（元）", "12个月实物收入（元）", "12个月直接生产成本（元）", "姓名", "身份证号",
               "与户主关系", "成员状况", "是否已婚", "离家居住起始日期", "单独施保", "单独施保原因"]  # fmt: skip


def art_rows():
    return [
        ["F1", "500101001001", "农村", "5000", "1200.5", "1", "2", "是", "15000", "3000", "4000.25", "钱一",
         make_id("500101", "19650101", 11), "户主", "", "", "", "是", "重度残疾"],
        ["F1", "", "", "", "", "", "", "", "", "", "", "钱二", make_id("500101", "20000202", 21), "子女",
         "服义务兵役", "否", "", "", ""],
        ["F1", "", "", "", "", "", "", "", "", "", "", "钱三", make_id("500101", "19700303", 31), "配偶",
         "宗教教职人员", "", "2019-05-01", "", ""],
        ["F1", "", "", "", "", "", "", "", "", "", "", "钱四", make_id("500101", "19920404", 41), "子女",
         "服刑", "", "", "", ""],
    ]  # fmt: skip


def test_import_carries_the_art_11_to_13_columns(district_a):
    result = run(district_a, to_csv(ART_HEADERS, art_rows()), "persons.csv")
    assert result.ok, result.errors
    h = Household.objects.get(head__name="钱一")
    assert (h.securities_fen, h.claims_fen, h.disability_vehicles, h.boats) == (500000, 120050, 1, 2)
    assert h.farming and (h.farming_cash_income_fen, h.farming_in_kind_income_fen, h.farming_direct_costs_fen) == (
        1500000, 300000, 400025
    )  # fmt: skip
    facts = {
        m.person.name: (m.standing, m.married, m.living_apart_since, m.separate_assessment, m.separate_reason)
        for m in Membership.objects.filter(household=h).select_related("person")
    }
    assert facts == {
        "钱一": ("present", None, None, True, "severe_disability"),
        "钱二": ("serving_conscript", False, None, False, ""),
        "钱三": ("clergy", None, dt.date(2019, 5, 1), False, ""),
        "钱四": ("prisoner", None, None, False, ""),
    }


def test_import_errors_name_the_row_and_column_and_nothing_is_written(district_a):
    rows = art_rows()
    rows[0][7] = "否"  # farming figures for a household that is not farming → on the figure's column
    rows[1][15] = ""  # a conscript without 是否已婚
    rows[2][16] = ""  # clergy without the date
    rows[3][16] = "2019-01-01"  # a date for a prisoner
    rows[0][18] = ""  # 单独施保 是 without a reason
    rows.append(["F2", "500101001002", "城市", "", "", "", "", "", "", "", "", "孙五",
                 make_id("500101", "20150505", 51), "户主", "", "", "", "", "重病卧床"])  # a minor  # fmt: skip
    before = counts()
    result = run(district_a, to_csv(ART_HEADERS, rows), "persons.csv")
    assert not result.ok and counts() == before
    found = {(e.row, e.column) for e in result.errors}
    assert found == {
        (2, "12个月现金收入（元）"), (2, "12个月实物收入（元）"), (2, "12个月直接生产成本（元）"),
        (2, "单独施保原因"), (3, "是否已婚"), (4, "离家居住起始日期"), (5, "离家居住起始日期"), (6, "单独施保原因"),
    }  # fmt: skip
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert "已婚" in messages[(3, "是否已婚")] and "成年" in messages[(6, "单独施保原因")]


def test_the_documented_import_format_lists_every_column():
    doc = (ROOT / "docs" / "registry-import.md").read_text()
    for f in importing.FIELDS:
        assert f"| {f.title} | `{f.key}` |" in doc, f.title
