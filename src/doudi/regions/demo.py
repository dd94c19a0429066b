"""Demo data for the regions app: the tree with a few subdivisions, POLICY.md's default window, hotlines.

Every function is idempotent, so `doudi load_regions --demo` (and the project-wide demo) can run again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from doudi.regions.loading import MUNICIPALITY_CODE, load_chongqing
from doudi.regions.models import EmergencyWindow, Hotline, Region, RegionLevel, WindowScope
from doudi.regions.services import create_hotline, declare_window

# POLICY.md §2: emergency.window defaults to start 2020-01-24 (Chongqing's level-I response), end open.
DEFAULT_WINDOW_START = date(2020, 1, 24)

# Real, nationally standard numbers (the city's 12345 line is real in Chongqing).
CITY_HOTLINES = [
    dict(
        name="政务服务便民热线",
        phone="12345",
        service_hours="24小时",
        note="重庆市12345政务服务便民热线，可转接社会救助、儿童关爱、心理援助等事项",
    ),
]

# Per-district lines: the numbers are ILLUSTRATIVE (023-0… is not a dialable Chongqing number, so a
# demo page never sends a caller to a stranger); the note says so on the public page.
DEMO_NOTE = "演示数据：号码为示意，并非真实号码"


def _district_hotlines(district: Region) -> list[dict[str, Any]]:
    tail = district.code[-4:]
    return [
        dict(name="社会救助热线", phone=f"023-0000{tail}", service_hours="工作日 9:00-17:00", note=DEMO_NOTE),
    ]


@transaction.atomic
def load_demo_window() -> EmergencyWindow:
    existing = EmergencyWindow.objects.filter(scope=WindowScope.CITY, start=DEFAULT_WINDOW_START).first()
    if existing:
        return existing
    return declare_window(
        by=None,
        name="新冠肺炎疫情防控期间",
        start=DEFAULT_WINDOW_START,
        end=None,
        reason="重庆市启动重大突发公共卫生事件一级响应（2020-01-24）；结束日期待市应急指挥部宣布",
    )


@transaction.atomic
def load_demo_hotlines() -> int:
    created = 0
    city = Region.objects.get(code=MUNICIPALITY_CODE)
    targets = [(city, CITY_HOTLINES)] + [
        (d, _district_hotlines(d)) for d in Region.objects.filter(level=RegionLevel.DISTRICT).order_by("code")
    ]
    for region, lines in targets:
        for line in lines:
            if Hotline.objects.filter(district=region, name=line["name"], phone=line["phone"]).exists():
                continue
            create_hotline(by=None, district=region, **line)
            created += 1
    return created


def load_demo() -> dict[str, int]:
    """The tree with demo subdivisions, the default city-wide window and a hotline per district."""
    regions = load_chongqing(with_demo_subdivisions=True)
    windows_before = EmergencyWindow.objects.count()
    load_demo_window()
    return {
        "regions": regions,
        "windows": EmergencyWindow.objects.count() - windows_before,
        "hotlines": load_demo_hotlines(),
    }
