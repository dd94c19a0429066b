"""关爱服务 (notice 三): service institutions and their admission screening, outings and daily reports;
the high-risk list they screen against; contact schedules for people living alone or left behind.

Records of what happened — screenings, outings' departures, daily reports, contacts — are insert-only
(intake's `InsertOnlyModel`, bulk updates refused too): a correction is a new record, never an edit.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.care.rules import HealthCode, Outcome, PsychAidState
from doudi.core.scoping import RegionScopedManager
from doudi.intake.models import InsertOnlyManager, InsertOnlyModel, TransitionLedger


class InstitutionKind(models.TextChoices):
    ELDERLY_HOME = "elderly_home", _("养老机构")
    CHILD_WELFARE = "child_welfare", _("儿童福利机构")
    MINOR_PROTECTION = "minor_protection", _("未成年人救助保护机构")
    MENTAL_HEALTH = "mental_health", _("精神卫生福利机构")
    OTHER = "other", _("其他民政服务机构")


class Institution(models.Model):
    """服务机构: an elderly home, child-welfare institution or other civil-affairs institution, held by
    the region node it stands in (its district's officers and institution staff see it)."""

    name = models.CharField(_("机构名称"), max_length=100)
    kind = models.CharField(_("机构类型"), max_length=20, choices=InstitutionKind.choices)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("所在区划")
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("床位数"))
    contact_name = models.CharField(_("联系人"), max_length=64)
    contact_phone = models.CharField(_("联系电话"), max_length=20)
    active = models.BooleanField(_("运营中"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("服务机构")
        verbose_name_plural = _("服务机构")
        ordering = ["region__path", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="care_institution_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class RiskArea(models.Model):
    """高风险地区: an area on the list the city (bound to the municipality) or a district keeps, in
    force from `listed_on` until the day before `lifted_on` (open while None). Listing and lifting
    are audited; a lifted row stays, so a past screening can be read against the list of its day."""

    name = models.CharField(_("地区名称"), max_length=64)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("发布单位")
    )
    listed_on = models.DateField(_("列入日期"))
    lifted_on = models.DateField(_("移出日期"), null=True, blank=True)
    reason = models.CharField(_("依据"), max_length=200)
    listed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("列入人")
    )
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("移出人"),
    )

    class Meta:
        verbose_name = _("高风险地区")
        verbose_name_plural = _("高风险地区")
        ordering = ["-listed_on", "name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(lifted_on__isnull=True) | models.Q(lifted_on__gt=models.F("listed_on")),
                name="care_risk_area_lifted_after_listed",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PersonKind(models.TextChoices):
    RESIDENT = "resident", _("入住人员")
    STAFF = "staff", _("工作人员")


class AdmissionKind(models.TextChoices):
    NEW = "new", _("新入住/新入职")
    RETURNING = "returning", _("返回")


class Screening(InsertOnlyModel):
    """入院（入岗）筛查: one check of a new or returning resident or staff member at an institution,
    with the facts, the rule's outcome and reasons, the high-risk areas matched, and who screened."""

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="screenings", verbose_name=_("机构")
    )
    person_kind = models.CharField(_("人员类别"), max_length=10, choices=PersonKind.choices)
    admission_kind = models.CharField(_("筛查情形"), max_length=10, choices=AdmissionKind.choices)
    name = models.CharField(_("姓名"), max_length=64)
    id_number = models.CharField(_("身份证号"), max_length=18)
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    origin = models.CharField(_("来源地"), max_length=100)
    trajectory = models.JSONField(_("14天行程"), default=list, blank=True)
    temperature = models.DecimalField(_("体温（℃）"), max_digits=3, decimal_places=1)
    health_code = models.CharField(_("渝康码"), max_length=8, choices=HealthCode.choices)
    outcome = models.CharField(_("筛查结论"), max_length=8, choices=Outcome.choices)
    reasons = models.JSONField(_("理由"), default=list)
    matched_areas = models.JSONField(_("命中的高风险地区"), default=list, blank=True)
    screened_on = models.DateField(_("筛查日期"))
    screened_at = models.DateTimeField(_("录入时间"))
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("筛查人")
    )
    screened_by_label = models.CharField(_("筛查人"), max_length=150)

    region_field = "institution__region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("入院筛查")
        verbose_name_plural = _("入院筛查")
        ordering = ["-screened_at", "-id"]
        indexes = [models.Index(fields=["institution", "screened_on"])]


