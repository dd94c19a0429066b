"""资金拨付进度: allocations by maker-checker in exact fen, spending per month from the figures (equal to
the monthly report's 应发), the projection rule and the overspend warning, scope, hostile input."""

from __future__ import annotations

from fractions import Fraction

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.core.errors import Conflict
from doudi.supervision import funds
from doudi.supervision.funds import project
from doudi.supervision.models import Allocation, AllocationStatus
from supervision.conftest import supervisors_for

URL = reverse("supervision:funds")

# --- the projection rule (pure) ----------------------------------------------------------------------


def test_projection_worked_example():
    # Jan–Apr spent 100, 100, 120, 140 (fen); the last three months average 120; 8 months remain.
    p = project([100, 100, 120, 140] + [0] * 8, 4, 1_400)
    assert (p.spent_fen, p.monthly_fen, p.projected_fen) == (460, 120, 460 + 8 * 120)
    assert p.warning and not p.exceeded
    # 460 + 120 × k > 1400 first at k = 8: December.
    assert p.exceed_month == 12
    # Exactly the projected total allocated: no warning (only more than the allocation warns).
    assert not project([100, 100, 120, 140] + [0] * 8, 4, 1_420).warning


def test_projection_already_exceeded_names_the_month_it_was_passed():
    p = project([500, 600, 700] + [0] * 9, 3, 1_000)
    assert p.exceeded and p.warning and p.exceed_month == 2


def test_projection_fewer_than_three_months_and_none_without_data():
    p = project([300] + [0] * 11, 1, None)
    assert (p.projected_fen, p.warning, p.exceed_month) == (3_600, False, None)
    assert project([0] * 12, 0, 100) is None
    # Nothing spent: no warning even with a zero allocation.
    assert not project([0] * 12, 6, 0).warning


# Generating twelve large integers is slow on a loaded machine: the health check times it, the rule is
# no less tested.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.integers(min_value=0, max_value=10**12), min_size=12, max_size=12),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=0, max_value=10**13),
)
def test_projection_rule_properties(monthly, through, allocation):
    p = project(monthly, through, allocation)
    spent = sum(monthly[:through])
    recent = monthly[max(0, through - 3) : through]
    exact = spent + Fraction(sum(recent), len(recent)) * (12 - through)
    assert p.spent_fen == spent
    assert abs(p.projected_fen - exact) <= Fraction(1, 2)  # rounded half up to the fen, once
    assert p.warning == (p.projected_fen > allocation or spent > allocation)
    assert p.exceeded == (spent > allocation)
    if p.exceed_month is not None:
        assert 1 <= p.exceed_month <= 12
    if p.warning and not p.exceeded and p.exceed_month is not None:
        assert p.exceed_month > through


# --- allocations: maker-checker ---------------------------------------------------------------------------


def test_allocation_maker_checker_exact_fen_and_audit(supervisors, regions):
    from doudi.audit.models import AuditEntry

    s = supervisors
    a = funds.propose_allocation(
        by=s.maker,
        district_code="500101",
        scheme="dibao",
        year="2020",
        amount="1,234,567.89",
        basis="渝财社〔2020〕1号",
    )
    assert (a.amount_fen, a.status) == (123_456_789, AllocationStatus.PENDING)
    with pytest.raises(Conflict):  # the maker cannot check their own entry
        funds.decide_allocation(by=s.maker, pk=a.pk, approve=True)
    with pytest.raises(Conflict):  # one pending line per district, scheme and year
        funds.propose_allocation(
            by=s.checker, district_code="500101", scheme="dibao", year=2020, amount="1", basis="x"
        )
    funds.decide_allocation(by=s.checker, pk=a.pk, approve=True)
    with pytest.raises(Conflict):  # the same request twice
        funds.decide_allocation(by=s.checker, pk=a.pk, approve=True)
    # A change: a new line, approved by the other officer, supersedes the first.
    b = funds.propose_allocation(
        by=s.checker, district_code="500101", scheme="dibao", year=2020, amount="2000000", basis="追加"
    )
    funds.decide_allocation(by=s.maker, pk=b.pk, approve=True)
    statuses = dict(Allocation.objects.values_list("pk", "status"))
    assert statuses == {a.pk: "superseded", b.pk: "active"}
    actions = list(
        AuditEntry.objects.filter(object_type__icontains="allocation")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "approve", "create", "approve"]


def test_allocation_rejection_needs_a_note(supervisors):
    s = supervisors
    a = funds.propose_allocation(
        by=s.maker, district_code="500102", scheme="tekun", year=2020, amount="0", basis="x"
    )
    with pytest.raises(ValidationError) as exc:
        funds.decide_allocation(by=s.checker, pk=a.pk, approve=False, note="\u200b ")
    assert "note" in exc.value.message_dict
    funds.decide_allocation(by=s.checker, pk=a.pk, approve=False, note="金额有误")
    assert Allocation.objects.get(pk=a.pk).status == "rejected"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", ""),
        ("amount", "12.345"),
        ("amount", "-1"),
        ("amount", "1e3"),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", "99999999999999999999"),
        ("amount", "１２"),
        ("year", "20"),
        ("year", "３０２０"),
        ("district", "500101001"),  # a township is not a district
        ("district", "'; DROP TABLE x;--"),
        ("scheme", "salary"),
        ("basis", "\u200b\u200b"),
        ("basis", "文" * 201),
    ],
)
def test_allocation_refuses_bad_input_by_field(supervisors, field, value):
    data = {"district_code": "500101", "scheme": "dibao", "year": "2020", "amount": "100", "basis": "依据"}
    data["district_code" if field == "district" else field] = value
    with pytest.raises(ValidationError) as exc:
        funds.propose_allocation(by=supervisors.maker, **data)
    assert field in exc.value.message_dict
    assert not Allocation.objects.exists()


