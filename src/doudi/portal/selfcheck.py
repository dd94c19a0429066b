"""自助试算: a citizen's two-minute self-check, answered by the policy engine itself.

What the citizen typed (no name, no ID number) becomes one POLICY.md §4 household and goes through
`doudi.policy.contract.evaluate_request` with the parameters in force and the district's emergency
window — the same call the console's evaluation makes. This module only words the engine's answer
for a citizen: which schemes to apply for, the amounts the engine computed and, for each, the reasons
in plain Chinese built from the engine's own values and arithmetic. It decides nothing the engine
does not; where no rule exists (临时救助 is decided case by case) it says so.

Nothing is stored: the input lives in the request, the answer in the page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.policy.contract import evaluate_request
from doudi.policy.money import FEN_PER_YUAN
from doudi.policy.parameters import ParameterSet
from doudi.policy.periods import Period

HOUSEHOLD_ID = "self-check"
MAX_PEOPLE = 11  # the applicant and the application form's 10 members

# What a citizen can tick for one person, in the engine's category names; `tekun` is the citizen's own
# statement of 特困 conditions (社会救助暂行办法 art. 14), which the engine then prices (R2).
SITUATIONS = {
    "orphan": gettext_lazy("孤儿（父母均已去世或被宣告死亡）"),
    "de_facto_unsupported_child": gettext_lazy("事实无人抚养儿童（父母重残、重病、服刑、失联等，无力抚养）"),
    "hardship_child": gettext_lazy("困境儿童（因家庭贫困、自身残疾等陷入困境）"),
    "tekun": gettext_lazy("无劳动能力、无生活来源，且没有赡养、抚养、扶养人（或其无力履行）"),
}
CHILD_SITUATIONS = ("orphan", "de_facto_unsupported_child")
AREA_LABELS = {"urban": gettext_lazy("城市"), "rural": gettext_lazy("农村")}


@dataclass(frozen=True)
class Person:
    """One row of the self-check: the first is the citizen (`relation == "self"`)."""

    relation: str
    income_fen: int = 0
    birth_month: datetime.date | None = None  # the 1st of the month of birth
    situations: frozenset[str] = frozenset()
    confirmed_on: datetime.date | None = None
    discharged_on: datetime.date | None = None
    died_on: datetime.date | None = None


@dataclass(frozen=True)
class Household:
    district: str
    area_type: str  # urban | rural
    people: tuple[Person, ...]
    deposits_fen: int = 0
    vehicles: int = 0
    boats: int = 0
    houses: int = 0
    registered_poor: bool = False
    sudden_hardship: bool = False


def member_id(index: int) -> str:
    return f"p{index + 1}"


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / FEN_PER_YUAN


def _iso(day: datetime.date | None) -> str | None:
    return day.isoformat() if day else None


def policy_request(household: Household, period: Period, parameters: dict[str, Any]) -> dict[str, Any]:
    """The §4 request for the typed household. A typed monthly income is sent as `wage`: every counted
    kind adds up the same, and the only rule that tells them apart (the work-cost deduction) concerns
    enrolled households, which a self-check is not. 事实无人抚养 and orphans are cared for at home here
    (`orphan_care` scattered); 建档立卡 is a household's, so every member carries it."""
    members = []
    for i, person in enumerate(household.people):
        categories = set(person.situations)
        if household.registered_poor:
            categories.add("registered_poor")
        member: dict[str, Any] = {
            "id": member_id(i),
            "income": {"wage": _yuan(person.income_fen)},
            "categories": sorted(categories),
        }
        if person.birth_month is not None:
            member["birth_date"] = person.birth_month.isoformat()
        if person.confirmed_on is not None:
            member["covid"] = {
                "confirmed_on": _iso(person.confirmed_on),
                "discharged_on": _iso(person.discharged_on),
                "died_on": _iso(person.died_on),
            }
        members.append(member)
    return {
        "period": str(period),
        "parameters": dict(parameters),
        "households": [
            {
                "id": HOUSEHOLD_ID,
                "region": household.district,
                "area_type": household.area_type,
                "assets": {
                    "deposits": _yuan(household.deposits_fen),
                    "vehicles": household.vehicles,
                    "boats": household.boats,
                    "houses": household.houses,
                },
                "members": members,
            }
        ],
    }