class OutingStatus(models.TextChoices):
    OUT = "out", _("外出中")
    RETURNED = "returned", _("已返回")


class Outing(models.Model):
    """外出就医: a resident's outing — for medical care only (三(一)) — through the green channel
    (绿色通道) or not, with the destination, who accompanied, and the return."""

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="outings", verbose_name=_("机构")
    )
    resident_name = models.CharField(_("入住人员姓名"), max_length=64)
    resident_id_number = models.CharField(_("身份证号"), max_length=18)
    destination = models.CharField(_("就医机构"), max_length=100)
    purpose = models.CharField(_("就医事由"), max_length=200)
    green_channel = models.BooleanField(_("经绿色通道"), default=False)
    escort = models.CharField(_("陪同人员"), max_length=64, blank=True)
    left_at = models.DateTimeField(_("外出时间"))
    returned_at = models.DateTimeField(_("返回时间"), null=True, blank=True)
    return_note = models.CharField(_("返回情况"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("登记人")
    )
    returned_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    region_field = "institution__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("外出就医")
        verbose_name_plural = _("外出就医")
        ordering = ["-left_at", "-id"]

    @property
    def status(self) -> str:
        return OutingStatus.OUT if self.returned_at is None else OutingStatus.RETURNED


class DailyReport(InsertOnlyModel):
    """机构日报: one per institution and day — residents, staff on site, people with symptoms."""

    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="daily_reports", verbose_name=_("机构")
    )
    day = models.DateField(_("日期"))
    residents = models.PositiveIntegerField(_("在院人数"))
    staff_on_site = models.PositiveIntegerField(_("在岗工作人员"))
    symptomatic = models.PositiveIntegerField(_("有发热、咳嗽等症状人数"))
    note = models.CharField(_("情况说明"), max_length=500, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("报告人")
    )
    reported_by_label = models.CharField(_("报告人"), max_length=150)
    reported_at = models.DateTimeField(_("报告时间"))

    region_field = "institution__region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("机构日报")
        verbose_name_plural = _("机构日报")
        ordering = ["-day", "institution_id"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "day"], name="care_one_daily_report_per_day")
        ]


class ContactCategory(models.TextChoices):
    """The people of 三(四) with a contact schedule, each from a registry category (散居孤儿: an orphan
    whose 养育方式 is 散居)."""

    ELDERLY_ALONE = "elderly_alone", _("孤寡老人")
    SCATTERED_ORPHAN = "scattered_orphan", _("散居孤儿")
    LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")
    LEFT_BEHIND_ELDERLY = "left_behind_elderly", _("留守老年人")
    SEVERE_ILLNESS = "severe_illness", _("重病人员")
    SEVERE_DISABILITY = "severe_disability", _("重度残疾人员")


class ContactMethod(models.TextChoices):
    VISIT = "visit", _("上门探访")
    PHONE = "phone", _("电话联系")
    VIDEO = "video", _("视频联系")


