"""A small registry for console, selector and browser tests, built through the registry services
(so it carries the audit entries a real registration leaves)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from stdnum.cn import ric

PASSWORD = "Doudi-test-2020"


def make_id(area: str, birth: str, seq: int, *, check_x: bool = False) -> str:
    """A valid 18-digit resident ID; with check_x, the first sequence from `seq` whose check digit is X."""
    while True:
        body = f"{area}{birth}{seq % 1000:03d}"
        check = ric.calc_check_digit(body + "0")  # it ignores the last character
        if not check_x or check == "X":
            return body + check
        seq += 1


@dataclass
class Population:
    admin: object
    zhang: object  # head of h_a, district A, village a_v
    li: object  # spouse in h_a, ID ending in X
    wang: object  # left h_a (past member)
    zhao: object  # h_a2, district A, village a_v2
    zhang_b: object  # h_b, district B
    h_a: object
    h_a2: object
    h_b: object


def build_population(regions, make_user) -> Population:
    from doudi.registry import services as reg

    admin = make_user("city_admin", regions.city, "municipal_admin")
    jan1 = datetime.date(2020, 1, 1)

    h_a = reg.register_household(
        officer=admin,
        region=regions.a_v,
        area_type="urban",
        address="高笋塘路1号",
        deposits_fen=1_234_567,
        vehicles=1,
        houses=1,
    )
    zhang = reg.register_person(
        officer=admin,
        id_number=make_id("500101", "19800101", 11),
        name="张三",
        household=h_a,
        relation="head",
        joined_on=jan1,
        phone="13812345678",
        income_wage_fen=150_000,
    )
    reg.set_head(officer=admin, household=h_a, person=zhang)
    li = reg.register_person(
        officer=admin,
        id_number=make_id("500101", "19820202", 20, check_x=True),
        name="李四",
        household=h_a,
        relation="spouse",
        joined_on=jan1,
        phone="13900001111",
        income_exempt_fen=10_000,
    )
    wang = reg.register_person(
        officer=admin,
        id_number=make_id("500101", "20000303", 31),
        name="王五",
        household=h_a,
        relation="child",
        joined_on=jan1,
    )
    reg.remove_member(officer=admin, household=h_a, person=wang, left_on=datetime.date(2020, 2, 1))
    reg.grant_category(officer=admin, person=zhang, category="dibao", valid_from=jan1, note="测试认定")

    h_a2 = reg.register_household(officer=admin, region=regions.a_v2, area_type="urban")
    zhao = reg.register_person(
        officer=admin,
        id_number=make_id("500101", "19700505", 41),
        name="赵六",
        household=h_a2,
        relation="head",
        joined_on=jan1,
    )
    reg.set_head(officer=admin, household=h_a2, person=zhao)

    h_b = reg.register_household(officer=admin, region=regions.b_v, area_type="rural")
    zhang_b = reg.register_person(
        officer=admin,
        id_number=make_id("500102", "19800101", 51),
        name="张三丰",
        household=h_b,
        relation="head",
        joined_on=jan1,
    )
    reg.set_head(officer=admin, household=h_b, person=zhang_b)
    return Population(admin, zhang, li, wang, zhao, zhang_b, h_a, h_a2, h_b)