# --- the answer --------------------------------------------------------------------------------------


@dataclass
class Finding:
    """One thing to apply for (or not): `amount` is the engine's monthly amount in yuan (None where the
    engine computes none), `reasons` say why in plain words, `steps` show the engine's arithmetic."""

    scheme: str  # dibao | tekun | children | temporary
    title: str
    apply: bool
    amount: int | None = None
    reasons: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)  # the people concerned (0 = the citizen)
    subtype: str = ""


@dataclass
class Extra:
    """Money that comes with a scheme and needs no application of its own (price subsidy, COVID
    assistance, bereavement): `amount` is this month's, None when not yet known."""

    key: str
    title: str
    amount: int | None
    reasons: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


@dataclass
class Answer:
    period: Period
    in_window: bool
    findings: list[Finding]
    extras: list[Extra]
    total: int
    result: dict[str, Any]  # the engine's §4 household result, as answered
    request: dict[str, Any]  # the §4 request sent
    unverified: list[str]  # the parameter names behind the answer not yet checked against their source

    @property
    def to_apply(self) -> list[Finding]:
        return [f for f in self.findings if f.apply]

    @property
    def not_to_apply(self) -> list[Finding]:
        return [f for f in self.findings if not f.apply]


def yuan_text(value: Any) -> str:
    """An amount as the citizen reads it: 1300 or 1300.50 (never 1300.0); — for no value."""
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value))
    return str(int(amount)) if amount == amount.to_integral_value() else f"{amount:.2f}"


def number_text(value: Any) -> str:
    """A rate or percentage as written: 3.5, 6, 1.3 (no trailing zeros); — for no value."""
    if value is None or value == "":
        return "—"
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def person_label(household: Household, index: int) -> str:
    from doudi.registry.models import Relation

    if index == 0:
        return _("本人")
    relation = household.people[index].relation
    label = Relation(relation).label if relation in Relation.values else _("家庭成员")
    return _("第%(n)s人（%(relation)s）") % {"n": index + 1, "relation": label}


def run(
    household: Household,
    period: Period,
    params: ParameterSet,
    parameters: dict[str, Any] | None = None,
    *,
    commitment_open: bool = False,
) -> Answer:
    """Evaluate the typed household for `period` with `params` (the parameters in force) and the
    request-level `parameters` (the district's emergency window), and word the answer;
    `commitment_open`: the district's declared window lets a child's application start on a personal
    commitment (intake's rule, said where it applies). Raises `doudi.policy.contract.InputError` if
    the engine refuses the input (the forms check it first)."""
    request = policy_request(household, period, parameters or {})
    answer = evaluate_request(request, base_params=params)
    result = answer["households"][0]
    steps = _Steps(result["explanation"])
    members = {m["id"]: m for m in result["members"]}
    findings = [_dibao(household, result, steps)]
    findings += _tekun(household, members, steps)
    findings += _children(household, members, commitment_open)
    in_force = params.value_at("covid.assistance_multiple", period.first_day)
    multiple = in_force.value if in_force is not None else ""
    extras, uncovered = _extras(household, result, members, steps, multiple)
    findings.append(_temporary(household, findings, uncovered))
    used = {p["name"]: p for s in result["explanation"] for p in s["parameters"]}
    return Answer(
        period=period,
        in_window=bool(answer["in_emergency_window"]),
        findings=[f for f in findings if f is not None],
        extras=extras,
        total=int(result["total"]),
        result=result,
        request=request,
        unverified=sorted(name for name, p in used.items() if not p["verified"]),
    )


