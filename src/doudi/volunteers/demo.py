"""演示数据 for 志愿者和社会组织: a social-work agency of the demo district and volunteers at the home
village, its township and the district (one a member of the agency), so the suggestions show the nearest
first. Made by the real services as the district's demo login; idempotent (nothing when any exists)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from doudi.accounts.models import User
from doudi.accounts.roles import Role
from doudi.regions.models import Region
from doudi.volunteers import services
from doudi.volunteers.models import Organisation, Volunteer

DEMO_VOLUNTEERS = [
    # name, level of the node served, phone, skills, tasks at once, member of the agency
    ("杨晓红", 4, "13983001101", ["eldercare", "delivery", "visit"], 2, False),
    ("何志强", 4, "13983001102", ["transport", "delivery"], 1, False),
    ("周敏", 3, "13983001103", ["psych", "visit"], 3, False),
    ("邓医生", 2, "13983001104", ["nursing", "eldercare"], 2, True),
]


@transaction.atomic
def load_demo_volunteers(*, home: Region, today: datetime.date | None = None) -> dict[str, int] | None:
    """None when volunteers or organisations exist already, or the district's demo login is missing."""
    if Volunteer.objects.exists() or Organisation.objects.exists():
        return None
    today = today or timezone.localdate()
    chain = {r.level: r for r in Region.objects.filter(code__in=home.path.strip("/").split("/"))}
    officer = (
        User.objects.filter(groups__name=Role.DISTRICT_OFFICER.value, region=chain[2], is_active=True)
        .order_by("pk")
        .first()
    )
    if officer is None:
        return None
    agency = services.save_organisation(
        by=officer,
        name=f"{chain[2].name}社会工作服务中心",
        kind="social_work",
        region=chain[2],
        contact_name="罗主任",
        phone="02363005678",
        skills=["psych", "nursing", "legal"],
        capacity=5,
        available_from=today - datetime.timedelta(days=30),
    )
    for name, level, phone, skills, capacity, member in DEMO_VOLUNTEERS:
        services.save_volunteer(
            by=officer,
            name=name,
            region=chain[level],
            phone=phone,
            skills=skills,
            capacity=capacity,
            available_from=today - datetime.timedelta(days=30),
            available_to=today + datetime.timedelta(days=90),
            organisation=agency if member else None,
        )
    return {"organisations": 1, "volunteers": len(DEMO_VOLUNTEERS)}