class Contact(models.Model):
    """探访记录: one contact with a person on the schedule — visit, phone or video — with what was
    found. When it finds a need, a follow-up one-door case (照料服务) is opened from it and linked here;
    that link is the only field written after the contact (once, under a lock)."""

    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="care_contacts", verbose_name=_("探访对象")
    )
    contacted_on = models.DateField(_("联系日期"))
    method = models.CharField(_("联系方式"), max_length=8, choices=ContactMethod.choices)
    findings = models.TextField(_("了解到的情况"))
    need = models.TextField(_("需要帮助的事项"), blank=True)
    follow_up_case = models.OneToOneField(
        "intake.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="care_contact",
        verbose_name=_("跟进案件"),
    )
    contacted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("联系人")
    )
    contacted_by_label = models.CharField(_("联系人"), max_length=150)
    recorded_at = models.DateTimeField(_("录入时间"))

    region_field = "person__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("探访记录")
        verbose_name_plural = _("探访记录")
        ordering = ["-contacted_on", "-id"]
        indexes = [models.Index(fields=["person", "contacted_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "contacted_on", "method", "contacted_by"], name="care_contact_once_a_day"
            )
        ]

    @property
    def found_need(self) -> bool:
        return bool(self.need)


class ChildReportState(models.TextChoices):
    REPORTED = "reported", _("已报告")
    TOWNSHIP_ACKNOWLEDGED = "township_ack", _("乡镇街道已接报")
    DISTRICT_ACKNOWLEDGED = "district_ack", _("区县已接报")
    ARRANGED = "arranged", _("已安排监护照料")
    CLOSED = "closed", _("监护人已返回，结案")


class GuardianAbsence(models.TextChoices):
    ISOLATED = "isolated", _("监护人被隔离观察")
    HOSPITALISED = "hospitalised", _("监护人住院治疗")
    DIED = "died", _("监护人死亡")
    FRONT_LINE = "front_line", _("监护人在抗疫一线")
    OTHER = "other", _("其他原因")


class ChildReport(models.Model):
    """无人监护儿童报告 (三(二)): a child left without guardianship by the epidemic, reported by a child
    director or supervisor (儿童主任、儿童督导员); the township and the district must acknowledge within
    hours (`care.child_escalation_hours.*`), a temporary guardianship and care arrangement follows, and
    follow-ups until a guardian is back. `state` changes only through the services, each change a
    ChildReportEvent row."""

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("所在村社区")
    )
    child = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登记在册的儿童"),
    )
    child_name = models.CharField(_("儿童姓名"), max_length=64)
    child_id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    child_age = models.PositiveSmallIntegerField(_("年龄"))
    location = models.CharField(_("儿童所在地点"), max_length=200)
    absence = models.CharField(_("无人监护原因"), max_length=16, choices=GuardianAbsence.choices)
    guardian_name = models.CharField(_("原监护人"), max_length=64, blank=True)
    situation = models.TextField(_("儿童现状"))
    state = models.CharField(_("状态"), max_length=16, choices=ChildReportState.choices)
    version = models.PositiveIntegerField(default=1)
    reported_at = models.DateTimeField(_("报告时间"))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("报告人")
    )
    township_due_at = models.DateTimeField(_("乡镇街道应接报时间"))
    district_due_at = models.DateTimeField(_("区县应接报时间"))
    township_acknowledged_at = models.DateTimeField(_("乡镇街道接报时间"), null=True, blank=True)
    district_acknowledged_at = models.DateTimeField(_("区县接报时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结案时间"), null=True, blank=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("无人监护儿童报告")
        verbose_name_plural = _("无人监护儿童报告")
        ordering = ["-reported_at", "-id"]
        indexes = [models.Index(fields=["state", "reported_at"])]


CHILD_EVENT_LABELS = {
    "reported": _("报告"),
    "township_ack": _("乡镇街道接报"),
    "district_ack": _("区县接报"),
    "arranged": _("安排临时监护照料"),
    "follow_up": _("回访"),
    "guardian_back": _("监护人返回，结案"),
}


class ChildReportEvent(InsertOnlyModel):
    """The report's insert-only ledger: who, when, what (reported, acknowledged, arranged, followed up,
    guardian back), the state before and after, and a note."""

    report = models.ForeignKey(ChildReport, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("事项"), max_length=16)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    note = models.TextField(_("说明"), blank=True)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    by_label = models.CharField(_("经办人"), max_length=150)

    region_field = "report__region"
    objects = InsertOnlyManager()

    class Meta:
        ordering = ["at", "id"]

    @property
    def kind_label(self) -> str:
        return str(CHILD_EVENT_LABELS.get(self.kind, self.kind))


class CareKind(models.TextChoices):
    RELATIVE = "relative", _("亲属临时照料")
    VILLAGE = "village", _("村（居）委会安排人员照料")
    INSTITUTION = "institution", _("儿童福利机构、未成年人救助保护机构临时照料")
    FOSTER = "foster", _("临时家庭寄养")
    OTHER = "other", _("其他")


class GuardianshipArrangement(InsertOnlyModel):
    """临时监护和照料安排: who cares for the child, where, from when; a change of carer is a new row
    (the latest is the one in force)."""

    report = models.ForeignKey(ChildReport, on_delete=models.PROTECT, related_name="arrangements")
    kind = models.CharField(_("照料方式"), max_length=16, choices=CareKind.choices)
    carer_name = models.CharField(_("临时监护/照料人"), max_length=64)
    carer_phone = models.CharField(_("联系电话"), max_length=20)
    place = models.CharField(_("照料地点"), max_length=200)
    starts_on = models.DateField(_("起始日期"))
    arranged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    arranged_by_label = models.CharField(_("安排人"), max_length=150)
    arranged_at = models.DateTimeField(_("安排时间"))

    region_field = "report__region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("临时监护照料安排")
        verbose_name_plural = _("临时监护照料安排")
        ordering = ["-arranged_at", "-id"]


class DependentKind(models.TextChoices):
    ELDERLY = "elderly", _("生活不能自理的老年人")
    DISABLED = "disabled", _("残疾人")
    MINOR = "minor", _("未成年人")


class CarerAbsence(models.TextChoices):
    """三(四): why the carer cannot care — confirmed, suspected, fever or close contact, isolated."""

    CONFIRMED = "confirmed", _("确诊")
    SUSPECTED = "suspected", _("疑似")
    FEVER = "fever", _("发热")
    CLOSE_CONTACT = "close_contact", _("密切接触")


class ProviderKind(models.TextChoices):
    RELATIVE = "relative", _("亲属")
    VILLAGE = "village", _("村（居）委会安排人员")
    INSTITUTION = "institution", _("服务机构")
    VOLUNTEER = "volunteer", _("志愿者、社会组织")
    OTHER = "other", _("其他")


class CareArrangement(InsertOnlyModel):
    """照料安排 (三(四)): a dependent (elderly, disabled, minor — 特困 first) whose carer is isolated, who
    provides the care and until when. A change or an extension is a new row; the latest is in force."""

    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        related_name="care_arrangements",
        verbose_name=_("照料对象"),
    )
    dependent_kind = models.CharField(_("对象类别"), max_length=10, choices=DependentKind.choices)
    carer_name = models.CharField(_("原监护/照料人"), max_length=64)
    carer_absence = models.CharField(_("原照料人情况"), max_length=16, choices=CarerAbsence.choices)
    provider_kind = models.CharField(_("照料提供方式"), max_length=12, choices=ProviderKind.choices)
    provider_name = models.CharField(_("照料提供人/机构"), max_length=100)
    provider_phone = models.CharField(_("联系电话"), max_length=20)
    starts_on = models.DateField(_("起始日期"))
    ends_on = models.DateField(_("照料至"))
    arranged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    arranged_by_label = models.CharField(_("安排人"), max_length=150)
    arranged_at = models.DateTimeField(_("安排时间"))

    region_field = "person__region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("照料安排")
        verbose_name_plural = _("照料安排")
        ordering = ["-arranged_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="care_arrangement_ends_after"
            ),
            models.UniqueConstraint(
                fields=["person", "provider_name", "starts_on", "ends_on"], name="care_arrangement_once"
            ),
        ]


