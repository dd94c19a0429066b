"""低保评估: the registry household of a dibao case as a POLICY.md §4 request, evaluated by the engine.

The rules are the policy engine's (`doudi.policy.contract.evaluate_request`, R1); this module only
turns the registry rows into the request, with the parameters in force (the bureau's stored values
over the YAML defaults, `parameters.selectors.current_parameters`) and the emergency window of the
household's district, and keeps what the case page and the notices show: the decision, the amount,
the clause-by-clause explanation and every parameter used, unverified ones flagged.

Who is assessed (条例第11条): the applicant's current household; a member recorded as assessed
separately (`Membership.separate_assessment`, an adult with severe disability or illness) is left out
of the others' application, and is assessed alone when they are the applicant.

The person-level schemes — 特困供养 (R2) and 儿童基本生活保障 (R3) — are evaluated the same way for one
person (`evaluate_person`): the registry person as a §4 member, with the category the decision grants
(特困人员, 孤儿 …) added, so that the engine answers "what is due if this person is recognised".
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doudi.policy.arithmetic import CQ_DIBAO_REGULATION, SOCIAL_ASSISTANCE_MEASURES
from doudi.policy.contract import InputError, evaluate_request
from doudi.policy.money import yuan_json
from doudi.policy.parameters import OVERRIDE_REFERENCE
from doudi.policy.periods import Period
from doudi.policy.population import CATEGORY_NAMES, COUNTED_INCOME
from doudi.registry.models import Household, Membership, Person

INCOME_KINDS = (*COUNTED_INCOME, "exempt")
INCOME_LABELS = {
    "wage": _("工资性收入"),
    "business": _("经营性收入"),
    "agricultural": _("农业收入"),
    "property": _("财产性收入"),
    "transfer": _("转移性收入"),
    "exempt": _("豁免收入（不计入）"),
}
# The explanation steps shown with a dibao decision (the other rules — price subsidy, COVID
# assistance — are other schemes' business).
SHOWN_RULES = ("emergency.", "dibao.")
RULE_LABELS = {
    "emergency.in_window": _("是否处于疫情防控期间"),
    "dibao.membership": _("家庭成员是否计入（条例第11条）"),
    "dibao.income_period": _("收入计算期间（条例第12条）"),
    "dibao.farming_income": _("农业家庭月均纯收入（元）"),
    "dibao.standard": _("低保标准（元/人·月）"),
    "dibao.size": _("保障人口（不含特困人员）"),
    "dibao.work_cost_deduction": _("务工成本扣减（元）"),
    "dibao.unit_income": _("家庭成员计算收入合计（元/月）"),
    "dibao.counted_income": _("计算收入（元/月）"),
    "dibao.per_capita_income": _("家庭月人均收入（元）"),
    "dibao.income_test": _("收入条件（计算收入低于标准×人数）"),
    "dibao.asset_test": _("财产条件"),
    "dibao.eligible": _("符合低保条件"),
    "dibao.computed_amount": _("测算补差金额（元/月）"),
    "dibao.decision": _("评估结论"),
    "dibao.amount": _("月低保金（元）"),
    "tekun.amount": _("特困人员基本生活标准（元/月）"),
    "child_allowance.child": _("孤儿或事实无人抚养儿童"),
    "child_allowance.last_regular_month": _("年满18周岁的月份"),
    "child_allowance.age_out_deferred": _("疫情防控期间暂缓停发"),
    "child_allowance.entitlement": _("基本生活费类别"),
    "child_allowance.amount": _("基本生活费（元/月）"),
    "child_allowance.kind": _("养育方式"),
}
DECISION_LABELS = {
    "include": _("纳入低保"),
    "not_eligible": _("不符合条件"),
    "not_applicable": _("无保障对象（家庭成员均为特困人员）"),
    "continue": _("继续保障"),
    "raise": _("增发"),
    "hold": _("维持（疫情期间暂缓减发）"),
    "exit_deferred": _("暂缓退出（疫情期间）"),
    "exit": _("退出"),
}
# 条例第11条: why a member counted or not (the engine's `dibao.membership` reasons).
MEMBERSHIP_LABELS = {
    "member": _("计入"),
    "assessed_alone": _("计入（单独施保）"),
    "tekun": _("不计入：特困人员"),
    "serving_conscript_unmarried": _("不计入：服义务兵役的未婚人员"),
    "clergy_living_apart": _("不计入：宗教教职人员，离家一年以上"),
    "prisoner": _("不计入：服刑人员"),
    "separate_household": _("不计入：单独施保"),
}
# What a formula names besides rules and parameters: the household's own data (§4 names).
DATA_LABELS = {
    "assets.deposits": _("存款（元）"),
    "assets.vehicles": _("机动车辆（辆）"),
    "assets.houses": _("住房（套）"),
    "assets.securities": _("有价证券（元）"),
    "assets.claims": _("债权（元）"),
    "assets.boats": _("船舶（艘）"),
    "farming.net_income": _("12个月现金和实物收入减直接成本（元）"),
    "income_period.months": _("月数"),
}
INSTRUMENT_LABELS = {
    CQ_DIBAO_REGULATION: _("《重庆市城乡居民最低生活保障条例》"),
    SOCIAL_ASSISTANCE_MEASURES: _("《社会救助暂行办法》"),
}
# The decisions that let a not-yet-enrolled household be approved without an override.
APPROVABLE = frozenset({"include"})


# --- the explanation as people read it ------------------------------------------------------------------

_NAME = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")
_UNIT = re.compile(r"\s*[（(][^（）()]*[）)]$")  # a label's unit or note, left out inside a formula


def article_text(article: dict[str, Any]) -> str:
    """《重庆市城乡居民最低生活保障条例》第12条; the instrument alone where no article is cited."""
    instrument = INSTRUMENT_LABELS.get(article.get("instrument", ""), f"《{article.get('instrument', '')}》")
    if article.get("article") is None:
        return str(instrument)
    return _("%(instrument)s第%(article)s条") % {"instrument": instrument, "article": article["article"]}


def operand_label(name: str) -> str:
    """What a formula's operand is called: a rule's label, a parameter's Chinese name, household data."""
    from doudi.parameters.selectors import parameter_label

    label = RULE_LABELS.get(name) or DATA_LABELS.get(name)
    return _UNIT.sub("", str(label)) if label else parameter_label(name)


