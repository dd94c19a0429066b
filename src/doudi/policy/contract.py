"""The evaluation contract (POLICY.md §4): the JSON that ``doudi evaluate`` and ``POST /api/v1/evaluate`` share.

:func:`evaluate_request` validates the whole request first — every problem is reported, with its path,
and nothing is evaluated if there is one — then evaluates it and answers the §4 JSON, field for field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np

from doudi.policy.engine import Result, evaluate
from doudi.policy.money import exact_yuan_json
from doudi.policy.parameters import (
    OverrideError,
    ParameterError,
    ParameterMissing,
    ParameterSet,
    ValueType,
    load_defaults,
)
from doudi.policy.periods import Period
from doudi.policy.population import (
    CATEGORY_NAMES,
    COUNTED_INCOME,
    NO_DATE,
    SEPARATE_NAMES,
    STANDING_NAMES,
    WORK_NAMES,
    Category,
    Population,
)
from doudi.policy.rules.dibao import COUNTED, MEMBERSHIP
from doudi.policy.schema import (
    INVALID,
    AnyObject,
    Count,
    Day,
    Errors,
    Flag,
    Identifier,
    ListOf,
    Money,
    Month,
    Nullable,
    Obj,
    OneOf,
    Prop,
    Text,
    fail,
    key_path,
    valid,
)

CHILD_CATEGORIES = ("orphan", "de_facto_unsupported_child")
MAX_DEPTH = 32  # a §4 request nests 6 levels (body → households → household → members → member → income)
ADULT_AGE = 18  # 条例第11条: only an adult may be assessed as a separate household
SEPARATE_REASONS = SEPARATE_NAMES[1:]  # severe_disability, bedridden_illness


class InputError(ValueError):
    """Bad input: ``errors`` lists every problem as ``{"path": …, "message": …}``."""

    def __init__(self, errors: Errors) -> None:
        super().__init__("; ".join(f"{e['path'] or '(request)'}: {e['message']}" for e in errors))
        self.errors = errors

    def as_json(self) -> dict[str, Any]:
        return {"errors": self.errors}


# --- the input ---------------------------------------------------------------------------------------


def _check_dibao(dibao: dict[str, Any], path: str, errors: Errors) -> None:
    if dibao["enrolled"] is True and dibao["last_amount"] is None:
        fail(
            errors,
            key_path(path, "last_amount"),
            "required when enrolled is true (the amount paid last month)",
        )


def _check_member(member: dict[str, Any], path: str, errors: Errors) -> None:
    categories = member["categories"] if isinstance(member["categories"], list) else []
    if member["birth_date"] is None and any(c in CHILD_CATEGORIES for c in categories):
        fail(errors, key_path(path, "birth_date"), "required for an orphan or de facto unsupported child")
    covid = member["covid"]
    if isinstance(covid, dict) and covid["confirmed_on"] is not None and valid(covid["confirmed_on"]):
        for name in ("discharged_on", "died_on"):
            if covid[name] is not None and valid(covid[name]) and covid[name] < covid["confirmed_on"]:
                fail(errors, f"{path}.covid.{name}", f"{name} is before confirmed_on")


def _check_membership(membership: dict[str, Any], path: str, errors: Errors) -> None:
    status = membership["status"]
    if status == "serving_conscript" and membership["married"] is None:
        fail(
            errors,
            key_path(path, "married"),
            "required for a serving conscript (条例第11条: only the unmarried are not counted)",
        )
    if status == "clergy" and membership["living_apart_since"] is None:
        fail(
            errors,
            key_path(path, "living_apart_since"),
            "required for clergy (条例第11条: not counted when living apart for more than a year)",
        )
    if status not in ("clergy", INVALID) and membership["living_apart_since"] is not None:
        fail(errors, key_path(path, "living_apart_since"), "only for clergy (status clergy)")


_DATE = Nullable(Day())
_MEMBERSHIP = Obj(
    {
        "status": Prop(OneOf(STANDING_NAMES), default="present"),
        "married": Prop(Nullable(Flag()), default=None),
        "living_apart_since": Prop(_DATE),
        "separate_household": Prop(Nullable(OneOf(SEPARATE_REASONS)), default=None),
    },
    description="条例第11条: whether the member counts in the household — present (default), a serving "
    "conscript (not counted unless married), clergy (not counted when living apart for more than a year), "
    "a prisoner (not counted); separate_household: an adult with severe disability or bedridden illness "
    "assessed as a household alone (not counted in a household with others)",
    check=_check_membership,
    extra_schema={
        "allOf": [
            {
                "if": {"properties": {"status": {"const": "serving_conscript"}}, "required": ["status"]},
                "then": {"required": ["married"], "properties": {"married": {"type": "boolean"}}},
            },
            {
                "if": {"properties": {"status": {"const": "clergy"}}, "required": ["status"]},
                "then": {
                    "required": ["living_apart_since"],
                    "properties": {"living_apart_since": {"type": "string"}},
                },
                "else": {"properties": {"living_apart_since": {"type": "null"}}},
            },
        ]
    },
)
_MEMBER = Obj(
    {
        "id": Prop(Identifier(), required=True),
        "birth_date": Prop(_DATE),
        "income": Prop(
            Obj(
                {name: Prop(Money(), default=0) for name in (*COUNTED_INCOME, "exempt")},
                description="monthly income in yuan; exempt income is not counted",
            )
        ),
        "work": Prop(OneOf(WORK_NAMES), default="none"),
        "categories": Prop(ListOf(OneOf(CATEGORY_NAMES)), default=[]),
        "orphan_care": Prop(Nullable(OneOf(("institutional", "scattered"))), default=None),
        "covid": Prop(
            Obj({"confirmed_on": Prop(_DATE), "discharged_on": Prop(_DATE), "died_on": Prop(_DATE)})
        ),
        "membership": Prop(_MEMBERSHIP),
    },
    check=_check_member,
    extra_schema={
        "if": {
            "properties": {"categories": {"contains": {"enum": list(CHILD_CATEGORIES)}}},
            "required": ["categories"],
        },
        "then": {"required": ["birth_date"]},
    },
)
_HOUSEHOLD = Obj(
    {
        "id": Prop(Identifier(), required=True),
        "region": Prop(
            Text(r"\d{6}(\d{3}){0,2}", "a district code of 6 digits (or a 9/12-digit code within it)"),
            required=True,
        ),
        "area_type": Prop(OneOf(("urban", "rural")), required=True),
        "dibao": Prop(
            Obj(
                {"enrolled": Prop(Flag(), default=False), "last_amount": Prop(Nullable(Money(whole=True)))},
                check=_check_dibao,
                extra_schema={
                    "if": {"properties": {"enrolled": {"const": True}}, "required": ["enrolled"]},
                    "then": {"required": ["last_amount"], "properties": {"last_amount": {"type": "integer"}}},
                },
            )
        ),
        "assets": Prop(
            Obj(
                {
                    "deposits": Prop(Money(), default=0),
                    "vehicles": Prop(Count(), default=0),
                    "houses": Prop(Count(), default=0),
                    "securities": Prop(Money(), default=0),
                    "claims": Prop(Money(), default=0),
                    "boats": Prop(Count(), default=0),
                    "disability_vehicles": Prop(Count(), default=0),
                },
                description="条例第13条, item by item: deposits, securities and claims (yuan), vehicles "
                "(disability vehicles excepted: counted apart and not tested), boats, houses",
            )
        ),
        "application_date": Prop(
            Nullable(
                Day(),
                description="条例第12条: the income is the month before it (default: the period's first day)",
            )
        ),
        "farming": Prop(
            Nullable(
                Obj(
                    {
                        name: Prop(Money(), default=0)
                        for name in ("cash_income", "in_kind_income", "direct_costs")
                    },
                    description="a farming household (条例第12条): the 12 months' cash and in-kind income and "
                    "direct costs in yuan; (cash + in kind − costs) ÷ 12 is counted monthly",
                )
            ),
            default=None,
        ),
        "members": Prop(ListOf(_MEMBER), required=True),
    }
)
_REQUEST = Obj(
    {
        "period": Prop(Month(), required=True),
        "parameters": Prop(
            AnyObject(description="overrides for this evaluation, by dotted name"), default={}
        ),
        "households": Prop(ListOf(_HOUSEHOLD), required=True),
    }
)


def input_json_schema(params: ParameterSet | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the request, with one property per overridable parameter."""
    params = params or load_defaults()
    schema = _REQUEST.json_schema()
    properties: dict[str, Any] = {}
    patterns: dict[str, Any] = {}
    for name, parameter in params.items():
        value_schema = _PARAMETER_SCHEMAS[parameter.type]
        if parameter.nullable:
            value_schema = {"anyOf": [value_schema, {"type": "null"}]}
        title = f"{parameter.label} ({parameter.en['label']}), {parameter.unit}"
        value_schema = {"description": title, **value_schema}
        properties[name] = value_schema
        if parameter.region_indexed:
            patterns["^" + name.replace(".", r"\.") + r"\.\d{6}$"] = value_schema
    schema["properties"]["parameters"] |= {
        "properties": properties,
        "patternProperties": patterns,
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "doudi evaluate — request (POLICY.md §4)",
        **schema,
    }


