"""演示案件: a lived-in demo — the case history `doudi demo` adds after the population and the logins.

Everything is made by the real services, as officers would have done it over the past weeks (the clock
is set back while each step is taken, so 公示 periods can run out and SLA clocks hold real dates):

- the roll (在保名册): every household the synthetic population marks as receiving 低保 gets the
  approval that put it there — filed, accepted, investigated, evaluated by the policy engine, reviewed,
  publicised (公示, long finished), approved and enrolled. These households were recipients before the
  platform, so the approval keeps the engine's amount where it pays, else the amount they received,
  with the reason in writing (an audited override);
- the queue (待办): dibao cases resting in every state a case can rest in, and a few 特困, children's
  and temporary-assistance cases, in 渝中区 where the demo logins work; one 公示 still running.

Deterministic: the same households, in the same order, the same dates relative to the day it runs.
Idempotent: nothing is added when cases exist already.
"""

from __future__ import annotations

import contextlib
import datetime
import zoneinfo
from collections.abc import Iterator
from typing import Any
from unittest import mock

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from doudi.accounts.models import User
from doudi.accounts.roles import Role
from doudi.accounts.services import create_staff_user
from doudi.intake import services
from doudi.intake.models import Case
from doudi.regions.models import Region
from doudi.registry.models import Household, Person

# The officers of the demo villages' other townships and districts (the people behind the history of
# the cases there); they have no password — only the printed demo logins sign in.
OTHER_STAFF_NAMES = [
    "何静",
    "罗斌",
    "马兰",
    "高峰",
    "林芳",
    "谢磊",
    "韩雪",
    "唐勇",
    "冯洁",
    "邓辉",
    "曹颖",
    "彭涛",
]
STAFF_PREFIX = "staff_"


@contextlib.contextmanager
def on_day(day: datetime.date, hour: int = 10) -> Iterator[None]:
    """Take the steps inside as on `day` (the services read the date from django.utils.timezone)."""
    local = datetime.datetime(
        day.year, day.month, day.day, hour, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )
    moment = local.astimezone(datetime.UTC)  # as timezone.now() gives it (the audit hash reads it so)
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def act(case: Case, action: str, by: User, reason: str = "", **data: Any) -> Case:
    """One flow action with the version the officer saw, as the console takes it."""
    case = Case.objects.get(pk=case.pk)
    return services.perform_action(
        case=case, action=action, by=by, reason=reason, data=data, expected_version=case.version
    )


class Staff:
    """The officer of each role for a village: the demo login where there is one, else a named officer
    of that township or district, created once."""

    def __init__(self) -> None:
        self._names = iter(OTHER_STAFF_NAMES * 4)
        self._cache: dict[tuple[str, str], User] = {}
        self._password = make_password(None)  # unusable

    def for_village(self, village: Region, role: Role) -> User:
        level = {Role.TOWNSHIP_OFFICER: 3, Role.DISTRICT_OFFICER: 2, Role.DISTRICT_APPROVER: 2}[role]
        codes = village.path.strip("/").split("/")
        region = Region.objects.get(code=codes[level - 1])
        key = (region.code, role.value)
        if key not in self._cache:
            user = (
                User.objects.filter(region=region, groups__name=role.value, is_active=True)
                .order_by("pk")
                .first()
            )
            if user is None:
                user = create_staff_user(
                    username=f"{STAFF_PREFIX}{region.code}_{role.value}",
                    password=None,
                    region=region,
                    roles=[role.value],
                    full_name=next(self._names),
                )
                user.password = self._password
                user.save(update_fields=["password"])
            self._cache[key] = user
        return self._cache[key]


def _file(staff: Staff, household: Household, case_type: str = "dibao", summary: str = "") -> Case:
    village = household.region
    return services.open_case(
        by=staff.for_village(village, Role.TOWNSHIP_OFFICER),
        case_type=case_type,
        channel="walk_in",
        region=village,
        summary=summary or "家庭收入低于低保标准，申请最低生活保障",
        applicant=household.head,
    )


def _investigate(case: Case, officer: User) -> Case:
    # Absent figures keep the registry's: the officer confirms what the household declared.
    case = act(case, "accept", officer)
    return act(case, "economic_data", officer, "入户调查，收入与申报一致", source="declared", method="visit")


def _to_publicity(case: Case, officer: User) -> Case:
    case = act(_investigate(case, officer), "evaluate", officer)
    return act(case, "township_review", officer, "家庭经济状况属实，同意", opinion="agree")