class PlacementReason(models.TextChoices):
    FAMILY_ISOLATED = "family_isolated", _("家属隔离治疗")
    FRONT_LINE = "front_line", _("家属在抗疫一线")


class Placement(InsertOnlyModel):
    """入住养老机构安置 (三(三)): an elderly person left without care, placed in a nearby home with the
    family's consent after isolation observation (隔离观察 from–to, then admission). Insert-only: a
    correction is a new placement."""

    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="placements", verbose_name=_("老年人")
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="placements", verbose_name=_("养老机构")
    )
    reason = models.CharField(_("无人照料原因"), max_length=16, choices=PlacementReason.choices)
    family_name = models.CharField(_("协商的家属"), max_length=64)
    family_phone = models.CharField(_("家属电话"), max_length=20)
    consent_on = models.DateField(_("家属同意日期"))
    observation_from = models.DateField(_("隔离观察开始"))
    observation_to = models.DateField(_("隔离观察结束"))
    note = models.CharField(_("说明"), max_length=500, blank=True)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_by_label = models.CharField(_("经办人"), max_length=150)
    placed_at = models.DateTimeField(_("登记时间"))

    region_field = "person__region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("养老机构安置")
        verbose_name_plural = _("养老机构安置")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(observation_to__gte=models.F("observation_from")),
                name="care_placement_observation_order",
            ),
            models.UniqueConstraint(
                fields=["person", "institution", "observation_from"], name="care_placement_once"
            ),
        ]


