"""Console forms: they parse input; every rule lives in the services (errors come back onto the form)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.core.forms import ServiceErrorsMixin, bootstrap_widgets
from doudi.intake.models import SUBTYPES, CaseType, Channel, CovidEventKind, Department
from doudi.regions.models import Region, RegionLevel


def _subtype_choices():
    choices = [("", _("（无）"))]
    for case_type, options in SUBTYPES.items():
        label = CaseType(case_type).label
        choices += [(key, f"{label} · {name}") for key, name in options.items()]
    return choices


class OpenCaseForm(ServiceErrorsMixin, forms.Form):
    """登记 a walk-in, hotline, patrol or referred request."""

    # A change report has its own page (the household must be in dibao): change_report_new.
    case_type = forms.ChoiceField(
        label=_("案件类型"), choices=[c for c in CaseType.choices if c[0] != CaseType.CHANGE_REPORT]
    )
    subtype = forms.ChoiceField(
        label=_("细类"),
        choices=(),
        required=False,
        help_text=_("临时救助须选择急难型或支出型；儿童保障须选择儿童类别"),
    )
    channel = forms.ChoiceField(
        label=_("来源渠道"), choices=[c for c in Channel.choices if c[0] != Channel.PORTAL]
    )
    region = forms.ModelChoiceField(label=_("责任单位"), queryset=Region.objects.none())
    applicant_id_number = forms.CharField(
        label=_("申请人身份证号"),
        max_length=24,
        required=False,
        help_text=_("已登记在本辖区的人员将自动关联"),
    )
    applicant_name = forms.CharField(label=_("申请人姓名"), max_length=64, required=False)
    applicant_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    summary = forms.CharField(
        label=_("诉求与情况"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000
    )
    on_behalf = forms.BooleanField(label=_("村（社区）代为申请"), required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subtype"].choices = _subtype_choices()
        if user is not None:
            self.fields["region"].queryset = Region.objects.visible_to(user).filter(
                level__gte=RegionLevel.DISTRICT
            )
            self.fields["region"].initial = user.region_id
        self.fields["region"].label_from_instance = lambda r: f"{'　' * (r.level - 2)}{r.name}"
        bootstrap_widgets(self)


class ChangeReportForm(ServiceErrorsMixin, forms.Form):
    """家庭情况变化报告 filed for a household in dibao (a village worker on its behalf, 条例第5、14条)."""

    applicant_id_number = forms.CharField(
        label=_("报告人身份证号"), max_length=24, help_text=_("在保家庭的任一成员（本辖区登记在册）")
    )
    applicant_phone = forms.CharField(
        label=_("联系电话"), max_length=20, required=False, help_text=_("留空则用登记的电话；用于短信告知")
    )
    kinds = forms.MultipleChoiceField(label=_("发生变化的事项"), widget=forms.CheckboxSelectMultiple)
    summary = forms.CharField(label=_("变化情况"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    on_behalf = forms.BooleanField(label=_("村（社区）代为报告"), required=False)

    def __init__(self, *args, **kwargs):
        from doudi.intake.workflows.change_report import KINDS

        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = [(k, str(label)) for k, label in KINDS]
        bootstrap_widgets(self)


class TransferForm(ServiceErrorsMixin, forms.Form):
    to_region = forms.ModelChoiceField(label=_("接收单位"), queryset=Region.objects.none())
    reason = forms.CharField(label=_("转办理由"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    due_on = forms.DateField(
        label=_("接收期限"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("留空则为3个工作日"),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Any district (e.g. where a non-local applicant lives), or a township/village of the officer's own subtree.
        own = Region.objects.visible_to(user).values("pk") if user is not None else Region.objects.none()
        self.fields["to_region"].queryset = Region.objects.filter(models_q_district_or_own(own)).order_by(
            "path"
        )
        self.fields["to_region"].label_from_instance = lambda r: f"{'　' * (r.level - 2)}{r.name}（{r.code}）"
        bootstrap_widgets(self)


def models_q_district_or_own(own):
    from django.db.models import Q

    return Q(level=RegionLevel.DISTRICT) | Q(pk__in=own, level__gt=RegionLevel.DISTRICT)


class ReferralForm(ServiceErrorsMixin, forms.Form):
    department = forms.ChoiceField(
        label=_("转介部门"), choices=[c for c in Department.choices if c[0] != Department.CIVIL_AFFAIRS]
    )
    to_unit_name = forms.CharField(label=_("接收单位名称"), max_length=100, required=False)
    reason = forms.CharField(label=_("转介事项"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    ack_due_on = forms.DateField(
        label=_("签收期限"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("留空则为2个工作日"),
    )
    answer_due_on = forms.DateField(
        label=_("答复期限"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("留空则为10个工作日"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class CovidEventForm(ServiceErrorsMixin, forms.Form):
    id_number = forms.CharField(label=_("身份证号"), max_length=24)
    kind = forms.ChoiceField(label=_("事件"), choices=CovidEventKind.choices)
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class CovidImportForm(forms.Form):
    file = forms.FileField(
        label=_("卫健部门名单（.xlsx 或 .csv）"),
        help_text=_("列：身份证号、姓名、事件（确诊/出院/死亡）、日期、备注；有任何错误则整份不导入"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class HolidayYearForm(forms.Form):
    """录入节假日安排 (intake/holidays.py)."""

    year = forms.IntegerField(label=_("年份"), min_value=2000, max_value=2100)
    source = forms.CharField(label=_("依据（国务院办公厅通知的文号或标题）"), max_length=200)
    file = forms.FileField(
        label=_("节假日安排（.csv 或 .xlsx）"),
        help_text=_("列：日期（YYYY-MM-DD）、安排（休/班）、节日；未列出的日期按周一至周五上班、周末休息"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)
