"""人员与家庭: people, households, membership history, categories with validity dates, duplicates."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager


class AreaType(models.TextChoices):
    URBAN = "urban", _("城市")
    RURAL = "rural", _("农村")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class WorkStatus(models.TextChoices):
    NONE = "none", _("无")
    LOCAL = "local", _("本地就业")
    MIGRANT = "migrant", _("外出务工")
    RETURNED = "returned", _("返岗复工")


class OrphanCare(models.TextChoices):
    INSTITUTIONAL = "institutional", _("集中养育")
    SCATTERED = "scattered", _("散居")


class Category(models.TextChoices):
    """Categories a person may hold, each with validity dates (see PersonCategory)."""

    DIBAO = "dibao", _("低保对象")
    TEKUN = "tekun", _("特困人员")
    ORPHAN = "orphan", _("孤儿")
    DE_FACTO_UNSUPPORTED_CHILD = "de_facto_unsupported_child", _("事实无人抚养儿童")
    HARDSHIP_CHILD = "hardship_child", _("困境儿童")
    REGISTERED_POOR = "registered_poor", _("建档立卡贫困人口")
    ELDERLY_ALONE = "elderly_alone", _("独居老人")
    LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")
    LEFT_BEHIND_ELDERLY = "left_behind_elderly", _("留守老年人")
    SEVERE_DISABILITY = "severe_disability", _("重度残疾")
    SEVERE_ILLNESS = "severe_illness", _("重病")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    GRANDPARENT = "grandparent", _("祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class MemberStanding(models.TextChoices):
    """条例第11条: a member's situation that decides whether they count in the household."""

    PRESENT = "present", _("共同生活")
    SERVING_CONSCRIPT = "serving_conscript", _("服义务兵役")
    CLERGY = "clergy", _("宗教教职人员")
    PRISONER = "prisoner", _("服刑")


class SeparateReason(models.TextChoices):
    """条例第11条: why an adult is assessed as a household alone (单独施保)."""

    SEVERE_DISABILITY = "severe_disability", _("重度残疾")
    BEDRIDDEN_ILLNESS = "bedridden_illness", _("重病卧床")


