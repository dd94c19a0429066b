"""疫情防控期结束: the preview of the first month after the window, its maker-checker approval, the
changes it applies and what the next payroll pays (issue 10, item 5) — on the payroll's small world."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.benefits import services
from doudi.benefits.models import ChangeKind, EnrolmentChange, EnrolmentStatus, WindowEndItem, WindowEndReview
from doudi.core.errors import Conflict
from doudi.payments import services as payments
from doudi.payments.models import PaymentLine, PayrollRun
from doudi.policy.periods import Period

D = dt.date


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    settings.DOUDI_DATA_DIR = tmp_path / "data"


@pytest.fixture
def world(transactional_db):
    from payments.world import build_world

    return build_world()


def declare(world, end):
    from doudi.regions.services import declare_window

    return declare_window(
        by=world.users.city_admin, name="疫情防控期间", start=D(2020, 1, 24), end=end, reason="宣布"
    )


def second_approver(world, region):
    from doudi.accounts.services import create_staff_user

    return create_staff_user(
        username=f"approver2_{region.code}",
        password="Doudi-test-2020",
        region=region,
        roles=["district_approver"],
    )


def preview(world, region, by):
    review = services.prepare_window_end(region=region, by=by)
    return services.compute_window_end(review)


def items(review, **filters):
    return {
        (i.kind, i.scheme, i.household_id): i for i in WindowEndItem.objects.filter(review=review, **filters)
    }


def payroll(month):
    run = payments.compute_run(payments.freeze_run(month=Period.parse(month)))
    return {(x.scheme, x.beneficiary_id): x for x in PaymentLine.objects.filter(run=run)}


def test_refused_while_the_window_is_open(world):
    with pytest.raises(ValidationError) as no_declaration:
        services.prepare_window_end(region=world.regions.a, by=world.users.a_officer)
    assert "region" in no_declaration.value.message_dict
    declare(world, None)
    with pytest.raises(ValidationError) as still_open:
        services.prepare_window_end(region=world.regions.a, by=world.users.a_officer)
    assert "尚未宣布结束" in still_open.value.message_dict["region"][0]


def test_only_preparers_of_the_scope_may_prepare(world):
    declare(world, D(2020, 2, 29))
    with pytest.raises(PermissionDenied):
        services.prepare_window_end(region=world.regions.b, by=world.users.a_officer)  # another district
    with pytest.raises(PermissionDenied):
        services.prepare_window_end(region=world.regions.city, by=world.users.a_officer)  # the city
    with pytest.raises(PermissionDenied):
        services.prepare_window_end(region=world.regions.a, by=world.users.finance)


def test_district_preview_approval_ledger_notice_and_next_payroll(world):
    declare(world, D(2020, 2, 29))
    review = preview(world, world.regions.a, world.users.a_officer)
    assert review.status == "ready" and review.month == D(2020, 3, 1)
    got = items(review)
    # 万州区 only: the household whose rules now find 338 instead of the enrolled 500.
    assert set(got) == {("reduce", "dibao", world.h_lower.pk)}
    lower = got[("reduce", "dibao", world.h_lower.pk)]
    assert (lower.before_amount, lower.after_amount, lower.persons) == (500, 338, 3)
    assert "疫情防控期间（2020-01-24 至 2020-02-29）已宣布结束" in lower.reason
    assert "自 2020-03 起调整为每月 338 元" in lower.reason
    totals = review.summary["totals"]["dibao"]
    assert totals["before_fen"] - totals["after_fen"] == (500 - 338) * 100

    # Maker-checker: the preparer never approves; a district officer is no approver.
    preparer = world.users.a_approver
    review = preview(world, world.regions.a, preparer)
    with pytest.raises(PermissionDenied):
        services.approve_window_end(review=review, by=preparer)
    with pytest.raises(PermissionDenied):
        services.approve_window_end(review=review, by=world.users.a_officer)
    with pytest.raises(PermissionDenied):
        services.approve_window_end(review=review, by=world.users.b_approver)  # not its district
    checker = second_approver(world, world.regions.a)
    approval = services.approve_window_end(review=review, by=checker)
    counts = services.apply_window_end(approval)
    assert counts == {"applied": 1}
    # Approving twice is a conflict, not a second change; so is preparing the scope again.
    with pytest.raises(Conflict):
        services.approve_window_end(review=review, by=checker)
    with pytest.raises(Conflict):
        services.prepare_window_end(region=world.regions.a, by=world.users.a_officer)
    assert services.apply_window_end(approval) == {"applied": 1}  # run again: nothing more
    change = EnrolmentChange.objects.get(enrolment=world.e_lower, kind=ChangeKind.AMOUNT)
    assert (change.effective_month, change.before["monthly_amount"], change.after["monthly_amount"]) == (
        D(2020, 3, 1),
        500,
        338,
    )
    assert change.reason == WindowEndItem.objects.get(review=review).reason
    review.refresh_from_db()
    assert review.status == "applied"

    # The next payroll pays the new amount, no longer flagged; the window's last month kept the old.
    march = payroll("2020-03")
    line = march[("dibao", world.h_lower.pk)]
    assert (line.amount_fen, line.flag) == (33_800, "")
    a_lines = [x for x in march.values() if x.district == "500101"]
    after = review.summary["totals"]
    for scheme in ("dibao", "tekun", "children", "covid"):
        assert after[scheme]["after_fen"] == sum(x.amount_fen for x in a_lines if x.scheme == scheme)
    assert payroll("2020-02")[("dibao", world.h_lower.pk)].amount_fen == 50_000


def test_city_preview_is_approved_district_by_district(world):
    declare(world, D(2020, 2, 29))
    review = preview(world, world.regions.city, world.users.city_admin)
    got = items(review)
    assert set(got) == {("reduce", "dibao", world.h_lower.pk), ("exit", "dibao", world.h_exit.pk)}
    exit_ = got[("exit", "dibao", world.h_exit.pk)]
    assert (exit_.before_amount, exit_.after_amount) == (200, 0)
    assert "发放至 2020-02，自 2020-03 起停止" in exit_.reason
    approval = services.approve_window_end(review=review, by=world.users.b_approver)
    assert services.apply_window_end(approval) == {"applied": 1}
    world.e_exit.refresh_from_db()
    assert (world.e_exit.status, world.e_exit.end_month) == (EnrolmentStatus.ENDED, D(2020, 2, 1))
    world.e_lower.refresh_from_db()
    assert world.e_lower.monthly_amount == 500  # 万州区 has not approved yet
    review.refresh_from_db()
    assert review.status == "ready"
    services.apply_window_end(services.approve_window_end(review=review, by=world.users.a_approver))
    review.refresh_from_db()
    assert review.status == "applied"
    march = payroll("2020-03")
    assert ("dibao", world.h_exit.pk) not in march
    assert march[("dibao", world.h_lower.pk)].amount_fen == 33_800


def test_a_change_made_by_hand_since_the_preview_is_left_alone(world):
    declare(world, D(2020, 2, 29))
    review = preview(world, world.regions.a, world.users.a_officer)
    services.change_amount(
        enrolment=world.e_lower,
        by=world.users.a_approver,
        amount=400,
        effective_month=D(2020, 3, 1),
        reason="手工",
    )
    approval = services.approve_window_end(review=review, by=world.users.a_approver)
    assert services.apply_window_end(approval) == {"stale": 1}
    world.e_lower.refresh_from_db()
    assert world.e_lower.monthly_amount == 400


def test_approval_refused_once_the_months_payroll_is_frozen(world):
    declare(world, D(2020, 2, 29))
    review = preview(world, world.regions.a, world.users.a_officer)
    payments.freeze_run(month=Period.parse("2020-03"))
    with pytest.raises(Conflict):
        services.approve_window_end(review=review, by=world.users.a_approver)


def test_the_months_payroll_is_not_frozen_while_an_approved_change_is_still_being_applied(world):
    declare(world, D(2020, 2, 29))
    review = preview(world, world.regions.a, world.users.a_officer)
    approval = services.approve_window_end(review=review, by=world.users.a_approver)
    with pytest.raises(Conflict) as applying:
        payments.freeze_run(month=Period.parse("2020-03"))
    assert "尚在落实中" in applying.value.message and applying.value.errors[0]["path"] == "month"
    assert not PayrollRun.objects.filter(month="2020-03").exists()
    services.apply_window_end(approval)
    run = payments.freeze_run(month=Period.parse("2020-03"))
    assert run.snapshot_sha256


def test_preparing_again_replaces_an_unapproved_preview(world):
    declare(world, D(2020, 2, 29))
    first = preview(world, world.regions.a, world.users.a_officer)
    second = preview(world, world.regions.a, world.users.a_officer)
    first.refresh_from_db()
    assert (first.status, second.status) == ("superseded", "ready")
    with pytest.raises(Conflict):
        services.approve_window_end(review=first, by=world.users.a_approver)
    # the replaced preview's items are what was shown then; the new one has its own
    assert WindowEndItem.objects.filter(review=second).count() == 1


def test_the_pages(world, client):
    from django.urls import reverse

    client.force_login(world.users.a_officer)
    listing = client.get(reverse("benefits:window_end_list"))
    assert listing.status_code == 200 and 'data-testid="window-open"' in listing.content.decode()
    refused = client.post(reverse("benefits:window_end_prepare"), {"region": "500101"}, follow=True)
    assert "尚未宣布结束" in refused.content.decode()
    assert client.post(reverse("benefits:window_end_prepare"), {"region": "500102"}).status_code == 403
    declare(world, D(2020, 2, 29))
    made = client.post(reverse("benefits:window_end_prepare"), {"region": "500101"})
    review = services.compute_window_end(WindowEndReview.objects.get())
    assert made.status_code == 302 and made["Location"] == reverse("benefits:window_end", args=[review.pk])
    page = client.get(reverse("benefits:window_end", args=[review.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and "王五" in text and 'data-testid="approve-form"' not in text
    assert client.get(reverse("benefits:window_end_progress", args=[review.pk])).status_code == 200
    # Another district sees neither the preview nor its items.
    client.force_login(world.users.b_approver)
    assert client.get(reverse("benefits:window_end", args=[review.pk])).status_code == 404
    assert client.post(reverse("benefits:window_end_approve", args=[review.pk])).status_code == 404
    # The district approver (not the preparer) approves; the second click is refused, nothing twice.
    client.force_login(world.users.a_approver)
    assert (
        'data-testid="approve-form"'
        in client.get(reverse("benefits:window_end", args=[review.pk])).content.decode()
    )
    approve = reverse("benefits:window_end_approve", args=[review.pk])
    assert client.post(approve, {"note": "同意\u200b"}).status_code == 302
    approval = review.approvals.get()
    services.apply_window_end(approval)  # what the queued task runs
    again = client.post(reverse("benefits:window_end_approve", args=[review.pk]), follow=True)
    assert "不能重复审批" in again.content.decode()
    assert EnrolmentChange.objects.filter(enrolment=world.e_lower, kind=ChangeKind.AMOUNT).count() == 1
    item = WindowEndItem.objects.get(review=review)
    notice = client.get(reverse("benefits:window_end_notice", args=[review.pk, item.pk]), follow=True)
    assert notice.status_code == 200 and "减发救助金通知书" in notice.content.decode()
    from doudi.audit.models import AuditEntry

    assert AuditEntry.objects.filter(
        action="read", object_id=str(world.h_lower.pk), actor=world.users.a_approver
    ).exists()
    assert review.approvals.get().note == "同意"  # the invisible character dropped


def test_the_command_line(world):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="尚未宣布结束"):
        call_command(
            "window_end", "preview", "--region", "500101", "--user", "a_officer", stdout=io.StringIO()
        )
    declare(world, D(2020, 2, 29))
    out = io.StringIO()
    call_command("window_end", "preview", "--region", "500101", "--user", "a_officer", stdout=out)
    review = WindowEndReview.objects.get()
    assert "100%" in out.getvalue() and "reduce       1" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("window_end", "approve", "--review", str(review.pk), "--user", "a_officer", stdout=out)
    out = io.StringIO()
    call_command("window_end", "approve", "--review", str(review.pk), "--user", "a_approver", stdout=out)
    assert "applied: {'applied': 1}" in out.getvalue() and "applied" in out.getvalue()
    with pytest.raises(CommandError, match="不能重复审批"):
        call_command("window_end", "approve", "--review", str(review.pk), "--user", "a_approver", stdout=out)


def test_a_district_still_in_its_own_window_is_left_out_of_the_city_preview(world):
    from doudi.regions.services import declare_window

    declare(world, D(2020, 2, 29))
    declare_window(
        by=world.users.city_admin,
        name="涪陵区疫情防控期间",
        start=D(2020, 2, 1),
        end=None,
        reason="本区县延长",
        districts=[world.regions.b],
    )
    review = preview(world, world.regions.city, world.users.city_admin)
    assert review.summary["excluded"] == ["500102"]
    assert set(items(review)) == {("reduce", "dibao", world.h_lower.pk)}  # none of 涪陵区
    with pytest.raises(ValidationError):
        services.approve_window_end(review=review, by=world.users.b_approver)
    with pytest.raises(ValidationError):  # the district itself: its end is not declared
        services.prepare_window_end(region=world.regions.b, by=world.users.b_officer)
