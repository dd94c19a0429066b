"""A small payroll world, built the same way in the test process and in a subprocess (the kill test):
two districts, dibao households (one whose rules now find a lower amount, one no longer eligible), a
特困 person, an orphan, a household without a payee account, two banks and their accounts."""

from __future__ import annotations

import datetime as dt

from stdnum.cn import ric

from region_tree import build_regions

D = dt.date
_serial = iter(range(1, 10_000))


def id_number(birth: dt.date, prefix: str = "500101") -> str:
    body = f"{prefix}{birth:%Y%m%d}{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def build_users(r):
    from doudi.accounts.services import create_staff_user

    spec = {
        "a_officer": (r.a, "district_officer"),
        "a_approver": (r.a, "district_approver"),
        "b_officer": (r.b, "district_officer"),
        "b_approver": (r.b, "district_approver"),
        "finance": (r.city, "municipal_finance"),
        "finance2": (r.city, "municipal_finance"),
        "city_admin": (r.city, "municipal_admin"),
    }
    return type(
        "Users",
        (),
        {
            name: create_staff_user(username=name, password="Doudi-test-2020", region=region, roles=[role])
            for name, (region, role) in spec.items()
        },
    )


def household(village, members, *, area_type="urban", deposits_fen=0):
    """members: [dict(name=…, wage=fen, birth=date, categories=[…], covid…)] — the first is the head."""
    from doudi.registry.models import Household, Membership, Person, PersonCategory

    h = Household.objects.create(region=village, area_type=area_type, deposits_fen=deposits_fen)
    people = []
    for i, m in enumerate(members):
        birth = m.get("birth", D(1980 - i, 5, 1))
        p = Person.objects.create(
            id_number=id_number(birth, village.code[:6]),
            name=m.get("name", f"成员{i}"),
            birth_date=birth,
            sex="M",
            region=village,
            income_wage_fen=m.get("wage", 0),
            orphan_care=m.get("orphan_care", ""),
            covid_confirmed_on=m.get("confirmed"),
            covid_died_on=m.get("died"),
        )
        for c in m.get("categories", ()):
            PersonCategory.objects.create(person=p, category=c, valid_from=D(2019, 1, 1))
        Membership.objects.create(
            household=h, person=p, relation="head" if i == 0 else "child", joined_on=D(2010, 1, 1)
        )
        people.append(p)
    h.head = people[0]
    h.save(update_fields=["head"])
    return h, people


def enrol(h, scheme, amount, *, person=None, from_month=D(2019, 1, 1)):
    from django.utils import timezone

    from doudi.benefits.models import Enrolment

    return Enrolment.objects.create(
        household=h,
        person=person,
        scheme=scheme,
        from_month=from_month,
        monthly_amount=amount,
        approved_at=timezone.now(),
    )


def account(person, bank, number, *, holder=None):
    from django.utils import timezone

    from doudi.payments.models import PayeeAccount

    return PayeeAccount.objects.create(
        person=person,
        bank=bank,
        account_number=number,
        holder_name=holder or person.name,
        status="active",
        proposed_at=timezone.now(),
    )