def _approve(case: Case, approver: User, household: Household) -> Case:
    ev = case.details["evaluation"]["dibao"]
    if ev["decision"] == "include":
        return act(case, "approve", approver, "同意纳入")
    amount = int(ev["amount"] or 0) or int(household.dibao_last_amount or 0)
    return act(
        case,
        "approve",
        approver,
        "同意",
        override_reason="平台启用前已在保的家庭，补录审批：按政策计算结果续保，无计算结果的按原月低保金",
        override_amount=str(amount),
    )


DAY = datetime.timedelta(days=1)


def _queue(staff: Staff, households: list[Household], today: datetime.date) -> None:
    """Dibao cases resting in each state a case can rest in (not `township_reviewed`, which the
    township's agreement leaves at once), a few of the other schemes, one 公示 running."""
    from doudi.disclosure import services as disclosure
    from doudi.disclosure.models import Publication

    it = iter(households)
    village = households[0].region
    officer = staff.for_village(village, Role.TOWNSHIP_OFFICER)
    approver = staff.for_village(village, Role.DISTRICT_APPROVER)

    def file(days_ago: int, case_type: str = "dibao", summary: str = "") -> tuple[Case, Household]:
        household = next(it)
        with on_day(today - days_ago * DAY):
            return _file(staff, household, case_type, summary), household

    # Deliberation happens only outside the emergency window, which the demo keeps open since
    # 2020-01-24: this application was reviewed the week before it opened.
    case, _h = file((today - datetime.date(2020, 1, 13)).days)
    with on_day(datetime.date(2020, 1, 15)):
        _to_publicity(case, officer)
    for days_ago in (0, 1):
        file(days_ago)  # submitted
    case, _h = file(3)
    with on_day(today - 3 * DAY):
        act(case, "request_missing", officer, items="近三个月银行流水\n残疾证复印件")
    case, _h = file(4)
    with on_day(today - 4 * DAY):
        act(case, "reject", officer, "申请人户籍及居住地均不在本辖区，已告知向户籍地乡镇（街道）申请")
    case, _h = file(5)
    with on_day(today - 4 * DAY):
        act(case, "withdraw", officer, "申请人家庭成员已就业，主动撤回申请")
    for days_ago in (2, 6):
        case, _h = file(days_ago)
        with on_day(today - days_ago * DAY):
            act(case, "accept", officer)  # accepted, to investigate
    case, _h = file(5)
    with on_day(today - 4 * DAY):
        _investigate(case, officer)  # investigated, to evaluate
    case, _h = file(6)
    with on_day(today - 5 * DAY):
        act(_investigate(case, officer), "evaluate", officer)  # evaluated, for the township's review
    case, _h = file(7)
    with on_day(today - 6 * DAY):
        case = act(_investigate(case, officer), "evaluate", officer)
        act(case, "township_review", officer, "申请人有经营性收入未如实申报", opinion="disagree")
    for days_ago in (3, 5):  # 公示 running
        case, _h = file(days_ago + 2)
        with on_day(today - days_ago * DAY):
            _to_publicity(case, officer)
    # An objection upheld: re-investigation; another re-investigated and on its 3-day 复核公示.
    for republish in (False, True):
        case, _h = file(14)
        with on_day(today - 12 * DAY):
            case = _to_publicity(case, officer)
            objection = disclosure.file_objection(
                publication=Publication.objects.get(case=case),
                name="",
                phone="13800000000",
                reason="该户有一辆营运货车未申报",
            )
            case = act(
                case, "uphold_objection", officer, "经核实该户确有营运车辆", objection=str(objection.pk)
            )
        if republish:
            with on_day(today - 2 * DAY):
                case = act(_investigate_again(case, officer), "evaluate", officer)
                act(case, "township_review", officer, "重新调查后收入仍低于标准，同意", opinion="agree")
    for refuse in (False, True):  # awaiting the district's approval; refused
        case, household = file(20)
        with on_day(today - 18 * DAY):
            case = _to_publicity(case, officer)
        with on_day(today - 9 * DAY):
            case = act(case, "end_publicity", officer)
            if refuse:
                act(case, "refuse", approver, "家庭人均收入高于本区低保标准，不符合条件")


