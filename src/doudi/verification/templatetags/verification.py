"""Template filters of the verification screens: labels and sentences for report data."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from doudi.core.templatetags.doudi import yuan
from doudi.verification.models import SourceChoice
from doudi.verification.sources import SCHEMAS, ColumnType, SourceSchema

register = template.Library()

_INCOME = {
    "wage": gettext_noop("工资性收入"),
    "business": gettext_noop("经营性收入"),
    "agricultural": gettext_noop("农业收入"),
    "property": gettext_noop("财产性收入"),
    "transfer": gettext_noop("转移性收入"),
    "exempt": gettext_noop("豁免收入"),
}
_DECISIONS = {
    "not_applicable": gettext_noop("不适用"),
    "include": gettext_noop("纳入"),
    "not_eligible": gettext_noop("不符合条件"),
    "continue": gettext_noop("继续保障"),
    "raise": gettext_noop("提标增发"),
    "hold": gettext_noop("不减发（疫情防控期间）"),
    "exit_deferred": gettext_noop("暂缓退出（疫情防控期间）"),
    "exit": gettext_noop("退出"),
}


_STAGES = {
    "reading": gettext_noop("读取登记数据"),
    "matching": gettext_noop("比对部门数据"),
    "signals": gettext_noop("生成核对信号"),
    "evaluating": gettext_noop("重新评估低保"),
    "writing": gettext_noop("写回结果"),
    "finished": gettext_noop("完成"),
}


@register.filter
def explanation_rows(steps: list) -> list:
    """An evaluation's steps as people read them (benefits.evaluation: labels, arithmetic, articles)."""
    from doudi.benefits.evaluation import explanation_rows as rows

    return rows(steps or [])


@register.filter
def stage_label(stage: str) -> str:
    return _(_STAGES.get(stage, stage))


@register.filter
def source_label(source: str) -> str:
    try:
        return str(SourceChoice(source).label)
    except ValueError:
        return source


@register.filter
def income_label(kind: str) -> str:
    return _(_INCOME.get(kind, kind))


@register.filter
def decision_label(decision: str) -> str:
    return _(_DECISIONS.get(decision, decision))


@register.filter
def record_text(values: dict, schema: SourceSchema) -> str:
    """One cited row in words: 姓名 张三；单位名称 甲公司；月工资 1,500.00 …"""
    parts = []
    for c in schema.columns:
        if c.type == ColumnType.ID:
            continue
        value = values.get(c.stored_name)
        if value in (None, ""):
            continue
        if c.type == ColumnType.AMOUNT:
            value = yuan(value)
        elif c.type == ColumnType.CHOICE:
            value = _(dict(c.choices).get(value, value))
        parts.append(f"{_(c.label)} {value}")
    return "；".join(parts)


@register.filter
def difference_text(d: dict, names: dict) -> str:
    """A difference of the report as a sentence."""
    item = d["item"]
    who = names.get(d.get("member"), "")
    if item.startswith("income."):
        return _("%(who)s的%(kind)s：申报 %(declared)s 元，部门数据 %(found)s 元") % {
            "who": who,
            "kind": income_label(item.split(".", 1)[1]),
            "declared": yuan(d["declared_fen"]),
            "found": yuan(d["found_fen"]),
        }
    if item == "name":
        return _("%(who)s：部门数据中的姓名为“%(found)s”") % {"who": who, "found": d["found_name"]}
    if item == "death":
        return _("%(who)s：死亡登记日期 %(date)s") % {"who": who, "date": d["died_on"]}
    if item == "assets.deposits_fen":
        return _("存款：申报 %(declared)s 元，部门数据 %(found)s 元") % {
            "declared": yuan(d["declared"]),
            "found": yuan(d["found"]),
        }
    labels = {"assets.vehicles": _("机动车"), "assets.houses": _("住房")}
    return _("%(item)s：申报 %(declared)s，部门数据 %(found)s") % {
        "item": labels.get(item, item),
        "declared": d["declared"],
        "found": d["found"],
    }


@register.filter
def schema_of(source: str) -> SourceSchema:
    return SCHEMAS[source]
