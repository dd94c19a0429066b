"""A finding's life: assignment, resolution (confirmed / explained / recovered) on an insert-only
ledger, the amount to recover in exact fen and its repayments; the edges at every entry point (blank
and invisible reasons, zero and huge amounts, the same request twice, out of scope)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from doudi.core.errors import Conflict
from doudi.registry.models import Person
from doudi.supervision import checks, services
from doudi.supervision.models import CheckRun, Finding, FindingTransition, Recovery, Repayment

BLANKS = ["", "   ", "\u200b", "\u3000\u200d", "\ufeff\n\t"]


def file_finding(regions, key="paid_twice:2020-03:dibao:1", region=None, amount=33_800) -> Finding:
    region = region or regions.a_v
    run = CheckRun.objects.create(month="2020-03", trigger="test", started_at=timezone.now())
    hit = checks.Hit(
        key=key, check="paid_twice", region_id=region.code, district=region.code[:6], amount_fen=amount
    )
    assert services._file(run, [hit]) == 1
    return Finding.objects.get(key=key)


def test_assign_confirm_and_recover_in_exact_fen_with_the_whole_trail(regions, people):
    f = file_finding(regions)
    f = services.assign(finding=f, to=people.a_officer, by=people.sup, reason="请核实", version=f.version)
    f = services.confirm(finding=f, by=people.a_officer, reason="同一户主两户重复领取", recover="1,234.56")
    assert (f.state, f.recover_fen) == ("confirmed", 123_456)
    assert Recovery.objects.get(finding=f).amount_fen == 123_456
    services.record_repayment(
        finding=f, by=people.a_officer, amount="1000", paid_on="2020-04-01", reference="JK001"
    )
    f.refresh_from_db()
    assert f.state == "confirmed" and f.recovery.outstanding_fen == 23_456
    services.record_repayment(finding=f, by=people.sup, amount="234.56", paid_on=dt.date(2020, 4, 2))
    f.refresh_from_db()
    assert f.state == "recovered" and f.recovery.repaid_fen == 123_456 and f.recovery.repaid_at
    trail = list(f.transitions.values_list("seq", "action", "from_state", "to_state"))
    assert trail == [
        (1, "found", "", "open"),
        (2, "assign", "open", "assigned"),
        (3, "confirm", "assigned", "confirmed"),
        (4, "recovered", "confirmed", "recovered"),
    ]
    assert f.transitions.get(action="assign").assigned_label.startswith("a_officer")
    assert list(Repayment.objects.filter(recovery__finding=f).values_list("seq", "amount_fen")) == [
        (1, 100_000),
        (2, 23_456),
    ]
    # The ledgers are insert-only.
    with pytest.raises(PermissionError):
        FindingTransition.objects.filter(finding=f).update(reason="x")
    with pytest.raises(PermissionError):
        Repayment.objects.first().save()
    with pytest.raises(PermissionError):
        FindingTransition.objects.filter(finding=f).delete()
    # Nothing more on a recovered finding.
    with pytest.raises(Conflict):
        services.record_repayment(finding=f, by=people.sup, amount="1", paid_on="2020-04-03")
    with pytest.raises(Conflict):
        services.explain(finding=f, by=people.sup, reason="x")


def test_explained_then_reopened_then_confirmed_with_nothing_to_recover(regions, people):
    f = file_finding(regions)
    f = services.explain(finding=f, by=people.sup, reason="监护人代领，已备案")
    assert f.state == "explained" and not hasattr(f, "recovery")
    with pytest.raises(PermissionDenied):
        services.reopen(finding=f, by=people.a_officer, reason="x")
    f = services.reopen(finding=f, by=people.sup, reason="未见备案材料")
    assert f.state == "open" and f.resolution == ""
    f = services.confirm(finding=f, by=people.sup, reason="程序问题，无资金损失", recover="0")
    assert (f.state, f.recover_fen) == ("confirmed", 0)
    assert not Recovery.objects.filter(finding=f).exists()
    with pytest.raises(Conflict):
        services.record_repayment(finding=f, by=people.sup, amount="1", paid_on="2020-04-01")


@pytest.mark.parametrize("blank", BLANKS)
def test_a_blank_or_invisible_reason_is_refused_everywhere(regions, people, blank):
    f = file_finding(regions)
    for action in (services.confirm, services.explain):
        kwargs = {"recover": "0"} if action is services.confirm else {}
        with pytest.raises(ValidationError) as exc:
            action(finding=f, by=people.sup, reason=blank, **kwargs)
        assert "reason" in exc.value.message_dict
    f.refresh_from_db()
    assert f.state == "open" and f.transitions.count() == 1


@pytest.mark.parametrize(
    "raw,fen",
    [
        ("0", 0),
        ("0.01", 1),
        ("１２.５", 1250),
        ("100000000", 10_000_000_000),
        ("100000000.01", None),
        ("-1", None),
        ("1.234", None),
        ("abc", None),
        ("NaN", None),
        ("Infinity", None),
        ("", None),
        ("\u200b", None),
        (0, 0),
    ],
)
def test_amounts_to_recover_exact_fen_zero_and_huge(regions, people, raw, fen):
    f = file_finding(regions)
    if fen is None:
        with pytest.raises(ValidationError) as exc:
            services.confirm(finding=f, by=people.sup, reason="核实", recover=raw)
        assert "recover" in exc.value.message_dict
    else:
        assert services.confirm(finding=f, by=people.sup, reason="核实", recover=raw).recover_fen == fen


def test_repayments_zero_more_than_owed_and_future_dates_are_refused(regions, people):
    f = services.confirm(finding=file_finding(regions), by=people.sup, reason="核实", recover="10")
    for amount, paid_on, field in (
        ("0", "2020-04-01", "amount"),
        ("10.01", "2020-04-01", "amount"),
        ("1", "2999-01-01", "paid_on"),
        ("1", "昨天", "paid_on"),
    ):
        with pytest.raises(ValidationError) as exc:
            services.record_repayment(finding=f, by=people.sup, amount=amount, paid_on=paid_on)
        assert field in exc.value.message_dict
    assert not Repayment.objects.exists()


def test_the_same_action_twice_and_a_stale_version_are_conflicts(regions, people):
    f = file_finding(regions)
    stale = f.version
    services.confirm(finding=f, by=people.sup, reason="核实", recover="1", version=stale)
    with pytest.raises(Conflict):
        services.confirm(finding=f, by=people.sup, reason="核实", recover="1", version=stale)
    with pytest.raises(Conflict):
        services.confirm(finding=f, by=people.sup, reason="核实", recover="1")
    assert Recovery.objects.count() == 1


def test_who_may_assign_and_to_whom(regions, people):
    f = file_finding(regions)
    with pytest.raises(PermissionDenied):
        services.assign(finding=f, to=people.a_officer, by=people.a_officer2)
    with pytest.raises(PermissionDenied):  # an auditor reads, never acts
        services.assign(finding=f, to=people.a_officer, by=people.auditor)
    with pytest.raises(PermissionDenied):  # district B's supervisor does not reach district A
        services.assign(finding=f, to=people.a_officer, by=people.sup_b)
    with pytest.raises(ValidationError):  # B's officer cannot see a finding in A
        services.assign(finding=f, to=people.b_officer, by=people.sup)
    with pytest.raises(ValidationError):
        services.assign(finding=f, to=None, by=people.sup)
    f = services.assign(finding=f, to=people.a_officer, by=people.sup)
    with pytest.raises(ValidationError):  # the same assignment twice
        services.assign(finding=f, to=people.a_officer, by=people.sup)
    with pytest.raises(PermissionDenied):  # not the assignee
        services.explain(finding=f, by=people.a_officer2, reason="x")
    f = services.assign(finding=f, to=people.a_officer2, by=people.sup, version=f.version)
    assert f.assigned_to == people.a_officer2
    assert people.a_officer in services.assignees(
        people.sup, f
    ) and people.b_officer not in services.assignees(people.sup, f)


def test_filing_the_same_key_twice_adds_nothing(regions):
    file_finding(regions)
    run = CheckRun.objects.create(month="2020-03", trigger="test", started_at=timezone.now())
    hit = checks.Hit(
        key="paid_twice:2020-03:dibao:1", check="paid_twice", region_id=regions.a_v.code, district="500101"
    )
    assert services._file(run, [hit, hit]) == 0
    assert Finding.objects.get().last_run == run and FindingTransition.objects.count() == 1


# --- 近亲属备案 ---------------------------------------------------------------------------------------------


@pytest.fixture
def relative(regions):
    return Person.objects.create(
        id_number="500101198005010011",
        name="王大",
        birth_date=dt.date(1980, 5, 1),
        sex="M",
        region=regions.a_v,
    )


def test_declare_twice_withdraw_and_declare_again(people, relative):
    d = services.declare_relative(
        staff=people.a_officer, person=relative, relation="sibling", note=" 哥哥\u200b "
    )
    assert d.note == "哥哥"
    with pytest.raises(Conflict):
        services.declare_relative(staff=people.a_officer, person=relative, relation="sibling")
    with pytest.raises(PermissionDenied):
        services.withdraw_relative(declaration=d, by=people.a_officer2, reason="错")
    with pytest.raises(ValidationError):
        services.withdraw_relative(declaration=d, by=people.a_officer, reason="\u200b")
    services.withdraw_relative(declaration=d, by=people.a_officer, reason="录错人")
    with pytest.raises(Conflict):
        services.withdraw_relative(declaration=d, by=people.a_officer, reason="录错人")
    services.declare_relative(staff=people.a_officer, person=relative, relation="spouse")
    with pytest.raises(ValidationError) as exc:
        services.declare_relative(staff=people.a_officer2, person=None, relation="friend")
    assert set(exc.value.message_dict) == {"person", "relation"}