def formula_in_words(expression: str) -> str:
    return _NAME.sub(lambda m: operand_label(m.group(0)), expression)


def reference_text(reference: str) -> str:
    """A parameter's source as shown; the engine's own notes (an override, no value) in the user's language."""
    if reference == OVERRIDE_REFERENCE:
        return _("本次评估临时设定的取值")
    if reference.startswith("no value"):
        return _("当期无取值")
    return reference


def clause_text(clause: str) -> str:
    """The notice's clause a step applies (`一(一)` → 通知一(一)); R2 is the standing 特困 scheme's."""
    if not clause:
        return ""
    if clause == "tekun":
        return _("特困人员救助供养")
    return _("渝肺炎组发〔2020〕14号 %(clause)s") % {"clause": clause}


def _display(value: Any, rule: str) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if rule == "dibao.decision":
        return str(DECISION_LABELS.get(value, value))
    if rule == "dibao.membership":
        return str(MEMBERSHIP_LABELS.get(value, value))
    if rule == "dibao.income_period" and isinstance(value, dict):
        return _("%(start)s至%(end)s（%(months)s个月）") % {
            "start": value["from"],
            "end": value["to"],
            "months": value["months"],
        }
    return "—" if value is None else str(value)


def _member_label(step: dict[str, Any]) -> str:
    label = str(RULE_LABELS.get(step["rule"], step["rule"]))
    if "member" not in step:
        return label
    return f"{label}：{step.get('member_name') or step['member']}"


