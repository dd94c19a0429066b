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
    """District A's officer and approver, municipal finance and the administrator who runs the payroll
    (named as the payroll tests' world names them, so its `sign_all` signs for them)."""
    return type(
        "PayrollUsers",
        (),
        {
            "a_officer": make_user("pay_officer", regions.a, "district_officer"),
            "a_approver": make_user("pay_approver", regions.a, "district_approver"),
            "finance": make_user("pay_finance", regions.city, "municipal_finance"),
            "admin": make_user("pay_admin", regions.city, "municipal_admin"),
        },
    )


def issue(users, month=MONTH):
    """The month's payroll computed, signed by the three tiers and its bank files issued. Returns the run."""
    from doudi.payments import services
    from doudi.policy.periods import Period
    from payments.world import sign_all

    run = services.compute_run(services.freeze_run(month=Period.parse(month), officer=users.admin))
    sign_all(type("World", (), {"users": users}), run)
    services.issue_bank_files(run=run, officer=users.finance)
    return run


def bank_answer(run, failed=(), bank_code="ICBC") -> bytes:
    """The bank's return file for the run's issued lines at the bank (held lines never went to it): each
    paid but the line ids in `failed` (账户已销户)."""
    from doudi.payments import bankfiles
    from payments.world import return_rows

    issued = set(run.lines.filter(status="issued", bank_code=bank_code).values_list("ref", flat=True))
    return bankfiles.return_template(r for r in return_rows(run, bank_code, failed) if r["ref"] in issued)


def pay(users, *, fail=(), month=MONTH):
    """`issue`, then the bank's return imported: every line paid but those of the (scheme, beneficiary
    id) pairs in `fail` (账户已销户). Returns the run."""
    from doudi.payments import services

    run = issue(users, month)
    failed = {line.pk for line in run.lines.all() if (line.scheme, line.beneficiary_id) in set(fail)}
    for bank_file in run.bank_files.select_related("bank"):
        services.import_return(
            bank_file=bank_file,
            content=bank_answer(run, failed, bank_file.bank.code),
            file_name="return.csv",
            officer=users.finance,
        )
    return run