_PARAMETER_SCHEMAS: dict[ValueType, dict[str, Any]] = {
    ValueType.MONEY: {"type": "number", "minimum": 0, "multipleOf": 0.01},
    ValueType.RATIO: {"type": "number", "minimum": 0},
    ValueType.PERCENT: {"type": "number"},
    ValueType.COUNT: {"type": "integer", "minimum": 0},
    ValueType.DATE: {"type": "string", "format": "date"},
}


def _decode(payload: Mapping[str, Any] | str | bytes) -> Any:
    if isinstance(payload, Mapping):
        document: Any = payload
    else:
        try:
            text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
            document = json.loads(
                text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_no_duplicates
            )
        except (UnicodeDecodeError, ValueError) as error:
            raise InputError([{"path": "", "message": f"malformed JSON: {error}"}]) from None
        except RecursionError:  # thousands of "[" — deeper than the decoder goes
            document = None
    if document is None or nesting_depth(document) > MAX_DEPTH:
        # `[[[[…]]]]` 400 levels deep is 800 bytes; walking it recursively would overflow the stack.
        raise InputError([{"path": "", "message": f"malformed JSON: nested deeper than {MAX_DEPTH} levels"}])
    if _has_lone_surrogate(document):
        # JSON may escape half a UTF-16 pair ("\ud800"); such text cannot be echoed back as UTF-8.
        raise InputError([{"path": "", "message": "malformed JSON: a string holds an unpaired surrogate"}])
    return document


