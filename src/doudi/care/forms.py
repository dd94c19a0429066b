"""Forms of the care pages. They only parse: the services clean (invisible characters, ranges,
duplicates) and decide, and their ValidationError is put back on the fields it names."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.care.models import (
    AdmissionKind,
    CareKind,
    CarerAbsence,
    ClosureReason,
    ContactMethod,
    DependentKind,
    GuardianAbsence,
    HotlineCategory,
    HotlineOutcome,
    Institution,
    InstitutionKind,
    PersonKind,
    PlacementReason,
    ProviderKind,
)
from doudi.care.rules import HealthCode, PsychAidStep
from doudi.core.forms import ServiceErrorsMixin, bootstrap_widgets
from doudi.regions.models import Region


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class CareForm(ServiceErrorsMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class InstitutionForm(CareForm):
    name = forms.CharField(label=_("机构名称"), max_length=100)
    kind = forms.ChoiceField(label=_("机构类型"), choices=InstitutionKind.choices)
    region = forms.ModelChoiceField(label=_("所在区划"), queryset=Region.objects.none(), empty_label=None)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    capacity = forms.CharField(label=_("床位数"), max_length=12)
    contact_name = forms.CharField(label=_("联系人"), max_length=64)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=30)
    active = forms.BooleanField(label=_("运营中"), required=False, initial=True)

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()


class ScreeningForm(CareForm):
    person_kind = forms.ChoiceField(label=_("人员类别"), choices=PersonKind.choices, widget=forms.RadioSelect)
    admission_kind = forms.ChoiceField(
        label=_("筛查情形"), choices=AdmissionKind.choices, widget=forms.RadioSelect
    )
    name = forms.CharField(label=_("姓名"), max_length=64)
    id_number = forms.CharField(label=_("身份证号"), max_length=30)
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    origin = forms.CharField(
        label=_("来源地"), max_length=100, help_text=_("从何地来（省、市、区县），如 湖北省武汉市江汉区")
    )
    trajectory = forms.CharField(
        label=_("14天行程"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("近14天到过的地点，每行一个；一直在本地时留空"),
    )
    temperature = forms.CharField(label=_("体温（℃）"), max_length=10)
    health_code = forms.ChoiceField(label=_("渝康码"), choices=HealthCode.choices, widget=forms.RadioSelect)


class OutingForm(CareForm):
    resident_name = forms.CharField(label=_("入住人员姓名"), max_length=64)
    resident_id_number = forms.CharField(label=_("身份证号"), max_length=30)
    destination = forms.CharField(label=_("就医机构"), max_length=100)
    purpose = forms.CharField(label=_("就医事由"), max_length=200, help_text=_("只限就医外出（通知三(一)）"))
    green_channel = forms.BooleanField(label=_("经绿色通道"), required=False)
    escort = forms.CharField(label=_("陪同人员"), max_length=64, required=False)
    left_at = forms.DateTimeField(label=_("外出时间"), required=False, widget=DateTimeInput())


class ReturnForm(CareForm):
    returned_at = forms.DateTimeField(label=_("返回时间"), required=False, widget=DateTimeInput())
    return_note = forms.CharField(label=_("返回情况"), max_length=200, required=False)


class DailyReportForm(CareForm):
    day = forms.DateField(label=_("日期"), widget=DateInput())
    residents = forms.CharField(label=_("在院人数"), max_length=12)
    staff_on_site = forms.CharField(label=_("在岗工作人员"), max_length=12)
    symptomatic = forms.CharField(label=_("有发热、咳嗽等症状人数"), max_length=12, initial="0")
    note = forms.CharField(
        label=_("情况说明"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("有症状人员时必填：症状和处置情况"),
    )


class RiskAreaForm(CareForm):
    name = forms.CharField(label=_("地区名称"), max_length=64, help_text=_("如 湖北省、武汉市、某区县"))
    listed_on = forms.DateField(label=_("列入日期"), widget=DateInput())
    reason = forms.CharField(label=_("依据"), max_length=200)


class ContactForm(CareForm):
    contacted_on = forms.DateField(label=_("联系日期"), widget=DateInput())
    method = forms.ChoiceField(label=_("联系方式"), choices=ContactMethod.choices, widget=forms.RadioSelect)
    findings = forms.CharField(
        label=_("了解到的情况"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("身体、生活、照料、情绪等情况"),
    )
    need = forms.CharField(
        label=_("需要帮助的事项"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("没有时留空"),
    )
    open_case = forms.BooleanField(label=_("同时开立跟进案件（一门受理）"), required=False)


class ChildReportForm(CareForm):
    region = forms.ModelChoiceField(label=_("所在村社区"), queryset=Region.objects.none(), empty_label=None)
    child_name = forms.CharField(label=_("儿童姓名"), max_length=64)
    child_id_number = forms.CharField(
        label=_("身份证号"), max_length=30, required=False, help_text=_("不知道时留空")
    )
    child_age = forms.CharField(label=_("年龄"), max_length=4)
    location = forms.CharField(label=_("儿童所在地点"), max_length=200)
    absence = forms.ChoiceField(label=_("无人监护原因"), choices=GuardianAbsence.choices)
    guardian_name = forms.CharField(label=_("原监护人"), max_length=64, required=False)
    situation = forms.CharField(
        label=_("儿童现状"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("身体、饮食、住处、谁在身边"),
    )

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()


class AcknowledgeForm(CareForm):
    note = forms.CharField(label=_("说明"), max_length=2000, required=False)
    expected_version = forms.IntegerField(widget=forms.HiddenInput)


class ArrangementForm(CareForm):
    kind = forms.ChoiceField(label=_("照料方式"), choices=CareKind.choices)
    carer_name = forms.CharField(label=_("临时监护/照料人"), max_length=64)
    carer_phone = forms.CharField(label=_("联系电话"), max_length=30)
    place = forms.CharField(label=_("照料地点"), max_length=200)
    starts_on = forms.DateField(label=_("起始日期"), widget=DateInput())
    expected_version = forms.IntegerField(widget=forms.HiddenInput)


class ChildFollowUpForm(CareForm):
    note = forms.CharField(label=_("回访情况"), widget=forms.Textarea(attrs={"rows": 2}))
    guardian_back = forms.BooleanField(label=_("监护人已返回，结案"), required=False)
    expected_version = forms.IntegerField(widget=forms.HiddenInput)


class CareArrangementForm(CareForm):
    id_number = forms.CharField(
        label=_("照料对象身份证号"), max_length=30, help_text=_("本辖区登记在册的人员")
    )
    dependent_kind = forms.ChoiceField(label=_("对象类别"), choices=DependentKind.choices)
    carer_name = forms.CharField(label=_("原监护/照料人"), max_length=64)
    carer_absence = forms.ChoiceField(label=_("原照料人情况"), choices=CarerAbsence.choices)
    provider_kind = forms.ChoiceField(label=_("照料提供方式"), choices=ProviderKind.choices)
    provider_name = forms.CharField(label=_("照料提供人/机构"), max_length=100)
    provider_phone = forms.CharField(label=_("联系电话"), max_length=30)
    starts_on = forms.DateField(label=_("起始日期"), widget=DateInput())
    ends_on = forms.DateField(label=_("照料至"), widget=DateInput())


class PlacementForm(CareForm):
    id_number = forms.CharField(label=_("老年人身份证号"), max_length=30, help_text=_("本辖区登记在册的人员"))
    institution = forms.ModelChoiceField(label=_("养老机构"), queryset=Institution.objects.none())
    reason = forms.ChoiceField(label=_("无人照料原因"), choices=PlacementReason.choices)
    family_name = forms.CharField(label=_("协商的家属"), max_length=64)
    family_phone = forms.CharField(label=_("家属电话"), max_length=30)
    consent_on = forms.DateField(label=_("家属同意日期"), widget=DateInput())
    observation_from = forms.DateField(label=_("隔离观察开始"), widget=DateInput())
    observation_to = forms.DateField(label=_("隔离观察结束"), widget=DateInput())
    note = forms.CharField(label=_("说明"), max_length=500, required=False)

    def __init__(self, *args, institutions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = (
            institutions if institutions is not None else Institution.objects.none()
        )


class CloseCareForm(CareForm):
    reason_kind = forms.ChoiceField(label=_("结束原因"), choices=ClosureReason.choices)
    reason = forms.CharField(
        label=_("情况说明"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("如：母亲解除隔离返家，已当面交接"),
    )
    closed_on = forms.DateField(label=_("结束日期"), widget=DateInput())


class HotlineCallForm(CareForm):
    submission_key = forms.CharField(widget=forms.HiddenInput)
    region = forms.ModelChoiceField(label=_("来电所属区划"), queryset=Region.objects.none(), empty_label=None)
    received_at = forms.DateTimeField(label=_("来电时间"), widget=DateTimeInput())
    caller_name = forms.CharField(label=_("来电人姓名"), max_length=64, required=False, help_text=_("可不填"))
    caller_id_number = forms.CharField(
        label=_("来电人身份证号"), max_length=32, required=False, help_text=_("可不填；登记在册的将自动关联")
    )
    caller_phone = forms.CharField(label=_("来电号码"), max_length=32, required=False)
    category = forms.ChoiceField(label=_("来电类别"), choices=HotlineCategory.choices)
    summary = forms.CharField(label=_("来电内容"), widget=forms.Textarea(attrs={"rows": 3}))
    outcome = forms.ChoiceField(
        label=_("处理方式"), choices=HotlineOutcome.choices, widget=forms.RadioSelect, initial="answered"
    )
    answer = forms.CharField(
        label=_("解答内容"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("当场解答的必填"),
    )
    case_type = forms.ChoiceField(
        label=_("转为案件类型"), required=False, help_text=_("转一门受理案件的必选")
    )

    def __init__(self, *args, regions=None, case_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()
        self.fields["case_type"].choices = [("", "—"), *case_choices]


class HotlineConvertForm(CareForm):
    case_type = forms.ChoiceField(label=_("转为案件类型"))

    def __init__(self, *args, case_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["case_type"].choices = [("", "—"), *case_choices]


class HotlineFilterForm(forms.Form):
    region = forms.ModelChoiceField(label=_("区划"), queryset=Region.objects.none(), required=False)
    category = forms.ChoiceField(
        label=_("来电类别"), choices=[("", _("全部")), *HotlineCategory.choices], required=False
    )
    outcome = forms.ChoiceField(
        label=_("处理方式"), choices=[("", _("全部")), *HotlineOutcome.choices], required=False
    )
    date_from = forms.DateField(label=_("来电日期自"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("至"), required=False, widget=DateInput())
    q = forms.CharField(label=_("来电人或内容"), max_length=64, required=False)

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()
        bootstrap_widgets(self)


class PsychAidStepForm(CareForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    step = forms.ChoiceField(label=_("操作"), choices=PsychAidStep.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("情况说明"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("联系了谁、对方意愿、提供了什么服务"),
    )
    contacted_on = forms.DateField(
        label=_("联系日期"), required=False, widget=DateInput(), help_text=_("回访时填写")
    )
    method = forms.ChoiceField(
        label=_("联系方式"),
        choices=[("", "—"), *ContactMethod.choices],
        required=False,
        help_text=_("回访时填写"),
    )
    next_on = forms.DateField(
        label=_("约定下次联系"), required=False, widget=DateInput(), help_text=_("可不填")
    )

    def __init__(self, *args, steps=(), **kwargs):
        super().__init__(*args, **kwargs)
        if steps:
            self.fields["step"].choices = [(s, PsychAidStep(s).label) for s in steps]
