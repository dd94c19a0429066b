"""计算依据 of a payment line, rendered on demand from the figures the payroll stores with it.

The payroll stores the figures (standard, size, counted income, computed and enrolled amounts, in
fen) rather than a sentence per line; the sentence is written here when a page shows the line: the
rule's own formula (`doudi.policy.arithmetic`, the formula the engine computed) with the line's
operands, in words and in figures — ``低保标准 × 保障人口 − 计算收入 = 636 × 3 − 1200.5 = 707.5 → 708 元`` —
then the decision, the amount on record and why the amount paid is what it is.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from django.utils.translation import gettext as _

from doudi.benefits.evaluation import DECISION_LABELS, formula_in_words
from doudi.policy.arithmetic import Operand, explain_line, number
from doudi.policy.engine import RULES
from doudi.policy.money import FEN_PER_YUAN

# The rule whose value each scheme's `computed_fen` is, and the notice's clause it applies.
SCHEME_RULES = {
    "dibao": ("dibao.computed_amount", "一(一)"),
    "tekun": ("tekun.amount", "tekun"),
    "children": ("child_allowance.amount", "一(四)"),
    "price_subsidy": ("price_subsidy.amount", "一(二)"),
    "covid": ("covid_assistance.amount", "一(五)"),
    "bereavement": ("bereavement.amount", "一(五)"),
}


def _yuan(fen: int) -> str:
    return number(Fraction(fen, FEN_PER_YUAN))


def _dibao(line: Any) -> list[str]:
    """R1: the top-up's arithmetic, or the income test that failed."""
    if line.standard_fen is None or line.size is None or line.income_fen is None:
        return []
    if not line.size:
        return [_("家庭成员均为特困人员，无低保保障对象")]
    operands = {
        "dibao.standard": Fraction(line.standard_fen, FEN_PER_YUAN),
        "dibao.size": Fraction(line.size),
        "dibao.counted_income": Fraction(line.income_fen, FEN_PER_YUAN),
    }

    def resolve(operand: Operand) -> Fraction:
        return operands[operand.name]

    computed = Fraction(line.computed_fen or 0, FEN_PER_YUAN)
    if line.income_fen < line.standard_fen * line.size:
        if not line.computed_fen:  # under the standard, yet nothing computed: the asset test failed
            return [_("计算收入低于低保标准 × 保障人口，但不符合财产条件：测算 0 元")]
        step = explain_line(RULES["dibao.computed_amount"].formula.lines[0], resolve, computed)
        return [
            _("%(words)s = %(figures)s 元")
            % {"words": formula_in_words(step["expression"]), "figures": step["text"]}
        ]
    step = explain_line(RULES["dibao.income_test"].formula.lines[0], resolve, None)
    return [
        _("收入条件不符（%(words)s）：%(figures)s 不成立，测算 0 元")
        % {"words": formula_in_words(step["expression"]), "figures": step["text"]}
    ]


def line_basis(line: Any) -> str:
    """The sentence shown as a line's 计算依据 (a written explanation, where the line has one, wins)."""
    if line.explanation:
        return line.explanation
    from doudi.benefits.evaluation import clause_text
    from doudi.payments.models import LineFlag, PayScheme

    rule, clause = SCHEME_RULES.get(line.scheme, ("", ""))
    parts: list[str] = []
    if clause:
        parts.append(str(clause_text(clause)))
    if line.scheme == "dibao":
        parts += _dibao(line)
        if line.decision:
            parts.append(
                _("评估结论：%(decision)s") % {"decision": DECISION_LABELS.get(line.decision, line.decision)}
            )
    elif line.computed_fen is not None:
        parts.append(
            _("%(scheme)s测算 %(amount)s 元")
            % {
                "scheme": PayScheme(line.scheme).label if line.scheme in PayScheme.values else line.scheme,
                "amount": _yuan(line.computed_fen),
            }
        )
    if rule and line.computed_fen is None:
        parts.append(_("测算金额未定"))
    if line.enrolled_fen is not None:
        parts.append(_("核定金额 %(amount)s 元") % {"amount": _yuan(line.enrolled_fen)})
    if line.flag:
        parts.append(str(LineFlag(line.flag).label) if line.flag in LineFlag.values else line.flag)
    if line.status != "held":
        parts.append(_("本月发放 %(amount)s 元") % {"amount": _yuan(line.amount_fen)})
    return "；".join(p for p in parts if p)
