"""Console forms: they parse what people type; the services decide what is acceptable."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.core.forms import ServiceErrorsMixin, bootstrap_widgets
from doudi.parameters.overrides import VALUE_HINTS, coerce_text
from doudi.parameters.selectors import parameter_text
from doudi.policy.parameters import Parameter


class ParameterValueForm(ServiceErrorsMixin, forms.Form):
    """录入参数取值 for one parameter; `region` appears only for a region-indexed one."""

    effective_from = forms.DateField(label=_("生效日期"), widget=forms.DateInput(attrs={"type": "date"}))
    value = forms.CharField(label=_("取值"), required=False, max_length=40)
    region = forms.ChoiceField(label=_("区县"), required=False)
    reference = forms.CharField(label=_("依据（文件、来源）"), max_length=300)
    verified = forms.BooleanField(label=_("已对照原始文件核实"), required=False)
    reason = forms.CharField(label=_("录入原因"), widget=forms.Textarea(attrs={"rows": 3}))
    supersedes = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, parameter: Parameter, districts: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.parameter = parameter
        bootstrap_widgets(self)
        if parameter.region_indexed:
            self.fields["region"].choices = [("", "—")] + districts
            self.fields["region"].required = True
        else:
            del self.fields["region"]
        help_text = f"{parameter_text(parameter)['unit']} · {VALUE_HINTS[parameter.type]}"
        if parameter.nullable:
            help_text += " · " + str(_("留空表示未宣布（不设定）"))
        self.fields["value"].help_text = help_text
        self.fields["value"].required = not parameter.nullable

    def clean_value(self):
        return coerce_text(self.parameter, self.cleaned_data.get("value") or "")


class SimulationForm(ServiceErrorsMixin, forms.Form):
    """政策测算: a period, overrides one per line, and the population to run on."""

    period = forms.CharField(
        label=_("期间（YYYY-MM）"),
        max_length=7,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "2020-03"}),
    )
    overrides = forms.CharField(
        label=_("调整参数（每行一个：参数名=取值）"),
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "class": "form-control font-monospace",
                "placeholder": "dibao.standard.urban=700",
            }
        ),
    )
    population = forms.ChoiceField(label=_("人口数据"), widget=forms.Select(attrs={"class": "form-select"}))

    def __init__(self, *args, populations: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["population"].choices = populations
