"""A lead's reasons in plain words: each reason code of sweep.py as one sentence, with its figures.

`sentences(lead, names)` reads the reasons JSON and returns [{"text", "rows"}]; `names` maps the person
ids the reasons mention to the names to show (masked in lists, in full on the audited lead page).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from doudi.registry.models import Category, Relation


def yuan(fen: Any) -> str:
    value = Decimal(int(fen or 0)) / 100
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _groups(codes: list[str]) -> str:
    labels = {c.value: str(c.label) for c in Category}
    labels["dibao"] = _("低保家庭成员")
    return "、".join(labels.get(c, c) for c in codes)


def _sentence(code: str, d: dict[str, Any], name: str) -> str:
    if code == "registered_poor":
        return _("%(name)s是建档立卡贫困人口（自 %(since)s 起）。") % {"name": name, "since": d.get("since")}
    if code == "receives_nothing":
        return _("家庭没有纳入低保、特困供养，近一年也没有临时救助。")
    if code == "contributions_stopped":
        return _(
            "%(name)s在上一期人社数据中由“%(employer)s”缴纳社保（月工资 %(wage)s 元），最新一期已没有缴费记录。"
        ) % {"name": name, "employer": d.get("employer"), "wage": yuan(d.get("wage_fen"))}
    if code == "business_deregistered":
        return _(
            "%(name)s经营的“%(business)s”（%(code)s）已注销，登记的经营收入每月 %(income)s 元按 0 计算。"
        ) % {
            "name": name,
            "business": d.get("business"),
            "code": d.get("credit_code"),
            "income": yuan(d.get("business_fen")),
        }
    if code == "unemployment_registered":
        text = _("%(name)s自 %(day)s 起登记失业。") % {"name": name, "day": d.get("registered_on")}
        if d.get("benefit_fen"):
            text += _("领取失业保险金每月 %(amount)s 元（计入收入）。") % {
                "amount": yuan(d.get("benefit_fen"))
            }
        return text
    if code == "income_estimate":
        return _(
            "按现有数据测算，家庭每月收入约 %(estimate)s 元（原申报 %(declared)s 元），"
            "低于当地低保标准 %(standard)s 元 × %(size)s 人 = %(threshold)s 元。"
        ) % {
            "estimate": yuan(d.get("estimate_fen")),
            "declared": yuan(d.get("declared_fen")),
            "standard": yuan(d.get("standard_fen")),
            "size": d.get("size"),
            "threshold": yuan(d.get("threshold_fen")),
        }
    if code == "covid_confirmed":
        return _("%(name)s于 %(day)s 确诊新冠肺炎，属于%(groups)s。") % {
            "name": name,
            "day": d.get("confirmed_on"),
            "groups": _groups(d.get("groups") or []),
        }
    if code == "no_covid_assistance":
        return _("没有发放新冠临时救助（每月按低保标准的 2 倍）的记录。")
    if code == "covid_died":
        return _("%(name)s于 %(day)s 因新冠肺炎去世，生前属于%(groups)s。") % {
            "name": name,
            "day": d.get("died_on"),
            "groups": _groups(d.get("groups") or []),
        }
    if code == "no_bereavement":
        return _("家庭没有领取新冠死亡人员家庭救助的记录。")
    if code == "child_category":
        category = _("孤儿") if d.get("category") == "orphan" else _("事实无人抚养儿童")
        return _("%(name)s登记为%(category)s。") % {"name": name, "category": category}
    if code == "parent_status":
        relation = dict(Relation.choices).get(d.get("relation"), d.get("relation"))
        states = []
        if d.get("died_on"):
            states.append(_("已于 %(day)s 去世") % {"day": d["died_on"]})
        if d.get("disabled"):
            states.append(_("重度残疾"))
        if d.get("ill"):
            states.append(_("患重病"))
        return _("父母一方 %(name)s（%(relation)s）%(states)s。") % {
            "name": name,
            "relation": relation,
            "states": "、".join(str(s) for s in states),
        }
    if code == "no_child_allowance":
        return _("%(name)s（%(age)s 岁）没有领取儿童基本生活费。") % {"name": name, "age": d.get("age")}
    if code == "alone_old_or_disabled":
        text = _("%(name)s %(age)s 岁") % {"name": name, "age": d.get("age")}
        if d.get("disabled"):
            text += _("，重度残疾")
        return text + _("，独自一人生活。")
    if code == "no_income_no_supporter":
        return _(
            "没有登记任何收入，人社、市场监管、税务数据中也没有工资、经营或纳税记录；"
            "登记中没有共同生活的赡养人（请核实有无法定赡养、抚养、扶养人）。"
        )
    if code == "hospital_costs":
        return _("%(name)s近一年住院 %(stays)s 次，个人自付 %(cost)s 元。") % {
            "name": name,
            "stays": d.get("stays"),
            "cost": yuan(d.get("cost_fen")),
        }
    if code == "costs_against_income":
        return _(
            "家庭全年收入约 %(income)s 元，减去医疗自付 %(cost)s 元后，低于全年低保标准 %(standard)s 元。"
        ) % {
            "income": yuan(d.get("annual_income_fen")),
            "cost": yuan(d.get("cost_fen")),
            "standard": yuan(d.get("annual_standard_fen")),
        }
    return code


def parse(lead: Any) -> list[dict[str, Any]]:
    return json.loads(lead.reasons or "[]")


def person_ids(lead: Any) -> set[int]:
    return {int(r["data"]["person_id"]) for r in parse(lead) if r.get("data", {}).get("person_id")}


def sentences(lead: Any, names: dict[int, str]) -> list[dict[str, Any]]:
    out = []
    for r in parse(lead):
        data = r.get("data") or {}
        name = names.get(int(data["person_id"]), "") if data.get("person_id") else ""
        out.append({"code": r["code"], "text": _sentence(r["code"], data, name), "rows": r.get("rows") or []})
    return out


def summary(lead: Any) -> str:
    """The application's summary when a lead is filed: the kind and every reason, names in full."""
    from doudi.registry.models import Person

    names = dict(Person.objects.filter(pk__in=person_ids(lead)).values_list("pk", "name"))
    text = "".join(s["text"] for s in sentences(lead, names))
    return (_("主动发现线索（%(kind)s）：") % {"kind": lead.get_kind_display()} + text)[:2000]
