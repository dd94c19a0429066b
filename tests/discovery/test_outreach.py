"""The outreach queue: contact, apply on the person's behalf, dismiss; a dismissed lead stays dismissed
until its data changes; a lead with an open case is linked to it, never duplicated; per-district figures."""

import datetime as dt
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from doudi.audit.models import AuditEntry
from doudi.core.errors import Conflict
from doudi.discovery import services
from doudi.discovery.models import Lead, LeadState, LeadTransition
from doudi.intake.models import Case

from .conftest import DAY, member

pytestmark = pytest.mark.django_db(transaction=True)  # ADBC reads committed rows on PostgreSQL
OLD = dt.date(1950, 5, 5)


def only_live(kind, h):
    return Lead.objects.get(kind=kind, household=h, state__in=["found", "contacted", "applied"])


def test_a_dismissed_lead_does_not_come_back_until_its_data_changes(household, sweep, township_officer):
    from doudi.registry.models import PersonCategory

    h = household([{"birth": OLD}])
    sweep()
    lead = only_live("tekun", h)
    services.dismiss(
        lead=lead, by=township_officer, reason="女儿每月赡养，已核实", expected_version=lead.version
    )
    assert sweep() == {}
    assert Lead.objects.filter(kind="tekun").count() == 1
    # The data behind it changes: now also severely disabled — a new lead, the dismissed one kept.
    PersonCategory.objects.create(
        person=member(h), category="severe_disability", valid_from=dt.date(2020, 3, 1)
    )
    leads = sweep()
    fresh = leads[("tekun", h.pk, member(h).pk)]
    assert fresh.pk != lead.pk and fresh.fingerprint != lead.fingerprint
    assert Lead.objects.get(pk=lead.pk).state == LeadState.DISMISSED


def test_reloading_the_same_facts_in_a_new_extract_does_not_bring_it_back(
    household, load, sweep, township_officer
):
    h = household(
        [{}, {"categories": ["severe_disability"]}, {"relation": "child", "birth": dt.date(2012, 1, 1)}]
    )
    row = {"id_number": member(h).id_number, "name": member(h).name, "died_on": "2019-12-01"}
    load("deaths", [row], extract_date=dt.date(2020, 1, 31))
    sweep()
    lead = only_live("child", h)
    services.dismiss(lead=lead, by=township_officer, reason="已由祖父母监护并领取其他补助")
    load("deaths", [{"id_number": "500101197001010011", "name": "他人", "died_on": "2020-02-01"}, row],
         extract_date=DAY)  # fmt: skip
    assert ("child", h.pk, member(h, 2).pk) not in sweep()


def test_a_lead_with_an_open_case_is_linked_never_duplicated(household, sweep, village_worker):
    from doudi.intake.services import open_case

    h = household([{"categories": ["registered_poor"]}])
    case = open_case(by=village_worker, case_type="dibao", channel="walk_in", region=h.region, summary="申请低保",
                     applicant=member(h))  # fmt: skip
    sweep()
    lead = only_live("registered_poor", h)
    assert (lead.state, lead.case_id) == (LeadState.APPLIED, case.pk)
    sweep()
    assert Lead.objects.filter(kind="registered_poor", household=h).count() == 1
    assert Case.objects.filter(household=h).count() == 1


def test_a_case_opened_after_the_lead_links_it_on_the_next_sweep_and_apply_links_too(
    household, sweep, village_worker
):
    from doudi.intake.services import open_case

    h = household([{"categories": ["registered_poor"]}])
    other = household([{"birth": OLD}])
    sweep()
    open_case(
        by=village_worker,
        case_type="dibao",
        channel="walk_in",
        region=h.region,
        summary="申请",
        applicant=member(h),
    )
    lead = only_live("tekun", other)
    open_case(
        by=village_worker,
        case_type="tekun",
        channel="walk_in",
        region=h.region,
        summary="申请",
        applicant=member(other),
    )
    services.file_application(lead=lead, by=village_worker)  # an open case exists: linked, not a second one
    assert Case.objects.filter(household=other).count() == 1
    assert only_live("tekun", other).state == LeadState.APPLIED
    sweep()
    linked = only_live("registered_poor", h)
    assert linked.state == LeadState.APPLIED and linked.case.household_id == h.pk
    assert LeadTransition.objects.filter(lead=linked, action="linked").count() == 1