class ClosureReason(models.TextChoices):
    """Why care ended before its day (监护人返回、家属接回…)."""

    CARER_BACK = "carer_back", _("监护人/照料人返回")
    FAMILY_HOME = "family_home", _("家属接回")
    TRANSFERRED = "transferred", _("转入机构或另行安排")
    DIED = "died", _("照料对象死亡")
    OTHER = "other", _("其他")


class CareLedger(TransitionLedger):
    """The insert-only ledger of a care arrangement or a placement after it was made: today one step,
    结束 (close, in force → closed) with the day care ended, why (a kind and a written reason), who and
    when. The arrangement or placement row itself is never edited; one closure each (unique seq)."""

    arrangement = models.ForeignKey(
        CareArrangement, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger"
    )
    placement = models.ForeignKey(
        Placement, on_delete=models.PROTECT, null=True, blank=True, related_name="ledger"
    )
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    closed_on = models.DateField(_("结束日期"))
    reason_kind = models.CharField(_("结束原因"), max_length=16, choices=ClosureReason.choices)

    region_field = "person__region"

    class Meta:
        verbose_name = _("照料结束记录")
        verbose_name_plural = _("照料结束记录")
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(arrangement__isnull=True, placement__isnull=False)
                | models.Q(arrangement__isnull=False, placement__isnull=True),
                name="care_ledger_one_subject",
            ),
            models.UniqueConstraint(fields=["arrangement", "seq"], name="care_ledger_arrangement_seq"),
            models.UniqueConstraint(fields=["placement", "seq"], name="care_ledger_placement_seq"),
        ]


# --- hotline calls (热线来电, notice 四) ----------------------------------------------------------------


class HotlineCategory(models.TextChoices):
    ASSISTANCE = "assistance", _("救助政策咨询、申请")
    STRANDED = "stranded", _("滞留、流浪乞讨人员求助")
    CHILD = "child", _("儿童监护照料")
    ELDERLY = "elderly", _("老年人、残疾人照料")
    PSYCHOLOGICAL = "psychological", _("心理援助、情绪疏导")
    COMPLAINT = "complaint", _("投诉举报")
    OTHER = "other", _("其他")


class HotlineOutcome(models.TextChoices):
    ANSWERED = "answered", _("当场解答")
    CASE = "case", _("转一门受理案件")