# The three conditions of 特困供养 as the township found them (入户调查).
TEKUN_FINDINGS = {
    "method": "visit",
    "no_work_ability": "met",
    "no_work_ability_note": "年老体弱，患慢性病，经入户核实无劳动能力",
    "no_income": "met",
    "no_income_note": "无工资、经营和财产收入，无存款",
    "no_supporter": "none",
    "no_supporter_note": "配偶已故，无子女，无其他法定扶养义务人",
}


def _other_schemes(staff: Staff, households: list[Household], today: datetime.date) -> None:
    """特困 (one on 公示, one approved and enrolled), temporary assistance (one new, one assessed and
    awaiting the township's approval) and a children's application."""
    it = iter(households)
    officer = staff.for_village(households[0].region, Role.TOWNSHIP_OFFICER)
    approver = staff.for_village(households[0].region, Role.DISTRICT_APPROVER)
    for approve in (False, True):
        household = next(it)
        with on_day(today - 20 * DAY):
            case = _file(staff, household, "tekun", "年老体弱、无劳动能力、无生活来源，申请特困人员救助供养")
            case = act(case, "accept", officer)
            case = act(case, "investigate", officer, "入户调查、邻里走访", **TEKUN_FINDINGS)
            case = act(case, "evaluate", officer)
            case = act(case, "township_review", officer, "三项条件均符合，同意", opinion="agree")
        if approve:
            with on_day(today - 10 * DAY):
                case = act(case, "end_publicity", officer)
                act(case, "approve", approver, "同意")
    with on_day(today - 1 * DAY):
        _file_temporary(staff, next(it), "因家人突发重病，医疗支出大，基本生活困难")
    with on_day(today - 3 * DAY):
        case = _file_temporary(staff, next(it), "受疫情影响停工，家庭暂无收入来源")
        case = act(case, "accept", officer)
        act(case, "assess", officer, "停工两个月，按标准核定", amount="800", aid_form="cash")
    child = (
        Person.objects.filter(region__path__startswith=households[0].region.path.rsplit("/", 3)[0])
        .filter(birth_date__gt=today.replace(year=today.year - 17))
        .order_by("pk")
        .first()
    )
    if child is not None:
        with on_day(today - 2 * DAY):
            services.open_case(
                by=officer,
                case_type="children",
                subtype="de_facto_unsupported_child",
                channel="walk_in",
                region=child.region,
                summary="父亲服刑、母亲失联，由祖母抚养，申请事实无人抚养儿童基本生活保障",
                applicant=child,
            )


def _file_temporary(staff: Staff, household: Household, summary: str) -> Case:
    village = household.region
    return services.open_case(
        by=staff.for_village(village, Role.TOWNSHIP_OFFICER),
        case_type="temporary",
        subtype="urgent",
        channel="walk_in",
        region=village,
        summary=summary,
        applicant=household.head,
    )


def _investigate_again(case: Case, officer: User) -> Case:
    return act(case, "economic_data", officer, "重新入户调查", source="declared", method="visit")


@transaction.atomic
def load_demo_cases(*, home: Region, today: datetime.date | None = None) -> dict[str, int] | None:
    """The case history described above, the queue in the district of `home` (the village the demo
    logins are bound on); None when cases exist already."""
    if Case.objects.exists():
        return None
    today = today or timezone.localdate()
    staff = Staff()
    counts = {"enrolled": 0, "cases": 0}
    roll = list(
        Household.objects.filter(dibao_enrolled=True, head__isnull=False)
        .select_related("region", "head")
        .order_by("pk")
    )
    for i, household in enumerate(roll):
        filed = today - datetime.timedelta(days=60 - i % 20)
        officer = staff.for_village(household.region, Role.TOWNSHIP_OFFICER)
        approver = staff.for_village(household.region, Role.DISTRICT_APPROVER)
        with on_day(filed):
            case = _to_publicity(_file(staff, household), officer)
        with on_day(filed + datetime.timedelta(days=8)):
            case = act(case, "end_publicity", officer)
            _approve(case, approver, household)
        counts["enrolled"] += 1
    district = home.path.strip("/").split("/")[1]
    others = list(
        Household.objects.filter(
            dibao_enrolled=False,
            head__isnull=False,
            region__path__startswith=f"{home.path.split('/')[0]}/{district}/",
        )
        .select_related("region", "head")
        .order_by("pk")
    )
    # A small population may not fill every state: the queue stops where the households run out.
    with contextlib.suppress(StopIteration):
        _queue(staff, others[:30], today)
        _other_schemes(staff, others[30:], today)
    counts["cases"] = Case.objects.count()
    return counts
