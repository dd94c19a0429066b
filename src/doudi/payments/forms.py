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


class BankForm(ServiceErrorsMixin, forms.Form):
    """配置代发银行. The template is JSON text; the service validates what it says."""

    code = forms.RegexField(label=_("银行代码"), regex=r"^[A-Za-z0-9_-]{1,16}$", max_length=16)
    name = forms.CharField(label=_("银行名称"), max_length=64)
    account_lengths = forms.CharField(
        label=_("账号位数"), max_length=60, required=False, help_text=_("以逗号分隔，如 16,19；空白表示不限")
    )
    uses_luhn = forms.BooleanField(label=_("校验位（Luhn）"), required=False)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)
    file_template = forms.CharField(
        label=_("代发文件模板（JSON）"),
        widget=forms.Textarea(attrs={"rows": 14, "class": "font-monospace", "spellcheck": "false"}),
    )

    def __init__(self, *args, bank=None, **kwargs):
        import json

        from doudi.payments.bankfiles import DEFAULT_TEMPLATE

        if bank is not None and not args[0]:
            kwargs["initial"] = {
                "code": bank.code,
                "name": bank.name,
                "account_lengths": ",".join(str(n) for n in bank.account_lengths or []),
                "uses_luhn": bank.uses_luhn,
                "active": bank.active,
                "file_template": json.dumps(
                    bank.file_template or DEFAULT_TEMPLATE, ensure_ascii=False, indent=1
                ),
            }
        elif bank is None and not args[0]:
            kwargs["initial"] = {
                "file_template": json.dumps(DEFAULT_TEMPLATE, ensure_ascii=False, indent=1),
                "uses_luhn": True,
                "active": True,
            }
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)

    def clean_account_lengths(self) -> list[int]:
        text = self.cleaned_data["account_lengths"].replace("，", ",")
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not all(p.isdigit() and 6 <= int(p) <= 32 for p in parts):
            raise forms.ValidationError(_("账号位数应为 6–32 之间的整数，以逗号分隔"))
        return sorted({int(p) for p in parts})

    def clean_file_template(self) -> dict:
        import json

        try:
            value = json.loads(self.cleaned_data["file_template"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("不是有效的 JSON：第 %(line)s 行第 %(col)s 列") % {"line": exc.lineno, "col": exc.colno}
            ) from None
        return value
