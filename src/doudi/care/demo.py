"""演示数据 for the care pages: institutions in the demo district with screenings, an outing and a
daily report (one institution left without today's report, so the missing list has a row), the
city's high-risk list, contacts with people on the home village's schedule (one opening a case), and
two reports of children without guardianship (one arranged, one just reported), two hotline calls (one
answered, one converted into a case). Made by the real services as the demo logins; idempotent (nothing is added when
an institution exists)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from doudi.accounts.models import User
from doudi.accounts.roles import Role
from doudi.care import services
from doudi.care.models import Institution
from doudi.regions.models import Region

DEMO_INSTITUTIONS = [
    ("{t}敬老院", "elderly_home", 3, 120),
    ("{d}儿童福利院", "child_welfare", 2, 80),
    ("{d}社会福利院", "elderly_home", 2, 300),
]


def _login(role: Role, region: Region) -> User | None:
    return User.objects.filter(groups__name=role.value, region=region, is_active=True).order_by("pk").first()


@transaction.atomic
def load_demo_care(*, home: Region, today: datetime.date | None = None) -> dict[str, int] | None:
    """None when institutions exist already or the demo logins are missing."""
    if Institution.objects.exists():
        return None
    today = today or timezone.localdate()
    chain = {r.level: r for r in Region.objects.filter(code__in=home.path.strip("/").split("/"))}
    officer = _login(Role.DISTRICT_OFFICER, chain[2])
    staff = _login(Role.INSTITUTION_STAFF, chain[2])
    admin = _login(Role.MUNICIPAL_ADMIN, chain[1])
    if officer is None or staff is None or admin is None:
        return None
    services.list_risk_area(
        by=admin,
        name="湖北省",
        listed_on=datetime.date(2020, 1, 24),
        reason="国家卫生健康委公布的疫情高风险地区",
    )
    homes = [
        services.save_institution(
            by=officer,
            name=name.format(t=chain[3].name, d=chain[2].name),
            kind=kind,
            region=chain[level],
            capacity=capacity,
            contact_name="李建华",
            contact_phone="02363001234",
        )
        for name, kind, level, capacity in DEMO_INSTITUTIONS
    ]
    people = [
        ("王德明", "500103194503120014", "重庆市渝中区", "", "36.5", "green"),
        ("刘桂芳", "500103195002280022", "湖北省武汉市武昌区", "湖北省武汉市", "36.7", "green"),
        ("陈小军", "50010319881105001X", "重庆市江北区", "四川省成都市", "36.9", "yellow"),
    ]
    for name, id_number, origin, trajectory, temperature, code in people:
        services.record_screening(
            by=staff,
            institution=homes[0],
            person_kind="resident",
            admission_kind="new",
            name=name,
            id_number=id_number,
            origin=origin,
            trajectory=trajectory,
            temperature=temperature,
            health_code=code,
        )
    services.record_outing(
        by=staff,
        institution=homes[0],
        resident_name="王德明",
        resident_id_number="500103194503120014",
        destination="重庆医科大学附属第一医院",
        purpose="定期透析",
        green_channel=True,
        escort="护理员 张芳",
    )
    for inst in homes[:2]:
        services.submit_daily_report(
            by=staff,
            institution=inst,
            day=today,
            residents=inst.capacity - 12,
            staff_on_site=18,
            symptomatic=0,
        )
    return {
        "institutions": len(homes),
        "screenings": len(people),
        "contacts": _demo_contacts(home, today),
        "children": _demo_children(home, chain),
        "calls": _demo_calls(chain),
    }


def _demo_calls(chain: dict[int, Region]) -> int:
    """Two calls to the township's line: one answered on the spot, one converted into a stranded case."""
    import uuid

    operator = _login(Role.TOWNSHIP_OFFICER, chain[3])
    if operator is None:
        return 0
    now = timezone.now()
    calls = [
        {
            "category": "assistance",
            "summary": "询问家中有人确诊住院后，能否申请临时救助",
            "outcome": "answered",
            "answer": "告知可向乡镇街道申请急难型临时救助，并说明所需材料；村社区可先行救助。",
            "caller_name": "赵先生",
            "caller_phone": "13800138001",
        },
        {
            "category": "stranded",
            "summary": "高铁站出站口有一名外地务工人员滞留两天，身上无钱",
            "outcome": "case",
            "case_type": "stranded",
            "caller_name": "车站值班员 周某",
            "caller_phone": "13800138002",
        },
    ]
    for minutes, call in zip((90, 30), calls, strict=True):
        services.record_hotline_call(
            by=operator,
            submission_key=str(uuid.uuid4()),
            region=chain[3],
            received_at=now - datetime.timedelta(minutes=minutes),
            **call,
        )
    return len(calls)


def _demo_children(home: Region, chain: dict[int, Region]) -> int:
    """Two reports of children without guardianship in the home village: one acknowledged and
    arranged, one just reported (the township's and district's clocks running)."""
    worker = _login(Role.VILLAGE_WORKER, home)
    township = _login(Role.TOWNSHIP_OFFICER, chain[3])
    if worker is None or township is None:
        return 0
    first = services.report_child(
        by=worker,
        region=home,
        child_name="陈小雨",
        child_age=8,
        location="家中",
        absence="isolated",
        guardian_name="陈建",
        situation="父母均被集中隔离医学观察，祖父母已故，独自在家",
    )
    services.acknowledge_child_report(by=township, report=first, note="已联系社区网格员上门")
    services.arrange_guardianship(
        by=township,
        report=first,
        kind="relative",
        carer_name="陈小雨姑妈 陈芳",
        carer_phone="13800001234",
        place="同社区姑妈家",
    )
    services.report_child(
        by=worker,
        region=home,
        child_name="李乐乐",
        child_age=5,
        location="邻居家",
        absence="hospitalised",
        guardian_name="李娟",
        situation="单亲母亲住院治疗，暂由邻居看护",
    )
    return 2


def _demo_contacts(home: Region, today: datetime.date) -> int:
    """Contacts by the demo village worker with the first people on the home village's schedule: a
    visit that found nothing wrong, and a call that found a need and opened the follow-up case."""
    from doudi.care.selectors import contact_schedule

    worker = _login(Role.VILLAGE_WORKER, home)
    if worker is None:
        return 0
    rows = contact_schedule(today, region=home)[:2]
    plans = [
        ("visit", "上门探访，身体状况稳定，生活用品充足", "", False),
        ("phone", "电话联系，子女在外地隔离，家中药品将用完", "需要代购降压药并送药上门", True),
    ]
    for row, (method, findings, need, open_case) in zip(rows, plans, strict=False):
        services.record_contact(
            by=worker,
            person=row.person,
            contacted_on=today - datetime.timedelta(days=1),
            method=method,
            findings=findings,
            need=need,
            open_case=open_case,
        )
    return len(rows)
