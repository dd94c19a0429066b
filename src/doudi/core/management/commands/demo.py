"""`doudi demo [--if-empty] [--households 2000]`: the Chongqing demo (演示数据), ready to log in.

Loads 重庆市 with its 41 districts and the demo townships/villages, POLICY.md's default emergency
window (city-wide from 2020-01-24, end open) and the hotlines (doudi.regions.demo), ~2,000 synthetic
households placed only in the demo villages (doudi.registry.synth), three paying banks with an account
for every demo beneficiary (doudi.payments.demo), and one staff user per role bound
to a fitting region — then prints the logins.

Every demo user's password is DEMO_PASSWORD ("Doudi-demo-2020"); it is printed with the logins. The
demo is for a local machine: never run it on a server that holds real records.

Idempotent: a second run adds nothing (regions and window are kept, the population is loaded only
into demo villages without households, existing users are left as they are). `--if-empty` only prints the logins when
the demo users already exist.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from doudi.accounts.models import User
from doudi.accounts.roles import ROLE_LEVEL, Role
from doudi.accounts.services import create_staff_user
from doudi.regions.loading import DEMO_SUBDIVISIONS_FILE, read_regions_file
from doudi.regions.models import Region

DEMO_PASSWORD = "Doudi-demo-2020"
DEMO_SEED = 2020
USERNAME_PREFIX = "demo_"


# The people behind the demo logins: the timeline and the notices name people, not accounts.
DEMO_NAMES = {
    Role.VILLAGE_WORKER: "刘小梅",
    Role.TOWNSHIP_OFFICER: "王丽",
    Role.DISTRICT_OFFICER: "陈建国",
    Role.DISTRICT_APPROVER: "张志强",
    Role.MUNICIPAL_ADMIN: "李文华",
    Role.MUNICIPAL_SUPERVISOR: "周敏",
    Role.DISTRICT_SUPERVISOR: "何静",
    Role.RESCUE_STATION: "赵刚",
    Role.INSTITUTION_STAFF: "孙晓燕",
    Role.PATROL_REPORTER: "吴军",
    Role.AUDITOR: "郑红",
    Role.MUNICIPAL_FINANCE: "冯静",
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    region: Region


def demo_villages() -> list[Region]:
    """The villages/communities of the shipped demo subdivisions, in file order."""
    codes = [r.code for r in read_regions_file(DEMO_SUBDIVISIONS_FILE) if len(r.code) == 12]
    found = Region.objects.in_bulk(codes)
    missing = [c for c in codes if c not in found]
    if missing:
        raise CommandError(_("演示村社区未加载：%(codes)s") % {"codes": ", ".join(missing)})
    return [found[c] for c in codes]


def demo_logins(village: Region) -> list[DemoLogin]:
    """One user per role, bound to the node of the role's level on the path of `village`
    (a village worker in the village, a township officer in its township, … municipal roles at 500000)."""
    chain = {node.level: node for node in Region.objects.filter(code__in=village.path.strip("/").split("/"))}
    return [DemoLogin(f"{USERNAME_PREFIX}{role.value}", role, chain[ROLE_LEVEL[role]]) for role in Role]


def demo_users_exist() -> bool:
    return User.objects.filter(username__in=[f"{USERNAME_PREFIX}{r.value}" for r in Role]).exists()


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_logins(logins: list[DemoLogin]) -> str:
    header = [_("用户名"), _("角色"), _("区划"), _("密码")]
    rows = [
        [lg.username, str(lg.role.label), f"{lg.region.name}（{lg.region.code}）", DEMO_PASSWORD]
        for lg in logins
    ]
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Load the Chongqing demo (regions, emergency window, synthetic households, one user per role)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="only print the logins if the demo users exist"
        )
        parser.add_argument(
            "--households", type=int, default=2000, help="synthetic households in the demo villages"
        )

    def handle(self, *args, if_empty: bool, households: int, **options):
        if households < 1:
            raise CommandError(_("--households 至少为 1"))
        if if_empty and demo_users_exist():
            village = demo_villages()[0]
            self.stdout.write(_("演示数据已存在。登录信息："))
            self.stdout.write(format_logins(demo_logins(village)))
            return
        t0 = time.perf_counter()
        from doudi.regions.demo import load_demo

        counts = load_demo()
        self.stdout.write(
            _("行政区划：新增 %(regions)d 个；疫情防控期间：新增 %(windows)d 个；热线：新增 %(hotlines)d 条")
            % counts
        )
        villages = demo_villages()
        loaded = self._load_population(villages, households)
        if loaded is None:
            self.stdout.write(_("演示村社区已有家庭，跳过合成人口"))
        else:
            self.stdout.write(
                _(
                    "合成人口：%(households)d 户、%(persons)d 人、%(categories)d 条人员类别，分布在 %(villages)d 个演示村社区"
                )
                % {**loaded, "villages": len(villages)}
            )
        from doudi.payments.demo import load_demo_accounts

        self.stdout.write(
            _("代发银行：%(banks)d 家；收款账户：新增 %(accounts)d 个") % load_demo_accounts(villages)
        )
        logins = demo_logins(villages[0])
        created = self._create_users(logins)
        self.stdout.write(_("演示用户：新增 %(n)d 个") % {"n": created})
        from doudi.intake.demo import load_demo_cases

        cases = load_demo_cases(home=villages[0])
        if cases is None:
            self.stdout.write(_("已有案件，跳过演示案件"))
        else:
            self.stdout.write(
                _("演示案件：%(cases)d 件（其中 %(enrolled)d 户低保家庭按审批程序纳入在保名册）") % cases
            )
        from doudi.care.demo import load_demo_care

        care = load_demo_care(home=villages[0])
        if care is None:
            self.stdout.write(_("已有服务机构，跳过关爱服务演示数据"))
        else:
            self.stdout.write(
                _(
                    "服务机构：%(institutions)d 家，入院筛查：%(screenings)d 条，探访记录：%(contacts)d 条，"
                    "无人监护儿童报告：%(children)d 件，热线来电：%(calls)d 条"
                )
                % care
            )
        from doudi.volunteers.demo import load_demo_volunteers

        volunteers = load_demo_volunteers(home=villages[0])
        if volunteers is None:
            self.stdout.write(_("已有志愿者或社会组织，跳过志愿者演示数据"))
        else:
            self.stdout.write(_("社会组织：%(organisations)d 家，志愿者：%(volunteers)d 人") % volunteers)
        from doudi.rescue.demo import load_demo_rescue

        rescue = load_demo_rescue(villages=villages)
        if rescue is None:
            self.stdout.write(_("已有救助管理站，跳过救助管理演示数据"))
        else:
            self.stdout.write(_("救助管理站：%(stations)d 个，巡查报告：%(reports)d 条") % rescue)
        self.stdout.write(
            _("完成，用时 %(s).1f 秒。登录信息（仅供本机演示）：") % {"s": time.perf_counter() - t0}
        )
        self.stdout.write(format_logins(logins))

    def _load_population(self, villages: list[Region], households: int) -> dict | None:
        """Synthetic households in the demo villages, unless they already have some (None then)."""
        from doudi.registry import synth
        from doudi.registry.models import Household

        if Household.objects.filter(region__in=villages).exists():
            return None
        population = synth.generate_population(households, seed=DEMO_SEED, villages=villages)
        try:
            return synth.load_population(population)
        except synth.PopulationConflict as exc:
            raise CommandError(
                _("演示人口与已登记人员的身份证号重复（%(n)d 个），未导入") % {"n": exc.count}
            ) from exc

    @transaction.atomic
    def _create_users(self, logins: list[DemoLogin]) -> int:
        missing = [lg for lg in logins if not User.objects.filter(username=lg.username).exists()]
        # One Argon2 hash (~0.3 s each) shared by the demo users, who share the published password anyway.
        encoded = make_password(DEMO_PASSWORD) if missing else ""
        for login in missing:
            user = create_staff_user(
                username=login.username,
                password=None,
                region=login.region,
                roles=[login.role.value],
                full_name=DEMO_NAMES[login.role],
            )
            user.password = encoded
            user.save(update_fields=["password"])
        return len(missing)
