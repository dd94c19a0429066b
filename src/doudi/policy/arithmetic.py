"""The arithmetic of a rule, shown in its explanation step: ``636 × 2 − 300 = 972``.

A rule may declare the formula it computes (``formula=value("dibao.standard") * value("dibao.size")
- value("dibao.counted_income")``); the explanation fills in one household's operands and answers
them as structured data — the expression by operand names, each operand with its value, the exact
result — plus the same line with the numbers written in (``text``). A property test checks that
every declared formula gives the rule's own value, so the two cannot drift apart.

Operands are the values of other rules (:func:`value`), parameters in force on the period's first day
(:func:`param`) and household data (:func:`data`). Numbers are exact (``Fraction``); money shows in
yuan. The module is pure Python: the engine resolves the operands.

Regulation articles (:class:`Article`) cited beside the notice's clause live here too: they are what
the explanation shows for a rule, as data (the instrument's title and, where known, the article).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Literal, NamedTuple

OperandKind = Literal["value", "param", "data"]
Number = Fraction | bool


# --- regulation articles ---------------------------------------------------------------------------

# The instruments the rules apply (notice/REQUIREMENTS.md, "The standing law the workflows follow").
CQ_DIBAO_REGULATION = "重庆市城乡居民最低生活保障条例"
SOCIAL_ASSISTANCE_MEASURES = "社会救助暂行办法"


class Article(NamedTuple):
    """An article of a regulation; ``article`` is ``None`` where only the instrument is cited."""

    instrument: str
    article: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"instrument": self.instrument, "article": self.article}


# --- formulas ------------------------------------------------------------------------------------

_PRECEDENCE = {"<": 0, "≤": 0, "+": 1, "−": 1, "×": 2, "÷": 2}
_COMPARISONS = {"<", "≤"}


class Term:
    """A node of a formula; Python's operators build the tree (``a * b - c``, ``a < b``)."""

    def __mul__(self, other: Term) -> Op:
        return Op("×", self, other)

    def __sub__(self, other: Term) -> Op:
        return Op("−", self, other)

    def __add__(self, other: Term) -> Op:
        return Op("+", self, other)

    def __truediv__(self, other: Term) -> Op:
        return Op("÷", self, other)

    def __lt__(self, other: Term) -> Op:  # type: ignore[override]
        return Op("<", self, other)

    def __le__(self, other: Term) -> Op:  # type: ignore[override]
        return Op("≤", self, other)


@dataclass(frozen=True, eq=False)
class Operand(Term):
    kind: OperandKind
    name: str


@dataclass(frozen=True, eq=False)
class Op(Term):
    symbol: str
    left: Term
    right: Term


def value(name: str) -> Operand:
    """The value of rule ``name`` for the row explained (a household rule's value for a member's step)."""
    return Operand("value", name)


def param(name: str) -> Operand:
    """A city-wide parameter in force on the first day of the period."""
    return Operand("param", name)


def data(name: str) -> Operand:
    """A household's own data, by its §4 name (``assets.deposits``)."""
    return Operand("data", name)


@dataclass(frozen=True)
class Formula:
    """What a rule computes, line by line (the asset test has three comparisons).

    ``when`` names a rule whose value must be true for the formula to apply to a row (the top-up is
    paid only when eligible, else the value is 0 and no arithmetic is shown).
    """

    lines: tuple[Op, ...]
    when: str | None = None


def formula(*lines: Op, when: str | None = None) -> Formula:
    return Formula(tuple(lines), when)


# --- explaining one row -------------------------------------------------------------------------------

Resolve = Callable[[Operand], Fraction]


def explain_line(line: Op, resolve: Resolve, shown: Fraction | bool | None) -> dict[str, Any]:
    """One line for one row: ``expression`` (by names), ``operands``, ``result`` and ``text``.

    ``shown`` is the rule's own value for the row: when the exact result differs (the top-up is
    rounded to the yuan), the text ends with ``→ shown``.
    """
    operands: dict[str, Fraction] = {}

    def evaluate(term: Term) -> Number:
        if isinstance(term, Operand):
            operands.setdefault(term.name, resolve(term))
            return operands[term.name]
        assert isinstance(term, Op)
        left, right = evaluate(term.left), evaluate(term.right)
        assert not isinstance(left, bool) and not isinstance(right, bool)
        match term.symbol:
            case "×":
                return left * right
            case "−":
                return left - right
            case "+":
                return left + right
            case "÷":
                return left / right if right else Fraction(0)
            case "<":
                return left < right
            case _:
                return left <= right

    result = evaluate(line)
    text = _text(line, operands)
    if line.symbol in _COMPARISONS:
        right = line.right
        if isinstance(right, Op):  # 1300 < 1638 (= 546 × 3): the compared value, then how it is made
            text = f"{_text(line.left, operands)} {line.symbol} {number(evaluate(right))} (= {_text(right, operands)})"
    else:
        text += f" = {number(result)}"
        if shown is not None and not isinstance(shown, bool) and not isinstance(result, bool):
            if _two_places(shown) != _two_places(result):
                text += f" → {number(shown)}"
    return {
        "expression": _text(line, None),
        "operands": [{"name": name, "value": json_number(v)} for name, v in operands.items()],
        "result": result if isinstance(result, bool) else json_number(result),
        "text": text,
    }


def _text(term: Term, operands: dict[str, Fraction] | None, parent: int = -1, right: bool = False) -> str:
    """The term with names (``operands`` None) or numbers; parentheses only where precedence needs them."""
    if isinstance(term, Operand):
        return term.name if operands is None else number(operands[term.name])
    assert isinstance(term, Op)
    own = _PRECEDENCE[term.symbol]
    inner = f"{_text(term.left, operands, own)} {term.symbol} {_text(term.right, operands, own, right=True)}"
    needs = own < parent or (right and own == parent and term.symbol in {"−", "÷"})
    return f"({inner})" if needs else inner


def _two_places(amount: Fraction) -> Decimal:
    exact = Decimal(amount.numerator) / Decimal(amount.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def number(amount: Number) -> str:
    """An exact number as written: ``972``, ``433.33``, ``0.2`` (half up to 2 decimals)."""
    if isinstance(amount, bool):
        return str(amount).lower()
    if amount.denominator == 1:
        return str(amount.numerator)
    return format(_two_places(amount).normalize(), "f")


def json_number(amount: Fraction) -> int | float:
    return amount.numerator if amount.denominator == 1 else float(_two_places(amount))
