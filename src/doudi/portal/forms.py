"""Portal forms: they parse what the citizen typed; the rules (ID checksum, phone, proofs or commitment,
the village) live in services.py and come back onto the fields."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from doudi.core.forms import bootstrap_widgets
from doudi.intake.models import SUBTYPES, CaseType
from doudi.portal import services
from doudi.registry import identity
from doudi.registry.models import Relation

MEMBER_RELATIONS = [(value, label) for value, label in Relation.choices if value != Relation.HEAD]


def yuan_field(label: Any) -> forms.DecimalField:
    """An optional amount in yuan a citizen types (an income): not negative, at most 8 digits and fen."""
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=Decimal(0),
        max_digits=10,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )


def flag_invalid(form: forms.Form) -> None:
    """Bootstrap's red outline on the fields with errors (and aria-invalid for screen readers)."""
    for name in form.errors:
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            if "is-invalid" not in attrs.get("class", ""):
                attrs["class"] = (attrs.get("class", "") + " is-invalid").strip()
            attrs["aria-invalid"] = "true"


def add_errors(form: forms.Form, errors: dict[str, Any], prefix: str = "") -> list[str]:
    """Put service errors on the form's fields; return those that belong to no field."""
    rest = []
    for name, message in errors.items():
        text = message if isinstance(message, str) else "；".join(message)
        key = name[len(prefix) :] if prefix and name.startswith(prefix) else name
        if key in form.fields:
            form.add_error(key, text)
        else:
            rest.append(text)
    return rest


class CitizenForm(forms.Form):
    """Who is asking, and their consent to the economic-status check: the fields every citizen form
    shares (the application, the change report), checked as the services check them."""

    applicant_name = forms.CharField(label=_("申请人姓名"), max_length=64)
    applicant_id_number = forms.CharField(
        label=_("身份证号"),
        max_length=24,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "spellcheck": "false"}),
    )
    applicant_phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        help_text=_("用于接收受理编号和查询验证码"),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    consent = forms.BooleanField(
        label=_("我已阅读并同意以下授权和承诺"),
        error_messages={"required": _("请阅读并同意家庭经济状况核对授权。")},
    )

    # The same checks as the service, so every field's problem shows at once (the service re-checks).
    def clean_applicant_id_number(self) -> str:
        return identity.validate(self.cleaned_data["applicant_id_number"])

    def clean_applicant_phone(self) -> str:
        return services.clean_mobile(self.cleaned_data["applicant_phone"])