def nesting_depth(document: Any) -> int:
    """How deep objects and arrays nest (a scalar is 0), found without recursion; the walk stops once
    past MAX_DEPTH, since deeper is refused anyway."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping | list):
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return deepest
            children = value.values() if isinstance(value, Mapping) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, Mapping | list))
    return deepest


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, Mapping):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _check_ids(households: list[Any], errors: Errors) -> None:
    """Household ids, and member ids across the whole request, are unique."""
    seen_households: dict[Any, int] = {}
    seen_members: dict[Any, str] = {}
    for h, household in enumerate(households):
        if not isinstance(household, dict):
            continue
        if valid(household["id"]):
            first = seen_households.setdefault(household["id"], h)
            if first != h:
                fail(
                    errors,
                    f"households[{h}].id",
                    f"duplicate household id {household['id']!r} (households[{first}])",
                )
        for m, member in enumerate(household["members"] if isinstance(household["members"], list) else []):
            path = f"households[{h}].members[{m}]"
            if isinstance(member, dict) and valid(member["id"]):
                first_path = seen_members.setdefault(member["id"], path)
                if first_path != path:
                    fail(errors, f"{path}.id", f"duplicate member id {member['id']!r} ({first_path})")


def _check_dated(households: list[Any], period: Period, errors: Errors) -> None:
    """What depends on the period: an application not after it; a separately assessed member an adult."""
    first, last = period.first_day, period.last_day
    for h, household in enumerate(households):
        if not isinstance(household, dict):
            continue
        applied = household["application_date"]
        if applied not in (None, INVALID) and applied > last:
            fail(errors, f"households[{h}].application_date", f"the application is after the period {period}")
        for m, member in enumerate(household["members"] if isinstance(household["members"], list) else []):
            if not isinstance(member, dict) or not isinstance(member["membership"], dict):
                continue
            if member["membership"]["separate_household"] in (None, INVALID):
                continue
            path = f"households[{h}].members[{m}]"
            born = member["birth_date"]
            if born is None:
                fail(errors, f"{path}.birth_date", "required for a member assessed as a separate household")
            elif born is not INVALID and _age(born, first) < ADULT_AGE:
                fail(
                    errors,
                    f"{path}.membership.separate_household",
                    f"only an adult ({ADULT_AGE} or over on {first.isoformat()}) may be assessed as a separate household",
                )


def _age(born: Any, on: Any) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def parse_request(
    payload: Mapping[str, Any] | str | bytes, base_params: ParameterSet | None = None
) -> tuple[Any, ParameterSet]:
    """The validated request and the parameters it runs with; :class:`InputError` lists every problem."""
    errors: Errors = []
    request = _REQUEST.parse(_decode(payload), "", errors)
    params = base_params or load_defaults()
    if request is not INVALID:
        if valid(request["households"]):
            _check_ids(request["households"], errors)
            if valid(request["period"]):
                _check_dated(request["households"], request["period"], errors)
        if valid(request["parameters"]) and request["parameters"]:
            try:
                params = params.with_overrides(request["parameters"])
            except OverrideError as error:
                errors += [
                    {"path": f"parameters.{key}", "message": message} for key, message in error.problems
                ]
    if errors:
        raise InputError(errors)
    return request, params


# --- from the request to arrays -------------------------------------------------------------------


def build_population(households: list[dict[str, Any]]) -> Population:
    """The columnar population of validated households (one loop: a request is small)."""
    members = [(h, m) for h, household in enumerate(households) for m in household["members"]]

    def days(values: list[Any]) -> np.ndarray:
        return np.array(
            [NO_DATE if v is None else np.datetime64(v, "D") for v in values], dtype="datetime64[D]"
        )

    def categories(member: dict[str, Any]) -> int:
        return sum(int(Category[c.upper()]) for c in set(member["categories"]))

    return Population(
        household_id=np.array([h["id"] for h in households], dtype=object),
        household_district=np.array([int(h["region"][:6]) for h in households], dtype=np.int64),
        household_urban=np.array([h["area_type"] == "urban" for h in households], dtype=np.bool_),
        household_enrolled=np.array([h["dibao"]["enrolled"] for h in households], dtype=np.bool_),
        household_last_amount_fen=np.array(
            [h["dibao"]["last_amount"] if h["dibao"]["enrolled"] else 0 for h in households], dtype=np.int64
        ),
        household_deposits_fen=np.array([h["assets"]["deposits"] for h in households], dtype=np.int64),
        household_vehicles=np.array([h["assets"]["vehicles"] for h in households], dtype=np.int64),
        household_houses=np.array([h["assets"]["houses"] for h in households], dtype=np.int64),
        person_id=np.array([m["id"] for _, m in members], dtype=object),
        person_household=np.array([h for h, _ in members], dtype=np.int64),
        person_birth_date=days([m["birth_date"] for _, m in members]),
        person_wage_fen=np.array([m["income"]["wage"] for _, m in members], dtype=np.int64),
        person_counted_income_fen=np.array(
            [sum(m["income"][name] for name in COUNTED_INCOME) for _, m in members], dtype=np.int64
        ),
        person_work=np.array([WORK_NAMES.index(m["work"]) for _, m in members], dtype=np.int8),
        person_categories=np.array([categories(m) for _, m in members], dtype=np.uint8),
        person_orphan_institutional=np.array(
            [m["orphan_care"] == "institutional" for _, m in members], dtype=np.bool_
        ),
        person_covid_confirmed_on=days([m["covid"]["confirmed_on"] for _, m in members]),
        person_covid_discharged_on=days([m["covid"]["discharged_on"] for _, m in members]),
        person_covid_died_on=days([m["covid"]["died_on"] for _, m in members]),
        household_securities_fen=np.array([h["assets"]["securities"] for h in households], dtype=np.int64),
        household_claims_fen=np.array([h["assets"]["claims"] for h in households], dtype=np.int64),
        household_boats=np.array([h["assets"]["boats"] for h in households], dtype=np.int64),
        household_disability_vehicles=np.array(
            [h["assets"]["disability_vehicles"] for h in households], dtype=np.int64
        ),
        household_application_date=days([h["application_date"] for h in households]),
        household_farming=np.array([h["farming"] is not None for h in households], dtype=np.bool_),
        household_farming_net_fen=np.array([_farming_net(h["farming"]) for h in households], dtype=np.int64),
        person_standing=np.array(
            [STANDING_NAMES.index(m["membership"]["status"]) for _, m in members], dtype=np.int8
        ),
        person_married=np.array([m["membership"]["married"] is True for _, m in members], dtype=np.bool_),
        person_apart_since=days([m["membership"]["living_apart_since"] for _, m in members]),
        person_separate=np.array(
            [SEPARATE_NAMES.index(m["membership"]["separate_household"] or "none") for _, m in members],
            dtype=np.int8,
        ),
    )


def _farming_net(farming: dict[str, int] | None) -> int:
    """条例第12条: the 12 months' cash and in-kind income less direct costs (fen); a loss counts as 0."""
    if farming is None:
        return 0
    return max(0, farming["cash_income"] + farming["in_kind_income"] - farming["direct_costs"])


