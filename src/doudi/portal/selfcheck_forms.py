"""The self-check's forms (自助试算): what a citizen types on a phone, read leniently and checked
strictly — full-width digits, thousands commas, a trailing 元 and invisible characters are read as
the number they mean; a negative, too large or malformed amount, a date in the future and a row
without its relation are field errors. No name and no ID number is asked."""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.core.fields import clean_count, clean_day
from doudi.core.forms import bootstrap_widgets
from doudi.core.text import clean_text
from doudi.policy.money import yuan_to_fen
from doudi.policy.schema import MAX_YUAN
from doudi.portal import selfcheck
from doudi.portal.forms import MEMBER_RELATIONS
from doudi.regions.models import Region, RegionLevel

MAX_ASSET_COUNT = 99
EARLIEST_BIRTH = datetime.date(1900, 1, 1)
EARLIEST_CONFIRMED = datetime.date(2019, 12, 1)  # the epidemic's first cases
_NUMBER = re.compile(r"\d+(\.\d+)?")
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:[-/.月]\s*(?:\d{1,2}\s*日?)?)?")
TOO_LONG = gettext_lazy("内容过长，请只填写数字。")


def _typed(raw: Any) -> str:
    """What the citizen meant to type: NFKC (full-width digits and punctuation), invisible characters
    dropped, spaces removed."""
    return clean_text(unicodedata.normalize("NFKC", "" if raw is None else str(raw))).replace(" ", "")


def parse_yuan(raw: Any) -> Decimal:
    """An amount in yuan (blank: 0): 1500, 1,500, 1500.5, １５００元. Refused, with a message for the
    field: anything else, a negative amount, more than two decimals, more than MAX_YUAN."""
    text = _typed(raw).replace(",", "").removesuffix("元")
    if not text:
        return Decimal(0)
    if text.startswith("-") and _NUMBER.fullmatch(text[1:]):
        raise ValidationError(_("金额不能为负数。"), code="negative")
    if not _NUMBER.fullmatch(text):
        raise ValidationError(_("请填写金额（数字），例如 1500 或 1500.50。"), code="invalid")
    try:
        amount = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain decimals
        raise ValidationError(_("请填写金额（数字），例如 1500 或 1500.50。"), code="invalid") from None
    if amount > MAX_YUAN:
        raise ValidationError(_("金额不能超过 %(max)s 元。") % {"max": MAX_YUAN}, code="max")
    try:
        yuan_to_fen(amount)
    except ValueError:
        raise ValidationError(_("金额最多保留两位小数（到分）。"), code="decimals") from None
    return amount


def parse_count(raw: Any, maximum: int = MAX_ASSET_COUNT) -> int:
    """A whole number from 0 to `maximum` (blank: 0)."""
    text = _typed(raw)
    if not text:
        return 0
    errors: dict[str, str] = {}
    value = clean_count(errors, "n", text, maximum=maximum)
    if errors:
        raise ValidationError(errors["n"], code="count")
    return value


def parse_month(raw: Any, today: datetime.date) -> datetime.date | None:
    """出生年月 as the 1st of that month (blank: None): 2012-05, 2012-05-17, 2012年5月, 2012/5."""
    text = _typed(raw)
    if not text:
        return None
    match = _MONTH.fullmatch(text)
    try:
        month = datetime.date(int(match[1]), int(match[2]), 1) if match else None
    except ValueError:
        month = None
    if month is None:
        raise ValidationError(_("请按“年-月”填写，例如 2012-05。"), code="invalid")
    if month < EARLIEST_BIRTH:
        raise ValidationError(_("出生年月不能早于 1900 年。"), code="min")
    if month > today.replace(day=1):
        raise ValidationError(_("出生年月不能晚于本月。"), code="future")
    return month


def parse_day(raw: Any, today: datetime.date, earliest: datetime.date) -> datetime.date | None:
    """A date not in the future (blank: None), on or after `earliest`."""
    text = _typed(raw)
    if not text:
        return None
    errors: dict[str, str] = {}
    day = clean_day(errors, "d", text, today=today)
    if errors:
        raise ValidationError(errors["d"], code="invalid")
    if day < earliest:
        raise ValidationError(_("日期不能早于 %(day)s。") % {"day": earliest.isoformat()}, code="min")
    return day


