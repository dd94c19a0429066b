"""Staff and public roles of REQUIREMENTS.md, kept as Django groups of the same name."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    VILLAGE_WORKER = "village_worker", _("村社区工作人员")
    TOWNSHIP_OFFICER = "township_officer", _("乡镇街道经办人")
    DISTRICT_OFFICER = "district_officer", _("区县民政经办人")
    DISTRICT_APPROVER = "district_approver", _("区县民政审批人")
    MUNICIPAL_ADMIN = "municipal_admin", _("市民政管理员")
    MUNICIPAL_SUPERVISOR = "municipal_supervisor", _("市民政监督员")
    DISTRICT_SUPERVISOR = "district_supervisor", _("区县民政监督员")
    RESCUE_STATION = "rescue_station", _("救助管理站工作人员")
    INSTITUTION_STAFF = "institution_staff", _("服务机构工作人员")
    PATROL_REPORTER = "patrol_reporter", _("巡查报告人")
    AUDITOR = "auditor", _("审计人员")
    MUNICIPAL_FINANCE = "municipal_finance", _("市财政/市民政财务审核")


# The level of region node each role is normally bound to (checked when a user is created).
ROLE_LEVEL = {
    Role.VILLAGE_WORKER: 4,
    Role.TOWNSHIP_OFFICER: 3,
    Role.DISTRICT_OFFICER: 2,
    Role.DISTRICT_APPROVER: 2,
    Role.MUNICIPAL_ADMIN: 1,
    Role.MUNICIPAL_SUPERVISOR: 1,
    Role.DISTRICT_SUPERVISOR: 2,
    Role.RESCUE_STATION: 2,
    Role.INSTITUTION_STAFF: 2,
    Role.PATROL_REPORTER: 2,
    Role.AUDITOR: 1,
    Role.MUNICIPAL_FINANCE: 1,
}

# Roles that only read (supervision, audit): they never act on cases.
READ_ONLY_ROLES = frozenset({Role.MUNICIPAL_SUPERVISOR, Role.DISTRICT_SUPERVISOR, Role.AUDITOR})
# 监督员: the supervisors of art. 35, city-wide or within one district; the only roles that see a
# whistle-blower's identity (art. 34, supervision/reports.py).
SUPERVISOR_ROLES = frozenset({Role.MUNICIPAL_SUPERVISOR, Role.DISTRICT_SUPERVISOR})


def is_acting_staff(user) -> bool:
    """A signed-in staff user bound to a region node, holding at least one role that acts (not only
    supervises or audits): who may file, handle, register and check at all, before any narrower rule."""
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or getattr(user, "region_id", None) is None
    ):
        return False
    roles = user.roles
    return bool(roles) and not roles <= READ_ONLY_ROLES
