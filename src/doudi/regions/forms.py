"""Forms for the regions console screens. They only parse input; the services validate and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.core.forms import ServiceErrorsMixin, bootstrap_widgets
from doudi.regions.models import Region, RegionLevel, WindowScope


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class WindowDeclareForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100, initial=_("新冠肺炎疫情防控期间"))
    start = forms.DateField(label=_("开始日期"), widget=DateInput())
    end = forms.DateField(
        label=_("结束日期"), required=False, widget=DateInput(), help_text=_("尚未宣布结束时留空")
    )
    scope = forms.ChoiceField(
        label=_("范围"), choices=WindowScope.choices, initial=WindowScope.CITY, widget=forms.RadioSelect
    )
    districts = forms.ModelMultipleChoiceField(
        label=_("适用区县"),
        required=False,
        queryset=Region.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("范围为“指定区县”时选择"),
    )
    reason = forms.CharField(label=_("依据与理由"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["districts"].queryset = Region.objects.filter(level=RegionLevel.DISTRICT).order_by("code")
        bootstrap_widgets(self)

    def clean(self):
        data = super().clean()
        # Keep the radio and the checkboxes consistent: the service infers the scope from the list.
        if data.get("scope") == WindowScope.DISTRICTS and not data.get("districts"):
            self.add_error("districts", _("请至少选择一个区县"))
        if data.get("scope") == WindowScope.CITY:
            data["districts"] = []
        return data


class WindowEndForm(ServiceErrorsMixin, forms.Form):
    end = forms.DateField(label=_("结束日期"), widget=DateInput())
    reason = forms.CharField(label=_("依据与理由"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class HotlineForm(ServiceErrorsMixin, forms.Form):
    district = forms.ModelChoiceField(label=_("区县"), queryset=Region.objects.none(), empty_label=None)
    name = forms.CharField(label=_("热线名称"), max_length=64)
    phone = forms.CharField(label=_("电话号码"), max_length=32)
    service_hours = forms.CharField(label=_("服务时间"), max_length=64, required=False)
    note = forms.CharField(label=_("说明"), max_length=200, required=False)
    sort_order = forms.IntegerField(label=_("排序"), min_value=0, max_value=32767, initial=100)
    active = forms.BooleanField(label=_("启用（在公开页面显示）"), required=False, initial=True)

    def __init__(self, *args, districts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].queryset = districts if districts is not None else Region.objects.none()
        bootstrap_widgets(self)
