"""Forms of the enrolment screens: input parsing only; the services check and decide."""

from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.core.forms import ServiceErrorsMixin, bootstrap_widgets


class MonthField(forms.CharField):
    """A month typed as 2020-07 (the browser's month picker), as the 1st of that month."""

    widget = forms.TextInput(attrs={"type": "month", "placeholder": "2020-07"})

    def to_python(self, value):
        text = super().to_python(value).strip()
        if not text:
            return None
        try:
            day = datetime.date.fromisoformat(f"{text[:7]}-01")
        except ValueError:
            raise forms.ValidationError(_("月份格式应为 2020-07。")) from None
        if len(text) != 7:
            raise forms.ValidationError(_("月份格式应为 2020-07。"))
        return day


class _ChangeForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(
        label=_("理由"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("写入通知书，告知家庭（条例第二十九条）"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class AmountForm(_ChangeForm):
    """增发 / 减发."""

    amount = forms.IntegerField(label=_("新的月救助金（元）"), min_value=1, max_value=10_000_000)
    effective_month = MonthField(label=_("生效月份"))
    field_order = ["amount", "effective_month", "reason"]


class SuspendForm(_ChangeForm):
    """停发 / 恢复发放."""

    effective_month = MonthField(label=_("生效月份"))
    field_order = ["effective_month", "reason"]


class ExitForm(_ChangeForm):
    """退出."""

    end_month = MonthField(label=_("最后发放月份"))
    field_order = ["end_month", "reason"]