# --- the answer -------------------------------------------------------------------------------------


def evaluate_request(
    payload: Mapping[str, Any] | str | bytes, base_params: ParameterSet | None = None
) -> dict[str, Any]:
    """Evaluate a §4 request (a dict, or JSON text/bytes) and answer the §4 result.

    ``base_params`` are the parameters in force (the bureau's stored values over the defaults); the
    request's ``parameters`` override them for this evaluation only. Raises :class:`InputError`.
    """
    request, params = parse_request(payload, base_params)
    try:
        result = evaluate(build_population(request["households"]), request["period"], params)
    except ParameterMissing as error:
        raise InputError([{"path": "period", "message": str(error)}]) from None
    except ParameterError as error:
        raise InputError([{"path": "parameters", "message": str(error)}]) from None
    return {
        "period": str(result.period),
        "in_emergency_window": result.json_value("emergency.in_window"),
        "warnings": result.warnings,
        "households": [household_json(result, h) for h in range(result.population.households)],
    }


def household_json(result: Result, h: int) -> dict[str, Any]:
    """One household's §4 result, explanation included."""
    value = result.json_value
    return {
        "id": result.population.household_id[h],
        "total": value("total", h),
        "dibao": {
            "standard": value("dibao.standard", h),
            "size": value("dibao.size", h),
            "work_cost_deduction": value("dibao.work_cost_deduction", h),
            "counted_income": value("dibao.counted_income", h),
            "per_capita_income": value("dibao.per_capita_income", h),
            "income_test": value("dibao.income_test", h),
            "asset_test": value("dibao.asset_test", h),
            "eligible": value("dibao.eligible", h),
            "enrolled": bool(result.population.household_enrolled[h]),
            "computed_amount": value("dibao.computed_amount", h),
            "decision": value("dibao.decision", h),
            "amount": value("dibao.amount", h),
            "income_period": value("dibao.income_period", h),
            "farming_income": value("dibao.farming_income", h),
            "asset_items": _asset_items(result, h),
            "asset_limits": _asset_limits(result, h),
        },
        "bereavement": {
            "amount": value("bereavement.amount", h),
            "needs_district_standard": result.is_null("bereavement.amount", h),
        },
        "members": [_member_json(result, p) for p in result.population.members(h)],
        "explanation": result.explain(h),
    }


