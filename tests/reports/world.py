"""Two months of payroll on the payroll tests' small world, for the monthly report.

March 2020: the world as built (tests/payments/world.py), plus 建档立卡 persons — one in an enrolled
household of district A, one in a household of A with no enrolment, one 特困 person in B. April 2020:
h_exit's dibao ended after March (stopped), a new rural household in A enrolled from April (new),
h_same raised from 338 to 400 (changed, neither new nor stopped). Statuses are then set as a bank's
return would leave them: March all paid but h_lower's dibao (failed); April: h_same's dibao paid, the
特困 line issued, the rest pending or held.
"""

from __future__ import annotations

import datetime as dt

from payments.world import account, build_world, enrol, household

D = dt.date


def build_two_months():
    from doudi.benefits.models import Enrolment
    from doudi.payments import services
    from doudi.payments.models import PaymentLine
    from doudi.policy.periods import Period
    from doudi.registry.models import Person, PersonCategory

    w = build_world()
    r = w.regions
    w.march, w.april = Period.parse("2020-03"), Period.parse("2020-04")
    # 建档立卡: 张小 (a member of h_same, dibao), 陈穷 (a household with no enrolment), 孙老 (特困, B).
    w.poor_member = Person.objects.get(name="张小")
    w.h_poor, (w.poor_alone,) = household(r.a_v, [{"name": "陈穷", "wage": 500_000}], area_type="rural")
    for p in (w.poor_member, w.poor_alone, w.tekun):
        PersonCategory.objects.create(person=p, category="registered_poor", valid_from=D(2019, 1, 1))
    run = services.compute_run(services.freeze_run(month=w.march))
    PaymentLine.objects.filter(run=run).exclude(status="held").update(status="paid")
    PaymentLine.objects.filter(run=run, scheme="dibao", beneficiary_id=w.h_lower.pk).update(status="failed")

    Enrolment.objects.filter(pk=w.e_exit.pk).update(status="ended", end_month=D(2020, 3, 1))
    Enrolment.objects.filter(pk=w.e_same.pk).update(monthly_amount=400)
    w.h_new, people = household(r.a_v2, [{"name": "新户", "wage": 0}, {"name": "新户子"}], area_type="rural")
    enrol(w.h_new, "dibao", 300, from_month=D(2020, 4, 1))
    account(people[0], w.icbc, "6222020000000099991")
    run = services.compute_run(services.freeze_run(month=w.april))
    PaymentLine.objects.filter(run=run, scheme="dibao", beneficiary_id=w.h_same.pk).update(status="paid")
    PaymentLine.objects.filter(run=run, scheme="tekun").update(status="issued")
    return w
