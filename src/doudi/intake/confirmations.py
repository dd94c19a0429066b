"""办理确认: the sentence an officer reads after taking an action — what happened and, where it
matters, the figure or the next step ("已完成政策评估：拟纳入低保，月低保金 972 元。"), never the action's
button label glued after "已".

`confirmation(case, action)` reads the case as the action left it. A sentence is looked up by
(flow, action) first, then by action name (the steps every flow shares); `tests/intake/
test_confirmations.py` checks that every action of every registered flow has one.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.intake.flows import Action, flow_for
from doudi.intake.models import Case

Sentence = Any  # a (lazy) string, or a function of the case writing one


def _part(case: Case, key: str) -> dict:
    value = (case.details or {}).get(key)
    return value if isinstance(value, dict) else {}


def _month(iso: str) -> str:
    try:
        day = datetime.date.fromisoformat(str(iso)[:10])
    except ValueError:
        return str(iso)
    return _("%(y)d年%(m)d月") % {"y": day.year, "m": day.month}


def _state(case: Case) -> str:
    return flow_for(case.case_type).state_label(case.state)


def _dibao_evaluated(case: Case) -> str:
    dibao = _part(case, "evaluation").get("dibao") or {}
    amount = int(dibao.get("amount") or 0)
    if amount > 0:
        return _("已完成政策评估：拟纳入低保，月低保金 %(a)s 元。") % {"a": amount}
    return _("已完成政策评估：不符合纳入低保的条件，依据见评估说明。")


def _tekun_evaluated(case: Case) -> str:
    ev = _part(case, "evaluation")
    if ev.get("eligible"):
        return _("已完成政策评估：符合特困供养条件，基本生活费每月 %(a)s 元。") % {"a": ev.get("amount", 0)}
    return _("已完成政策评估：不符合特困人员认定条件，依据见调查核实结果。")


def _township_reviewed(case: Case) -> str:
    return _("乡镇审核意见已提交，案件现为“%(s)s”。") % {"s": _state(case)}


def _dibao_approved(case: Case) -> str:
    d = _part(case, "decision")
    return _("已批准纳入低保：自%(m)s起每月 %(a)s 元，已登记在保。") % {
        "m": _month(d.get("from_month", "")),
        "a": d.get("amount", 0),
    }


def _tekun_approved(case: Case) -> str:
    d = _part(case, "decision")
    return _("已批准特困人员救助供养：自%(m)s起基本生活费每月 %(a)s 元，已登记在保。") % {
        "m": _month(d.get("from_month", "")),
        "a": d.get("amount", 0),
    }


def _children_approved(case: Case) -> str:
    d = _part(case, "decision")
    return _("已批准：自%(m)s起每月发放 %(a)s 元，已登记在保。") % {
        "m": _month(d.get("from_month", "")),
        "a": d.get("amount", 0),
    }


def _assessed(case: Case) -> str:
    return _("已核定临时救助 %(a)s 元，案件现为“%(s)s”。") % {
        "a": _part(case, "assessment").get("amount", 0),
        "s": _state(case),
    }


def _approved_amount(level: str) -> Callable[[Case], str]:
    def sentence(case: Case) -> str:
        return _("%(level)s审批同意，救助 %(a)s 元；发放后请办结。") % {
            "level": level,
            "a": _part(case, "decision").get("amount", 0),
        }

    return sentence


def _proposed(case: Case) -> str:
    return _("一事一议方案已提出（拟救助 %(a)s 元），待区县集体研究。") % {
        "a": _part(case, "proposal").get("amount", 0)
    }


def _decided(case: Case) -> str:
    return _("集体研究决定救助 %(a)s 元，决定书可以打印；发放后请办结。") % {
        "a": _part(case, "decision").get("amount", 0)
    }


def _first_aid_given(case: Case) -> str:
    return _("已登记先行救助 %(a)s 元，请在规定时间内补办临时救助手续或说明情况。") % {
        "a": _part(case, "first_aid").get("amount", 0)
    }


def _change_evaluated(case: Case) -> str:
    plan = _part(case, "proposal")
    return _("已重新评估：现发 %(b)s 元，按变化后的情况应为 %(a)s 元；请提交乡镇审核意见。") % {
        "b": plan.get("current_amount", 0),
        "a": plan.get("new_amount", 0),
    }


def _change_decided(case: Case) -> str:
    d = _part(case, "decision")
    if d.get("deferred"):
        return _("已作出决定；疫情防控期间不减发、不退出，暂缓执行，期间结束后请执行。")
    return _("已作出决定并落实到在保记录，决定书可以打印，已短信告知家庭。")


# The steps every flow shares (受理 and the standard decision and close), by action name.
SHARED: dict[str, Sentence] = {
    "accept": gettext_lazy("申请已受理，办理时限从今天起计算。"),
    "request_missing": gettext_lazy("已一次性告知需补正的全部材料；材料补齐后再受理。"),
    "supplement": gettext_lazy("已记录材料补齐，申请回到待受理。"),
    "reject": gettext_lazy("已决定不予受理，理由写入不予受理通知书。"),
    "withdraw": gettext_lazy("已记录申请人撤回申请，案件终止办理。"),
    "approve": gettext_lazy("已批准申请；落实救助后请办结。"),
    "refuse": gettext_lazy("已决定不予批准，理由写入不予批准通知书。"),
    "close": gettext_lazy("案件已办结，办理结果已记录。"),
}

# Each workflow's own steps, by (flow name, action name).
BY_FLOW: dict[tuple[str, str], Sentence] = {
    ("dibao", "withdraw"): gettext_lazy("已记录申请人撤回申请，案件终止办理；公示中的名单已撤下。"),
    ("dibao", "economic_data"): gettext_lazy("家庭经济状况已保存，下一步进行政策评估。"),
    ("dibao", "evaluate"): _dibao_evaluated,
    ("dibao", "township_review"): _township_reviewed,
    ("dibao", "start_deliberation"): gettext_lazy("已安排民主评议；评议后请记录结果。"),
    ("dibao", "skip_deliberation"): gettext_lazy("疫情防控期间不开展民主评议，已发布7日公示。"),
    ("dibao", "republish"): gettext_lazy("已发布3日复核公示。"),
    ("dibao", "record_deliberation"): gettext_lazy("评议结果已记录，已发布公示。"),
    ("dibao", "uphold_objection"): gettext_lazy("异议成立：公示已撤下，请重新调查核实。"),
    ("dibao", "dismiss_objection"): gettext_lazy("已认定异议不成立，理由已记录；公示继续。"),
    ("dibao", "end_publicity"): gettext_lazy("公示期满，已报送区县审批。"),
    ("dibao", "reinvestigate"): gettext_lazy("已退回乡镇重新调查，退回理由已记录。"),
    ("dibao", "approve"): _dibao_approved,
    ("tekun", "withdraw"): gettext_lazy("已记录申请人撤回申请，案件终止办理；公示中的名单已撤下。"),
    ("tekun", "investigate"): gettext_lazy("调查核实结果已记录，下一步进行政策评估。"),
    ("tekun", "evaluate"): _tekun_evaluated,
    ("tekun", "township_review"): _township_reviewed,
    ("tekun", "uphold_objection"): gettext_lazy("异议成立：公示已撤下，请重新调查核实。"),
    ("tekun", "dismiss_objection"): gettext_lazy("已认定异议不成立，理由已记录；公示继续。"),
    ("tekun", "end_publicity"): gettext_lazy("公示期满，已报送区县审批。"),
    ("tekun", "reinvestigate"): gettext_lazy("已退回乡镇重新调查，退回理由已记录。"),
    ("tekun", "approve"): _tekun_approved,
    ("temporary", "assess"): _assessed,
    ("temporary", "approve_township"): _approved_amount(gettext_lazy("乡镇")),
    ("temporary", "refuse_township"): gettext_lazy("乡镇决定不予批准，理由写入不予批准通知书。"),
    ("temporary", "approve"): _approved_amount(gettext_lazy("区县")),
    ("temporary", "refuse"): gettext_lazy("区县决定不予批准，理由写入不予批准通知书。"),
    ("temporary", "reassess"): gettext_lazy("已退回重新核定金额，退回理由已记录。"),
    ("temporary", "escalate"): gettext_lazy("已转为一事一议，由区县集体研究。"),
    ("temporary", "close"): gettext_lazy("救助已发放，案件办结。"),
    ("children", "record_commitment"): gettext_lazy("已登记申请人的个人承诺，缺少的材料可以后补。"),
    ("children", "document_received"): gettext_lazy("补交的材料已登记收到。"),
    ("children", "approve"): _children_approved,
    ("children", "deferred_document_received"): gettext_lazy("后补的材料已登记收到。"),
    ("children", "close"): gettext_lazy("材料已齐全，案件办结。"),
    ("case_by_case", "propose"): _proposed,
    ("case_by_case", "decide"): _decided,
    ("case_by_case", "decline"): gettext_lazy("集体研究决定不予救助，理由写入通知书。"),
    ("case_by_case", "return_proposal"): gettext_lazy("方案已退回修改，退回理由已记录。"),
    ("case_by_case", "close"): gettext_lazy("救助已发放，案件办结。"),
    ("first_aid", "give"): _first_aid_given,
    ("first_aid", "formalise"): gettext_lazy("已转为临时救助案件，按临时救助程序继续办理。"),
    ("first_aid", "justify"): gettext_lazy("情况说明已记录，案件办结。"),
    ("first_aid", "void"): gettext_lazy("登记已作废，原因已记录。"),
    ("change_report", "accept"): gettext_lazy("变化报告已受理，已短信告知家庭；请核实变化后的家庭经济状况。"),
    ("change_report", "economic_data"): gettext_lazy("变化后的家庭经济状况已保存，下一步重新评估。"),
    ("change_report", "evaluate"): _change_evaluated,
    ("change_report", "township_review"): _township_reviewed,
    ("change_report", "reinvestigate"): gettext_lazy("已退回重新核实，退回理由已记录。"),
    ("change_report", "decide"): _change_decided,
    ("change_report", "apply_deferred"): _change_decided,
}


def sentence_for(flow_name: str, action: str) -> Sentence | None:
    """The sentence (or the function writing it) for an action of a flow; None if there is none."""
    return BY_FLOW.get((flow_name, action)) or SHARED.get(action)


def confirmation(case: Case, action: Action) -> str:
    """What the officer is told after `action` succeeded on `case` (as the action left it)."""
    sentence = sentence_for(flow_for(case.case_type).name, action.name)
    if sentence is None:  # a flow added without its sentences: still a whole sentence
        return _("“%(a)s”已完成。") % {"a": action.label}
    return sentence(case) if callable(sentence) else str(sentence)
