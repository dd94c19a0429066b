"""The dibao clock (条例第19条): 7 working days in the window / 30 days otherwise, from acceptance; the
days in deliberation and 公示 are not counted; while paused there is no due date."""

import datetime

from django.urls import reverse

from benefits.support import act, declare_window, file_dibao, make_household, to_evaluated
from doudi.intake import sla

D = datetime.date


def test_publicity_over_the_2020_spring_festival_costs_no_working_day(officers, regions, frozen_today):
    household, people = make_household(regions.a_v, [("张小明", 0), ("李红", 0), ("张乐", 0)])
    declare_window(officers, D(2020, 1, 20))
    frozen_today(D(2020, 1, 23))  # Thursday before the extended holiday (24 Jan – 2 Feb)
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    assert case.due_on == D(2020, 2, 11)  # 7 working days
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    assert case.state == "publicity" and case.due_on is None and case.sla_paused_since == D(2020, 1, 23)
    frozen_today(D(2020, 1, 30))  # 公示 23–29 January, all inside the holiday
    case = act(case, "end_publicity", officers.a_township)
    assert case.due_on == D(2020, 2, 11)


def test_publicity_on_working_days_moves_the_due_date(officers, regions, frozen_today):
    household, people = make_household(regions.a_v, [("张小明", 0), ("李红", 0), ("张乐", 0)])
    declare_window(officers, D(2020, 1, 24))
    frozen_today(D(2020, 3, 2))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    assert case.due_on == D(2020, 3, 11)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    frozen_today(D(2020, 3, 9))
    case = act(case, "end_publicity", officers.a_township)
    # 3–6 March (4 working days) were in 公示: 7 working days counted from 9 March on.
    pauses = [(D(2020, 3, 2), D(2020, 3, 9))]
    assert case.due_on == sla.due_date(D(2020, 3, 2), sla.Limit(7, sla.WORKING), pauses) == D(2020, 3, 17)


def test_deliberation_pauses_and_the_page_says_so(officers, regions, frozen_today, client):
    household, people = make_household(regions.a_v, [("张小明", 0), ("李红", 0), ("张乐", 0)])
    frozen_today(D(2020, 7, 1))  # no window: 30 days
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    assert case.state == "deliberation" and case.due_on is None and case.sla_paused_since == D(2020, 7, 1)
    client.force_login(officers.a_township)
    html = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert "暂停计时自" in html and 'id="dibao-record-deliberation"' in html
