"""The citizen portal (群众服务): public pages, no sign-in, nothing personal."""

from __future__ import annotations

from itertools import groupby

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from doudi.regions.selectors import hotline_districts, hotlines_for

# The assistance a citizen can ask for. Online applications arrive with the intake app; until then
# each card says so and points to the hotlines and the village/community office.
SERVICES = [
    {
        "key": "dibao",
        "title": _("最低生活保障（低保）"),
        "text": _("家庭人均收入低于当地低保标准、财产符合规定的城乡居民，可以申请按月领取低保金。"),
    },
    {
        "key": "tekun",
        "title": _("特困人员救助供养"),
        "text": _("无劳动能力、无生活来源、无法定赡养抚养扶养义务人的老年人、残疾人和未成年人。"),
    },
    {
        "key": "children",
        "title": _("儿童福利"),
        "text": _("孤儿、事实无人抚养儿童和困境儿童的基本生活保障；疫情期间可先承诺、后补材料。"),
    },
    {
        "key": "temporary",
        "title": _("临时救助"),
        "text": _("因疫情、意外、疾病等突发原因导致基本生活暂时出现严重困难的家庭和个人，包括外地来渝人员。"),
    },
]


def _first_url(*url_names: str) -> str | None:
    """The URL of the first named page that exists; the portal links only to pages that are there."""
    for name in url_names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return None


def home(request: HttpRequest) -> HttpResponse:
    """首页: what help there is, how to ask for it, whom to call."""
    districts = list(hotline_districts())
    district = request.GET.get("district", "").strip()
    selected = next((d for d in districts if d.code == district), None)
    lines = hotlines_for(selected.code if selected else None)
    groups = [(region, list(items)) for region, items in groupby(lines, key=lambda h: h.district)]
    return render(
        request,
        "portal/home.html",
        {
            "services": SERVICES,
            "districts": districts,
            "selected": selected,
            "hotline_groups": groups,
            "hotlines_url": _first_url("hotlines:directory"),
            "disclosure_url": _first_url("disclosure:public", "disclosure:index", "portal:disclosure"),
        },
    )