class _Steps:
    """The explanation's steps by rule (and member)."""

    def __init__(self, explanation: list[dict[str, Any]]) -> None:
        self.by_key = {(s["rule"], s.get("member")): s for s in explanation}

    def get(self, rule: str, member: str | None = None) -> dict[str, Any] | None:
        return self.by_key.get((rule, member))

    def lines(self, rule: str, member: str | None = None) -> list[dict[str, Any]]:
        step = self.get(rule, member)
        return list(step.get("arithmetic", [])) if step else []

    def texts(self, rule: str, member: str | None = None) -> list[str]:
        return [line["text"] for line in self.lines(rule, member)]

    def parameter(self, rule: str, name: str, member: str | None = None) -> Any:
        step = self.get(rule, member)
        for p in step["parameters"] if step else []:
            if p["name"] == name:
                return p["value"]
        return None


def _dibao(household: Household, result: dict[str, Any], steps: _Steps) -> Finding:
    d = result["dibao"]
    title = _("最低生活保障（低保）")
    if d["decision"] == "not_applicable":
        return Finding("dibao", title, False, reasons=[_("家中每个人都按特困人员计算，不再单独计算低保。")])
    area = AREA_LABELS[household.area_type]
    values = {
        "size": d["size"],
        "counted": yuan_text(d["counted_income"]),
        "per_capita": yuan_text(d["per_capita_income"]),
        "standard": yuan_text(d["standard"]),
        "area": area,
    }
    reasons = []
    if d["income_test"]:
        reasons.append(
            _(
                "按 %(size)s 人计算，家庭上月收入合计 %(counted)s 元，人均 %(per_capita)s 元，"
                "低于当地%(area)s低保标准每人每月 %(standard)s 元：收入符合条件。"
            )
            % values
        )
    else:
        reasons.append(
            _(
                "按 %(size)s 人计算，家庭上月收入合计 %(counted)s 元，人均 %(per_capita)s 元，"
                "不低于当地%(area)s低保标准每人每月 %(standard)s 元：收入高于低保标准。"
            )
            % values
        )
    reasons += _asset_reasons(d, steps)
    eligible = d["decision"] == "include"
    if eligible:
        reasons.append(
            _("按差额补足：低保标准 × 人数减去家庭收入，每月约 %(amount)s 元。") % {"amount": d["amount"]}
        )
    return Finding(
        "dibao",
        title,
        eligible,
        amount=int(d["amount"]) if eligible else 0,
        reasons=reasons,
        steps=steps.texts("dibao.income_test")
        + steps.texts("dibao.asset_test")
        + steps.texts("dibao.computed_amount"),
        rows=[i for i, p in enumerate(household.people) if "tekun" not in p.situations],
    )


def _asset_reasons(d: dict[str, Any], steps: _Steps) -> list[str]:
    """Each line of the engine's asset test (`dibao.asset_limits`: art. 13's items, one line per limit)
    over its limit, in words: what was typed against the limit."""
    months = number_text(steps.parameter("dibao.asset_test", "dibao.assets.deposit_limit_months"))
    failed = []
    for line in d.get("asset_limits") or []:
        if line["passes"]:
            continue
        value, limit = line["value"], line["limit"]
        if line["test"] == "financial_assets":
            failed.append(
                _("存款等金融资产 %(deposits)s 元，超过 %(limit)s 元（%(months)s 个月的低保标准 × 人数）。")
                % {"deposits": yuan_text(value), "limit": yuan_text(limit), "months": months}
            )
        elif line["test"] == "vehicles":
            failed.append(
                _("有机动车 %(n)s 辆，超过规定的 %(max)s 辆（残疾人功能性补偿代步机动车不算）。")
                % {"n": value, "max": limit}
            )
        elif line["test"] == "boats":
            failed.append(_("有船舶 %(n)s 艘，超过规定的 %(max)s 艘。") % {"n": value, "max": limit})
        elif line["test"] == "houses":
            failed.append(_("有住房 %(n)s 套，超过规定的 %(max)s 套。") % {"n": value, "max": limit})
        else:  # a limit this page does not word yet: the engine's own figures
            failed.append(
                _("财产条件：%(text)s 不成立。") % {"text": f"{number_text(value)} ≤ {number_text(limit)}"}
            )
    if failed or not d["asset_test"]:
        return [*failed, _("财产不符合条件。")]
    return [_("存款、车辆、船舶、住房符合财产条件。")]


