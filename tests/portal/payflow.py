"""A dibao household from its application to its payments, through the real services: used by the portal's
view tests (tests/portal/test_payments.py) and, up to the approval, by the browser test."""

from __future__ import annotations

import datetime

from benefits.support import act, declare_window, figures, make_household

D = datetime.date
MONTH = "2020-03"


def bank():
    """A bank that asked for no particular file: the default CSV template (bankfiles.DEFAULT_TEMPLATE)."""
    from doudi.payments.models import Bank

    return Bank.objects.get_or_create(code="ICBC", defaults={"name": "工商银行", "account_lengths": [19]})[0]


def change_amount(enrolment, officers, amount, reason="家庭成员失业"):
    """增发 from April 2020 by the district approver (the window does not hold back a raise)."""
    from doudi.benefits import services

    return services.change_amount(
        enrolment=enrolment,
        by=officers.a_approver,
        amount=amount,
        effective_month=D(2020, 4, 1),
        reason=reason,
    )


def household_with_account(regions, members, number):
    """A registered household of `members` [(name, wage fen)] whose head has an active ICBC account."""
    from payments.world import account

    household, people = make_household(regions.a_v, members)
    account(people[0], bank(), number)
    return household, people


def awaiting_approval(officers, people, frozen_today=None):
    """A dibao case of the household's head (his phone given, so he can check its status on the portal)
    filed in the emergency window — on 2 March 2020 when `frozen_today` is given, else today — accepted,
    evaluated (wages 1000 + 300 + 0), reviewed, its 公示 over: it waits for the district's approval."""
    from django.utils import timezone

    from doudi.disclosure.models import Publication
    from doudi.intake import services

    if frozen_today is not None:
        frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    head = people[0]
    case = services.open_case(
        by=officers.a_township,
        case_type="dibao",
        channel="walk_in",
        region=head.region,
        summary="因疫情收入下降，申请低保",
        applicant=head,
        applicant_phone=head.phone,
    )
    case = act(case, "accept", officers.a_township)
    case = act(case, "economic_data", officers.a_township, "入户调查", **figures(people, [1000, 300, 0]))
    case = act(case, "evaluate", officers.a_township)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    today = timezone.localdate()  # the 公示 has run its seven days
    Publication.objects.filter(case=case).update(
        start_date=today - datetime.timedelta(days=8), end_date=today - datetime.timedelta(days=1)
    )
    return act(case, "end_publicity", officers.a_township)


def payroll_users(make_user, regions):
    return type(
        "PayrollUsers",
        (),
        {
            "officer": make_user("pay_officer", regions.a, "district_officer"),
            "approver": make_user("pay_approver", regions.a, "district_approver"),
            "finance": make_user("pay_finance", regions.city, "municipal_finance"),
            "admin": make_user("pay_admin", regions.city, "municipal_admin"),
        },
    )


def pay(users, *, results=None, month=MONTH):
    """The month's payroll computed, signed by the three tiers, its bank files issued and the bank's
    return imported: `results` maps (scheme, beneficiary id) to ("failed", code, reason); every other
    line is paid. Returns the run."""
    from doudi.payments import bankfiles, services
    from doudi.payments.models import PaymentLine
    from doudi.policy.periods import Period

    results = results or {}
    run = services.compute_run(services.freeze_run(month=Period.parse(month), officer=users.admin))
    for batch in run.batches.all():
        services.sign_batch(batch=batch, action="submit", officer=users.officer)
        services.sign_batch(batch=batch, action="approve", officer=users.approver)
        services.sign_batch(batch=batch, action="confirm", officer=users.finance)
    for bank_file in services.issue_bank_files(run=run, officer=users.finance):
        rows = []
        for line in PaymentLine.objects.filter(issue_run=run, bank_code=bank_file.bank.code, status="issued"):
            result = results.get((line.scheme, line.beneficiary_id), ("paid", "", ""))
            rows.append(
                {
                    "ref": line.ref,
                    "account_number": line.account_number,
                    "amount_fen": line.amount_fen,
                    "result": result[0],
                    "code": result[1],
                    "reason": result[2],
                }
            )
        services.import_return(
            bank_file=bank_file,
            content=bankfiles.return_template(rows),
            file_name="return.csv",
            officer=users.finance,
        )
    return run
