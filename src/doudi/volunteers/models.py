"""志愿者、社会组织 (notice 五): who can help where — volunteers and social organisations with the region
they serve (a district, township or village node: a township's volunteer serves all its villages), their
skills from a fixed list, the days they are available, a contact phone (masked in lists) and, for a
volunteer, the organisation they belong to — and their assignments to a care arrangement or to a person's
contact schedule (care), each with an insert-only ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager
from doudi.intake.models import TransitionLedger


class Skill(models.TextChoices):
    PSYCH = "psych", _("心理疏导")
    NURSING = "nursing", _("医疗护理")
    DELIVERY = "delivery", _("送餐送药")
    CHILDCARE = "childcare", _("儿童看护")
    ELDERCARE = "eldercare", _("老人照护")
    LEGAL = "legal", _("法律")
    TRANSPORT = "transport", _("交通")
    VISIT = "visit", _("探访陪伴")


def skills_label(stored: str) -> str:
    return "、".join(str(Skill(s).label) for s in stored.strip(",").split(",") if s in Skill.values)


class Provider(models.Model):
    """What a volunteer and an organisation share. `skills` is stored as ",code,code," so that one skill
    is found with a plain `contains` on every database (no JSON lookups on SQLite)."""

    name = models.CharField(_("姓名/名称"), max_length=100)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("服务区域")
    )
    phone = models.CharField(_("联系电话"), max_length=20)
    skills = models.CharField(_("服务技能"), max_length=200)
    capacity = models.PositiveSmallIntegerField(_("可同时承担的任务数"))
    available_from = models.DateField(_("可服务起始日期"))
    available_to = models.DateField(_("可服务截止日期"), null=True, blank=True)
    active = models.BooleanField(_("在册"), default=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    @property
    def skill_list(self) -> list[str]:
        return [s for s in self.skills.strip(",").split(",") if s]

    @property
    def skills_display(self) -> str:
        return skills_label(self.skills)


class OrganisationKind(models.TextChoices):
    SOCIAL_WORK = "social_work", _("社会工作服务机构")
    VOLUNTEER_GROUP = "volunteer_group", _("志愿服务组织")
    CHARITY = "charity", _("慈善组织")
    OTHER = "other", _("其他社会组织")


class Organisation(Provider):
    """社会组织: a social-work agency, volunteer group or charity that takes assignments as a body."""

    kind = models.CharField(_("组织类型"), max_length=16, choices=OrganisationKind.choices)
    contact_name = models.CharField(_("联系人"), max_length=64)

    class Meta:
        verbose_name = _("社会组织")
        verbose_name_plural = _("社会组织")
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="volunteers_org_unique_name")]


class Volunteer(Provider):
    """志愿者: one person; the phone is their key (one registration per phone)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("所属组织"),
    )

    class Meta:
        verbose_name = _("志愿者")
        verbose_name_plural = _("志愿者")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["name", "id"])]
        constraints = [models.UniqueConstraint(fields=["phone"], name="volunteers_volunteer_unique_phone")]


class Purpose(models.TextChoices):
    CARE = "care", _("照料安排")
    CONTACT = "contact", _("定期探访")


class AssignmentState(models.TextChoices):
    ACTIVE = "active", _("服务中")
    ENDED = "ended", _("已结束")


class Assignment(models.Model):
    """志愿服务安排: a volunteer or an organisation serving one person from `starts_on` to `ends_on` —
    either in a care arrangement (the arrangement's days bound it) or for the person's contact schedule.
    `last_day` is the last day actually served: `ends_on`, or earlier when ended (by hand, or because the
    arrangement ended). State changes only through the services, each an AssignmentEvent row."""

    volunteer = models.ForeignKey(
        Volunteer, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments"
    )
    purpose = models.CharField(_("服务事项"), max_length=8, choices=Purpose.choices)
    arrangement = models.ForeignKey(
        "care.CareArrangement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="volunteer_assignments",
        verbose_name=_("照料安排"),
    )
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        related_name="volunteer_assignments",
        verbose_name=_("服务对象"),
    )
    skill = models.CharField(_("服务内容"), max_length=16, choices=Skill.choices)
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("截止日期"))
    last_day = models.DateField(_("实际服务至"))
    state = models.CharField(_("状态"), max_length=8, choices=AssignmentState.choices)
    version = models.PositiveIntegerField(default=1)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(_("安排时间"))

    region_field = "person__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("志愿服务安排")
        verbose_name_plural = _("志愿服务安排")
        ordering = ["-starts_on", "-id"]
        indexes = [
            models.Index(fields=["volunteer", "last_day"]),
            models.Index(fields=["organisation", "last_day"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(volunteer__isnull=True, organisation__isnull=False)
                | models.Q(volunteer__isnull=False, organisation__isnull=True),
                name="volunteers_assignment_one_provider",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="volunteers_assignment_order"
            ),
            models.CheckConstraint(
                condition=models.Q(purpose="contact") | models.Q(arrangement__isnull=False),
                name="volunteers_care_needs_arrangement",
            ),
        ]

    @property
    def provider(self) -> Volunteer | Organisation:
        return self.volunteer or self.organisation  # type: ignore[return-value]

    @property
    def provider_kind_label(self) -> str:
        return str(_("志愿者") if self.volunteer_id else _("社会组织"))


class AssignmentEvent(TransitionLedger):
    """The assignment's ledger: assigned (→ active), ended (by hand, or with its arrangement)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="events")
    last_day = models.DateField(_("实际服务至"))

    region_field = "assignment__person__region"

    class Meta:
        ordering = ["assignment", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "seq"], name="volunteers_assignment_event_seq")
        ]