def _text_input(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off", **attrs})


def _yuan_field(label: Any, help_text: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=32,
        help_text=help_text,
        error_messages={"max_length": TOO_LONG},
        widget=_text_input(inputmode="decimal", placeholder="0"),
    )


def _date_field(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=20,
        error_messages={"max_length": TOO_LONG},
        widget=_text_input(type="date"),
    )


VEHICLES_HELP = gettext_lazy("机动车不算残疾人功能性补偿代步机动车。")


class SelfCheckForm(forms.Form):
    """The household: where, urban or rural, assets, and two situations of the whole family."""

    district = forms.CharField(widget=forms.HiddenInput, max_length=12)
    area_type = forms.ChoiceField(
        label=gettext_lazy("户籍或居住地属于"),
        choices=[("urban", gettext_lazy("城市（城镇）")), ("rural", gettext_lazy("农村"))],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("请选择城市或农村。")},
    )
    deposits = _yuan_field(
        gettext_lazy("全家存款、理财等金融资产合计（元）"), gettext_lazy("没有填 0 或不填")
    )
    vehicles = forms.CharField(
        label=gettext_lazy("机动车（辆）"),
        required=False,
        max_length=8,
        error_messages={"max_length": TOO_LONG},
        widget=_text_input(inputmode="numeric", placeholder="0"),
    )
    boats = forms.CharField(
        label=gettext_lazy("船舶（艘）"),
        required=False,
        max_length=8,
        error_messages={"max_length": TOO_LONG},
        widget=_text_input(inputmode="numeric", placeholder="0"),
    )
    houses = forms.CharField(
        label=gettext_lazy("住房（套）"),
        required=False,
        max_length=8,
        error_messages={"max_length": TOO_LONG},
        widget=_text_input(inputmode="numeric", placeholder="0"),
    )
    registered_poor = forms.BooleanField(label=gettext_lazy("是建档立卡贫困户"), required=False)
    sudden_hardship = forms.BooleanField(
        label=gettext_lazy("因疫情、意外事故、重病等突发原因，基本生活暂时出现严重困难"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self, large=True)

    def clean_district(self) -> str:
        code = clean_text(self.cleaned_data["district"])
        if not Region.objects.filter(code=code, level=RegionLevel.DISTRICT).exists():
            raise ValidationError(_("区县无效，请从区县页面重新进入试算。"))
        return code

    def clean_deposits(self) -> Decimal:
        return parse_yuan(self.cleaned_data["deposits"])

    def clean_vehicles(self) -> int:
        return parse_count(self.cleaned_data["vehicles"])

    def clean_boats(self) -> int:
        return parse_count(self.cleaned_data["boats"])

    def clean_houses(self) -> int:
        return parse_count(self.cleaned_data["houses"])


class PersonForm(forms.Form):
    """One person living with the citizen and sharing the household's income (the first row is the
    citizen): the relation, last month's income, and what concerns the rules — birth month (children),
    situations, COVID dates."""

    relation = forms.ChoiceField(
        label=gettext_lazy("与本人关系"), required=False, choices=[("", "—"), *MEMBER_RELATIONS]
    )
    income = _yuan_field(
        gettext_lazy("上月收入（元）"),
        gettext_lazy("工资、经营、种养殖、租金、养老金等合计；没有收入填 0 或不填"),
    )
    birth_month = forms.CharField(
        label=gettext_lazy("出生年月"),
        required=False,
        max_length=20,
        help_text=gettext_lazy("儿童必填，例如 2012-05"),
        error_messages={"max_length": TOO_LONG},
        widget=_text_input(type="month", placeholder="2012-05"),
    )
    situations = forms.MultipleChoiceField(
        label=gettext_lazy("是否属于以下情况（可多选）"),
        required=False,
        choices=list(selfcheck.SITUATIONS.items()),
        widget=forms.CheckboxSelectMultiple,
    )
    confirmed_on = _date_field(gettext_lazy("新冠肺炎确诊日期"))
    discharged_on = _date_field(gettext_lazy("出院日期（仍在治疗的不填）"))
    died_on = _date_field(gettext_lazy("去世日期（如不幸去世）"))

    def __init__(self, *args: Any, index: int | None = None, today: datetime.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.index, self.today = index, today
        bootstrap_widgets(self, large=True)

    def clean_income(self) -> Decimal:
        return parse_yuan(self.cleaned_data["income"])

    def clean_birth_month(self) -> datetime.date | None:
        return parse_month(self.cleaned_data["birth_month"], self.today)

    def clean_confirmed_on(self) -> datetime.date | None:
        return parse_day(self.cleaned_data["confirmed_on"], self.today, EARLIEST_CONFIRMED)

    def clean_discharged_on(self) -> datetime.date | None:
        return parse_day(self.cleaned_data["discharged_on"], self.today, EARLIEST_CONFIRMED)

    def clean_died_on(self) -> datetime.date | None:
        return parse_day(self.cleaned_data["died_on"], self.today, EARLIEST_CONFIRMED)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.index == 0:
            data["relation"] = "self"
        elif "relation" in data and not data["relation"]:
            self.add_error("relation", _("请选择与本人的关系。"))
        situations = set(data.get("situations") or ())
        if situations & set(selfcheck.CHILD_SITUATIONS) and "birth_month" in data and not data["birth_month"]:
            self.add_error("birth_month", _("孤儿、事实无人抚养儿童请填写出生年月。"))
        confirmed = data.get("confirmed_on")
        for name, message in (
            ("discharged_on", _("出院日期不能早于确诊日期。")),
            ("died_on", _("去世日期不能早于确诊日期。")),
        ):
            day = data.get(name)
            if day is None:
                continue
            if "confirmed_on" in data and confirmed is None:
                self.add_error(name, _("请先填写确诊日期。"))
            elif confirmed is not None and day < confirmed:
                self.add_error(name, message)
        return data


class BasePersonFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, today: datetime.date, **kwargs: Any) -> None:
        self.today = today
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {"index": index, "today": self.today}

    def clean(self) -> None:
        # Not validate_min: a blank first row is a valid answer (one person, no income) — but a
        # request without any row is not a self-check.
        if self.total_form_count() == 0:
            raise ValidationError(_("请至少填写本人的情况。"), code="too_few_forms")


PersonFormSet = forms.formset_factory(
    PersonForm,
    formset=BasePersonFormSet,
    extra=0,
    min_num=1,
    max_num=selfcheck.MAX_PEOPLE,
    validate_max=True,
    absolute_max=selfcheck.MAX_PEOPLE,
)
PREFIX = "people"


def bind(data: Any, today: datetime.date) -> tuple[SelfCheckForm, BasePersonFormSet]:
    return SelfCheckForm(data), PersonFormSet(data, prefix=PREFIX, today=today)


def household_from(form: SelfCheckForm, people: BasePersonFormSet) -> selfcheck.Household:
    """The validated forms as the self-check's household (blank extra rows left out)."""
    d = form.cleaned_data
    rows = [f.cleaned_data for i, f in enumerate(people.forms) if i == 0 or f.has_changed()]
    return selfcheck.Household(
        district=d["district"],
        area_type=d["area_type"],
        deposits_fen=yuan_to_fen(d["deposits"]),
        vehicles=d["vehicles"],
        boats=d["boats"],
        houses=d["houses"],
        registered_poor=bool(d.get("registered_poor")),
        sudden_hardship=bool(d.get("sudden_hardship")),
        people=tuple(
            selfcheck.Person(
                relation=row["relation"],
                income_fen=yuan_to_fen(row["income"]),
                birth_month=row["birth_month"],
                situations=frozenset(row.get("situations") or ()),
                confirmed_on=row["confirmed_on"],
                discharged_on=row["discharged_on"],
                died_on=row["died_on"],
            )
            for row in rows
        ),
    )


def posted_fields(form: SelfCheckForm, people: BasePersonFormSet) -> list[tuple[str, str]]:
    """(name, value) of everything the citizen typed, to carry in hidden fields to the application
    form (the browser sends it back; nothing is kept on the server)."""
    out: list[tuple[str, str]] = []
    forms_ = [form, people.management_form, *people.forms]
    for f in forms_:
        for name in f.fields:
            key = f.add_prefix(name)
            values = f.data.getlist(key) if hasattr(f.data, "getlist") else [f.data.get(key, "")]
            out += [(key, str(v)) for v in values if v not in (None, "")]
    return out


# --- into the application form -----------------------------------------------------------------------


def application_initial(
    household: selfcheck.Household, scheme: str, row: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The application form's initial values and member rows from a self-check: the district, the
    citizen's income, each other person's relation and income, the kind of child (children's scheme,
    `row` = the child's row), and a reason that says what the self-check was told — all editable."""
    from doudi.intake.models import SUBTYPES

    people = household.people
    total = sum(p.income_fen for p in people)
    reason = _(
        "（据自助试算）共同生活 %(n)s 人，上月家庭收入合计 %(income)s 元；存款等金融资产 %(deposits)s 元，"
        "机动车 %(vehicles)s 辆，住房 %(houses)s 套。"
    ) % {
        "n": len(people),
        "income": selfcheck.yuan_text(Decimal(total) / 100),
        "deposits": selfcheck.yuan_text(Decimal(household.deposits_fen) / 100),
        "vehicles": household.vehicles,
        "houses": household.houses,
    }
    initial: dict[str, Any] = {
        "district": household.district,
        "applicant_income": Decimal(people[0].income_fen) / 100,
        "reason": reason,
    }
    try:
        index = int(str(row))
    except ValueError:
        index = -1
    if 0 <= index < len(people):
        kinds = SUBTYPES.get(scheme, {})
        order = (*selfcheck.CHILD_SITUATIONS, "hardship_child")
        kind = next((s for s in order if s in people[index].situations and s in kinds), "")
        if kind:
            initial["subtype"] = kind
    rows = [
        {"relation": p.relation, "income": Decimal(p.income_fen) / 100}
        for p in people[1:]
        if p.relation in dict(MEMBER_RELATIONS)
    ]
    return initial, rows


class _PrefilledMembers(forms.BaseFormSet):
    """Member rows shown filled but counted as extra rows: a row the citizen empties is left out, as
    an untouched extra row is (never required because it was pre-filled)."""

    def initial_form_count(self) -> int:
        return super().initial_form_count() if self.is_bound else 0


def prefilled_members(rows: list[dict[str, Any]]) -> forms.BaseFormSet:
    from doudi.portal.forms import MemberForm
    from doudi.portal.services import MAX_MEMBERS

    rows = rows[:MAX_MEMBERS]
    formset = forms.formset_factory(
        MemberForm,
        formset=_PrefilledMembers,
        extra=max(1, len(rows)),
        max_num=MAX_MEMBERS,
        validate_max=True,
        absolute_max=MAX_MEMBERS,
    )
    return formset(prefix="members", initial=rows or None)
