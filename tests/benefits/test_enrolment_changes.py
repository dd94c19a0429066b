"""增发、减发、停发、恢复发放、退出: services with the window guard (一(一)b), a written reason, the ledger, a
printable notice with appeal rights, and the console page of one enrolment."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from benefits.support import make_household
from doudi.audit.models import AuditEntry
from doudi.benefits import services
from doudi.benefits.models import Enrolment, EnrolmentChange
from doudi.core.errors import Conflict
from doudi.registry.models import Household

D = datetime.date


@pytest.fixture
def window(officers):
    from doudi.regions.services import declare_window

    return declare_window(
        by=officers.city_admin, name="疫情防控期间", start=D(2020, 1, 24), end=None, reason="一级响应"
    )


@pytest.fixture
def enrolment(regions, officers, window, frozen_today):
    """A dibao household paid 338 yuan a month from 2020-04; today is in May 2020 (in the window)."""
    frozen_today(D(2020, 5, 6))
    household, _people = make_household(regions.a_v, [("张小明", 0), ("李红", 0)])
    household.dibao_enrolled, household.dibao_last_amount = True, 338
    household.save()
    from django.utils import timezone

    return Enrolment.objects.create(
        household=household,
        scheme="dibao",
        from_month=D(2020, 4, 1),
        monthly_amount=338,
        approved_at=timezone.now(),
    )


def end_window(officers, window, day):
    from doudi.regions.services import end_window as end

    return end(window, day, officers.city_admin, "解除一级响应")


def test_a_raise_is_allowed_in_the_window_and_lands_in_the_ledger(enrolment, officers):
    change = services.change_amount(
        enrolment=enrolment,
        by=officers.a_approver,
        amount=500,
        effective_month=D(2020, 5, 17),
        reason="收入下降",
    )
    enrolment.refresh_from_db()
    assert enrolment.monthly_amount == 500
    assert (
        change.kind,
        change.effective_month,
        change.before["monthly_amount"],
        change.after["monthly_amount"],
    ) == (
        "amount",
        D(2020, 5, 1),
        338,
        500,
    )
    assert Household.objects.get(pk=enrolment.household_id).dibao_last_amount == 500  # what R1 reads next
    assert AuditEntry.objects.filter(object_type="benefits.enrolment", object_id=str(enrolment.pk)).exists()


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        ("change_amount", {"amount": 200, "effective_month": D(2020, 6, 1)}),
        ("suspend_enrolment", {"effective_month": D(2020, 6, 1)}),
        ("exit_enrolment", {"end_month": D(2020, 5, 1)}),
    ],
)
def test_reductions_suspensions_and_exits_wait_for_the_window_to_close(
    enrolment, officers, window, action, kwargs
):
    service = getattr(services, action)
    with pytest.raises(ValidationError, match="疫情防控期间") as exc:
        service(enrolment=enrolment, by=officers.a_approver, reason="收入超标", **kwargs)
    assert "尚未宣布结束" in str(exc.value)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.monthly_amount) == ("active", 338)
    assert not EnrolmentChange.objects.exists()

    end_window(officers, window, D(2020, 5, 31))  # from June the district is out of the window
    change = service(enrolment=enrolment, by=officers.a_approver, reason="收入超标", **kwargs)
    enrolment.refresh_from_db()
    expected = {
        "change_amount": ("active", 200),
        "suspend_enrolment": ("suspended", 338),
        "exit_enrolment": ("ended", 338),
    }
    assert (enrolment.status, enrolment.monthly_amount) == expected[action]
    assert change.reason == "收入超标"


def test_an_exit_whose_first_unpaid_month_is_after_the_window_is_allowed(enrolment, officers, window):
    end_window(officers, window, D(2020, 6, 30))
    with pytest.raises(ValidationError):  # paid through May, June unpaid: June is in the window
        services.exit_enrolment(
            enrolment=enrolment, by=officers.a_approver, end_month=D(2020, 5, 1), reason="迁出"
        )
    change = services.exit_enrolment(
        enrolment=enrolment, by=officers.a_approver, end_month=D(2020, 6, 1), reason="迁出"
    )
    assert (change.kind, change.effective_month) == ("ended", D(2020, 6, 1))
    household = Household.objects.get(pk=enrolment.household_id)
    assert household.dibao_enrolled is False  # end_enrolment's work, reused


def test_suspend_then_resume_keeps_the_enrolment(enrolment, officers, window):
    end_window(officers, window, D(2020, 5, 31))
    services.suspend_enrolment(
        enrolment=enrolment, by=officers.a_approver, effective_month=D(2020, 7, 1), reason="下落不明"
    )
    with pytest.raises(Conflict):  # a suspended enrolment is not changed in amount …
        services.change_amount(
            enrolment=enrolment, by=officers.a_approver, amount=400, effective_month=D(2020, 7, 1), reason="x"
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # … nor enrolled a second time
        Enrolment.objects.create(
            household=enrolment.household,
            scheme="dibao",
            from_month=D(2020, 8, 1),
            monthly_amount=1,
            approved_at=enrolment.approved_at,
        )
    with pytest.raises(ValidationError, match="不能早于停发月份"):
        services.resume_enrolment(
            enrolment=enrolment, by=officers.a_approver, effective_month=D(2020, 6, 1), reason="找到"
        )
    services.resume_enrolment(
        enrolment=enrolment, by=officers.a_approver, effective_month=D(2020, 9, 1), reason="已核实"
    )
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
    assert list(EnrolmentChange.objects.values_list("kind", "effective_month")) == [
        ("suspend", D(2020, 7, 1)),
        ("resume", D(2020, 9, 1)),
    ]
    with pytest.raises(Conflict):  # resuming twice
        services.resume_enrolment(
            enrolment=enrolment, by=officers.a_approver, effective_month=D(2020, 9, 1), reason="再次"
        )


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_every_change_needs_a_written_reason(enrolment, officers, reason):
    with pytest.raises(ValidationError) as exc:
        services.change_amount(
            enrolment=enrolment,
            by=officers.a_approver,
            amount=400,
            effective_month=D(2020, 5, 1),
            reason=reason,
        )
    assert "reason" in exc.value.message_dict


@pytest.mark.parametrize(
    ("amount", "field"),
    [(0, "amount"), (-5, "amount"), ("abc", "amount"), (338, "amount"), (10**12, "amount")],
)
def test_amount_edges(enrolment, officers, amount, field):
    with pytest.raises(ValidationError) as exc:
        services.change_amount(
            enrolment=enrolment,
            by=officers.a_approver,
            amount=amount,
            effective_month=D(2020, 5, 1),
            reason="r",
        )
    assert field in exc.value.message_dict


def test_only_the_district_approver_of_the_region_changes(enrolment, officers):
    for outsider in (officers.a_district, officers.a_township, officers.b_approver, officers.city_admin):
        with pytest.raises(PermissionDenied):
            services.change_amount(
                enrolment=enrolment, by=outsider, amount=400, effective_month=D(2020, 5, 1), reason="r"
            )
    with pytest.raises(ValidationError):  # before the enrolment began
        services.change_amount(
            enrolment=enrolment, by=officers.a_approver, amount=400, effective_month=D(2020, 3, 1), reason="r"
        )


# --- pages ------------------------------------------------------------------------------------------


def test_the_console_page_changes_and_prints_the_notice(client, enrolment, officers):
    client.force_login(officers.a_approver)
    url = reverse("benefits:enrolment", args=[enrolment.pk])
    page = client.get(url).content.decode()
    assert 'data-testid="window-notice"' in page and "338" in page
    assert (
        reverse("benefits:enrolment", args=[enrolment.pk])
        in client.get(reverse("benefits:list")).content.decode()
    )

    refused = client.post(
        reverse("benefits:enrolment_action", args=[enrolment.pk, "amount"]),
        {"amount-amount": "100", "amount-effective_month": "2020-06", "amount-reason": "收入增加"},
    )
    assert refused.status_code == 400 and "疫情防控期间" in refused.content.decode()
    bad = client.post(
        reverse("benefits:enrolment_action", args=[enrolment.pk, "amount"]),
        {"amount-amount": "400", "amount-effective_month": "2020-13", "amount-reason": "x"},
    )
    assert bad.status_code == 400 and "月份格式" in bad.content.decode()

    done = client.post(
        reverse("benefits:enrolment_action", args=[enrolment.pk, "amount"]),
        {"amount-amount": "420", "amount-effective_month": "2020-05", "amount-reason": "家庭成员失业"},
    )
    change = EnrolmentChange.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse(
        "benefits:change_notice", args=[enrolment.pk, change.pk]
    )
    notice = client.get(done["Location"]).content.decode()
    assert "增发救助金通知书" in notice and "338" in notice and "420" in notice and "家庭成员失业" in notice
    assert "六十日内依法申请行政复议" in notice and "六个月内依法向人民法院提起行政诉讼" in notice
    assert enrolment.household.region.parent.parent.name in notice  # sealed by the district bureau


def test_a_reduction_notice_after_the_window(client, enrolment, officers, window):
    end_window(officers, window, D(2020, 5, 31))
    change = services.change_amount(
        enrolment=enrolment,
        by=officers.a_approver,
        amount=100,
        effective_month=D(2020, 6, 1),
        reason="收入增加",
    )
    client.force_login(officers.a_township)  # any officer of the region may print it
    notice = client.get(reverse("benefits:change_notice", args=[enrolment.pk, change.pk])).content.decode()
    assert "减发救助金通知书" in notice and "2020-06" in notice and "收入增加" in notice


def test_forms_are_for_approvers_and_other_regions_get_404(client, enrolment, officers):
    client.force_login(officers.a_township)
    page = client.get(reverse("benefits:enrolment", args=[enrolment.pk])).content.decode()
    assert (
        "enrolment_action" not in page
        and reverse("benefits:enrolment_action", args=[enrolment.pk, "amount"]) not in page
    )
    response = client.post(
        reverse("benefits:enrolment_action", args=[enrolment.pk, "amount"]),
        {"amount-amount": "500", "amount-effective_month": "2020-05", "amount-reason": "x"},
        follow=True,
    )
    assert "只有区县民政审批人" in response.content.decode()
    client.force_login(officers.b_approver)
    assert client.get(reverse("benefits:enrolment", args=[enrolment.pk])).status_code == 404
    assert (
        client.post(reverse("benefits:enrolment_action", args=[enrolment.pk, "exit"]), {}).status_code == 404
    )
    client.force_login(officers.a_approver)
    assert (
        client.post(reverse("benefits:enrolment_action", args=[enrolment.pk, "nope"]), {}).status_code == 404
    )
    assert client.get(reverse("benefits:enrolment_action", args=[enrolment.pk, "exit"])).status_code == 405
    assert not EnrolmentChange.objects.exists()


# --- the household is told: an SMS, and the portal's status page ----------------------------------------


def test_each_committed_change_sends_one_sms_to_the_beneficiary(
    enrolment, officers, window, django_capture_on_commit_callbacks
):
    from doudi.portal.models import OutboxMessage

    head = enrolment.household.head
    with django_capture_on_commit_callbacks(execute=True):
        services.change_amount(
            enrolment=enrolment,
            by=officers.a_approver,
            amount=500,
            effective_month=D(2020, 5, 1),
            reason="失业",
        )
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):  # refused: silent
        services.suspend_enrolment(
            enrolment=enrolment, by=officers.a_approver, effective_month=D(2020, 6, 1), reason="下落不明"
        )
    message = OutboxMessage.objects.get()
    assert message.phone == head.phone
    assert "自 2020-05 起调整为每月 500 元（原 338 元）" in message.text and "行政复议" in message.text
    end_window(officers, window, D(2020, 5, 31))
    with django_capture_on_commit_callbacks(execute=True):
        services.exit_enrolment(
            enrolment=enrolment, by=officers.a_approver, end_month=D(2020, 6, 1), reason="迁出"
        )
    assert "发放至 2020-06，自次月起停止" in OutboxMessage.objects.order_by("-pk").first().text
    assert OutboxMessage.objects.count() == 2


def test_the_citizen_status_page_lists_every_change(client, enrolment, officers):
    import datetime as dt

    from django.utils import timezone

    from benefits.support import file_dibao
    from doudi.portal.views import STATUS_SESSION_KEY

    case = file_dibao(officers, enrolment.household.head)
    Enrolment.objects.filter(pk=enrolment.pk).update(decision_case=case)
    services.change_amount(
        enrolment=enrolment,
        by=officers.a_approver,
        amount=420,
        effective_month=D(2020, 5, 1),
        reason="家庭成员失业",
    )
    session = client.session
    session[STATUS_SESSION_KEY] = {
        "case": case.pk,
        "until": (timezone.now() + dt.timedelta(minutes=5)).isoformat(),
    }
    session.save()
    page = client.get(reverse("portal:status_case")).content.decode()
    assert 'data-testid="enrolment-changes"' in page
    assert "2020-05" in page and "338 元 → 420 元" in page and "家庭成员失业" in page