class ApplyForm(CitizenForm):
    """网上申请 for one scheme; `scheme` decides the subtype choices, the proofs and the extra fields."""

    district = forms.CharField(label=_("区县"), required=False)
    township = forms.CharField(label=_("乡镇（街道）"), required=False)
    village = forms.CharField(label=_("村（社区）"), error_messages={"required": _("请选择所在村（社区）。")})
    subtype = forms.ChoiceField(label=_("类别"), required=False, widget=forms.RadioSelect)
    applicant_income = yuan_field(_("本人月收入（元）"))
    reason = forms.CharField(
        label=_("申请理由和家庭困难情况"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    commitment = forms.BooleanField(label=_("本人承诺（暂缺的材料疫情结束后补交）"), required=False)
    child_name = forms.CharField(label=_("儿童姓名"), max_length=64, required=False)
    child_id_number = forms.CharField(label=_("儿童身份证号"), max_length=24, required=False)
    poverty = forms.ChoiceField(
        label=_("受疫情影响致贫或返贫的农户"),
        required=False,
        choices=[
            ("", _("否")),
            ("newly_impoverished", _("是，因疫情致贫")),
            ("relapsed", _("是，因疫情返贫")),
        ],
    )

    def __init__(self, *args: Any, scheme: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scheme = scheme
        subtypes = SUBTYPES.get(scheme, {})
        if subtypes:
            self.fields["subtype"].choices = list(subtypes.items())
            if scheme == CaseType.CHILDREN:  # the proofs asked depend on the kind of child
                self.fields["subtype"].widget.attrs.update(
                    {
                        "hx-get": reverse("portal:apply_children_proofs"),
                        "hx-target": "#proofs",
                        "hx-trigger": "change",
                    }
                )
            self.fields["subtype"].required = True
            self.fields["subtype"].error_messages["required"] = _("请选择类别。")
        else:
            del self.fields["subtype"]
        if scheme != CaseType.CHILDREN:
            for name in ("commitment", "child_name", "child_id_number"):
                del self.fields[name]
        else:
            self.fields["child_name"].required = True
            self.fields["child_id_number"].required = True
        if scheme != CaseType.TEMPORARY:
            del self.fields["poverty"]
        for key, label in self.proof_choices().items():
            self.fields[f"proof_{key}"] = forms.FileField(
                label=label,
                required=False,
                widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.xlsx"}),
            )
        bootstrap_widgets(self, large=True)
        for name in ("applicant_id_number", "child_id_number"):
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " text-uppercase"

    def clean_child_id_number(self) -> str:
        value = self.cleaned_data.get("child_id_number", "")
        return identity.validate(value) if value else value

    def proof_choices(self) -> dict[str, Any]:
        """Every proof field the scheme may carry (for children: every kind's, shown per kind)."""
        if self.scheme == CaseType.CHILDREN:
            from doudi.intake.workflows import children

            out: dict[str, Any] = {}
            for docs in children.DOCUMENTS.values():
                out.update(docs)
            return out
        return dict(services.PROOFS.get(self.scheme, {}))

    def proof_fields(self, subtype: str = "") -> list[forms.BoundField]:
        keys = (
            services.proofs_for(self.scheme, subtype)
            if self.scheme == CaseType.CHILDREN
            else self.proof_choices()
        )
        return [self[f"proof_{key}"] for key in keys]


class MemberForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=64)
    id_number = forms.CharField(label=_("身份证号"), max_length=24)
    relation = forms.ChoiceField(label=_("与申请人关系"), choices=[("", "—"), *MEMBER_RELATIONS])
    income = yuan_field(_("月收入（元）"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self, large=True)
        self.fields["id_number"].widget.attrs["class"] += " text-uppercase"

    def clean_id_number(self) -> str:
        return identity.validate(self.cleaned_data["id_number"])


MemberFormSet = forms.formset_factory(
    MemberForm, extra=1, max_num=services.MAX_MEMBERS, validate_max=True, absolute_max=services.MAX_MEMBERS
)


class ChangeReportForm(CitizenForm):
    """家庭情况变化报告: a member of a household in dibao tells what changed."""

    kinds = forms.MultipleChoiceField(
        label=_("发生变化的事项"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请选择发生变化的事项。")},
    )
    description = forms.CharField(
        label=_("变化情况"),
        max_length=2000,
        help_text=_("例如：谁、从什么时候起、收入或财产有什么变化"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    household_income = yuan_field(_("变化后全家月收入合计（元，可不填）"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from doudi.intake.workflows.change_report import KINDS

        super().__init__(*args, **kwargs)
        self.fields["applicant_name"].label = _("姓名")
        self.fields["applicant_phone"].help_text = _("在村（社区）登记的手机号，用于核对身份和接收短信")
        self.fields["kinds"].choices = [(k, str(label)) for k, label in KINDS]
        bootstrap_widgets(self, large=True)
        self.fields["applicant_id_number"].widget.attrs["class"] += " text-uppercase"


class StatusForm(forms.Form):
    """查询: tracking number + ID number, then the SMS code."""

    tracking_number = forms.CharField(label=_("受理编号"), max_length=40)
    id_number = forms.CharField(label=_("申请人身份证号"), max_length=24)
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=10,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self, large=True)
        for name in ("tracking_number", "id_number"):
            self.fields[name].widget.attrs["class"] += " text-uppercase"
            self.fields[name].widget.attrs["autocomplete"] = "off"

    # Normalised once, as the lookups and the rate limits see them.
    def clean_tracking_number(self) -> str:
        return services.normalise_tracking(self.cleaned_data["tracking_number"])

    def clean_id_number(self) -> str:
        return identity.normalise(self.cleaned_data["id_number"])


class UploadForm(forms.Form):
    key = forms.ChoiceField(label=_("补交的材料"), choices=())
    file = forms.FileField(
        label=_("文件"), widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,.xlsx"})
    )

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key"].choices = choices
        bootstrap_widgets(self, large=True)


def members_from(formset: forms.BaseFormSet) -> list[services.Member]:
    out = []
    for form in formset.forms:
        if not form.has_changed():
            continue
        d = form.cleaned_data
        out.append(
            services.Member(
                name=d.get("name", ""),
                id_number=d.get("id_number", ""),
                relation=d.get("relation", ""),
                income=d.get("income") or Decimal(0),
            )
        )
    return out


def member_errors(formset: forms.BaseFormSet, errors: dict[str, Any]) -> list[str]:
    """Service errors named members-<i>-<field> onto the formset's rows (counting only filled rows)."""
    filled = [f for f in formset.forms if f.has_changed()]
    rest = []
    for name, message in errors.items():
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "members" and parts[1].isdigit() and int(parts[1]) < len(filled):
            form = filled[int(parts[1])]
            if parts[2] in form.fields:
                form.add_error(parts[2], message)
                continue
        rest.append(message if isinstance(message, str) else "；".join(message))
    return rest
