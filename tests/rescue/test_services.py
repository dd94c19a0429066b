"""The rescue services: saturation → alert → shelter opened; field reports; daily checks; bad input."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from doudi.audit.models import AuditEntry
from doudi.core.errors import Conflict
from doudi.rescue import selectors, services
from doudi.rescue.models import FieldReport, Occupancy, SaturationAlert, Station, StationKind

ZWSP = "\u200b"


def _errors(exc_info) -> dict:
    return exc_info.value.message_dict


def test_saturation_alerts_the_district_which_opens_a_shelter(staff, stations, regions):
    today = timezone.localdate()
    services.record_occupancy(by=staff.a_station, station=stations.a, day=today, occupants=89)
    assert not SaturationAlert.objects.exists()  # 89 of 100 is below 90%
    yesterday = today - datetime.timedelta(days=1)
    services.record_occupancy(by=staff.a_station, station=stations.a, day=yesterday, occupants="90")
    alert = SaturationAlert.objects.get()
    assert (alert.day, alert.occupants, alert.capacity, alert.threshold_percent) == (yesterday, 90, 100, 90)
    # the district sees it, the other district does not
    assert list(selectors.alerts_for(staff.a_district, open_only=True)) == [alert]
    assert not selectors.alerts_for(staff.b_district).exists()
    shelter = services.open_shelter(
        by=staff.a_district, name="万州区体育馆临时庇护点", region=regions.a_t, capacity="200", alert=alert
    )
    assert shelter.kind == StationKind.SHELTER and shelter.capacity == 200
    alert.refresh_from_db()
    assert alert.shelter == shelter
    assert not selectors.alerts_for(staff.a_district, open_only=True).exists()
    assert shelter in selectors.stations_for(staff.a_district, today)
    assert AuditEntry.objects.filter(object_type__endswith="station", object_id=str(shelter.pk)).exists()
    with pytest.raises(Conflict):
        services.open_shelter(
            by=staff.a_district, name="另一处", region=regions.a_t, capacity=10, alert=alert
        )
    assert Station.objects.filter(kind=StationKind.SHELTER).count() == 1


def test_other_district_cannot_open_a_shelter_for_an_alert_and_station_staff_cannot_open_one(
    staff, stations, regions
):
    services.record_occupancy(by=staff.a_station, station=stations.a, day=timezone.localdate(), occupants=100)
    alert = SaturationAlert.objects.get()
    with pytest.raises(PermissionDenied):
        services.open_shelter(by=staff.b_district, name="x站", region=regions.b, capacity=10, alert=alert)
    with pytest.raises(PermissionDenied):
        services.open_shelter(by=staff.a_station, name="x站", region=regions.a, capacity=10)


def test_occupancy_bad_input_names_the_field_and_writes_nothing(staff, stations):
    today = timezone.localdate()
    for value, field in [
        ("101", "occupants"),
        ("-1", "occupants"),
        ("", "occupants"),
        (ZWSP, "occupants"),
        ("十", "occupants"),
    ]:
        with pytest.raises(ValidationError) as exc:
            services.record_occupancy(by=staff.a_station, station=stations.a, day=today, occupants=value)
        assert field in _errors(exc)
    with pytest.raises(ValidationError) as exc:
        services.record_occupancy(
            by=staff.a_station, station=stations.a, day=today + datetime.timedelta(days=1), occupants=1
        )
    assert "day" in _errors(exc)
    # the full capacity is allowed; the same day twice is a conflict
    services.record_occupancy(by=staff.a_station, station=stations.a, day=today, occupants=100)
    with pytest.raises(Conflict):
        services.record_occupancy(by=staff.a_station, station=stations.a, day=today, occupants=5)
    assert Occupancy.objects.get().occupants == 100
    with pytest.raises(PermissionDenied):
        services.record_occupancy(by=staff.a_station, station=stations.b, day=today, occupants=1)


def test_station_registration_errors(staff, regions, stations):
    cases = [
        ({"name": " " + ZWSP}, "name"),
        ({"capacity": "0"}, "capacity"),
        ({"capacity": "-5"}, "capacity"),
        ({"threshold_percent": "101"}, "threshold_percent"),
        ({"threshold_percent": "0"}, "threshold_percent"),
        ({"region": regions.city}, "region"),
        ({"region": regions.b}, "region"),
        ({"name": "万州区救助管理站" + ZWSP}, "name"),  # the same name once the invisible character goes
    ]
    for change, field in cases:
        kwargs = {"by": staff.a_district, "name": "新站", "region": regions.a, "capacity": "10"} | change
        with pytest.raises(ValidationError) as exc:
            services.register_station(**kwargs)
        assert field in _errors(exc), change
    assert Station.objects.count() == 2


def _report(staff, regions, **change):
    now = timezone.now().replace(second=0, microsecond=0)
    kwargs = {
        "by": staff.a_patrol,
        "unit_kind": "police",
        "unit_name": "高笋塘派出所",
        "reporter_name": "陈警官",
        "region": regions.a_t,
        "place": "桥洞",
        "found_at": now - datetime.timedelta(hours=1),
        "description": "男性，约50岁",
    } | change
    return services.file_field_report(**kwargs)


def test_fever_is_referred_to_quarantine_with_the_receiving_site(staff, regions, stations):
    with pytest.raises(ValidationError) as exc:
        _report(staff, regions, fever=True, station=stations.a, accepted="yes")
    assert "quarantine_site" in _errors(exc)
    report = _report(staff, regions, fever="on", quarantine_site="万州区集中隔离观察点", station=stations.a)
    assert report.destination == "quarantine"
    assert report.quarantine_site == "万州区集中隔离观察点"
    assert report.station is None  # a quarantine referral never counts as guided to a station
    assert "发热" in report.reason


def test_without_symptoms_the_person_is_guided_to_a_station(staff, regions, stations):
    with pytest.raises(ValidationError) as exc:
        _report(staff, regions)
    assert {"station", "accepted"} <= set(_errors(exc))
    with pytest.raises(ValidationError) as exc:
        _report(staff, regions, station=stations.b, accepted="yes")  # another district's station
    assert "station" in _errors(exc)
    report = _report(staff, regions, station=stations.a, accepted="no", quarantine_site="忽略")
    assert (report.destination, report.station, report.accepted, report.quarantine_site) == (
        "station",
        stations.a,
        False,
        "",
    )


def test_field_report_errors_and_the_same_report_twice(staff, regions, stations):
    for change, field in [
        ({"unit_name": ZWSP}, "unit_name"),
        ({"reporter_name": ""}, "reporter_name"),
        ({"description": " \u2060 "}, "description"),
        ({"unit_kind": "army"}, "unit_kind"),
        ({"region": regions.b_t}, "region"),
        ({"found_at": timezone.now() + datetime.timedelta(days=1)}, "found_at"),
        ({"found_at": "昨天"}, "found_at"),
    ]:
        with pytest.raises(ValidationError) as exc:
            _report(staff, regions, station=stations.a, accepted="yes", **change)
        assert field in _errors(exc), change
    first = _report(staff, regions, station=stations.a, accepted="yes")
    with pytest.raises(Conflict):
        _report(staff, regions, station=stations.a, accepted="yes", description="男性，约50岁" + ZWSP)
    assert list(FieldReport.objects.all()) == [first]
    with pytest.raises(PermissionDenied):
        _report(staff, regions, by=staff.auditor, station=stations.a, accepted="yes")


def test_daily_checks_and_the_missing_list(staff, stations):
    today = timezone.localdate()
    assert set(selectors.missing_checks(staff.city_admin, today)) == {stations.a, stations.b}
    assert list(selectors.missing_checks(staff.a_district, today)) == [stations.a]
    with pytest.raises(ValidationError) as exc:  # an item failed: the note must say what was done
        services.record_check(
            by=staff.a_station, station=stations.a, day=today, disinfection=True, masks=True
        )
    assert "note" in _errors(exc)
    check = services.record_check(
        by=staff.a_station, station=stations.a, day=today, disinfection="on", masks=True, note="隔离室在整改"
    )
    assert check.disinfection and check.masks and not check.isolation_room and not check.all_passed
    assert list(selectors.missing_checks(staff.city_admin, today)) == [stations.b]
    with pytest.raises(Conflict):
        services.record_check(by=staff.a_station, station=stations.a, day=today, note="再报")
    # yesterday is still missing for A
    assert stations.a in selectors.missing_checks(staff.a_district, today - datetime.timedelta(days=1))


def test_a_township_patrol_sees_its_district_stations_only(staff, stations, regions):
    assert list(selectors.stations_to_guide(staff.a_patrol)) == [stations.a]
    assert set(selectors.stations_to_guide(staff.city_admin)) == {stations.a, stations.b}


def test_the_saturation_line_is_the_bureau_s_dated_parameter_unless_the_station_set_its_own(
    staff, stations, regions
):
    from doudi.parameters.services import add_parameter_value

    today = timezone.localdate()
    days = [today - datetime.timedelta(days=n) for n in range(4)]
    assert stations.a.threshold_percent is None and services.threshold_on(stations.a, days[1]) == 90
    own = services.register_station(
        by=staff.a_district, name="自定预警线站", region=regions.a_t, capacity=100, threshold_percent="95"
    )
    add_parameter_value(
        user=staff.city_admin,
        name="rescue.station_threshold_percent",
        effective_from=days[1],
        value=80,
        reference="市民政局通知",
        reason="床位紧张，提前预警",
    )
    # Before the new value: 85 of 100 is below 90 %; from its day, 80 of 100 alerts.
    services.record_occupancy(by=staff.a_station, station=stations.a, day=days[2], occupants=85)
    services.record_occupancy(by=staff.a_station, station=stations.a, day=days[1], occupants=80)
    alert = SaturationAlert.objects.get(station=stations.a)
    assert (alert.day, alert.threshold_percent) == (days[1], 80)
    # A station's own line is kept: 94 of 100 under its 95 % does not alert.
    services.record_occupancy(by=staff.a_station, station=own, day=days[1], occupants=94)
    assert not SaturationAlert.objects.filter(station=own).exists()


@pytest.mark.parametrize("raw", ["", "  ", ZWSP])
def test_a_blank_line_means_the_parameter(staff, regions, raw):
    station = services.register_station(
        by=staff.a_district, name="空预警线站", region=regions.a, capacity=10, threshold_percent=raw
    )
    assert station.threshold_percent is None


def test_the_alert_is_texted_once_to_the_station_s_alert_phone(staff, regions, settings):
    from doudi.portal.models import OutboxMessage

    settings.DOUDI_SMS_BACKEND = "outbox"
    texted = services.register_station(
        by=staff.a_district,
        name="有值班手机站",
        region=regions.a,
        capacity=120,
        alert_phone=f"139{ZWSP}0000 1111",
    )
    silent = services.register_station(
        by=staff.a_district, name="无值班手机站", region=regions.a, capacity=10
    )
    today = timezone.localdate()
    services.record_occupancy(by=staff.a_station, station=texted, day=today, occupants=107)
    assert not OutboxMessage.objects.exists()  # 107 of 120 is below 90 %
    yesterday = today - datetime.timedelta(days=1)
    services.record_occupancy(by=staff.a_station, station=texted, day=yesterday, occupants=108)
    message = OutboxMessage.objects.get()
    assert message.phone == "13900001111"
    assert "有值班手机站" in message.text and "在站 108 人" in message.text and "预警线 90%" in message.text
    # The same day again is a conflict and texts nothing more; a station without a phone: console only.
    with pytest.raises(Conflict):
        services.record_occupancy(by=staff.a_station, station=texted, day=yesterday, occupants=110)
    services.record_occupancy(by=staff.a_station, station=silent, day=today, occupants=10)
    assert SaturationAlert.objects.filter(station=silent).exists()
    assert OutboxMessage.objects.count() == 1


def test_the_alert_is_raised_even_when_the_sms_cannot_go_out(staff, stations, settings):
    from doudi.portal.models import Notification

    settings.DOUDI_SMS_BACKEND = "gateway"  # no gateway configured: the send fails, logged
    Station.objects.filter(pk=stations.a.pk).update(alert_phone="13900001111")
    stations.a.refresh_from_db()
    services.record_occupancy(by=staff.a_station, station=stations.a, day=timezone.localdate(), occupants=100)
    alert = SaturationAlert.objects.get()
    assert not Notification.objects.get(key=f"station-alert:{alert.pk}").sent


@pytest.mark.parametrize("phone", ["1390000111", "abc", "1" * 40])
def test_a_bad_alert_phone_is_a_field_error(staff, regions, phone):
    with pytest.raises(ValidationError) as exc:
        services.register_station(
            by=staff.a_district, name="站", region=regions.a, capacity=10, alert_phone=phone
        )
    assert "alert_phone" in _errors(exc)