def luhn(body: str) -> str:
    digits = [int(c) for c in body][::-1]
    total = sum(d if i % 2 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return body + str((10 - total % 10) % 10)


def build_world(extra_households: int = 0):
    """The world; returns a namespace of what the tests refer to."""
    from doudi.payments.models import Bank

    r = build_regions()
    users = build_users(r)
    icbc = Bank.objects.create(
        code="ICBC",
        name="工商银行",
        account_lengths=[19],
        file_template={
            "format": "csv",
            "encoding": "gb18030",
            "header": True,
            "trailer": True,
            "columns": [
                {"field": "ref", "title": "流水号"},
                {"field": "account_number", "title": "账号"},
                {"field": "holder_name", "title": "户名"},
                {"field": "amount", "title": "金额"},
                {"field": "scheme", "title": "摘要"},
            ],
        },
    )
    rcb = Bank.objects.create(
        code="CQRCB",
        name="重庆农商行",
        account_lengths=[19],
        file_template={
            "format": "fixed",
            "encoding": "gb18030",
            "header": False,
            "trailer": True,
            "columns": [
                {"field": "ref", "width": 20, "align": "left", "pad": " "},
                {"field": "account_number", "width": 19},
                {"field": "holder_name", "width": 20},
                {"field": "amount_fen", "width": 12, "align": "right", "pad": "0"},
            ],
        },
    )
    w = type("World", (), {"regions": r, "users": users, "icbc": icbc, "rcb": rcb})
    seq = iter(range(1, 100_000))

    def number():
        return luhn(f"622202{next(seq):012d}")

    # A: 3 persons, wage 1300 → computed 338 = enrolled 338 (continue).
    w.h_same, people = household(
        r.a_v, [{"name": "张三", "wage": 100_000}, {"name": "李四", "wage": 30_000}, {"name": "张小"}]
    )
    w.e_same = enrol(w.h_same, "dibao", 338)
    account(people[0], icbc, number())
    # A: enrolled at 500, rules now find 338 (a reduction needs a written decision).
    w.h_lower, people = household(
        r.a_v2, [{"name": "王五", "wage": 100_000}, {"name": "王六", "wage": 30_000}, {"name": "王七"}]
    )
    w.e_lower = enrol(w.h_lower, "dibao", 500)
    w.lower_head = people[0]
    account(people[0], icbc, number())
    # B: no longer eligible (income above the standard).
    w.h_exit, people = household(r.b_v, [{"name": "赵一", "wage": 300_000}])
    w.e_exit = enrol(w.h_exit, "dibao", 200)
    account(people[0], rcb, number())
    # B: a 特困 person and an orphan in one household (the orphan's guardian holds the card).
    w.h_tekun, people = household(
        r.b_v,
        [
            {"name": "孙老", "birth": D(1940, 1, 1), "categories": ["tekun"]},
            {"name": "孙娃", "birth": D(2012, 6, 1), "categories": ["orphan"]},
        ],
    )
    w.tekun, w.orphan = people
    enrol(w.h_tekun, "tekun", 710, person=w.tekun)
    enrol(w.h_tekun, "children", 1200, person=w.orphan)
    account(w.tekun, rcb, number())
    account(w.orphan, rcb, number(), holder="孙监护")
    # A: no payee account at all.
    w.h_noacct, people = household(r.a_v, [{"name": "钱八", "wage": 10_000}])
    enrol(w.h_noacct, "dibao", 436)
    w.noacct_head = people[0]
    for i in range(extra_households):
        h, people = household(
            r.a_v if i % 2 else r.b_v,
            [{"name": f"批量{i}", "wage": 10_000 * (i % 40)}, {"name": f"批量{i}子"}],
        )
        enrol(h, "dibao", 400 + i % 300)
        account(people[0], icbc if i % 3 else rcb, number())
    return w


def sign_all(world, run):
    """Every district batch of the run through its three tiers (district officer, approver, finance)."""
    from doudi.payments.services import sign_batch

    u = world.users
    for batch in run.batches.select_related("district"):
        officer, approver = (
            (u.a_officer, u.a_approver) if batch.district.code == "500101" else (u.b_officer, u.b_approver)
        )
        sign_batch(batch=batch, action="submit", officer=officer)
        sign_batch(batch=batch, action="approve", officer=approver)
        sign_batch(batch=batch, action="confirm", officer=u.finance)
    return run


def return_rows(run, bank_code, fail=()):
    """The bank's answer to one bank file of the run: every line paid but the line ids in `fail`."""
    from doudi.payments.models import PaymentLine

    return [
        {
            "ref": line.ref,
            "account_number": line.account_number,
            "amount_fen": line.amount_fen,
            "result": "failed" if line.pk in fail else "paid",
            "code": "E01" if line.pk in fail else "",
            "reason": "账户已销户" if line.pk in fail else "",
        }
        for line in PaymentLine.objects.filter(issue_run=run, bank_code=bank_code).order_by("ref")
    ]
