"""Forms of the registry's console screens (input parsing only; rules live in the services)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.registry.importing import MAX_FILE_BYTES

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
