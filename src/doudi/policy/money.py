"""Exact money: amounts are integer fen (分) in int64 arrays, parameters are ``int``/``Decimal`` yuan.

Binary floats never hold an amount. Ratios (rates, percentages, multipliers) are exact ``Fraction``s,
so every product is computed exactly and rounded once, half up, at the end of its own computation.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

Fen: TypeAlias = npt.NDArray[np.int64]
FEN_PER_YUAN = 100


def yuan_to_fen(yuan: int | Decimal) -> int:
    """Exact fen of a yuan amount; refuses sub-fen precision."""
    fen = Fraction(yuan) * FEN_PER_YUAN
    if fen.denominator != 1:
        raise ValueError(f"{yuan} yuan is not a whole number of fen")
    return int(fen)


def round_half_up(value: Fraction | int, unit: int = 1) -> int:
    """Round a scalar half up (towards +infinity on a tie) to a multiple of ``unit``."""
    return math.floor(Fraction(value) / unit + Fraction(1, 2)) * unit


def round_half_up_to_yuan(fen: Fen) -> Fen:
    """Round fen amounts half up to whole yuan; the result is still in fen (a multiple of 100)."""
    return (fen + FEN_PER_YUAN // 2) // FEN_PER_YUAN * FEN_PER_YUAN


def scale_half_up(fen: Fen, ratio: Fraction) -> Fen:
    """``fen × ratio`` rounded half up to the fen, exactly, in integer arithmetic."""
    num, den = ratio.numerator, ratio.denominator
    return (2 * num * fen + den) // (2 * den)


def divide_half_up(fen: Fen, divisor: npt.NDArray[np.int64]) -> Fen:
    """``fen / divisor`` rounded half up to the fen; ``divisor`` must be positive."""
    return (2 * fen + divisor) // (2 * divisor)


def yuan_json(fen: int) -> int | float:
    """A payable amount for JSON: an int when it is whole yuan (always, after rounding)."""
    fen = int(fen)
    return fen // FEN_PER_YUAN if fen % FEN_PER_YUAN == 0 else fen / FEN_PER_YUAN


def exact_yuan_json(fen: int) -> float:
    """An exact (not yet rounded) amount for JSON: yuan with two decimals, e.g. 1200.0 or 433.33."""
    return int(fen) / FEN_PER_YUAN