def _tekun(household: Household, members: dict[str, Any], steps: _Steps) -> list[Finding]:
    out = []
    for i, person in enumerate(household.people):
        if "tekun" not in person.situations:
            continue
        mid = member_id(i)
        amount = int(members[mid]["tekun"]["amount"] or 0)
        reasons = [
            _(
                "%(who)s：您选择了“无劳动能力、无生活来源、没有赡养抚养扶养人”，可以申请特困人员救助供养，"
                "基本生活费每月 %(amount)s 元。"
            )
            % {"who": person_label(household, i), "amount": amount},
            _("特困人员单独计算，不计入家庭的低保人数。"),
        ]
        out.append(
            Finding(
                "tekun",
                _("特困人员救助供养"),
                amount > 0,
                amount=amount,
                reasons=reasons,
                steps=steps.texts("tekun.amount", mid),
                rows=[i],
            )
        )
    return out


def _children(household: Household, members: dict[str, Any], commitment_open: bool) -> list[Finding]:
    out = []
    title = _("儿童基本生活保障")
    for i, person in enumerate(household.people):
        who = person_label(household, i)
        kind = next((s for s in CHILD_SITUATIONS if s in person.situations), "")
        if kind:
            allowance = members[member_id(i)]["child_allowance"]
            amount = int(allowance["amount"] or 0)
            if amount > 0:
                reasons = [
                    _("%(who)s：%(kind)s每月可领基本生活费 %(amount)s 元，按月发放到18周岁。")
                    % {"who": who, "kind": _kind_name(kind), "amount": amount}
                ]
                if allowance["age_out_deferred"]:
                    reasons.append(_("已满18周岁，疫情防控期间继续发放，到疫情防控结束的月份为止。"))
                if commitment_open:
                    reasons.append(_("现在是疫情防控期间，可以先作个人承诺、后补材料，当月审批、当月发放。"))
            else:
                reasons = [
                    _("%(who)s：已满18周岁（18周岁生日所在月之后不再发放儿童基本生活费）。") % {"who": who}
                ]
            out.append(
                Finding("children", title, amount > 0, amount=amount, reasons=reasons, rows=[i], subtype=kind)
            )
        elif "hardship_child" in person.situations:
            # No money rule for 困境儿童 (POLICY R3 pays orphans and de facto unsupported children):
            # the application exists, the district decides the support.
            out.append(
                Finding(
                    "children",
                    title,
                    True,
                    amount=None,
                    reasons=[
                        _("%(who)s：困境儿童可以申请儿童福利保障，由民政部门认定后按当地规定给予保障。")
                        % {"who": who}
                    ],
                    rows=[i],
                    subtype="hardship_child",
                )
            )
    return out


def _kind_name(kind: str) -> str:
    return str(_("孤儿") if kind == "orphan" else _("事实无人抚养儿童"))