def test_contact_then_apply_on_the_persons_behalf_pre_fills_the_case(household, sweep, village_worker):
    h = household([{"birth": OLD, "name": "王大爷"}])
    sweep()
    lead = only_live("tekun", h)
    lead = services.record_contact(lead=lead, by=village_worker, method="visit", contacted_on="2020-04-01",
                                   note="入户走访，老人独居无收入", expected_version=lead.version)  # fmt: skip
    assert lead.state == LeadState.CONTACTED and lead.contacted_at
    lead = services.file_application(lead=lead, by=village_worker, expected_version=lead.version)
    case = lead.case
    assert (case.case_type, case.applicant_id, case.household_id, case.filed_on_behalf) == (
        "tekun",
        member(h).pk,
        h.pk,
        True,
    )
    assert "王大爷" in case.summary and "独自一人生活" in case.summary
    assert case.details["discovery"]["lead"] == lead.pk
    with pytest.raises(Conflict):  # the same request twice: one case
        services.file_application(lead=lead, by=village_worker)
    assert Case.objects.filter(household=h).count() == 1
    assert [t.action for t in lead.transitions.all()] == ["found", "contact", "apply"]


@pytest.mark.parametrize("reason", ["", "   ", "\u200b\u200b", "x" * 1001])
def test_a_dismissal_needs_a_real_reason(household, sweep, township_officer, reason):
    household([{"birth": OLD}])
    sweep()
    lead = Lead.objects.get()
    with pytest.raises(ValidationError) as err:
        services.dismiss(lead=lead, by=township_officer, reason=reason)
    assert "reason" in err.value.message_dict
    assert Lead.objects.get().state == LeadState.FOUND


def test_contact_input_is_checked_and_a_stale_version_is_a_conflict(household, sweep, township_officer):
    household([{"birth": OLD}])
    sweep()
    lead = Lead.objects.get()
    with pytest.raises(ValidationError) as err:
        services.record_contact(
            lead=lead, by=township_officer, method="fax", contacted_on="2999-01-01", note=""
        )
    assert set(err.value.message_dict) == {"method", "contacted_on", "note"}
    with pytest.raises(Conflict):
        services.record_contact(lead=lead, by=township_officer, method="phone", contacted_on="2020-04-01",
                                note="电话无人接听", expected_version=lead.version + 1)  # fmt: skip


def test_another_regions_officer_may_not_act_and_does_not_see_the_lead(
    household, sweep, regions, make_user, client
):
    household([{"birth": OLD}])
    sweep()
    lead = Lead.objects.get()
    other = make_user("disc_township_b", regions.b_t, "township_officer")
    with pytest.raises(PermissionDenied):
        services.dismiss(lead=lead, by=other, reason="不在本辖区")
    client.force_login(other)
    assert client.get(reverse("discovery:lead", args=[lead.pk])).status_code == 404
    assert "独自一人生活" not in client.get(reverse("discovery:queue")).content.decode()


def test_leads_no_longer_found_are_closed_enrolled_or_cleared(household, sweep):
    from doudi.registry.models import Household

    a = household([{"categories": ["registered_poor"]}])
    b = household([{"birth": OLD}])
    sweep()
    Household.objects.filter(pk=a.pk).update(dibao_enrolled=True, dibao_last_amount=300)
    p = member(b)
    p.income_transfer_fen = 150_000
    p.save()
    sweep()
    assert Lead.objects.get(household=a).state == LeadState.ENROLLED
    assert Lead.objects.get(household=b).state == LeadState.CLEARED


