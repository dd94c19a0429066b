"""Types shared by the routers' schemas, so the OpenAPI document tells a client the valid values.

`one_of(Channel)` is a string limited to a model's TextChoices (or any str Enum): the choices stay
defined once, on the model, and appear as `enum` in the schema (clients and schemathesis read them).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, Literal

REGION_CODE = r"^[0-9]{6}([0-9]{3}){0,2}$"  # 区划代码: district (6), township (9) or village (12 digits)
DISTRICT_CODE = r"^[0-9]{6}$"
PARAMETER_NAME = r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"  # dibao.standard.urban


def one_of(choices: type[Enum] | Iterable[str], *, exclude: Iterable[str] = (), blank: bool = False) -> Any:
    """A `Literal` of the choices' values (less `exclude`; with "" first when `blank`)."""
    values = [c.value for c in choices] if isinstance(choices, type) else list(choices)
    left_out = set(exclude)
    kept = tuple(([""] if blank else []) + [str(v) for v in values if v not in left_out])
    return Literal[kept]  # type: ignore[valid-type]
