"""The rescue part of `doudi demo`: a station per demo district, an alert, idempotent."""

from doudi.rescue.demo import load_demo_rescue
from doudi.rescue.models import FieldReport, SaturationAlert, Station


def test_demo_rescue_has_a_station_per_district_and_is_idempotent(staff, regions):
    counts = load_demo_rescue(villages=[regions.a_v, regions.b_v])
    assert counts == {"stations": 2, "reports": 2}
    assert set(Station.objects.values_list("region", flat=True)) == {regions.a.pk, regions.b.pk}
    assert SaturationAlert.objects.count() == 1
    assert set(FieldReport.objects.values_list("destination", flat=True)) == {"quarantine", "station"}
    assert load_demo_rescue(villages=[regions.a_v, regions.b_v]) is None
    assert Station.objects.count() == 2
