"""救助政策 (五 宣传): a district's public page of the standards in force, generated — never typed.

Every amount a rule computes (the 特困 basic living standard, the child allowance, this month's price
subsidy, the COVID assistance, the bereavement amount) is the policy engine's answer for a few
*probe* households of the district in the current month: one urban and one rural person with no
income, a 特困 person, a scattered and an institutional orphan, a registered-poor patient confirmed
and deceased on the 1st. So the page follows the rules and the parameters in force — the bureau's
stored values, the district's own values and emergency window — with no second copy of any rule.
What is only a parameter (the asset limits, the price triggers, the temporary-assistance caps) is read
as in force, with its date and whether it was checked against its source.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from doudi.policy.contract import evaluate_request
from doudi.policy.parameters import ParameterSet, ParameterValue, json_value
from doudi.policy.periods import Period
from doudi.portal.selfcheck import number_text, yuan_text


@dataclass
class Figure:
    """One number on the page: `amount` as shown ("636", or "—" when there is none this month)."""

    key: str
    label: str
    amount: str
    unit: str
    note: str = ""
    since: datetime.date | None = None
    verified: bool = True


@dataclass
class Section:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def _probes(period: Period, district: str) -> list[dict[str, Any]]:
    first = period.first_day
    child_birth = first.replace(year=first.year - 5)  # any child under 18 this month

    def household(hid: str, area: str, **member: Any) -> dict[str, Any]:
        return {"id": hid, "region": district, "area_type": area, "members": [{"id": hid, **member}]}

    patient = {"categories": ["registered_poor"], "covid": {"confirmed_on": first.isoformat()}}
    return [
        household("urban", "urban", **patient),
        household("rural", "rural", **patient),
        household("tekun", "urban", categories=["tekun"]),
        household("scattered", "urban", categories=["orphan"], birth_date=child_birth.isoformat()),
        household(
            "institutional",
            "urban",
            categories=["orphan"],
            orphan_care="institutional",
            birth_date=child_birth.isoformat(),
        ),
        household(
            "bereaved",
            "urban",
            categories=["registered_poor"],
            covid={"confirmed_on": first.isoformat(), "died_on": first.isoformat()},
        ),
    ]


@dataclass
class Standards:
    period: Period
    in_window: bool
    sections: list[Section]

    @property
    def unverified(self) -> bool:
        return any(not f.verified for s in self.sections for f in s.figures)


def district_standards(
    district: str, period: Period, params: ParameterSet, parameters: dict[str, Any] | None = None
) -> Standards:
    """The standards of `district` in `period`: the probes evaluated by the engine with `params` (in
    force) and the request-level `parameters` (the district's emergency window)."""
    request = {
        "period": str(period),
        "parameters": dict(parameters or {}),
        "households": _probes(period, district),
    }
    answer = evaluate_request(request, base_params=params)
    results = {h["id"]: h for h in answer["households"]}
    on = period.first_day
    effective = params.with_overrides(request["parameters"]) if request["parameters"] else params

    def param(name: str, region: str | None = None) -> ParameterValue | None:
        try:
            return effective.value_at(name, on, region)
        except KeyError:
            return None

    def step(hid: str, rule: str) -> dict[str, Any]:
        steps = [s for s in results[hid]["explanation"] if s["rule"] == rule]
        return steps[0] if steps else {"parameters": [], "arithmetic": []}

    def verified(*steps: dict[str, Any]) -> bool:
        return all(p["verified"] for s in steps for p in s["parameters"])

    def since(s: dict[str, Any], name: str) -> datetime.date | None:
        for p in s["parameters"]:
            if p["name"] == name and p["since"]:
                return datetime.date.fromisoformat(p["since"])
        return None

    def member(hid: str) -> dict[str, Any]:
        return results[hid]["members"][0]

    sections = [
        _dibao(results, step, verified, since, param),
        _tekun(member, step, verified),
        _children(member, step, verified),
        _price_subsidy(member, step, verified, param, district, answer["warnings"]),
        _covid(member, results, step, verified, param, district, bool(answer["in_emergency_window"])),
        _temporary(param, district),
    ]
    return Standards(period, bool(answer["in_emergency_window"]), sections)


def _pv_figure(key: str, label: str, pv: ParameterValue | None, unit: str, note: str = "") -> Figure:
    if pv is None or pv.value is None:
        return Figure(key, label, "—", unit, note, verified=True)
    return Figure(key, label, yuan_text(json_value(pv.value)), unit, note, pv.since, pv.verified)


def _dibao(results, step, verified, since, param) -> Section:
    figures = []
    for hid, label in (("urban", _("城市低保标准")), ("rural", _("农村低保标准"))):
        s = step(hid, "dibao.standard")
        name = f"dibao.standard.{hid}"
        figures.append(
            Figure(
                f"dibao-{hid}",
                label,
                yuan_text(results[hid]["dibao"]["standard"]),
                _("元/人/月"),
                since=since(s, name),
                verified=verified(s),
            )
        )
    months = param("dibao.assets.deposit_limit_months")
    vehicles = param("dibao.assets.max_vehicles")
    houses = param("dibao.assets.max_houses")
    text = [_("家庭月人均收入低于当地低保标准、家庭财产符合规定的城乡居民，按差额按月发放低保金。")]
    if months is not None:
        text.append(
            _("存款、有价证券等金融资产合计不超过 %(months)s 个月的低保标准 × 家庭人数。")
            % {"months": number_text(json_value(months.value))}
        )
    if vehicles is not None:
        text.append(
            _("家庭成员名下没有机动车（残疾人功能性补偿代步机动车除外）。")
            if vehicles.value == 0
            else _("机动车不超过 %(n)s 辆（残疾人功能性补偿代步机动车不算）。") % {"n": vehicles.value}
        )
    boats = param("dibao.assets.max_boats")
    if boats is not None:
        text.append(
            _("家庭成员名下没有船舶。")
            if boats.value == 0
            else _("船舶不超过 %(n)s 艘。") % {"n": boats.value}
        )
    if houses is not None:
        text.append(_("住房不超过 %(n)s 套。") % {"n": houses.value})
    text.append(_("外出务工、返岗复工的低保家庭成员，扣除必要的就业成本后再计算收入。"))
    return Section("dibao", _("最低生活保障（低保）"), figures, text)


def _tekun(member, step, verified) -> Section:
    s = step("tekun", "tekun.amount")
    arithmetic = "；".join(line["text"] for line in s.get("arithmetic", []))
    figure = Figure(
        "tekun",
        _("特困人员基本生活标准"),
        yuan_text(member("tekun")["tekun"]["amount"]),
        _("元/人/月"),
        note=_("按城市低保标准计算：%(text)s") % {"text": arithmetic} if arithmetic else "",
        verified=verified(s),
    )
    return Section(
        "tekun",
        _("特困人员救助供养"),
        [figure],
        [_("无劳动能力、无生活来源、无法定赡养抚养扶养义务人（或其无履行能力）的老年人、残疾人和未成年人。")],
    )


def _children(member, step, verified) -> Section:
    figures = []
    for hid, label in (
        ("scattered", _("散居孤儿、事实无人抚养儿童基本生活费")),
        ("institutional", _("集中养育孤儿基本生活费")),
    ):
        figures.append(
            Figure(
                f"children-{hid}",
                label,
                yuan_text(member(hid)["child_allowance"]["amount"]),
                _("元/人/月"),
                verified=verified(step(hid, "child_allowance.amount")),
            )
        )
    return Section(
        "children",
        _("孤儿和事实无人抚养儿童"),
        figures,
        [
            _("按月发放到年满18周岁的当月；疫情防控期间年满18周岁的，继续发放到疫情防控结束的月份。"),
            _("疫情防控期间可以先作个人承诺、后补材料，当月审批、当月发放。"),
        ],
    )


def _price_subsidy(member, step, verified, param, district, warnings) -> Section:
    figures = []
    for hid, label in (("urban", _("城市低保对象本月每人")), ("rural", _("农村低保对象本月每人"))):
        ps = member(hid)["price_subsidy"]
        amount = ps["amount"]
        note = ""
        if amount is None:
            note = _("本月价格指数尚未录入")
        elif amount == 0:
            note = _("本月未达到启动条件")
        elif ps["index"]:
            note = _("%(index)s同比上涨 %(rise)s%%，发放倍数 %(multiple)s") % {
                "index": _("居民消费价格指数") if ps["index"] == "cpi" else _("食品价格指数"),
                "rise": number_text(ps["rise"]),
                "multiple": number_text(ps["multiplier"]),
            }
        figures.append(
            Figure(
                f"price-{hid}",
                label,
                "—" if amount is None else yuan_text(amount),
                _("元"),
                note,
                verified=verified(step(hid, "price_subsidy.amount")),
            )
        )
    text = []
    cpi, food = param("price_subsidy.trigger.cpi"), param("price_subsidy.trigger.food")
    if cpi is not None and food is not None:
        text.append(
            _(
                "居民消费价格指数（CPI）同比涨幅达到 %(cpi)s%% 或食品价格同比涨幅达到 %(food)s%% 时启动，按月发放。"
            )
            % {"cpi": number_text(json_value(cpi.value)), "food": number_text(json_value(food.value))}
        )
    text.append(_("发放对象：低保对象、特困人员、孤儿和事实无人抚养儿童。"))
    supplement = param("price_subsidy.district_supplement", district)
    if supplement is not None and supplement.value:
        text.append(_("本区县每人每月另外增发 %(n)s 元。") % {"n": yuan_text(json_value(supplement.value))})
    return Section("price_subsidy", _("价格临时补贴"), figures, text)


def _covid(member, results, step, verified, param, district, in_window) -> Section:
    figures = []
    for hid, label in (("urban", _("城市确诊患者每月")), ("rural", _("农村确诊患者每月"))):
        amount = member(hid)["covid_assistance"]["amount"]
        figures.append(
            Figure(
                f"covid-{hid}",
                label,
                yuan_text(amount) if amount else "—",
                _("元/月"),
                verified=verified(step(hid, "covid_assistance.amount")),
            )
        )
    bereavement = results["bereaved"]["bereavement"]
    if bereavement["needs_district_standard"]:
        figures.append(
            Figure("bereavement", _("因疫情死亡人员家庭救助"), "—", _("元"), note=_("本区县尚未公布标准"))
        )
    elif bereavement["amount"]:
        pv = param("covid.bereavement_assistance", district)
        figures.append(
            Figure(
                "bereavement",
                _("因疫情死亡人员家庭救助"),
                yuan_text(bereavement["amount"]),
                _("元/户（一次）"),
                since=pv.since if pv else None,
                verified=pv.verified if pv else True,
            )
        )
    multiple = param("covid.assistance_multiple")
    text = [
        _(
            "低保对象、特困人员、孤儿、事实无人抚养儿童、困境儿童和建档立卡贫困人员在疫情防控期间确诊的，"
            "从确诊之日起每月发给低保标准 %(n)s 倍的临时救助，到出院为止，不足一个月按一个月计算。"
        )
        % {"n": number_text(json_value(multiple.value)) if multiple else "—"}
    ]
    if not in_window:
        text.append(_("本月不在疫情防控期间。"))
    text.append(_("家庭生活出现重大困难的，采取“一事一议”加大救助力度。"))
    return Section("covid", _("新冠肺炎疫情专项救助"), figures, text)


def _temporary(param, district) -> Section:
    figures = [
        _pv_figure(
            "temporary-urgent", _("急难型临时救助每次最高"), param("temporary.cap.urgent", district), _("元")
        ),
        _pv_figure(
            "temporary-expenditure",
            _("支出型临时救助每次最高"),
            param("temporary.cap.expenditure", district),
            _("元"),
        ),
        _pv_figure(
            "temporary-first-aid", _("村（社区）先行救助每次最高"), param("temporary.first_aid_cap"), _("元")
        ),
    ]
    text = [
        _("因疫情、意外事故、重病等突发原因导致基本生活暂时出现严重困难的家庭和个人，包括外地来渝人员。"),
        _("情况紧急的，村（社区）可以先行救助，再补办手续；超过上限的按“一事一议”办理。"),
    ]
    return Section("temporary", _("临时救助"), figures, text)
