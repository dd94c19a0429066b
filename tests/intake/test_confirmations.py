"""办理确认: after every action of every flow the officer reads a sentence written for that action —
never the button label glued after "已" ("已政策评估。", "已异议不成立。", "已乡镇审批同意。")."""

import pytest
from django.urls import reverse

from doudi.intake import flows
from doudi.intake.confirmations import confirmation, sentence_for
from doudi.intake.models import Case

FILLED = {
    "evaluation": {"dibao": {"amount": 972}, "eligible": True, "amount": 1200},
    "decision": {"amount": 972, "from_month": "2026-12-01"},
    "assessment": {"amount": 800},
    "proposal": {"amount": 3000},
    "first_aid": {"amount": 500},
}


def every_action():
    seen = set()
    for case_type, flow in flows.FLOWS.items():
        for act in flow.actions:
            if (flow.name, act.name) not in seen:
                seen.add((flow.name, act.name))
                yield case_type, flow, act


@pytest.mark.parametrize("details", [{}, FILLED], ids=["bare", "with-figures"])
def test_every_action_of_every_flow_has_its_own_sentence(details):
    for case_type, flow, act in every_action():
        assert sentence_for(flow.name, act.name) is not None, (flow.name, act.name)
        case = Case(case_type=case_type, state=act.target, details=details)
        text = confirmation(case, act)
        assert text.endswith("。") and len(text) >= 8, (flow.name, act.name, text)
        assert text != f"已{act.label}。", (flow.name, act.name)
        assert "%(" not in text and "{" not in text, text


def test_the_sentences_carry_the_figures():
    dibao = flows.FLOWS["dibao"]
    case = Case(case_type="dibao", state="evaluated", details=FILLED)
    assert confirmation(case, dibao.action("evaluate")) == "已完成政策评估：拟纳入低保，月低保金 972 元。"
    assert "自2026年12月起每月 972 元" in confirmation(case, dibao.action("approve"))
    nothing = Case(case_type="dibao", state="evaluated", details={"evaluation": {"dibao": {"amount": 0}}})
    assert "不符合" in confirmation(nothing, dibao.action("evaluate"))
    assert confirmation(case, dibao.action("dismiss_objection")) == "已认定异议不成立，理由已记录；公示继续。"
    temporary = flows.FLOWS["temporary"]
    case = Case(case_type="temporary", state="approved", details=FILLED)
    assert (
        confirmation(case, temporary.action("approve_township"))
        == "乡镇审批同意，救助 972 元；发放后请办结。"
    )


def test_the_state_filter_lists_each_state_once_with_its_own_label():
    from doudi.intake.views import _state_choices

    choices = _state_choices()
    values = [v for v, _label in choices]
    labels = [label for _v, label in choices]
    assert len(values) == len(set(values)) and len(labels) == len(set(labels)), labels
    assert labels.count("待区县审批") == 1


def test_the_officer_reads_the_sentence_after_acting(officers, open_case, client):
    case = open_case("temporary")
    client.force_login(officers.a_township)
    response = client.post(
        reverse("intake:act", args=[case.pk, "accept"]), {"version": case.version}, follow=True
    )
    page = response.content.decode()
    assert "申请已受理，办理时限从今天起计算。" in page and "已受理。" not in page


def test_the_timeline_names_people_and_units_not_logins(officers, open_case, client):
    from doudi.intake.selectors import _actor_label

    officers.a_township.full_name = "王丽"
    officers.a_township.save()
    case = open_case("temporary")
    client.force_login(officers.a_district)
    page = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    timeline = page[page.index('data-testid="timeline"') :]
    assert "王丽（高笋塘街道 · 乡镇街道经办人）" in timeline
    assert "a_township" not in timeline
    assert _actor_label(None, "system") == "系统（自动）" and _actor_label(None, "") == "系统（自动）"
    assert _actor_label(None, "申请人本人") == "申请人本人"


def test_home_shows_the_users_own_work_with_links_to_the_queue(officers, open_case, client, frozen_today):
    import datetime

    from doudi.intake.models import Case

    frozen_today(datetime.date(2026, 12, 9))  # a Wednesday
    late, this_week, later = open_case("temporary"), open_case("temporary"), open_case("temporary")
    Case.objects.filter(pk=late.pk).update(due_on=datetime.date(2026, 12, 1))
    Case.objects.filter(pk=this_week.pk).update(
        due_on=datetime.date(2026, 12, 13), assigned_to=officers.a_township
    )
    Case.objects.filter(pk=later.pk).update(due_on=datetime.date(2026, 12, 14))
    open_case("temporary", region=regions_b(officers), by=officers.b_township)  # another district's

    client.force_login(officers.a_township)
    page = client.get(reverse("console:home")).content.decode()
    work = page[page.index('data-testid="my-work"') :]

    def count(testid):
        block = work[work.index(f'data-testid="{testid}"') :]
        return int(block.split('class="display-6', 1)[1].split(">", 1)[1].split("<", 1)[0])

    assert (count("work-waiting"), count("work-overdue"), count("work-due-week"), count("work-assigned")) == (
        3,
        1,
        1,
        1,
    )
    assert 'href="/console/cases/?due=week"' in work or "?due=week" in work
    queue = client.get(reverse("intake:list"), {"due": "week"}).content.decode()
    assert this_week.tracking_number in queue and later.tracking_number not in queue
    assert late.tracking_number not in queue
    # A supervisor takes no step: no "my work" block, the region's counts as before.
    client.force_login(officers.supervisor)
    assert 'data-testid="my-work"' not in client.get(reverse("console:home")).content.decode()


def regions_b(officers):
    return officers.b_township.region.children.first()
