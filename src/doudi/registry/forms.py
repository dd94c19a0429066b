"""Forms of the registry's console screens (input parsing only; rules live in the services)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.core.forms import ServiceErrorsMixin, bootstrap_widgets
from doudi.registry.importing import MAX_FILE_BYTES
from doudi.registry.models import MemberStanding, SeparateReason
from doudi.registry.services import ECONOMIC_FIELDS, FARMING_AMOUNTS, MAX_COUNT

ALLOWED_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt")


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("导入文件"),
        help_text=_("Excel（.xlsx）或 CSV 文件（UTF-8 或 GB18030 编码），每行一人，最大 50 MB"),
        widget=forms.ClearableFileInput(
            attrs={"class": "form-control", "accept": ",".join(ALLOWED_SUFFIXES)}
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(ALLOWED_SUFFIXES):
            raise forms.ValidationError(
                _("只能导入 .xlsx 或 .csv 文件；旧版 .xls 请先在 Excel 中另存为 .xlsx")
            )
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(_("文件过大（超过 50 MB），请分批导入"))
        return upload


def _yuan(label: str, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label, help_text=help_text, required=False, min_value=0, max_digits=12, decimal_places=2
    )


class HouseholdEconomicsForm(ServiceErrorsMixin, forms.Form):
    """资产与农业收入 (条例第12、13条). Amounts typed in yuan (blank is 0), cleaned to the service's fen;
    the fields are named as the service's, so its errors land on them."""

    deposits_fen = _yuan(_("存款（元）"))
    securities_fen = _yuan(_("有价证券（元）"), _("股票、债券、基金等的市值合计"))
    claims_fen = _yuan(_("债权（元）"), _("借给他人的款项等债权合计"))
    vehicles = forms.IntegerField(label=_("车辆（辆）"), min_value=0, max_value=MAX_COUNT, initial=0)
    disability_vehicles = forms.IntegerField(
        label=_("残疾人代步车（辆）"),
        help_text=_("残疾人功能性补偿代步机动车，不计入车辆，不作为资产核算"),
        min_value=0,
        max_value=MAX_COUNT,
        initial=0,
    )
    boats = forms.IntegerField(label=_("船舶（艘）"), min_value=0, max_value=MAX_COUNT, initial=0)
    houses = forms.IntegerField(label=_("住房（套）"), min_value=0, max_value=MAX_COUNT, initial=0)
    farming = forms.BooleanField(
        label=_("农业家庭：收入按申请前12个月的现金和实物收入减去直接生产成本计算"), required=False
    )
    farming_cash_income_fen = _yuan(_("12个月现金收入（元）"))
    farming_in_kind_income_fen = _yuan(_("12个月实物收入（元）"), _("实物按当地价格折算"))
    farming_direct_costs_fen = _yuan(_("12个月直接生产成本（元）"), _("种子、化肥、农药、农机作业等"))

    MONEY = ("deposits_fen", "securities_fen", "claims_fen", *FARMING_AMOUNTS)

    def __init__(self, *args, household=None, **kwargs):
        if household is not None:
            kwargs.setdefault(
                "initial",
                {
                    f: (Decimal(getattr(household, f)) / 100 if f in self.MONEY else getattr(household, f))
                    for f in ECONOMIC_FIELDS
                },
            )
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)

    def clean(self):
        data = super().clean()
        for f in self.MONEY:
            if f in data:
                data[f] = int((data[f] or Decimal(0)) * 100)
        return data


MARRIED_CHOICES = (("", _("未填写")), ("yes", _("已婚")), ("no", _("未婚")))


class MembershipFactsForm(ServiceErrorsMixin, forms.Form):
    """成员状况 (条例第11条): whether the member counts, and the separate-household option with its reason."""

    standing = forms.ChoiceField(label=_("成员状况"), choices=MemberStanding.choices)
    married = forms.TypedChoiceField(
        label=_("是否已婚"),
        choices=MARRIED_CHOICES,
        required=False,
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        empty_value=None,
        help_text=_("服义务兵役的成员须填写：未婚的义务兵不计入家庭"),
    )
    living_apart_since = forms.DateField(
        label=_("离家居住起始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("宗教教职人员须填写：离家居住满一年的不计入家庭"),
    )
    separate_reason = forms.ChoiceField(
        label=_("单独施保"),
        choices=(("", _("不单独施保")), *SeparateReason.choices),
        required=False,
        help_text=_("成年的重度残疾人或重病卧床人员，可单独作为一户核算"),
    )

    def __init__(self, *args, membership=None, **kwargs):
        if membership is not None:
            married = {True: "yes", False: "no"}.get(membership.married, "")
            kwargs.setdefault(
                "initial",
                {
                    "standing": membership.standing,
                    "married": married,
                    "living_apart_since": membership.living_apart_since,
                    "separate_reason": membership.separate_reason,
                },
            )
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)
