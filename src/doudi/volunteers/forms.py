"""Forms of the volunteers pages: they only parse; the services clean and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.care.forms import CareForm, DateInput
from doudi.regions.models import Region
from doudi.volunteers.models import Organisation, OrganisationKind, Skill


class ProviderForm(CareForm):
    name = forms.CharField(label=_("姓名/名称"), max_length=200)
    region = forms.ModelChoiceField(label=_("服务区域"), queryset=Region.objects.none(), empty_label=None)
    phone = forms.CharField(label=_("联系电话"), max_length=30)
    skills = forms.MultipleChoiceField(
        label=_("服务技能"), choices=Skill.choices, widget=forms.CheckboxSelectMultiple
    )
    capacity = forms.CharField(
        label=_("可同时承担的任务数"), max_length=6, initial="1", help_text=_("同一天最多服务几个对象")
    )
    available_from = forms.DateField(label=_("可服务起始日期"), widget=DateInput())
    available_to = forms.DateField(
        label=_("可服务截止日期"), widget=DateInput(), required=False, help_text=_("不限时留空")
    )
    note = forms.CharField(label=_("备注"), max_length=400, required=False)
    active = forms.BooleanField(label=_("在册"), required=False, initial=True)

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()


class VolunteerForm(ProviderForm):
    organisation = forms.ModelChoiceField(
        label=_("所属组织"), queryset=Organisation.objects.none(), required=False, empty_label=_("（无）")
    )
    field_order = ["name", "region", "phone", "organisation", "skills", "capacity"]

    def __init__(self, *args, organisations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organisations is not None:
            self.fields["organisation"].queryset = organisations


class OrganisationForm(ProviderForm):
    kind = forms.ChoiceField(label=_("组织类型"), choices=OrganisationKind.choices)
    contact_name = forms.CharField(label=_("联系人"), max_length=128)
    field_order = ["name", "kind", "region", "contact_name", "phone", "skills", "capacity"]


class AssignForm(CareForm):
    skill = forms.ChoiceField(label=_("服务内容"), choices=Skill.choices)
    provider = forms.ChoiceField(label=_("志愿者/社会组织"), choices=())
    starts_on = forms.DateField(label=_("起始日期"), widget=DateInput())
    ends_on = forms.DateField(label=_("截止日期"), widget=DateInput())

    def __init__(self, *args, providers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [("", "—")] + list(providers)


class EndAssignmentForm(CareForm):
    reason = forms.CharField(label=_("结束原因"), max_length=1000)
    last_day = forms.DateField(label=_("最后服务日期"), widget=DateInput(), required=False)
