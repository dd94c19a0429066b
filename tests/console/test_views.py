"""Staff console views: access, scope (404), masking, read audit, search, duplicates, export."""

import io
import re

import pytest
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook

from console.population import PASSWORD, make_id
from doudi.accounts.models import User
from doudi.audit.models import AuditAction, AuditEntry
from doudi.core.masking import mask_id_number, mask_phone
from doudi.registry.models import DuplicateStatus, PossibleDuplicate

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


# --- access ---------------------------------------------------------------------------------------


def test_anonymous_user_is_sent_to_login(client):
    response = client.get(reverse("console:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_login_page_is_chinese_and_logs_in(client, officer_a):
    page = client.get(reverse("console:login"))
    assert page.status_code == 200 and "工作人员登录" in _text(page)
    response = client.post(reverse("console:login"), {"username": "officer_a", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("console:home")
    assert client.get(reverse("console:home")).status_code == 200


def test_user_without_region_gets_403(client, db):
    user = User.objects.create_user(username="nobody", password=PASSWORD)
    client.force_login(user)
    for name in ("console:home", "console:search", "console:duplicates"):
        response = client.get(reverse(name))
        assert response.status_code == 403
        assert "没有绑定行政区划" in _text(response)


def test_logout_is_a_post(client_a):
    assert client_a.get(reverse("console:logout")).status_code == 405
    response = client_a.post(reverse("console:logout"))
    assert response.status_code == 302
    assert client_a.get(reverse("console:home")).status_code == 302


def test_lockout_after_repeated_wrong_passwords(client, officer_a):
    url = reverse("console:login")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(url, {"username": "officer_a", "password": "wrong-password"})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
    locked = client.post(url, {"username": "officer_a", "password": "wrong-password"})
    assert locked.status_code == 429
    assert "账户已临时锁定" in _text(locked)
    assert settings.AXES_LOCKOUT_TEMPLATE in [t.name for t in locked.templates]
    # Even the right password is refused while locked.
    again = client.post(url, {"username": "officer_a", "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


# --- navigation and home --------------------------------------------------------------------------


def test_navbar_shows_app_user_role_region_and_links(client_a, officer_a):
    page = _text(client_a.get(reverse("console:home")))
    assert "兜底·社会救助" in page
    assert "officer_a" in page and "区县民政经办人" in page and "万州区" in page
    for name in ("console:home", "console:search", "console:duplicates"):
        assert f'href="{reverse(name)}"' in page
    assert f'action="{reverse("console:logout")}"' in page


def test_home_counts_only_the_users_region(client_a, population):
    response = client_a.get(reverse("console:home"))
    assert response.context["summary"] == {"households": 2, "persons": 4, "open_duplicates": 0}


# --- search ---------------------------------------------------------------------------------------


def test_search_by_lowercase_x_id_finds_the_person_with_masked_id_and_phone(client_a, population):
    li = population.li
    response = client_a.get(reverse("console:search"), {"q": li.id_number.lower()})
    page = _text(response)
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [li]
    assert mask_id_number(li.id_number) in page and li.id_number not in page
    assert mask_phone(li.phone) in page and li.phone not in page
    assert reverse("console:person", args=[li.pk]) in page
    assert reverse("console:household", args=[population.h_a.pk]) in page


def test_search_by_name_is_scoped(client_a, population):
    response = client_a.get(reverse("console:search"), {"q": "张"})
    assert [p.name for p in response.context["page"].object_list] == ["张三"]
    response = client_a.get(reverse("console:search"), {"q": population.zhang_b.id_number})
    assert list(response.context["page"].object_list) == []
    assert "没有符合条件的记录" in _text(response)


def test_household_search_lists_masked_head(client_a, population):
    response = client_a.get(reverse("console:search"), {"q": "李", "kind": "household"})
    page = _text(response)
    assert list(response.context["page"].object_list) == [population.h_a]
    assert mask_id_number(population.zhang.id_number) in page and population.zhang.id_number not in page


def test_incomplete_id_number_gets_a_hint(client_a, population):
    response = client_a.get(reverse("console:search"), {"q": population.zhang.id_number[:15]})
    assert "不是完整的18位" in _text(response)


def test_name_search_is_paginated_and_capped(client_a, population, monkeypatch, regions):
    from doudi.registry import selectors
    from doudi.registry import services as reg

    for i in range(5):
        reg.register_person(
            officer=population.admin,
            id_number=make_id("500101", "19900101", 100 + i),
            name=f"张{i}",
            region=regions.a_v,
        )
    monkeypatch.setattr(selectors, "SEARCH_LIMIT", 4)
    monkeypatch.setattr("doudi.console.views.PAGE_SIZE", 3)
    first = client_a.get(reverse("console:search"), {"q": "张"})
    assert first.context["page"].paginator.count == 4 and first.context["truncated"]
    assert len(first.context["page"].object_list) == 3
    second = client_a.get(reverse("console:search"), {"q": "张", "page": 2})
    assert len(second.context["page"].object_list) == 1
    assert "q=%E5%BC%A0&amp;page=1" in _text(second) or "page=1" in _text(second)


def test_export_is_masked_scoped_and_audited(client_a, population, officer_a):
    response = client_a.get(reverse("console:search_export"), {"q": "张", "match": "contains"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "身份证号")
    assert [r[0] for r in rows[1:]] == ["张三"]  # 张三丰 is in district B
    assert rows[1][1] == mask_id_number(population.zhang.id_number)
    assert rows[1][4] == mask_phone(population.zhang.phone)
    entry = AuditEntry.objects.filter(action=AuditAction.EXPORT, actor=officer_a).get()
    assert entry.after["rows"] == 1


def test_household_export_lists_masked_heads(client_a, population):
    response = client_a.get(reverse("console:search_export"), {"q": "李四", "kind": "household"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("家庭编号", "户主", "户主身份证号")
    assert rows[1][:4] == (str(population.h_a), "张三", mask_id_number(population.zhang.id_number), 2)


def test_export_without_a_query_goes_back_to_the_search(client_a):
    response = client_a.get(reverse("console:search_export"))
    assert response.status_code == 302 and response["Location"] == reverse("console:search")


# --- household and person pages -------------------------------------------------------------------


def test_household_page_shows_members_history_categories_income_assets(client_a, population):
    response = client_a.get(reverse("console:household", args=[population.h_a.pk]))
    page = _text(response)
    assert response.status_code == 200
    for text in ("张三", "李四", "王五", "户主", "配偶", "2020-02-01", "低保对象", "2020-01-01", "长期有效"):
        assert text in page, text
    assert "1,500.00" in page  # 张三's wage, in yuan
    assert "12,345.67" in page  # deposits
    assert population.li.id_number not in page and mask_id_number(population.li.id_number) in page
    assert "变更记录" in page and "新增" in page


def test_household_out_of_scope_is_404_like_a_missing_one(client_a, population):
    out_of_scope = client_a.get(reverse("console:household", args=[population.h_b.pk]))
    missing = client_a.get(reverse("console:household", args=[999999]))
    assert out_of_scope.status_code == missing.status_code == 404
    assert "未找到" in _text(out_of_scope)

    # Same page apart from its own URL and the per-response CSRF mask: nothing tells "exists in
    # another district" from "does not exist".
    def strip(r, pk):
        text = _text(r).replace(reverse("console:household", args=[pk]), "URL")
        return re.sub(r'"X-CSRFToken": "[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"', "", text)

    assert strip(out_of_scope, population.h_b.pk) == strip(missing, 999999)


def test_person_page_shows_full_id_and_records_a_read(client_a, population, officer_a):
    url = reverse("console:person", args=[population.li.pk])
    response = client_a.get(url)
    assert response.status_code == 200 and population.li.id_number in _text(response)
    client_a.get(url)
    reads = AuditEntry.objects.filter(
        action=AuditAction.READ,
        actor=officer_a,
        object_type="registry.person",
        object_id=str(population.li.pk),
    )
    assert reads.count() == 2


def test_person_out_of_scope_is_404_without_a_read(client_a, population, officer_a):
    assert client_a.get(reverse("console:person", args=[population.zhang_b.pk])).status_code == 404
    assert not AuditEntry.objects.filter(action=AuditAction.READ, actor=officer_a).exists()


def test_village_worker_sees_only_their_village(client, population, regions, make_user):
    worker = make_user("worker", regions.a_v, "village_worker")
    client.force_login(worker)
    assert client.get(reverse("console:household", args=[population.h_a.pk])).status_code == 200
    assert client.get(reverse("console:household", args=[population.h_a2.pk])).status_code == 404
    assert client.get(reverse("console:person", args=[population.zhao.pk])).status_code == 404
    response = client.get(reverse("console:search"), {"q": "赵六"})
    assert list(response.context["page"].object_list) == []


# --- duplicates -----------------------------------------------------------------------------------


@pytest.fixture
def twin(population, regions):
    from doudi.registry import services as reg

    return reg.register_person(
        officer=population.admin, id_number=make_id("500101", "19800101", 12), name="张三", region=regions.a_v
    )


def test_duplicates_queue_lists_masked_pairs(client_a, population, twin):
    response = client_a.get(reverse("console:duplicates"))
    page = _text(response)
    assert len(response.context["page"].object_list) == 1
    assert mask_id_number(twin.id_number) in page and twin.id_number not in page
    assert "合并（保留左侧）" in page and "不是同一人" in page


def test_dismiss_button_dismisses(client_a, population, twin):
    dup = PossibleDuplicate.objects.get()
    response = client_a.post(reverse("console:duplicate_dismiss", args=[dup.pk]))
    assert response.status_code == 302
    dup.refresh_from_db()
    assert dup.status == DuplicateStatus.DISMISSED


def test_merge_button_merges_keeping_the_chosen_record(client_a, population, twin):
    dup = PossibleDuplicate.objects.get()
    keep_side = "person" if dup.person_id == population.zhang.pk else "other"
    response = client_a.post(
        reverse("console:duplicate_merge", args=[dup.pk]), {"keep": keep_side}, follow=True
    )
    assert "已合并" in _text(response)
    dup.refresh_from_db()
    twin.refresh_from_db()
    assert dup.status == DuplicateStatus.MERGED and twin.merged_into_id == population.zhang.pk


def test_duplicate_of_another_district_is_404_on_post(client, population, twin, regions, make_user):
    officer_b = make_user("officer_b", regions.b, "district_officer")
    client.force_login(officer_b)
    dup = PossibleDuplicate.objects.get()
    assert client.post(reverse("console:duplicate_dismiss", args=[dup.pk])).status_code == 404
    dup.refresh_from_db()
    assert dup.status == DuplicateStatus.OPEN


def test_read_only_roles_see_no_buttons_and_cannot_act(client, population, twin, regions, make_user):
    auditor = make_user("auditor", regions.city, "auditor")
    client.force_login(auditor)
    page = _text(client.get(reverse("console:duplicates")))
    assert "张三" in page and "不是同一人" not in page
    dup = PossibleDuplicate.objects.get()
    response = client.post(reverse("console:duplicate_dismiss", args=[dup.pk]), follow=True)
    assert response.status_code == 200
    dup.refresh_from_db()
    assert dup.status == DuplicateStatus.OPEN


def test_english_console(client_a, population):
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = _text(client_a.get(reverse("console:household", args=[population.h_a.pk])))
    assert "Current members" in page and "Relation to head" in page
    assert "现有成员" not in page