def test_closing_writes_the_ledger_and_leaves_a_lead_an_officer_changed_meanwhile(
    household, sweep, township_officer, monkeypatch
):
    """The sweep writes set-based after it read: a lead dismissed between the read and the write (its
    version moved) is not closed over the officer's dismissal; the others get their ledger rows."""
    from doudi.registry.models import Household

    a = household([{"categories": ["registered_poor"]}])
    b = household([{"categories": ["registered_poor"]}])
    sweep()
    first_a, first_b = Lead.objects.get(household=a), Lead.objects.get(household=b)
    assert list(first_a.transitions.values_list("seq", "action", "from_state", "to_state")) == [
        (1, "found", "", "found")
    ]
    Household.objects.filter(pk__in=[a.pk, b.pk]).update(dibao_enrolled=True, dibao_last_amount=300)
    write = services._write

    def officer_acts_first(run, plan, officer):
        services.dismiss(lead=first_b, by=township_officer, reason="已入户核实，家庭已有固定收入")
        return write(run, plan, officer)

    monkeypatch.setattr(services, "_write", officer_acts_first)
    assert sweep() == {}
    a_lead, b_lead = Lead.objects.get(pk=first_a.pk), Lead.objects.get(pk=first_b.pk)
    assert (a_lead.state, a_lead.version) == (LeadState.ENROLLED, 2)
    assert (b_lead.state, b_lead.version) == (LeadState.DISMISSED, 2)
    closed = a_lead.transitions.get(seq=2)
    assert (closed.action, closed.from_state, closed.to_state, closed.reason) == (
        "closed", "found", "enrolled", "已纳入救助"
    )  # fmt: skip
    assert list(b_lead.transitions.values_list("action", flat=True)) == ["found", "dismiss"]


def test_the_queue_masks_names_the_lead_page_is_audited_and_the_district_figures(
    household, sweep, township_officer, client
):
    h = household([{"birth": OLD, "name": "王大爷"}])
    household([{"categories": ["registered_poor"]}])
    sweep(DAY)
    lead = Lead.objects.get(household=h)
    client.force_login(township_officer)
    page = client.get(reverse("discovery:queue")).content.decode()
    assert "王*爷" in page and "王大爷" not in page and "特困供养候选" in page
    before = AuditEntry.objects.filter(action="read").count()
    detail = client.get(reverse("discovery:lead", args=[lead.pk])).content.decode()
    assert "王大爷" in detail and AuditEntry.objects.filter(action="read").count() == before + 1
    response = client.post(
        reverse("discovery:dismiss", args=[lead.pk]), {"reason": "", "version": lead.version}, follow=True
    )
    assert Lead.objects.get(pk=lead.pk).state == LeadState.FOUND and response.status_code == 200
    client.post(reverse("discovery:contact", args=[lead.pk]),
                {"method": "phone", "contacted_on": "2020-04-02", "note": "电话联系", "version": lead.version})  # fmt: skip
    counts = client.get(reverse("discovery:districts")).content.decode()
    assert "万州区" in counts
    from doudi.discovery.selectors import district_counts

    [row] = district_counts(township_officer, today=dt.date(2020, 5, 1))
    assert {k: row[k] for k in ("found", "contacted", "applied", "enrolled", "dismissed", "overdue")} == {
        "found": 2, "contacted": 1, "applied": 0, "enrolled": 0, "dismissed": 0, "overdue": 1}  # fmt: skip
    xlsx = client.get(reverse("discovery:districts_export"))
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_reasons_say_it_in_plain_words(household, sweep):
    from doudi.discovery.reasons import sentences

    h = household([{"categories": ["registered_poor"], "name": "李四"}])
    sweep()
    lead = Lead.objects.get(household=h)
    texts = [s["text"] for s in sentences(lead, {member(h).pk: "李四"})]
    assert texts == [
        "李四是建档立卡贫困人口（自 2016-01-01 起）。",
        "家庭没有纳入低保、特困供养，近一年也没有临时救助。",
    ]
    assert json.loads(lead.reasons)[0]["data"]["person_id"] == member(h).pk


def test_only_the_bureau_starts_a_sweep_from_the_console(client, township_officer, regions, make_user):
    client.force_login(township_officer)
    assert client.post(reverse("discovery:sweep")).status_code == 403
    admin = make_user("disc_admin", regions.city, "municipal_admin")
    client.force_login(admin)
    assert client.post(reverse("discovery:sweep")).status_code == 302
