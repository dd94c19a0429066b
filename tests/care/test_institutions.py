"""Service institutions (三(一)): registry, high-risk list, screening, outings, daily reports, missing list."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from doudi.audit.models import AuditAction, AuditEntry
from doudi.care import selectors, services
from doudi.care.models import DailyReport, Screening
from doudi.core.errors import Conflict

ID = "110101199003070038"  # a valid resident ID (check digit right)
TODAY = timezone.localdate


def _screen(by, inst, **kw):
    data = dict(
        person_kind="resident",
        admission_kind="new",
        name="王大爷",
        id_number=ID,
        origin="重庆市万州区",
        temperature="36.6",
        health_code="green",
        trajectory="",
    )
    data.update(kw)
    return services.record_screening(by=by, institution=inst, **data)


def _errors(exc):
    return exc.value.message_dict


# --- the registry ---------------------------------------------------------------------------------------


def test_register_institution_cleans_and_audits(staff, regions):
    inst = services.save_institution(
        by=staff.a_district,
        name="\u200b万州\u3000福利院 ",
        kind="child_welfare",
        region=regions.a,
        capacity="80",
        contact_name="张主任",
        contact_phone="023-58123456",
    )
    assert inst.name == "万州福利院"
    entry = AuditEntry.objects.filter(object_type="care.institution", object_id=str(inst.pk)).get()
    assert entry.action == AuditAction.CREATE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "\u200b\u200c"),
        ("capacity", "0"),
        ("capacity", "-3"),
        ("capacity", "十"),
        ("capacity", "100001"),
        ("contact_phone", "电话"),
        ("kind", "hotel"),
    ],
)
def test_register_institution_field_errors(staff, regions, field, value):
    data = dict(
        name="某院", kind="elderly_home", capacity="10", contact_name="甲", contact_phone="13900001111"
    )
    data[field] = value
    with pytest.raises(ValidationError) as exc:
        services.save_institution(by=staff.a_district, region=regions.a, **data)
    assert field in _errors(exc)


def test_register_institution_out_of_scope_or_duplicate(staff, regions, homes):
    with pytest.raises(ValidationError) as exc:
        services.save_institution(
            by=staff.a_district,
            name="x院",
            kind="other",
            region=regions.b,
            capacity=1,
            contact_name="甲",
            contact_phone="13900001111",
        )
    assert "region" in _errors(exc)
    with pytest.raises(ValidationError) as exc:
        services.save_institution(
            by=staff.a_district,
            name="高笋塘敬老院",
            kind="other",
            region=regions.a_t,
            capacity=1,
            contact_name="甲",
            contact_phone="13900001111",
        )
    assert "name" in _errors(exc)
    with pytest.raises(PermissionDenied):
        services.save_institution(
            by=staff.a_inst,
            name="y院",
            kind="other",
            region=regions.a,
            capacity=1,
            contact_name="甲",
            contact_phone="13900001111",
        )


# --- the high-risk list and screening -------------------------------------------------------------------


def test_screening_uses_the_list_in_force_on_the_day(staff, homes):
    city_area = services.list_risk_area(
        by=staff.city_admin, name="湖北省", listed_on=TODAY() - datetime.timedelta(days=20), reason="国家公布"
    )
    services.list_risk_area(by=staff.b_district, name="温州市", listed_on=TODAY(), reason="涪陵区指挥部")
    # District B's own listing does not apply in district A.
    assert services.areas_in_force(homes.a.region, TODAY()) == ["湖北省"]
    assert services.areas_in_force(homes.b.region, TODAY()) == ["温州市", "湖北省"]
    s = _screen(staff.a_inst, homes.a, origin="湖北省武汉市", trajectory="武汉市\n湖北省黄冈市")
    assert s.outcome == "refuse" and s.matched_areas == ["湖北省"]
    assert s.screened_by == staff.a_inst and "a_inst" in s.screened_by_label
    # A screening dated before the listing was made against the list of its own day.
    earlier = _screen(
        staff.a_inst, homes.a, origin="湖北省", screened_on=TODAY() - datetime.timedelta(days=25)
    )
    assert earlier.outcome == "pass"
    services.lift_risk_area(by=staff.city_admin, area=city_area, lifted_on=TODAY())
    assert _screen(staff.a_inst, homes.a, origin="湖北省").outcome == "pass"
    with pytest.raises(Conflict):
        services.lift_risk_area(by=staff.city_admin, area=city_area, lifted_on=TODAY())


def test_risk_list_is_kept_by_the_city_and_the_districts_only(staff):
    with pytest.raises(PermissionDenied):
        services.list_risk_area(by=staff.a_inst, name="湖北省", listed_on=TODAY(), reason="x")
    with pytest.raises(PermissionDenied):
        services.list_risk_area(by=staff.a_township, name="湖北省", listed_on=TODAY(), reason="x")
    area = services.list_risk_area(by=staff.b_district, name="温州市", listed_on=TODAY(), reason="x")
    with pytest.raises(PermissionDenied):  # district A cannot lift district B's entry
        services.lift_risk_area(by=staff.a_district, area=area, lifted_on=TODAY())
    with pytest.raises(ValidationError) as exc:  # the same area twice on one list
        services.list_risk_area(by=staff.b_district, name=" 温州市\u200b", listed_on=TODAY(), reason="y")
    assert "name" in _errors(exc)
    with pytest.raises(ValidationError) as exc:
        services.list_risk_area(by=staff.b_district, name="市", listed_on=TODAY(), reason="y")
    assert "name" in _errors(exc)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", "33.9"),
        ("temperature", "43.1"),
        ("temperature", "abc"),
        ("temperature", "NaN"),
        ("temperature", ""),
        ("name", "\u200b"),
        ("id_number", "110101199003070037"),
        ("origin", "  "),
        ("health_code", "blue"),
        ("person_kind", "visitor"),
        ("screened_on", "2999-01-01"),
    ],
)
def test_screening_field_errors(staff, homes, field, value):
    with pytest.raises(ValidationError) as exc:
        _screen(staff.a_inst, homes.a, **{field: value})
    assert field in _errors(exc)
    assert not Screening.objects.exists()


def test_temperature_is_rounded_to_one_decimal_and_edges_accepted(staff, homes):
    assert _screen(staff.a_inst, homes.a, temperature="37.25").temperature == Decimal("37.3")
    assert _screen(staff.a_inst, homes.a, temperature="37.25").outcome == "refuse"
    assert _screen(staff.a_inst, homes.a, temperature="34.0").outcome == "pass"
    assert _screen(staff.a_inst, homes.a, temperature="４３.0℃").outcome == "refuse"


def test_screening_scope_and_roles(staff, homes):
    with pytest.raises(PermissionDenied):
        _screen(staff.b_inst, homes.a)
    with pytest.raises(PermissionDenied):
        _screen(staff.auditor, homes.a)
    assert _screen(staff.a_township, homes.a).outcome == "pass"


def test_screening_detail_is_audited_and_404_out_of_scope(staff, homes):
    from django.http import Http404

    s = _screen(staff.a_inst, homes.a)
    assert selectors.screening_detail(staff.a_district, s.pk).id_number == ID
    assert AuditEntry.objects.filter(action=AuditAction.READ, object_type="care.screening").count() == 1
    with pytest.raises(Http404):
        selectors.screening_detail(staff.b_district, s.pk)


def test_screening_rows_are_insert_only(staff, homes):
    s = _screen(staff.a_inst, homes.a)
    with pytest.raises(PermissionError):
        s.save()
    with pytest.raises(PermissionError):
        s.delete()


# --- outings ---------------------------------------------------------------------------------------------


def test_outing_for_medical_care_with_green_channel_and_return(staff, homes):
    o = services.record_outing(
        by=staff.a_inst,
        institution=homes.a,
        resident_name="王大爷",
        resident_id_number=ID,
        destination="万州区人民医院",
        purpose="透析",
        green_channel=True,
    )
    assert o.status == "out" and o.green_channel
    with pytest.raises(ValidationError) as exc:  # still out: no second outing
        services.record_outing(
            by=staff.a_inst,
            institution=homes.a,
            resident_name="王大爷",
            resident_id_number=ID,
            destination="医院",
            purpose="复查",
            green_channel=False,
        )
    assert "resident_id_number" in _errors(exc)
    with pytest.raises(ValidationError) as exc:
        services.record_return(by=staff.a_inst, outing=o, returned_at=o.left_at - datetime.timedelta(hours=1))
    assert "returned_at" in _errors(exc)
    o = services.record_return(by=staff.a_inst, outing=o, note="已返院，体温正常")
    assert o.status == "returned" and o.returned_at >= o.left_at
    with pytest.raises(Conflict):
        services.record_return(by=staff.a_inst, outing=o)


@pytest.mark.parametrize("field", ["destination", "purpose", "resident_name"])
def test_outing_needs_destination_and_purpose(staff, homes, field):
    data = dict(resident_name="王大爷", resident_id_number=ID, destination="医院", purpose="就诊")
    data[field] = "\u200b "
    with pytest.raises(ValidationError) as exc:
        services.record_outing(by=staff.a_inst, institution=homes.a, green_channel=False, **data)
    assert field in _errors(exc)


# --- daily reports and the missing list -----------------------------------------------------------------


def _report(by, inst, **kw):
    data = dict(residents="98", staff_on_site="20", symptomatic="0")
    data.update(kw)
    return services.submit_daily_report(by=by, institution=inst, **data)


def test_one_report_per_day_the_second_is_a_clear_conflict(staff, homes):
    _report(staff.a_inst, homes.a)
    with pytest.raises(Conflict) as exc:
        _report(staff.a_district, homes.a, residents="97")
    assert "a_inst" in exc.value.message and "每天只报一次" in exc.value.message
    assert DailyReport.objects.filter(institution=homes.a).count() == 1
    assert DailyReport.objects.get(institution=homes.a).residents == 98


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"residents": ""}, "residents"),
        ({"residents": "-1"}, "residents"),
        ({"staff_on_site": "1.5"}, "staff_on_site"),
        ({"symptomatic": "200"}, "symptomatic"),
        ({"symptomatic": "2", "note": "\u200b"}, "note"),
        ({"day": "2999-12-31"}, "day"),
        ({"day": "昨天"}, "day"),
    ],
)
def test_daily_report_field_errors(staff, homes, kw, field):
    with pytest.raises(ValidationError) as exc:
        _report(staff.a_inst, homes.a, **kw)
    assert field in _errors(exc)


def test_zero_and_largest_counts_are_accepted(staff, homes):
    assert _report(staff.a_inst, homes.a, residents="0", staff_on_site="0").residents == 0
    big = _report(staff.a_inst, homes.b if False else homes.a2, residents="100000", staff_on_site="0")
    assert big.residents == 100000


def test_missing_reports_by_scope_and_for_the_daily_job(staff, homes, regions, capsys):
    _report(staff.a_inst, homes.a)
    assert list(selectors.missing_reports(TODAY(), user=staff.a_district)) == [homes.a2]
    assert list(selectors.missing_reports(TODAY(), user=staff.b_district)) == [homes.b]
    assert set(selectors.missing_reports(TODAY())) == {homes.a2, homes.b}
    # yesterday nobody reported
    assert len(selectors.missing_reports(TODAY() - datetime.timedelta(days=1))) == 3
    call_command("care", "missing-reports", "--region", regions.a.code)
    out = capsys.readouterr().out
    assert "太白养老院" in out and "敦仁敬老院" not in out and "高笋塘敬老院" not in out
    assert "万州区（1）" in out


def test_a_report_racing_past_the_check_still_gets_the_conflict(staff, homes):
    """Two screens sending at the same moment: the unique key stops the second insert (IntegrityError
    inside a savepoint), and the sender gets the same clear conflict, not a 500."""
    from unittest import mock

    from django.db.models import QuerySet

    _report(staff.a_inst, homes.a)
    with mock.patch.object(QuerySet, "exists", return_value=False), pytest.raises(Conflict) as exc:
        _report(staff.a_district, homes.a)
    assert "每天只报一次" in exc.value.message
    assert DailyReport.objects.filter(institution=homes.a).count() == 1