class HotlineCall(models.Model):
    """热线来电记录 (notice 四): one call to a published line, taken by a township or district officer
    for the region it concerns — who called (optional), what about, and what became of it: answered on
    the spot (with the answer) or converted into a one-door case (`case`, set once under a lock; a
    call never makes a second case). `submission_key` makes a form sent twice one record."""

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("所属区划")
    )
    received_at = models.DateTimeField(_("来电时间"))
    caller_name = models.CharField(_("来电人"), max_length=64, blank=True)
    caller_id_number = models.CharField(_("身份证号"), max_length=18, blank=True)
    caller_phone = models.CharField(_("来电号码"), max_length=20, blank=True)
    caller = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登记在册的来电人"),
    )
    category = models.CharField(_("来电类别"), max_length=16, choices=HotlineCategory.choices)
    summary = models.TextField(_("来电内容"))
    outcome = models.CharField(_("处理方式"), max_length=8, choices=HotlineOutcome.choices)
    answer = models.TextField(_("解答内容"), blank=True)
    case = models.OneToOneField(
        "intake.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hotline_call",
        verbose_name=_("转办案件"),
    )
    submission_key = models.UUIDField(unique=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("接听人")
    )
    recorded_by_label = models.CharField(_("接听人"), max_length=150)
    recorded_at = models.DateTimeField(_("录入时间"))

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("热线来电记录")
        verbose_name_plural = _("热线来电记录")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["region", "received_at", "id"])]


# --- psychological aid (心理援助, notice 五) -------------------------------------------------------------


class PsychAidTrigger(models.TextChoices):
    BEREAVED = "bereaved", _("新冠肺炎病亡人员家属")
    HOSPITALISED = "hospitalised", _("长期住院治疗的患者及家属")
    ISOLATED_FAMILY = "isolated_family", _("被隔离人员的家属")


class PsychAidOffer(models.Model):
    """心理援助转介的跟进: the state of the offer a 照料服务 case (department 心理援助, opened by
    `services.offer_psych_aid`) carries — offered, accepted or declined, followed up, closed. One per
    person and trigger (`person` is the deceased, the long-stay patient or the dependent of an isolated
    carer). `state` changes only through the services, each change a PsychAidTransition row."""

    case = models.OneToOneField(
        "intake.Case", on_delete=models.PROTECT, related_name="psych_aid_offer", verbose_name=_("案件")
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="+", verbose_name=_("转介事由人员")
    )
    trigger = models.CharField(_("转介事由"), max_length=16, choices=PsychAidTrigger.choices)
    state = models.CharField(_("状态"), max_length=10, choices=PsychAidState.choices)
    version = models.PositiveIntegerField(default=1)
    offered_on = models.DateField(_("转介日期"))
    last_on = models.DateField(_("最近联系或变更"))
    next_on = models.DateField(_("约定下次联系"), null=True, blank=True)

    region_field = "case__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("心理援助转介")
        verbose_name_plural = _("心理援助转介")
        ordering = ["-offered_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["person", "trigger"], name="care_psych_aid_once_per_trigger")
        ]


class PsychAidTransition(TransitionLedger):
    """The offer's insert-only ledger: offered, accepted, declined, followed up, closed."""

    offer = models.ForeignKey(PsychAidOffer, on_delete=models.PROTECT, related_name="transitions")

    region_field = "offer__case__region"

    class Meta:
        ordering = ["offer", "seq"]
        constraints = [models.UniqueConstraint(fields=["offer", "seq"], name="care_psych_aid_transition_seq")]


class PsychAidFollowUp(InsertOnlyModel):
    """回访: one contact with the person or family after they accepted — how, what was found, and
    when to call next (optional: else the dated interval `care.psych_aid.follow_up_days`)."""

    offer = models.ForeignKey(PsychAidOffer, on_delete=models.PROTECT, related_name="follow_ups")
    contacted_on = models.DateField(_("联系日期"))
    method = models.CharField(_("联系方式"), max_length=8, choices=ContactMethod.choices)
    findings = models.TextField(_("情况"))
    next_on = models.DateField(_("下次联系"), null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    by_label = models.CharField(_("联系人"), max_length=150)
    recorded_at = models.DateTimeField(_("录入时间"))

    region_field = "offer__case__region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("心理援助回访")
        verbose_name_plural = _("心理援助回访")
        ordering = ["-contacted_on", "-id"]
