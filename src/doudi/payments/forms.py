"""Forms of the payments screens: input parsing only; the services check and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.core.forms import ServiceErrorsMixin, bootstrap_widgets
from doudi.payments import selectors
from doudi.payments.models import HolderRelation


class AccountForm(ServiceErrorsMixin, forms.Form):
    """变更账户: the account a proposal names."""

    bank = forms.ModelChoiceField(label=_("代发银行"), queryset=selectors.banks(), empty_label=_("请选择"))
    account_number = forms.CharField(
        label=_("账号"),
        max_length=64,
        help_text=_("一卡通或社会保障卡的银行账号，可含空格"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    holder_relation = forms.ChoiceField(
        label=_("持卡人"), choices=HolderRelation.choices, initial=HolderRelation.SELF
    )
    holder_name = forms.CharField(
        label=_("户名"), max_length=64, required=False, help_text=_("本人持卡可不填，即保障对象姓名")
    )
    holder_reason = forms.CharField(
        label=_("代领理由"),
        max_length=300,
        required=False,
        help_text=_("监护人或代理人持卡时必填，如：未成年，由监护人代领"),
    )
    reason = forms.CharField(
        label=_("变更理由"), max_length=300, required=False, help_text=_("更换在用账户时必填")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class DecisionForm(ServiceErrorsMixin, forms.Form):
    """复核: the checker's note (required to reject)."""

    note = forms.CharField(label=_("复核意见"), max_length=300, required=False)
