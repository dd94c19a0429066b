"""Excel downloads of console lists, masked exactly as on screen."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.core.excel import DATE, INTEGER, Column, excel_response
from doudi.core.masking import mask_id_number, mask_phone


def search_export_response(user, *, q: str, kind: str, rows) -> HttpResponse:
    """The search result (already scoped and capped by the selector) as .xlsx; the download is
    audited by `excel_response` (EXPORT entry with the row count)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if kind == "household":
        headers = [
            _("家庭编号"),
            _("户主"),
            _("户主身份证号"),
            Column(_("现有成员"), INTEGER),
            _("村社区"),
            _("城乡类别"),
            _("地址"),
        ]
        data = (
            [
                str(h),
                h.head.name if h.head else "",
                mask_id_number(h.head.id_number) if h.head else "",
                h.member_count,
                h.region.name,
                h.get_area_type_display(),
                h.address,
            ]
            for h in rows
        )
        filename, object_type = f"households-{stamp}.xlsx", "registry.household"
    else:
        headers = [
            _("姓名"),
            _("身份证号"),
            _("性别"),
            Column(_("出生日期"), DATE),
            _("手机号"),
            _("村社区"),
            _("所在家庭"),
        ]
        data = (
            [
                p.name,
                mask_id_number(p.id_number),
                p.get_sex_display(),
                p.birth_date,
                mask_phone(p.phone),
                p.region.name,
                ", ".join(str(m.household) for m in p.current_memberships),
            ]
            for p in rows
        )
        filename, object_type = f"persons-{stamp}.xlsx", "registry.person"
    return excel_response(
        filename,
        headers,
        data,
        actor=user,
        sheet_title=_("查询结果"),
        object_type=object_type,
        # Stored as data in the append-only log, so not translated.
        reason=f"console search export ({kind})",
    )