ASSET_ITEMS = (
    ("deposits", "household_deposits_fen", True),
    ("securities", "household_securities_fen", True),
    ("claims", "household_claims_fen", True),
    ("vehicles", "household_vehicles", False),
    ("disability_vehicles", "household_disability_vehicles", False),
    ("boats", "household_boats", False),
    ("houses", "household_houses", False),
)
# 条例第13条: each limit, the items it adds up and its parameter (the money limit is × standard × size).
ASSET_LIMITS = (
    ("financial_assets", ("deposits", "securities", "claims"), "dibao.assets.deposit_limit_months"),
    ("vehicles", ("vehicles",), "dibao.assets.max_vehicles"),
    ("boats", ("boats",), "dibao.assets.max_boats"),
    ("houses", ("houses",), "dibao.assets.max_houses"),
)


def _asset_raw(result: Result, h: int) -> dict[str, int]:
    return {item: int(getattr(result.population, column)[h]) for item, column, _ in ASSET_ITEMS}


def _asset_items(result: Result, h: int) -> list[dict[str, Any]]:
    """条例第13条: each asset item as reported; disability vehicles are listed but excepted."""
    raw = _asset_raw(result, h)
    return [
        {"item": item, "value": exact_yuan_json(raw[item]) if money else raw[item]}
        | ({"excepted": True} if item == "disability_vehicles" else {})
        for item, _, money in ASSET_ITEMS
    ]


