"""Department data sources (部门数据) and the schema each extract must follow.

《社会救助暂行办法》第五十八条 and 条例第27条: household economic status is verified (核对) against
the records of 人社, 不动产, 车管, 市场监管, 税务, 公积金, banks, 公安/卫健, and (art. 27's remaining
ones) 户籍 changes, insurers, securities and unemployment registration. Each department sends an
*extract* (a file); this module declares, per source, the columns the file must carry, their types,
the key that must be unique, and whether a new extract replaces the previous one (a snapshot) or adds
to it (events such as deaths and hospital stays).

No Django import (the synthetic generator runs without settings). Labels are marked with
`gettext_noop` so makemessages collects them: the Chinese original is what a file's header may use,
and screens show `gettext(label)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


def gettext_noop(message: str) -> str:
    """Marks a string for translation without translating it (the keyword makemessages looks for)."""
    return message


class Source(StrEnum):
    SOCIAL_INSURANCE = "social_insurance"
    TAX = "tax"
    REAL_ESTATE = "real_estate"
    VEHICLES = "vehicles"
    BUSINESS = "business"
    PROVIDENT_FUND = "provident_fund"
    BANK_DEPOSITS = "bank_deposits"
    DEATHS = "deaths"
    HOSPITALISATION = "hospitalisation"
    # 条例第27条: the further departments a verification platform reads (户籍, 保险, 证券, 失业登记).
    HOUSEHOLD_REGISTRATION = "household_registration"
    INSURANCE = "insurance"
    SECURITIES = "securities"
    UNEMPLOYMENT = "unemployment"


class ColumnType(StrEnum):
    ID = "id"  # 18-digit resident ID, checksum and birth date checked
    TEXT = "text"
    DATE = "date"  # YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD
    AMOUNT = "amount"  # yuan, at most 2 decimals, not negative; stored as integer fen
    CHOICE = "choice"  # one of the declared codes (or its Chinese label)


class History(StrEnum):
    SNAPSHOT = "snapshot"  # the latest extract is the whole truth
    EVENTS = "events"  # every extract adds events; all extracts up to a date are read together


@dataclass(frozen=True)
class Column:
    name: str
    label: str  # the Chinese header; a file may use either
    type: ColumnType
    required: bool = True  # the value may not be empty (the column itself is always required)
    choices: tuple[tuple[str, str], ...] = ()  # (code, Chinese label)

    @property
    def stored_name(self) -> str:
        """Amounts are stored in integer fen, under a name that says so."""
        return f"{self.name}_fen" if self.type == ColumnType.AMOUNT else self.name


@dataclass(frozen=True)
class SourceSchema:
    source: Source
    label: str
    department: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    history: History = History.SNAPSHOT

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def stored_columns(self) -> list[str]:
        return [c.stored_name for c in self.columns]


ID = Column("id_number", gettext_noop("身份证号"), ColumnType.ID)
NAME = Column("name", gettext_noop("姓名"), ColumnType.TEXT)

SCHEMAS: dict[Source, SourceSchema] = {
    s.source: s
    for s in (
        SourceSchema(
            Source.SOCIAL_INSURANCE,
            gettext_noop("社会保险与工资"),
            gettext_noop("人力资源和社会保障局"),
            (
                ID,
                NAME,
                Column("employer", gettext_noop("单位名称"), ColumnType.TEXT),
                Column("insured_since", gettext_noop("参保日期"), ColumnType.DATE, required=False),
                Column("monthly_wage", gettext_noop("月工资"), ColumnType.AMOUNT),
            ),
            key=("id_number", "employer"),
        ),
        SourceSchema(
            Source.TAX,
            gettext_noop("个人所得纳税"),
            gettext_noop("税务局"),
            (
                ID,
                NAME,
                Column(
                    "income_kind",
                    gettext_noop("所得项目"),
                    ColumnType.CHOICE,
                    choices=(
                        ("business", gettext_noop("经营所得")),
                        ("property", gettext_noop("财产性所得")),
                    ),
                ),
                Column("payer", gettext_noop("扣缴义务人"), ColumnType.TEXT, required=False),
                Column("monthly_income", gettext_noop("月均所得"), ColumnType.AMOUNT),
            ),
            key=("id_number", "income_kind", "payer"),
        ),
        SourceSchema(
            Source.REAL_ESTATE,
            gettext_noop("不动产登记"),
            gettext_noop("不动产登记中心"),
            (
                ID,
                NAME,
                Column("certificate_no", gettext_noop("不动产权证号"), ColumnType.TEXT),
                Column("address", gettext_noop("坐落"), ColumnType.TEXT, required=False),
                Column(
                    "use",
                    gettext_noop("用途"),
                    ColumnType.CHOICE,
                    choices=(
                        ("residential", gettext_noop("住宅")),
                        ("commercial", gettext_noop("商业")),
                        ("other", gettext_noop("其他")),
                    ),
                ),
                Column("registered_on", gettext_noop("登记日期"), ColumnType.DATE),
            ),
            key=("certificate_no", "id_number"),
        ),
        SourceSchema(
            Source.VEHICLES,
            gettext_noop("机动车登记"),
            gettext_noop("公安交通管理部门（车管所）"),
            (
                ID,
                NAME,
                Column("plate_no", gettext_noop("号牌号码"), ColumnType.TEXT),
                Column(
                    "vehicle_type",
                    gettext_noop("车辆类型"),
                    ColumnType.CHOICE,
                    choices=(
                        ("car", gettext_noop("小型汽车")),
                        ("truck", gettext_noop("货车")),
                        ("motorcycle", gettext_noop("摩托车")),
                        ("disability", gettext_noop("残疾人专用车")),
                    ),
                ),
                Column("registered_on", gettext_noop("登记日期"), ColumnType.DATE),
            ),
            key=("plate_no",),
        ),
        SourceSchema(
            Source.BUSINESS,
            gettext_noop("市场主体登记"),
            gettext_noop("市场监督管理局"),
            (
                ID,
                NAME,
                Column("credit_code", gettext_noop("统一社会信用代码"), ColumnType.TEXT),
                Column("business_name", gettext_noop("市场主体名称"), ColumnType.TEXT),
                Column("registered_on", gettext_noop("成立日期"), ColumnType.DATE),
                Column(
                    "status",
                    gettext_noop("登记状态"),
                    ColumnType.CHOICE,
                    choices=(("active", gettext_noop("存续")), ("cancelled", gettext_noop("注销"))),
                ),
            ),
            key=("credit_code", "id_number"),
        ),
        SourceSchema(
            Source.PROVIDENT_FUND,
            gettext_noop("住房公积金"),
            gettext_noop("住房公积金管理中心"),
            (
                ID,
                NAME,
                Column("employer", gettext_noop("缴存单位"), ColumnType.TEXT),
                Column("monthly_deposit", gettext_noop("月缴存额"), ColumnType.AMOUNT),
                Column("balance", gettext_noop("账户余额"), ColumnType.AMOUNT),
            ),
            key=("id_number",),
        ),
        SourceSchema(
            Source.BANK_DEPOSITS,
            gettext_noop("银行存款"),
            gettext_noop("银行业金融机构"),
            (
                ID,
                NAME,
                Column("bank", gettext_noop("开户银行"), ColumnType.TEXT),
                Column("account_no", gettext_noop("账号"), ColumnType.TEXT),
                Column("balance", gettext_noop("余额"), ColumnType.AMOUNT),
                Column("as_of", gettext_noop("余额日期"), ColumnType.DATE),
            ),
            key=("bank", "account_no"),
        ),
        SourceSchema(
            Source.DEATHS,
            gettext_noop("死亡登记"),
            gettext_noop("公安局 / 卫生健康委员会"),
            (
                ID,
                NAME,
                Column("died_on", gettext_noop("死亡日期"), ColumnType.DATE),
                Column("authority", gettext_noop("登记机关"), ColumnType.TEXT, required=False),
            ),
            key=("id_number",),
            history=History.EVENTS,
        ),
        SourceSchema(
            Source.HOSPITALISATION,
            gettext_noop("住院记录"),
            gettext_noop("卫生健康委员会"),
            (
                ID,
                NAME,
                Column("hospital", gettext_noop("医院"), ColumnType.TEXT),
                Column("admitted_on", gettext_noop("入院日期"), ColumnType.DATE),
                Column("discharged_on", gettext_noop("出院日期"), ColumnType.DATE, required=False),
                Column("out_of_pocket", gettext_noop("个人自付费用"), ColumnType.AMOUNT, required=False),
            ),
            key=("id_number", "hospital", "admitted_on"),
            history=History.EVENTS,
        ),
        SourceSchema(
            Source.HOUSEHOLD_REGISTRATION,
            gettext_noop("户籍变动"),
            gettext_noop("公安局（户政）"),
            (
                ID,
                NAME,
                Column(
                    "change",
                    gettext_noop("变动类型"),
                    ColumnType.CHOICE,
                    choices=(
                        ("death", gettext_noop("死亡注销")),
                        ("move_out", gettext_noop("迁出")),
                        ("move_in", gettext_noop("迁入")),
                    ),
                ),
                Column("changed_on", gettext_noop("变动日期"), ColumnType.DATE),
                Column("place", gettext_noop("迁往或迁自地址"), ColumnType.TEXT, required=False),
                Column("authority", gettext_noop("登记机关"), ColumnType.TEXT, required=False),
            ),
            key=("id_number", "change", "changed_on"),
            history=History.EVENTS,
        ),
        SourceSchema(
            Source.INSURANCE,
            gettext_noop("商业保险"),
            gettext_noop("保险公司"),
            (
                ID,
                NAME,
                Column("insurer", gettext_noop("保险公司"), ColumnType.TEXT),
                Column("policy_no", gettext_noop("保单号"), ColumnType.TEXT),
                Column(
                    "product",
                    gettext_noop("险种"),
                    ColumnType.CHOICE,
                    choices=(
                        ("life", gettext_noop("人寿保险")),
                        ("annuity", gettext_noop("年金保险")),
                        ("health", gettext_noop("健康保险")),
                        ("property", gettext_noop("财产保险")),
                    ),
                ),
                Column("cash_value", gettext_noop("现金价值"), ColumnType.AMOUNT),
                Column("annual_premium", gettext_noop("年缴保费"), ColumnType.AMOUNT, required=False),
                Column("as_of", gettext_noop("价值日期"), ColumnType.DATE),
            ),
            key=("insurer", "policy_no", "id_number"),
        ),
        SourceSchema(
            Source.SECURITIES,
            gettext_noop("证券账户"),
            gettext_noop("证券登记结算机构"),
            (
                ID,
                NAME,
                Column("broker", gettext_noop("证券公司"), ColumnType.TEXT),
                Column("account_no", gettext_noop("证券账户"), ColumnType.TEXT),
                Column("market_value", gettext_noop("市值"), ColumnType.AMOUNT),
                Column("as_of", gettext_noop("市值日期"), ColumnType.DATE),
            ),
            key=("broker", "account_no"),
        ),
        SourceSchema(
            Source.UNEMPLOYMENT,
            gettext_noop("失业登记"),
            gettext_noop("人力资源和社会保障局（就业服务机构）"),
            (
                ID,
                NAME,
                Column("registered_on", gettext_noop("登记日期"), ColumnType.DATE),
                Column("ended_on", gettext_noop("终止日期"), ColumnType.DATE, required=False),
                Column("benefit", gettext_noop("失业保险金（月）"), ColumnType.AMOUNT, required=False),
            ),
            key=("id_number", "registered_on"),
        ),
    )
}

# Which verified figure each source supplies to the dibao rule (POLICY R1 income kinds and assets).
WAGE_SOURCE = Source.SOCIAL_INSURANCE
TAX_INCOME_KINDS = ("business", "property")
# Disability vehicles are not counted as vehicles (POLICY §2, dibao.assets.max_vehicles).
UNCOUNTED_VEHICLE_TYPES = ("disability",)
COUNTED_HOUSE_USES = ("residential",)
