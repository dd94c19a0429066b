"""政策参数: read every parameter with its history; the municipal bureau adds dated values."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import Http404
from ninja import Field, Path, Router, Schema
from ninja.responses import Status
from pydantic import BeforeValidator, WithJsonSchema

from doudi.api.auth import STAFF_AUTH
from doudi.api.errors import ErrorsOut
from doudi.api.schemas import DISTRICT_CODE, PARAMETER_NAME, one_of
from doudi.parameters import selectors, services
from doudi.policy.parameters import Kind, ValueType, load_defaults

router = Router(tags=["parameters"], auth=STAFF_AUTH)


def _iso_date_only(value: Any) -> Any:
    # pydantic would also read 0 or 1583020800 as a date; a policy date is written YYYY-MM-DD.
    if isinstance(value, date) or (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("expected a date YYYY-MM-DD")


VALUE_TYPE, KIND = one_of(ValueType), one_of(Kind)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IsoDate = Annotated[
    date, BeforeValidator(_iso_date_only), WithJsonSchema({"type": "string", "format": "date"})
]

ParameterScalar = Annotated[
    Any,
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}),
]


class CurrentOut(Schema):
    region: str = Field(
        description="district code for a region-indexed parameter, '' for the city-wide value"
    )
    since: date | None
    value: int | float | str | None
    reference: str
    verified: bool
    status: str | None = None


class HistoryOut(Schema):
    region: str
    since: date | None
    value: int | float | str | None
    reference: str
    verified: bool
    source: Literal["default", "stored"]
    in_effect: bool = Field(description="false when a later entry for the same date replaced it")
    status: str | None = None
    id: int | None = None
    revision: int | None = None
    reason: str = ""
    created_by: str = ""
    created_at: datetime | None = None


class ParameterOut(Schema):
    name: str
    label: str = Field(description="名称: the parameter's Chinese name")
    description: str = Field(description="说明, in Chinese")
    unit: str = Field(description="单位, in Chinese (元/人/月 …)")
    type: VALUE_TYPE
    kind: KIND
    nullable: bool
    region_indexed: bool
    unverified: bool = Field(description="a value in force is not verified against its source")
    current: list[CurrentOut]
    history: list[HistoryOut]


class ParameterValueIn(Schema):
    effective_from: IsoDate
    value: ParameterScalar = Field(description="number (yuan, ratio, percent, count), date text, or null")
    region: str | None = Field(
        None, description="district code, required for region-indexed parameters", pattern=DISTRICT_CODE
    )
    reference: str = Field(description="the source: document number, statistics release…")
    reason: str
    verified: bool = False
    supersedes: int | None = Field(
        None, ge=1, le=2**63 - 1, description="id of the stored value of the same date being corrected"
    )


def _out(info: selectors.ParameterInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "label": info.label,
        "description": info.description,
        "unit": info.unit,
        "type": info.type,
        "kind": info.kind,
        "nullable": info.nullable,
        "region_indexed": info.region_indexed,
        "unverified": info.unverified,
        "current": [vars(c) for c in info.current],
        "history": [{**vars(h), "id": h.stored_id} for h in info.history],
    }


def _history_row(info: selectors.ParameterInfo, stored_id: int) -> dict[str, Any]:
    row = next(h for h in info.history if h.stored_id == stored_id)
    return {**vars(row), "id": row.stored_id}


ERRORS = frozenset({401, 403, 404, 422, 429})


@router.get(
    "/parameters",
    response={200: list[ParameterOut], ERRORS: ErrorsOut},
    summary="Every parameter with its current value(s) and history",
)
def list_parameters(request, on: IsoDate | None = None):
    """`on` (default today) is the date at which `current` is read."""
    return [_out(info) for info in selectors.parameter_catalogue(on=on)]


@router.get(
    "/parameters/{name}",
    response={200: ParameterOut, ERRORS: ErrorsOut},
    summary="One parameter with its current value(s) and history",
)
def get_parameter(request, name: str = Path(..., pattern=PARAMETER_NAME), on: IsoDate | None = None):
    if name not in load_defaults():
        raise Http404
    return _out(selectors.parameter_catalogue(on=on, name=name)[0])


@router.post(
    "/parameters/{name}/values",
    response={201: HistoryOut, ERRORS | {409}: ErrorsOut},
    summary="Add a dated value (municipal administrator)",
)
def add_value(request, payload: ParameterValueIn, name: str = Path(..., pattern=PARAMETER_NAME)):
    """A correction of a stored value of the same date names it in `supersedes`; otherwise 409."""
    if name not in load_defaults():
        raise Http404
    row = services.add_parameter_value(
        user=request.auth,
        name=name,
        effective_from=payload.effective_from,
        value=payload.value,
        region=payload.region,
        reference=payload.reference,
        reason=payload.reason,
        verified=payload.verified,
        supersedes=payload.supersedes,
    )
    return Status(201, _history_row(selectors.parameter_catalogue(name=name)[0], row.pk))