def _extras(
    household: Household, result: dict[str, Any], members: dict[str, Any], steps: _Steps, multiple: Any
) -> tuple[list[Extra], list[int]]:
    """Price subsidy, COVID assistance and bereavement as the engine computed them; also the rows of
    confirmed patients the COVID rule does not cover (临时救助 is for them, 一(五)d)."""
    extras: list[Extra] = []
    uncovered: list[int] = []
    covered = [m for m in result["members"] if m["price_subsidy"]["basis"] is not None]
    if covered:
        amounts = [m["price_subsidy"]["amount"] for m in covered]
        if any(a is None for a in amounts):
            reasons = [_("本月价格指数尚未公布；达到启动条件时，按月发给每位救助对象。")]
            amount = None
        elif sum(amounts):
            reasons = [
                _("本月物价涨幅达到启动条件，%(n)s 人每人按月领取，合计 %(total)s 元。")
                % {"n": len(covered), "total": sum(amounts)}
            ]
            amount = int(sum(amounts))
        else:
            reasons = [_("本月物价涨幅未达到启动条件，暂不发放；达到条件时自动按月发放。")]
            amount = 0
        texts = []
        for m in covered:
            texts += steps.texts("price_subsidy.amount", m["id"])
        extras.append(Extra("price_subsidy", _("价格临时补贴"), amount, reasons, texts))
    for i, person in enumerate(household.people):
        if person.confirmed_on is None:
            continue
        mid = member_id(i)
        covid = members[mid]["covid_assistance"]
        who = person_label(household, i)
        if covid["episode_months"]:
            reasons = [
                _(
                    "%(who)s：确诊的低保、特困、孤儿、事实无人抚养儿童、困境儿童和建档立卡贫困人员，"
                    "从确诊之日起按月领取低保标准 %(multiple)s 倍的临时救助，到出院为止，不足一个月按一个月计算。"
                )
                % {
                    "who": who,
                    "multiple": number_text(
                        steps.parameter("covid_assistance.amount", "covid.assistance_multiple", mid)
                        or multiple
                    ),
                },
                _("本月 %(amount)s 元；从确诊起共 %(months)s 个月，合计 %(total)s 元。")
                % {
                    "amount": covid["amount"],
                    "months": covid["episode_months"],
                    "total": covid["episode_total"],
                },
            ]
            extras.append(
                Extra(
                    f"covid_{mid}",
                    _("新冠肺炎确诊患者临时救助"),
                    int(covid["amount"]),
                    reasons,
                    steps.texts("covid_assistance.amount", mid),
                )
            )
        else:
            uncovered.append(i)
    bereavement = result["bereavement"]
    if bereavement["needs_district_standard"] or bereavement["amount"]:
        if bereavement["needs_district_standard"]:
            reasons = [_("因新冠肺炎去世人员的家庭可以领取一次性救助，标准由本区县确定，尚未公布。")]
        else:
            reasons = [
                _("因新冠肺炎去世人员的家庭可以领取一次性救助 %(amount)s 元（本区县标准）。")
                % {"amount": bereavement["amount"]}
            ]
        extras.append(Extra("bereavement", _("因疫情死亡人员家庭救助"), bereavement["amount"], reasons))
    return extras, uncovered


def _temporary(household: Household, findings: list[Finding], uncovered: list[int]) -> Finding:
    """临时救助 has no money rule: it is decided case by case. The self-check points to it where the
    notice does — sudden hardship (一(五)d), confirmed patients no scheme covers, registered-poor
    households no other scheme takes in (一(三))."""
    reasons = []
    if household.sudden_hardship:
        reasons.append(
            _("您表示家庭因突发原因基本生活暂时出现严重困难：可以申请临时救助（急难型或支出型）。")
        )
    for i in uncovered:
        reasons.append(
            _(
                "%(who)s确诊新冠肺炎，但不属于按月领取确诊患者救助的人员：受疫情影响生活困难的，可以申请临时救助。"
            )
            % {"who": person_label(household, i)}
        )
    if household.registered_poor and not any(f.apply for f in findings):
        reasons.append(
            _(
                "建档立卡贫困户不符合低保、特困条件但生活困难的，可以申请临时救助（疫情期间新致贫、返贫的农户优先）。"
            )
        )
    apply = bool(reasons)
    if not apply:
        reasons.append(
            _(
                "因疫情、意外事故、重病等突发原因基本生活暂时出现严重困难的，可以申请临时救助，金额由乡镇（街道）、区县按情况确定。"
            )
        )
    return Finding("temporary", _("临时救助"), apply, amount=None, reasons=reasons, rows=uncovered)
