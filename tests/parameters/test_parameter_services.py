"""Storing parameter values: who may, what is validated, corrections, overlay of the defaults."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.audit.models import AuditEntry
from doudi.core.errors import Conflict
from doudi.parameters.models import ParameterValue, decode_value, encode_value
from doudi.parameters.selectors import current_parameters, parameter_catalogue, stored_overlay_records
from doudi.parameters.services import add_parameter_value

MARCH = date(2020, 3, 1)


def add(user, name="dibao.standard.urban", value=700, effective_from=MARCH, **kw):
    kw.setdefault("reference", "渝民发〔2020〕1号")
    kw.setdefault("reason", "市政府批准调整")
    return add_parameter_value(user=user, name=name, effective_from=effective_from, value=value, **kw)


def test_stored_value_overlays_the_default_from_its_date(admin):
    assert current_parameters().value_at("dibao.standard.urban", MARCH).value == 546
    row = add(admin)
    assert row.value == "700" and row.revision == 1 and not row.verified
    params = current_parameters()
    assert params.value_at("dibao.standard.urban", MARCH).value == 700
    assert params.value_at("dibao.standard.urban", date(2020, 2, 29)).value == 546
    # the later default (636 from 2021-09-01) still applies after it
    assert params.value_at("dibao.standard.urban", date(2021, 9, 1)).value == 636


def test_every_value_is_audited_with_its_reason(admin):
    row = add(admin)
    entry = AuditEntry.objects.get(object_type="parameters.parametervalue", object_id=str(row.pk))
    assert entry.actor == admin and entry.reason == "市政府批准调整"
    assert entry.after["value"] == "700" and entry.after["name"] == "dibao.standard.urban"


@pytest.mark.parametrize("role", ["district_officer", "district_approver", "municipal_supervisor", "auditor"])
def test_only_the_municipal_admin_stores_values(regions, make_user, role):
    user = make_user(
        f"u_{role}", regions.city if role.startswith(("municipal", "auditor")) else regions.a, role
    )
    with pytest.raises(PermissionDenied):
        add(user)
    assert not ParameterValue.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "dibao.standard.suburban"}, "name"),
        ({"value": "seven hundred"}, "value"),
        ({"value": Decimal("700.125")}, "value"),  # money has at most 2 decimals
        ({"value": -1}, "value"),
        ({"value": None}, "value"),  # not nullable
        ({"value": True}, "value"),
        ({"reference": "  "}, "reference"),
        ({"reason": ""}, "reason"),
        ({"region": "500101"}, "region"),  # the urban standard is city-wide
        (
            {"name": "price_index.cpi_yoy", "value": Decimal("3.1"), "effective_from": date(2021, 1, 15)},
            "effective_from",
        ),
        ({"name": "covid.bereavement_assistance", "value": 5000}, "region"),  # per district: code needed
        (
            {"name": "covid.bereavement_assistance", "value": 5000, "region": "500101001"},
            "region",
        ),  # a township
        (
            {"name": "covid.bereavement_assistance", "value": 5000, "region": "509999"},
            "region",
        ),  # no such district
        ({"name": "emergency.window.end", "value": "2020-02-30"}, "value"),
    ],
)
def test_bad_values_are_refused_with_the_field(admin, kwargs, field):
    with pytest.raises(ValidationError) as info:
        add(admin, **kwargs)
    assert field in info.value.message_dict
    assert not ParameterValue.objects.exists()


def test_region_indexed_value_needs_and_takes_a_district(admin, regions):
    add(admin, name="covid.bereavement_assistance", value=5000, region="500101")
    params = current_parameters()
    assert params.value_at("covid.bereavement_assistance", MARCH, "500101").value == 5000
    assert params.value_at("covid.bereavement_assistance", MARCH, "500102") is None


def test_window_end_is_a_date_and_may_be_reopened(admin):
    add(admin, name="emergency.window.end", value="2020-06-30", effective_from=date(2020, 7, 1))
    assert current_parameters().value_at("emergency.window.end", MARCH).value == date(2020, 6, 30)
    add(admin, name="emergency.window.end", value=None, effective_from=date(2020, 7, 2))
    assert current_parameters().value_at("emergency.window.end", MARCH).value is None


def test_monthly_cpi_entry_is_a_value_of_the_series(admin):
    add(
        admin,
        name="price_index.cpi_yoy",
        value=Decimal("0.7"),
        effective_from=date(2021, 1, 1),
        reference="国家统计局 2021年1月 CPI",
        verified=True,
    )
    add(
        admin,
        name="price_index.food_yoy",
        value=Decimal("-1.6"),
        effective_from=date(2021, 1, 1),
        reference="国家统计局 2021年1月 食品",
        verified=True,
    )
    params = current_parameters()
    assert params.value_at("price_index.cpi_yoy", date(2021, 1, 1)).value == Decimal("0.7")
    assert params.value_at("price_index.food_yoy", date(2021, 1, 1)).value == Decimal("-1.6")
    assert params.value_at("price_index.cpi_yoy", date(2021, 2, 1)) is None  # never carried forward


def test_a_correction_names_what_it_corrects(admin):
    first = add(admin)
    with pytest.raises(Conflict):
        add(admin, value=710)  # a second value for the same date without saying it corrects the first
    second = add(admin, value=710, supersedes=first.pk, reason="更正录入错误")
    assert second.revision == 2
    assert current_parameters().value_at("dibao.standard.urban", MARCH).value == 710
    with pytest.raises(Conflict):
        add(admin, value=720, supersedes=first.pk)  # stale: someone corrected it meanwhile
    with pytest.raises(Conflict):
        add(admin, value=720, effective_from=date(2020, 4, 1), supersedes=first.pk)  # not that date's value
    history = parameter_catalogue(name="dibao.standard.urban")[0].history
    stored = [h for h in history if h.source == "stored"]
    assert [(h.value, h.in_effect) for h in stored] == [(700, False), (710, True)]
    default_2019 = next(h for h in history if h.source == "default" and h.since == date(2019, 7, 1))
    assert default_2019.in_effect and not default_2019.verified


def test_rows_are_insert_only(admin):
    row = add(admin)
    row.value = "800"
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()


def test_stored_value_replacing_a_default_of_the_same_date(admin):
    add(admin, effective_from=date(2019, 7, 1), value=546, verified=True, reference="渝民发〔2019〕X号")
    catalogue = parameter_catalogue(name="dibao.standard.urban", on=MARCH)[0]
    assert catalogue.current[0].verified and catalogue.current[0].reference == "渝民发〔2019〕X号"
    replaced = next(h for h in catalogue.history if h.source == "default" and h.since == date(2019, 7, 1))
    assert not replaced.in_effect


def test_catalogue_flags_unverified_values_in_force(admin):
    by_name = {p.name: p for p in parameter_catalogue(on=MARCH)}
    assert by_name["dibao.standard.urban"].unverified  # 546 is not verified (POLICY.md §2)
    assert not by_name["covid.assistance_multiple"].unverified
    add(admin, value=546, effective_from=date(2019, 7, 1), verified=True)
    assert not parameter_catalogue(on=MARCH, name="dibao.standard.urban")[0].unverified


def test_overlay_records_come_oldest_revision_first(admin):
    first = add(admin)
    add(admin, value=710, supersedes=first.pk)
    records = [r for r in stored_overlay_records() if r.name == "dibao.standard.urban"]
    assert [r.value for r in records] == [700, 710]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False))
def test_money_is_stored_exactly(admin, amount):
    text = encode_value(amount)
    assert decode_value(text) == amount and str(decode_value(text)) == str(amount)