def _asset_limits(result: Result, h: int) -> list[dict[str, Any]]:
    """Each test of the asset test: the items' sum, the limit in force and whether it passes."""
    raw = _asset_raw(result, h)
    on = result.period.first_day
    standard, size = int(result["dibao.standard"][h]), int(result["dibao.size"][h])
    limits = []
    for test, items, name in ASSET_LIMITS:
        read = result.params.value_at(name, on)
        total = sum(raw[item] for item in items)
        if read is None:
            continue
        if test == "financial_assets":
            limit = read.count * standard * size
            shown: tuple[Any, Any] = (exact_yuan_json(total), exact_yuan_json(limit))
        else:
            limit = read.count
            shown = (total, limit)
        limits.append(
            {
                "test": test,
                "items": list(items),
                "value": shown[0],
                "limit": shown[1],
                "passes": total <= limit,
            }
        )
    return limits


def _membership_json(result: Result, p: int) -> dict[str, Any]:
    """条例第11条: whether the member counted, the reason, and the separate-household reason if any."""
    code = int(result["dibao.membership"][p])
    separate = int(result.population.person_separate[p])
    return {
        "counted": bool(COUNTED[code]),
        "reason": MEMBERSHIP[code],
        "separate_household": SEPARATE_NAMES[separate] if separate else None,
    }


def _member_json(result: Result, p: int) -> dict[str, Any]:
    value = result.json_value
    covered = bool(result["price_subsidy.covered"][p])
    trigger = result["price_subsidy.trigger"]
    return {
        "id": result.population.person_id[p],
        "membership": _membership_json(result, p),
        "tekun": {"amount": value("tekun.amount", p)},
        "child_allowance": {
            "amount": value("child_allowance.amount", p),
            "kind": value("child_allowance.kind", p),
            "age_out_deferred": value("child_allowance.age_out_deferred", p),
        },
        "price_subsidy": {
            "amount": value("price_subsidy.amount", p),
            "basis": value("price_subsidy.basis", p),
            "index": trigger.index if covered else None,
            "rise": float(trigger.rise) if covered and trigger.rise is not None else None,
            "multiplier": value("price_subsidy.multiplier") if covered else None,
        },
        "covid_assistance": {
            "amount": value("covid_assistance.amount", p),
            "episode_months": value("covid_assistance.episode_months", p),
            "episode_total": value("covid_assistance.episode_total", p),
        },
    }
