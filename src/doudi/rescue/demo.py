"""演示数据 for the rescue pages: a rescue-management station in each demo district, today's occupancy
and infection-control check at the home district's station (past its threshold, so the alert list
has a row; the other districts' stations are left without, so the missing list has rows), and two patrol reports in the home
district — one referred to quarantine observation, one guided to the station. Made by the real services
as the demo logins; idempotent (nothing is added when a station exists)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from doudi.accounts.models import User
from doudi.accounts.roles import Role
from doudi.regions.models import Region, RegionLevel
from doudi.rescue import services
from doudi.rescue.models import Station


def _login(role: Role, region: Region) -> User | None:
    return User.objects.filter(groups__name=role.value, region=region, is_active=True).order_by("pk").first()


@transaction.atomic
def load_demo_rescue(
    *, villages: list[Region], now: datetime.datetime | None = None
) -> dict[str, int] | None:
    """None when stations exist already or the demo logins are missing."""
    if Station.objects.exists() or not villages:
        return None
    now = now or timezone.now()
    today = timezone.localdate(now)
    home = villages[0]
    codes = {c for v in villages for c in v.path.strip("/").split("/")}
    districts = list(Region.objects.filter(code__in=codes, level=RegionLevel.DISTRICT).order_by("path"))
    chain = {r.level: r for r in Region.objects.filter(code__in=home.path.strip("/").split("/"))}
    admin = _login(Role.MUNICIPAL_ADMIN, chain[1])
    officer = _login(Role.DISTRICT_OFFICER, chain[2])
    if admin is None or officer is None or not districts:
        return None
    stations = [
        services.register_station(by=admin, name=f"{d.name}救助管理站", region=d, capacity=60, address=d.name)
        for d in districts
    ]
    home_station = next(s for s in stations if s.region_id == chain[2].pk)
    services.record_occupancy(by=officer, station=home_station, day=today, occupants=57)
    services.record_check(
        by=officer,
        station=home_station,
        day=today,
        disinfection=True,
        temperature_checks=True,
        isolation_room=True,
        masks=True,
        ventilation=True,
    )
    found = now.replace(second=0, microsecond=0) - datetime.timedelta(hours=2)
    common = {
        "by": officer,
        "region": chain[3],
        "unit_name": f"{chain[3].name}派出所",
        "reporter_name": "陈警官",
    }
    services.file_field_report(
        **common,
        unit_kind="police",
        place="长江大桥桥洞",
        found_at=found,
        description="男性，约50岁，衣着单薄，自述干咳两天",
        dry_cough=True,
        quarantine_site=f"{chain[2].name}集中隔离观察点",
    )
    services.file_field_report(
        **common,
        unit_kind="urban_management",
        place="火车站广场",
        found_at=found + datetime.timedelta(minutes=30),
        description="女性，约30岁，滞留无返程车票",
        station=home_station,
        accepted="yes",
    )
    return {"stations": len(stations), "reports": 2}
