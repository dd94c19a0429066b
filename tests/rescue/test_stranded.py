"""Stranded people (二(一)–二(二)): the case, in-kind aid item by item in exact fen, referral of a vagrant
to the station and the station's arrival confirmation; bad input, duplicates, region scope, pages."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from doudi.core.errors import Conflict
from doudi.intake.models import CaseType
from doudi.rescue import selectors, services
from doudi.rescue.models import AidItem, StationReferral

ZWSP = "\u200b"


def _hubei_id():
    from stdnum.cn import ric

    body = "42010219800101123"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def stranded(staff, regions):
    return services.register_stranded(
        by=staff.a_station,
        region=regions.a,
        name=f"王{ZWSP}武汉",
        id_number=_hubei_id(),
        origin="湖北省武汉市",
        destination="湖北省武汉市",
        situation="因交通管控滞留火车站，无处住宿",
    )


def _errors(exc_info) -> dict:
    return exc_info.value.message_dict


def test_a_non_local_person_is_registered_with_in_kind_aid_item_by_item(stranded, staff):
    assert stranded.case_type == CaseType.STRANDED and stranded.applicant is None
    assert stranded.applicant_name == "王武汉" and stranded.applicant_id_number == _hubei_id()
    assert stranded.details["stranded"] == {
        "origin": "湖北省武汉市",
        "destination": "湖北省武汉市",
        "vagrant": False,
    }
    today = timezone.localdate()
    services.record_aid(
        by=staff.a_station,
        case=stranded,
        kind="lodging",
        quantity="3",
        unit="晚",
        amount="240",
        given_on=today,
    )
    services.record_aid(
        by=staff.a_station, case=stranded, kind="food", quantity=9, unit="份", amount="13.50", given_on=today
    )
    services.record_aid(
        by=staff.a_station,
        case=stranded,
        kind="fare_home",
        description="重庆北—武汉",
        quantity=1,
        unit="张",
        amount="0.01",
        given_on=today,
    )
    services.record_aid(
        by=staff.a_station, case=stranded, kind="clothing", quantity=1, unit="件", amount="0", given_on=today
    )
    page = selectors.stranded_page(staff.a_district, stranded.pk)
    assert [i.amount_fen for i in page.items] == [24000, 1350, 1, 0]
    assert page.total_fen == 25351  # exact: 240 + 13.50 + 0.01 + 0 yuan
    assert ("临时住宿", 3, 24000) in page.totals and ("饮食", 9, 1350) in page.totals


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": ""}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "10001"}, "quantity"),
        ({"quantity": "1.5"}, "quantity"),
        ({"unit": ZWSP}, "unit"),
        ({"unit": "一二三四五六七八九"}, "unit"),
        ({"amount": ""}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.005"}, "amount"),  # no sub-fen amounts
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": "100000.01"}, "amount"),
        ({"kind": "cash"}, "kind"),
        ({"kind": "other", "description": f" {ZWSP} "}, "description"),  # 其他 needs to say what
        ({"given_on": "2099-01-01"}, "given_on"),
        ({"given_on": "2020-01-01"}, "given_on"),  # before the case was registered
    ],
)
def test_bad_aid_is_a_field_error_and_nothing_is_written(stranded, staff, changes, field):
    data = {
        "kind": "food",
        "quantity": "2",
        "unit": "份",
        "amount": "30",
        "given_on": timezone.localdate(),
    } | changes
    with pytest.raises(ValidationError) as exc:
        services.record_aid(by=staff.a_station, case=stranded, **data)
    assert field in _errors(exc)
    assert not AidItem.objects.exists()


def test_the_largest_item_is_accepted_and_the_same_item_twice_is_a_conflict(stranded, staff):
    data = {
        "kind": "lodging",
        "quantity": "10000",
        "unit": "晚",
        "amount": "100000.00",
        "given_on": timezone.localdate(),
    }
    item = services.record_aid(by=staff.a_station, case=stranded, **data)
    assert (item.quantity, item.amount_fen) == (10_000, 10_000_000)
    with pytest.raises(Conflict):
        services.record_aid(by=staff.a_station, case=stranded, **data | {"unit": f"{ZWSP}晚"})
    assert AidItem.objects.count() == 1


def test_aid_outside_the_region_or_role_or_on_another_case_type_is_refused(stranded, staff, regions):
    from doudi.intake.services import open_case

    data = {"kind": "food", "quantity": 1, "unit": "份", "amount": "15"}
    with pytest.raises(PermissionDenied):
        services.record_aid(by=staff.b_district, case=stranded, **data)
    with pytest.raises(PermissionDenied):
        services.record_aid(by=staff.auditor, case=stranded, **data)
    other = open_case(
        by=staff.a_district,
        case_type="complaint",
        channel="hotline",
        region=regions.a,
        summary="投诉",
        applicant_name="甲",
    )
    with pytest.raises(ValidationError):
        services.record_aid(by=staff.a_district, case=other, **data)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"situation": f" {ZWSP}"}, "situation"),
        ({"situation": "困" * 2001}, "situation"),
        ({"id_number": "420102198001011230"}, "id_number"),  # bad check digit
        ({"phone": "12"}, "phone"),
        ({"region": None}, "region"),
    ],
)
def test_bad_registration_is_a_field_error(staff, regions, changes, field):
    data = {"region": regions.a, "name": "", "situation": "滞留"} | changes
    with pytest.raises(ValidationError) as exc:
        services.register_stranded(by=staff.a_station, **data)
    assert field in _errors(exc)


def test_a_vagrant_is_referred_to_the_station_which_confirms_the_arrival(staff, stations, regions):
    case = services.register_stranded(
        by=staff.a_patrol, region=regions.a_t, situation="街头流浪乞讨", vagrant="on"
    )
    assert case.details["stranded"]["vagrant"] is True and case.applicant_name == ""
    with pytest.raises(ValidationError) as exc:
        services.refer_to_station(by=staff.a_patrol, case=case, station=stations.b, note="转介")
    assert "station" in _errors(exc)  # another district's station
    referral = services.refer_to_station(by=staff.a_patrol, case=case, station=stations.a, note="已护送前往")
    with pytest.raises(Conflict):
        services.refer_to_station(by=staff.a_patrol, case=case, station=stations.a, note="已护送前往")
    assert list(selectors.referrals_to_confirm(staff.a_station)) == [referral]
    assert not selectors.referrals_to_confirm(staff.b_district).exists()
    with pytest.raises(PermissionDenied):
        services.confirm_arrival(by=staff.b_district, referral=referral, arrived="yes")
    with pytest.raises(ValidationError) as exc:
        services.confirm_arrival(by=staff.a_station, referral=referral, arrived="no", note=ZWSP)
    assert "note" in _errors(exc)  # not arrived: say why
    services.confirm_arrival(by=staff.a_station, referral=referral, arrived="yes")
    with pytest.raises(Conflict):
        services.confirm_arrival(by=staff.a_station, referral=referral, arrived="no", note="改口")
    referral.refresh_from_db()
    assert referral.arrived is True and referral.answered_by == staff.a_station
    assert not selectors.referrals_to_confirm(staff.a_station).exists()


def test_pages_menu_print_and_region_scope(stranded, staff, stations, client):
    from doudi.audit.models import AuditEntry

    client.force_login(staff.a_station)
    listing = client.get(reverse("rescue:stranded_list")).content.decode()
    assert stranded.tracking_number in listing and "420102********1234"[:6] in listing
    assert _hubei_id() not in listing  # masked in the list
    assert reverse("rescue:stranded_list") in client.get(reverse("rescue:station_list")).content.decode()
    # Aid through the page: a field error keeps the form (400), then the item (302), then the same again (409).
    url = reverse("rescue:stranded_aid", args=[stranded.pk])
    today = timezone.localdate().isoformat()
    bad = client.post(url, {"kind": "food", "quantity": "0", "unit": "份", "amount": "15", "given_on": today})
    assert bad.status_code == 400
    good = {"kind": "food", "quantity": "2", "unit": "份", "amount": "15.5", "given_on": today}
    assert client.post(url, good).status_code == 302
    assert client.post(url, good).status_code == 409
    page = client.get(reverse("rescue:stranded_detail", args=[stranded.pk])).content.decode()
    assert "15.50" in page and "data-print" in page and _hubei_id() in page
    assert AuditEntry.objects.filter(object_id=str(stranded.pk), action="read").exists()
    refer = client.post(
        reverse("rescue:stranded_refer", args=[stranded.pk]), {"station": stations.a.pk, "note": "送站"}
    )
    assert refer.status_code == 302
    referral = StationReferral.objects.get()
    assert (
        client.post(reverse("rescue:referral_confirm", args=[referral.pk]), {"arrived": "yes"}).status_code
        == 302
    )
    # Another district: 404 on every page of the case.
    client.force_login(staff.b_district)
    assert stranded.tracking_number not in client.get(reverse("rescue:stranded_list")).content.decode()
    for name in ("rescue:stranded_detail",):
        assert client.get(reverse(name, args=[stranded.pk])).status_code == 404
    for name in ("rescue:stranded_aid", "rescue:stranded_refer"):
        assert client.post(reverse(name, args=[stranded.pk]), good).status_code == 404
    assert (
        client.post(reverse("rescue:referral_confirm", args=[referral.pk]), {"arrived": "no"}).status_code
        == 404
    )


def test_the_registration_form_files_the_case(staff, regions, client):
    client.force_login(staff.a_district)
    assert client.get(reverse("rescue:stranded_new")).status_code == 200
    assert (
        client.post(reverse("rescue:stranded_new"), {"region": regions.a.pk, "situation": ZWSP}).status_code
        == 400
    )
    response = client.post(
        reverse("rescue:stranded_new"),
        {"region": regions.a.pk, "situation": "滞留，无钱购票", "name": "李四"},
    )
    assert response.status_code == 302
    client.force_login(staff.auditor)
    assert client.get(reverse("rescue:stranded_new")).status_code == 403


def test_a_migrant_worker_without_local_registration_gets_temporary_assistance(staff, regions, make_user):
    """二(二): temporary assistance where the worker lives or works, though the registry does not hold
    them — the intake files, accepts and decides it; the payroll cannot pay a person outside the registry,
    so the case is closed by hand once the cash or goods are given."""
    from doudi.intake import flows
    from doudi.intake.services import open_case, perform_action

    approver = make_user("a_approver", regions.a, "district_approver")
    case = open_case(
        by=staff.a_district,
        case_type="temporary",
        subtype="urgent",
        channel="walk_in",
        region=regions.a,
        summary="外来务工人员：受疫情影响未找到工作，无家庭支持，生活暂时困难",
        applicant_name="王武汉",
        applicant_id_number=_hubei_id(),
    )
    assert case.applicant is None and case.applicant_id_number.startswith("42")
    case = perform_action(case=case, action="accept", by=staff.a_district)
    case = perform_action(case=case, action="approve", by=approver, data={"amount": 800})
    case = perform_action(case=case, action="close", by=staff.a_district, reason="现金800元已当面发放")
    assert case.state == flows.CLOSED and case.details["decision"]["amount"] == 800