def test_only_city_finance_allocates(supervisors, regions):
    from doudi.accounts.services import create_staff_user

    district_finance = create_staff_user(
        username="fin_a", password="Doudi-test-2020", region=regions.a, roles=["municipal_finance"]
    )
    for user in (supervisors.city, supervisors.a, district_finance):
        with pytest.raises(PermissionDenied):
            funds.propose_allocation(
                by=user, district_code="500101", scheme="dibao", year=2020, amount="1", basis="x"
            )


def test_allocation_form_answers_422_with_field_errors_and_never_500(client, supervisors):
    client.force_login(supervisors.maker)
    response = client.post(
        reverse("supervision:allocation_propose"),
        {"district": "500101", "scheme": "dibao", "year": "2020", "amount": "abc", "basis": ""},
    )
    assert response.status_code == 422
    assert "请填写金额" in response.content.decode() and "请填写此项" in response.content.decode()
    response = client.post(reverse("supervision:allocation_propose"), {})
    assert response.status_code == 422
    response = client.post(
        reverse("supervision:allocation_propose"),
        {"district": "500101", "scheme": "dibao", "year": "2020", "amount": "100.5", "basis": "文号"},
    )
    assert response.status_code == 302 and Allocation.objects.get().amount_fen == 10_050
    client.force_login(supervisors.city)  # a supervisor reads, does not allocate
    response = client.post(
        reverse("supervision:allocation_propose"),
        {"district": "500101", "scheme": "dibao", "year": "2020", "amount": "1", "basis": "文号"},
    )
    assert response.status_code == 403
    assert (
        client.post(
            reverse("supervision:allocation_decide", args=[999999]), {"decision": "approve"}
        ).status_code
        == 403
    )


# --- the progress against the payroll ---------------------------------------------------------------------


def _allocate(s, district, scheme, yuan):
    a = funds.propose_allocation(
        by=s.maker, district_code=district, scheme=scheme, year=2020, amount=yuan, basis="下达"
    )
    funds.decide_allocation(by=s.checker, pk=a.pk, approve=True)


def test_spending_is_the_reports_due_and_warns_before_the_year_end(paid_world, client):
    from doudi.regions.models import Region
    from doudi.reports.selectors import monthly_report

    w = paid_world
    s = supervisors_for(w.regions)
    # A's dibao: March and April due as the monthly report has them.
    a = Region.objects.get(code="500101")
    due = {m: monthly_report(a, m).total.cells for m in (w.march, w.april)}
    dibao = {m: due[m]["dibao_urban"].due_fen + due[m]["dibao_rural"].due_fen for m in due}
    # Enough for the year at this pace: 2 months spent + 8 × the average of the two.
    enough = dibao[w.march] + dibao[w.april] + 8 * (dibao[w.march] + dibao[w.april]) // 2 + 100
    _allocate(s, "500101", "dibao", f"{enough / 100:.2f}")
    _allocate(s, "500102", "tekun", "1000.00")  # B's 特困: 710 a month → passes 1000 in its second month
    progress = funds.fund_progress(s.city, 2020)
    assert progress.through == 4
    rows = {(r.district.code, r.scheme): r for r in progress.rows}
    a_dibao = rows["500101", "dibao"]
    assert a_dibao.monthly[2:4] == [dibao[w.march], dibao[w.april]]
    assert not a_dibao.projection.warning
    b_tekun = rows["500102", "tekun"]
    assert b_tekun.projection.spent_fen == 142_000 and b_tekun.projection.exceeded
    assert b_tekun.projection.exceed_month == 4
    # A scheme spent without an allocation is shown, without a warning.
    assert rows["500101", "price_subsidy"].allocation_fen is None
    assert not rows["500101", "price_subsidy"].projection.warning
    # The page: the rule stated, the warning shown.
    client.force_login(s.city)
    page = client.get(URL, {"year": "2020"}).content.decode()
    assert "最近3个月" in page and 'data-testid="funds-warnings"' in page
    assert 'data-district="500102" data-scheme="tekun"' in page


def test_district_supervisor_sees_only_their_district(paid_world, client):
    s = supervisors_for(paid_world.regions)
    _allocate(s, "500102", "tekun", "1000.00")
    progress = funds.fund_progress(s.a, 2020)
    assert {r.district.code for r in progress.rows} == {"500101"}
    client.force_login(s.a)
    page = client.get(URL, {"year": "2020"}).content.decode()
    assert "涪陵区" not in page
    client.force_login(s.township)
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("year", ["abc", "1999", "２０２０", "2020'", "9" * 50])
def test_bad_year_is_400(client, supervisors, year):
    client.force_login(supervisors.city)
    assert client.get(URL, {"year": year}).status_code == 400