class Household(models.Model):
    """A household (家庭) registered in a village/community."""

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="households", verbose_name=_("村社区")
    )
    area_type = models.CharField(_("城乡类别"), max_length=5, choices=AreaType.choices)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    head = models.ForeignKey(
        "Person", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("户主")
    )
    # Assets as declared (资产), checked by verification later.
    deposits_fen = models.BigIntegerField(_("存款（分）"), default=0)
    vehicles = models.PositiveSmallIntegerField(_("车辆数"), default=0)
    houses = models.PositiveSmallIntegerField(_("住房套数"), default=0)
    # 条例第13条: the other asset items, as declared (disability vehicles are excepted from the test).
    securities_fen = models.BigIntegerField(_("有价证券（分）"), default=0)
    claims_fen = models.BigIntegerField(_("债权（分）"), default=0)
    boats = models.PositiveSmallIntegerField(_("船舶数"), default=0)
    disability_vehicles = models.PositiveSmallIntegerField(_("残疾人功能性补偿代步车数"), default=0)
    # 条例第12条: a farming household's income is its previous 12 months' cash and in-kind income less
    # direct costs, ÷ 12 (the 12 months before the application).
    farming = models.BooleanField(_("农业家庭"), default=False)
    farming_cash_income_fen = models.BigIntegerField(_("12个月现金收入（分）"), default=0)
    farming_in_kind_income_fen = models.BigIntegerField(_("12个月实物收入（分）"), default=0)
    farming_direct_costs_fen = models.BigIntegerField(_("12个月直接生产成本（分）"), default=0)
    dibao_enrolled = models.BooleanField(_("在保"), default=False)
    dibao_last_amount = models.PositiveIntegerField(_("上月低保金（元）"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("家庭")
        verbose_name_plural = _("家庭")

    def __str__(self) -> str:
        return f"H{self.pk}"

    @property
    def full_address(self) -> str:
        """The address as a letter is sent to it: the district, township and village names, then the
        street address (地址)."""
        from doudi.regions.models import Region, RegionLevel

        codes = self.region.path.strip("/").split("/")
        names = Region.objects.filter(code__in=codes, level__gte=RegionLevel.DISTRICT).order_by("level")
        return "".join(names.values_list("name", flat=True)) + self.address


class Person(models.Model):
    """A resident; identity by the 18-digit resident ID (居民身份证号码), any province accepted."""

    id_number = models.CharField(_("身份证号"), max_length=18, unique=True)
    name = models.CharField(_("姓名"), max_length=64, db_index=True)
    birth_date = models.DateField(_("出生日期"))
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    # The village of the person's current household; kept by the membership services, used for scope.
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="persons", verbose_name=_("村社区")
    )
    # Declared monthly income by POLICY.md kind, integer fen.
    income_wage_fen = models.BigIntegerField(_("工资性收入（分/月）"), default=0)
    income_business_fen = models.BigIntegerField(_("经营性收入（分/月）"), default=0)
    income_agricultural_fen = models.BigIntegerField(_("农业收入（分/月）"), default=0)
    income_property_fen = models.BigIntegerField(_("财产性收入（分/月）"), default=0)
    income_transfer_fen = models.BigIntegerField(_("转移性收入（分/月）"), default=0)
    income_exempt_fen = models.BigIntegerField(_("豁免收入（分/月）"), default=0)
    work = models.CharField(_("就业状态"), max_length=8, choices=WorkStatus.choices, default=WorkStatus.NONE)
    orphan_care = models.CharField(
        _("孤儿养育方式"), max_length=13, choices=OrphanCare.choices, default=OrphanCare.SCATTERED
    )
    covid_confirmed_on = models.DateField(_("确诊日期"), null=True, blank=True)
    covid_discharged_on = models.DateField(_("出院日期"), null=True, blank=True)
    covid_died_on = models.DateField(_("死亡日期"), null=True, blank=True)
    # Set when an officer merged this record into another as its duplicate (合并): the record is kept
    # (other apps may point at it) but ended — no current household, no open category.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("已合并至")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        indexes = [
            models.Index(fields=["region", "name", "birth_date"]),
            # The few who died (supervision's paid-after-death check asks for those who died before a
            # month): a partial index instead of a scan of every person (docs/benchmarks.md S1).
            models.Index(
                fields=["covid_died_on"],
                condition=models.Q(covid_died_on__isnull=False),
                name="person_died_on",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """家庭成员关系 with history: a row per stay of a person in a household."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    relation = models.CharField(_("与户主关系"), max_length=12, choices=Relation.choices)
    joined_on = models.DateField(_("加入日期"))
    left_on = models.DateField(_("离开日期"), null=True, blank=True)
    # 条例第11条: an adult with severe disability/illness may be assessed as a separate household.
    separate_assessment = models.BooleanField(_("单独施保"), default=False)
    separate_reason = models.CharField(
        _("单独施保原因"), max_length=20, choices=SeparateReason.choices, blank=True
    )
    # 条例第11条: whether the member counts (unmarried serving conscripts, clergy living apart for more
    # than a year and prisoners do not); set by registry.services.set_membership_facts.
    standing = models.CharField(
        _("成员状况"), max_length=20, choices=MemberStanding.choices, default=MemberStanding.PRESENT
    )
    married = models.BooleanField(_("已婚"), null=True, blank=True)
    living_apart_since = models.DateField(_("离家居住起始日期"), null=True, blank=True)

    region_field = "household__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("家庭成员")
        verbose_name_plural = _("家庭成员")
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(left_on__isnull=True),
                name="one_current_household_per_person",
            ),
        ]
        indexes = [models.Index(fields=["household", "left_on"])]


class PersonCategory(models.Model):
    """A category held by a person from `valid_from` to `valid_to` (open when None)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="categories")
    category = models.CharField(_("类别"), max_length=32, choices=Category.choices)
    valid_from = models.DateField(_("起始日期"))
    valid_to = models.DateField(_("终止日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=200, blank=True)

    region_field = "person__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("人员类别")
        verbose_name_plural = _("人员类别")
        indexes = [models.Index(fields=["category", "valid_to"])]


class DuplicateStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    MERGED = "merged", _("已合并")
    DISMISSED = "dismissed", _("非重复")


class PossibleDuplicate(models.Model):
    """Same name and birth date in one village: queued for an officer to merge or dismiss."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=DuplicateStatus.choices, default=DuplicateStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("疑似重复")
        verbose_name_plural = _("疑似重复")
        constraints = [models.UniqueConstraint(fields=["person", "other"], name="unique_duplicate_pair")]