def explanation_rows(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of a stored evaluation for the page: each with its label, the value as read, the
    notice's clause, the regulation articles, and the arithmetic (numbers, and in words)."""
    return [
        {
            # a member's step (条例第11条: who counts) is one row per member
            "rule": s["rule"] + (f"#{s['member']}" if "member" in s else ""),
            "label": _member_label(s),
            "clause": s.get("clause") or "",
            "clause_text": clause_text(s.get("clause") or ""),
            "value": _display(s.get("value"), s["rule"]),
            "articles": [article_text(a) for a in s.get("articles", [])],
            "arithmetic": [
                {"text": line["text"], "words": formula_in_words(line["expression"])}
                for line in s.get("arithmetic", [])
            ],
            "parameters": parameter_rows(s.get("parameters", [])),
        }
        for s in steps
    ]


def parameter_rows(parameters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parameters an evaluation used, named in the user's language, with their source."""
    from doudi.parameters.selectors import parameter_label

    return [
        {**p, "label": parameter_label(p["name"]), "reference": reference_text(p.get("reference") or "")}
        for p in parameters
    ]


def current_memberships(household: Household) -> list[Membership]:
    return list(
        Membership.objects.filter(household=household, left_on__isnull=True)
        .select_related("person")
        .prefetch_related("person__categories")
        .order_by("joined_on", "person_id")
    )


def unit_memberships(household: Household, applicant: Person | None) -> list[Membership]:
    """The members sent for assessment (条例第11条): a separately assessed applicant alone; otherwise every
    member — one assessed separately with a recorded reason goes with it, so that the evaluation lists
    them as not counted and why (one flagged before reasons were recorded is left out, as it was)."""
    members = current_memberships(household)
    own = next((m for m in members if applicant is not None and m.person_id == applicant.pk), None)
    if own is not None and own.separate_assessment:
        return [own]
    return [m for m in members if not m.separate_assessment or m.separate_reason]


def _categories(person: Person, on: datetime.date) -> list[str]:
    return sorted(
        {
            c.category
            for c in person.categories.all()
            if c.category in CATEGORY_NAMES
            and c.valid_from <= on
            and (c.valid_to is None or c.valid_to >= on)
        }
    )


def membership_payload(membership: Membership | None) -> dict[str, Any]:
    """条例第11条: the member's recorded standing as the §4 `membership`."""
    if membership is None:
        return {}
    facts: dict[str, Any] = {"status": membership.standing or "present"}
    if membership.standing == "serving_conscript":
        facts["married"] = bool(membership.married)
    if membership.standing == "clergy" and membership.living_apart_since:
        facts["living_apart_since"] = membership.living_apart_since.isoformat()
    if membership.separate_assessment and membership.separate_reason:
        facts["separate_household"] = membership.separate_reason
    return facts


def member_payload(person: Person, on: datetime.date, membership: Membership | None = None) -> dict[str, Any]:
    return {
        "membership": membership_payload(membership),
        "id": str(person.pk),
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "income": {k: yuan_json(getattr(person, f"income_{k}_fen")) for k in INCOME_KINDS},
        "work": person.work or "none",
        "categories": _categories(person, on),
        "orphan_care": person.orphan_care or None,
        "covid": {
            "confirmed_on": person.covid_confirmed_on.isoformat() if person.covid_confirmed_on else None,
            "discharged_on": person.covid_discharged_on.isoformat() if person.covid_discharged_on else None,
            "died_on": person.covid_died_on.isoformat() if person.covid_died_on else None,
        },
    }


def household_payload(household: Household, memberships: list[Membership], on: datetime.date) -> dict:
    """The household as POLICY.md §4 input (yuan), from the registry as it stands."""
    return {
        "id": str(household.pk),
        "region": household.region.district_code or household.region_id[:6],
        "area_type": household.area_type,
        "dibao": {
            "enrolled": bool(household.dibao_enrolled),
            "last_amount": household.dibao_last_amount if household.dibao_enrolled else None,
        },
        "assets": {
            "deposits": yuan_json(household.deposits_fen),
            "vehicles": int(household.vehicles),
            "houses": int(household.houses),
            # 条例第13条: the other items as declared
            "securities": yuan_json(household.securities_fen),
            "claims": yuan_json(household.claims_fen),
            "boats": int(household.boats),
            "disability_vehicles": int(household.disability_vehicles),
        },
        **({"farming": farming_payload(household)} if household.farming else {}),
        "members": [member_payload(m.person, on, m) for m in memberships],
    }


def farming_payload(household: Household) -> dict[str, Any]:
    """条例第12条: a farming household's 12 months' cash and in-kind income and direct costs (yuan)."""
    return {
        "cash_income": yuan_json(household.farming_cash_income_fen),
        "in_kind_income": yuan_json(household.farming_in_kind_income_fen),
        "direct_costs": yuan_json(household.farming_direct_costs_fen),
    }


def window_parameters(district_code: str, period: Period) -> dict[str, Any]:
    """`emergency.window.*` for the household's district when it differs from the city-wide window
    (which current_parameters already carries, as declared): a district's own declaration."""
    from doudi.regions.selectors import city_policy_window, policy_window_for

    window = policy_window_for(district_code, on=period.last_day)
    if window is None or window == city_policy_window(on=period.last_day):
        return {}
    start, end = window
    return {
        "emergency.window.start": start.isoformat(),
        "emergency.window.end": end.isoformat() if end else None,
    }


def _concerns_dibao(warning: Any) -> bool:
    parameter = warning.get("parameter", "") if isinstance(warning, dict) else ""
    return not parameter or parameter.startswith(("dibao.", "emergency."))


def _parameters_used(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for step in steps:
        for p in step.get("parameters", []):
            seen.setdefault(p["name"], p)
    return list(seen.values())


def evaluate_household(
    household: Household, applicant: Person | None, *, on: datetime.date | None = None
) -> dict[str, Any]:
    """评估: POLICY R1 for the household in the month of `on` (default today), as the record kept with
    the case: the request sent, the §4 dibao result, the explanation steps shown, the parameters used.

    Raises `doudi.policy.contract.InputError` when the registry data cannot be evaluated (e.g. no
    member left to assess)."""
    from doudi.parameters.selectors import current_parameters

    on = on or timezone.localdate()
    period = Period.of(on)
    household = Household.objects.select_related("region").get(pk=household.pk)
    memberships = unit_memberships(household, applicant)
    payload = household_payload(household, memberships, on)
    district = payload["region"][:6]
    request = {
        "period": str(period),
        "parameters": window_parameters(district, period),
        "households": [payload],
    }
    result = evaluate_request(request, base_params=current_parameters())
    answer = result["households"][0]
    names = {str(m.person_id): m.person.name for m in memberships}
    steps = [
        s | ({"member_name": names.get(str(s["member"]), "")} if "member" in s else {})
        for s in answer["explanation"]
        if s["rule"].startswith(SHOWN_RULES)
    ]
    used = _parameters_used(steps)
    return {
        "period": str(period),
        "evaluated_on": on.isoformat(),
        # 条例第12条: the income period the declared income items were taken for, kept with them
        "income_period": answer["dibao"].get("income_period"),
        "membership": {str(m["id"]): m["membership"] for m in answer["members"]},
        "in_emergency_window": result["in_emergency_window"],
        "window_parameters": request["parameters"],
        # Only what concerns this decision (e.g. not a missing price index, which is R4's business).
        "warnings": [w for w in result["warnings"] if _concerns_dibao(w)],
        "request": payload,
        "members": [
            {"person": m.person_id, "name": m.person.name, "relation": m.relation} for m in memberships
        ],
        "dibao": answer["dibao"],
        "explanation": steps,
        "parameters": used,
        "unverified": [p["name"] for p in used if not p.get("verified")],
    }


# --- person-level schemes (POLICY R2, R3) ------------------------------------------------------------------

# scheme → (the §4 member result key, the explanation rules shown)
PERSON_RESULTS = {"tekun": ("tekun", "tekun."), "children": ("child_allowance", "child_allowance.")}


def person_payload(
    person: Person, on: datetime.date, extra_categories: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The person alone as a §4 household (the person-level rules read only the person, the district
    and the month), with `extra_categories` — the one the decision would grant — added."""
    from doudi.registry.models import Membership

    membership = (
        Membership.objects.filter(person=person, left_on__isnull=True)
        .select_related("household__region")
        .first()
    )
    region = membership.household.region if membership else person.region
    member = member_payload(person, on)
    member["categories"] = sorted(
        set(member["categories"]) | {c for c in extra_categories if c in CATEGORY_NAMES}
    )
    return {
        "id": f"p{person.pk}",
        "region": region.district_code or region.code[:6],
        "area_type": membership.household.area_type if membership else "urban",
        "members": [member],
    }


def evaluate_person(
    person: Person,
    scheme: str,
    *,
    on: datetime.date | None = None,
    categories: tuple[str, ...] = (),
) -> dict[str, Any]:
    """评估 of a person-level scheme (`tekun`: R2, `children`: R3) for the month of `on` by the policy
    engine: the monthly amount (yuan), the allowance kind (R3), the explanation steps of that scheme
    and the parameters used (unverified ones listed). `categories` are assumed held in that month.

    Raises `doudi.policy.contract.InputError` when the registry data cannot be evaluated."""
    from doudi.parameters.selectors import current_parameters

    key, prefix = PERSON_RESULTS[scheme]
    on = on or timezone.localdate()
    period = Period.of(on)
    person = Person.objects.select_related("region").prefetch_related("categories").get(pk=person.pk)
    payload = person_payload(person, on, categories)
    request = {
        "period": str(period),
        "parameters": window_parameters(payload["region"], period),
        "households": [payload],
    }
    result = evaluate_request(request, base_params=current_parameters())
    member = result["households"][0]["members"][0]
    steps = [s for s in result["households"][0]["explanation"] if s["rule"].startswith(prefix)]
    used = _parameters_used(steps)
    answer = member[key]
    return {
        "scheme": scheme,
        "period": str(period),
        "evaluated_on": on.isoformat(),
        "in_emergency_window": result["in_emergency_window"],
        "window_parameters": request["parameters"],
        "request": payload,
        "person": person.pk,
        "amount": int(answer["amount"] or 0),
        "kind": answer.get("kind"),
        "age_out_deferred": bool(answer.get("age_out_deferred")),
        "explanation": steps,
        "parameters": used,
        "unverified": [p["name"] for p in used if not p.get("verified")],
    }


__all__ = [
    "APPROVABLE",
    "DECISION_LABELS",
    "INCOME_KINDS",
    "INCOME_LABELS",
    "InputError",
    "RULE_LABELS",
    "current_memberships",
    "explanation_rows",
    "parameter_rows",
    "evaluate_household",
    "evaluate_person",
    "household_payload",
    "unit_memberships",
]
