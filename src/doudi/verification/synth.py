"""合成部门数据: department extracts drawn from a synthetic population, with realistic mismatches.

Given the registry's synthetic population (households.parquet, persons.parquet — see
doudi.registry.synth), draw one extract per source in the declared schema (sources.py), so that most
records agree with what households declared and some do not, as in real verification:

- wages for most declared wage earners, some a little off, some lower (income fell), some missing
  (informal work), and undeclared wages for a few people who declared none;
- business and property income (税务), business registrations, some undeclared;
- houses and vehicles as declared, co-owned houses listed for both spouses, some undeclared ones,
  disability vehicles (which are not counted);
- bank balances around the declared deposits, a few far above;
- deaths and hospital stays of a few members;
- name typos on some rows, and the rest of the records for people outside the population (IDs of
  other places), up to the requested total.

Everything is vectorised (numpy + Arrow compute); the same seed gives the same files.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from doudi.verification.sources import SCHEMAS, ColumnType, Source

# Share of the requested records per source (people outside the population fill each share).
SHARES: dict[Source, float] = {
    Source.SOCIAL_INSURANCE: 0.30,
    Source.TAX: 0.05,
    Source.REAL_ESTATE: 0.15,
    Source.VEHICLES: 0.10,
    Source.BUSINESS: 0.05,
    Source.PROVIDENT_FUND: 0.10,
    Source.BANK_DEPOSITS: 0.20,
    Source.DEATHS: 0.02,
    Source.HOSPITALISATION: 0.03,
    Source.HOUSEHOLD_REGISTRATION: 0.02,
    Source.INSURANCE: 0.03,
    Source.SECURITIES: 0.02,
    Source.UNEMPLOYMENT: 0.02,
}

# Rates of the mismatches (fractions of the people or households they can apply to).
RATES = {
    "wage_reported": 0.90,  # declared wage earners known to 人社
    "wage_off": 0.08,  # of those: a slightly different figure
    "wage_fell": 0.05,  # of those: a clearly lower wage (hours cut during the epidemic)
    "undeclared_wage": 0.03,  # working-age people declaring no wage
    "undeclared_business": 0.005,
    "undeclared_property_income": 0.003,
    "undeclared_house": 0.02,
    "co_owned_house": 0.30,
    "undeclared_vehicle": 0.02,
    "disability_vehicle": 0.005,
    "deposits_above": 0.03,
    "death": 0.005,
    "hospital": 0.02,
    "name_typo": 0.01,
    "move": 0.005,  # 户籍 moves in or out
    "insured": 0.05,  # households holding a commercial policy
    "securities": 0.02,  # people holding a securities account
    "unemployed": 0.02,  # working-age people registered unemployed
}

# County codes of other provinces for people outside the (Chongqing) population.
_OTHER_PLACES = ("510104", "510105", "510106", "510107", "511602", "520102", "520103", "530102", "420102",
                 "430102", "610102", "620102")  # fmt: skip
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
)
_GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍鹏建华红飞斌玲燕辉"
_TYPO = "玮芬那秀瑛民婧莉墙垒君阳永燕洁绢滔铭朝兰侠萍钢桂英骅钰岚苹朋健宏菲彬琳艳晖"
_EMPLOYERS = ("重庆市{}建筑工程有限公司", "重庆{}物流有限公司", "重庆市{}餐饮管理有限公司", "{}区环卫所",
              "重庆{}机械制造有限公司", "重庆{}商贸有限公司", "重庆市{}物业服务有限公司")  # fmt: skip
_PLACES = ("渝北", "江北", "南岸", "巴南", "沙坪", "九龙", "大渡", "北碚", "万州", "涪陵", "永川", "合川", "江津", "綦江",
           "长寿", "璧山", "铜梁", "潼南", "荣昌")  # fmt: skip
_BANKS = ("中国工商银行重庆分行", "中国农业银行重庆分行", "中国建设银行重庆分行", "重庆农村商业银行", "重庆银行",
          "中国邮政储蓄银行重庆分行")  # fmt: skip
_HOSPITALS = ("重庆医科大学附属第一医院", "重庆市人民医院", "重庆三峡中心医院", "陆军军医大学第一附属医院",
              "重庆市中医院", "重庆市急救医疗中心")  # fmt: skip
_INSURERS = ("中国人寿重庆分公司", "中国平安人寿重庆分公司", "太平洋人寿重庆分公司", "泰康人寿重庆分公司")
_BROKERS = ("西南证券", "中信证券重庆分公司", "国泰君安重庆分公司", "华泰证券重庆分公司")
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


# --- vectorised string helpers ------------------------------------------------------------------


def _join(*parts) -> pa.Array:
    arrays = [p if isinstance(p, pa.Array | pa.ChunkedArray) else pa.scalar(p, pa.string()) for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def _num(values: np.ndarray, width: int = 0) -> pa.Array:
    text = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(text, width, "0") if width else text


def _pick(rng: np.random.Generator, choices, n: int) -> pa.Array:
    return pc.take(pa.array(list(choices), pa.string()), pa.array(rng.integers(0, len(choices), n)))


def _yuan(fen: np.ndarray) -> pa.Array:
    fen = np.asarray(fen, dtype=np.int64)
    return _join(_num(fen // 100), ".", _num(fen % 100, 2))


def _ascii(matrix: np.ndarray) -> pa.Array:
    """An (n, k) array of ASCII codes as n strings of k characters."""
    n, k = matrix.shape
    offsets = np.arange(0, n * k + 1, k, dtype=np.int32)
    data = np.ascontiguousarray(matrix, dtype=np.uint8).ravel()
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) decimal digits of non-negative integers, zero-padded."""
    return ((values[:, None] // 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)) % 10).astype(np.uint8)


def outsider_ids(start: int, n: int, chunk: int = 1_000_000) -> pa.Array:
    """n distinct valid resident IDs of people born elsewhere: place, birth day and sequence derive
    from the running number, so numbers never repeat and never fall in Chongqing (50…)."""
    if n > chunk:
        pieces = [outsider_ids(s, min(chunk, start + n - s)) for s in range(start, start + n, chunk)]
        return pa.concat_arrays(pieces)
    i = np.arange(start, start + n, dtype=np.int64)
    seq, rest = i % 1000, i // 1000
    day, place = rest % 25_000, (rest // 25_000) % len(_OTHER_PLACES)
    birth = np.datetime64("1940-01-01", "D") + day.astype("timedelta64[D]")
    month = birth.astype("datetime64[M]")
    ymd = (
        (month.astype("datetime64[Y]").astype(np.int64) + 1970) * 10_000
        + (month.astype(np.int64) % 12 + 1) * 100
        + (birth - month.astype("datetime64[D]")).astype(np.int64)
        + 1
    )
    places = np.array([int(p) for p in _OTHER_PLACES], dtype=np.int64)[place]
    ascii_ = np.empty((n, 18), dtype=np.uint8)
    ascii_[:, :6] = _digits(places, 6)
    ascii_[:, 6:14] = _digits(ymd, 8)
    ascii_[:, 14:17] = _digits(seq, 3)
    total = np.zeros(n, dtype=np.int32)
    for k, w in enumerate(_ID_WEIGHTS):
        total += ascii_[:, k].astype(np.int32) * int(w)
    ascii_[:, 17] = _ID_CHECK[total % 11]
    ascii_[:, :17] += 48
    return _ascii(ascii_)


def _names(rng: np.random.Generator, n: int) -> pa.Array:
    two = rng.random(n) < 0.7
    given = _join(_pick(rng, _GIVEN, n), pc.if_else(pa.array(two), _pick(rng, _GIVEN, n), ""))
    return _join(_pick(rng, _SURNAMES, n), given)


def _dates(rng: np.random.Generator, n: int, start: date, end: date) -> pa.Array:
    span = max((end - start).days, 1)
    days = np.datetime64(start) + rng.integers(0, span, n).astype("timedelta64[D]")
    return pa.array(days.astype("datetime64[D]"), pa.date32())


def _typos(rng: np.random.Generator, names: pa.Array, rate: float) -> pa.Array:
    """A different last character on a share of the names (a clerk's slip at one department)."""
    hit = pa.array(rng.random(len(names)) < rate)
    changed = _join(pc.utf8_slice_codeunits(names, 0, -1), _pick(rng, _TYPO, len(names)))
    return pc.if_else(hit, changed, names)


# --- the population -----------------------------------------------------------------------------


class _Population:
    """The arrays the generator draws from: persons in household order, households aligned."""

    def __init__(self, households: pa.Table, persons: pa.Table, on: date) -> None:
        persons = persons.sort_by([("household_id", "ascending"), ("person_id", "ascending")])
        households = households.sort_by("household_id")
        self.id_number = persons.column("id_number").combine_chunks()
        self.name = persons.column("name").combine_chunks()
        hh_ids = households.column("household_id").to_numpy()
        self.hidx = np.searchsorted(hh_ids, persons.column("household_id").to_numpy())
        self.P, self.H = persons.num_rows, households.num_rows
        birth = persons.column("birth_date").to_numpy().astype("datetime64[D]")
        age = (np.datetime64(on) - birth).astype(np.int64) / 365.25
        self.working_age = (age >= 18) & (age < 60)
        self.wage = persons.column("income_wage_fen").to_numpy()
        self.business = persons.column("income_business_fen").to_numpy()
        self.property = persons.column("income_property_fen").to_numpy()
        first = np.r_[True, self.hidx[1:] != self.hidx[:-1]]
        self.head = np.flatnonzero(first)  # one person per household, in household order
        second = np.flatnonzero(~first & np.r_[False, first[:-1]])
        self.spouse = np.full(self.H, -1, dtype=np.int64)
        self.spouse[self.hidx[second]] = second
        self.deposits = households.column("deposits_fen").to_numpy()
        self.vehicles = households.column("vehicles").to_numpy().astype(np.int64)
        self.houses = households.column("houses").to_numpy().astype(np.int64)


def _rows(person_index: np.ndarray, pop: _Population, rng: np.random.Generator, **columns) -> dict:
    """ID numbers and names of the given persons (some names mistyped), plus the given columns."""
    index = pa.array(np.asarray(person_index, dtype=np.int64))
    names = _typos(rng, pc.take(pop.name, index), RATES["name_typo"])
    return {"id_number": pc.take(pop.id_number, index), "name": names, **columns}


def _outsiders(n: int, start: int, rng: np.random.Generator, **columns) -> dict:
    return {"id_number": outsider_ids(start, n), "name": _names(rng, n), **columns}


def _select(rng: np.random.Generator, mask: np.ndarray, rate: float) -> np.ndarray:
    """A random share of the eligible rows, and at least one: a small demo shows every kind of mismatch."""
    hits = np.flatnonzero(mask & (rng.random(len(mask)) < rate))
    if not len(hits) and mask.any():
        hits = rng.choice(np.flatnonzero(mask), size=1)
    return hits


def generate_extracts(
    households: pa.Table, persons: pa.Table, *, records: int, extract_date: date, seed: int = 58
) -> dict[Source, pa.Table]:
    """One table per source in its declared schema (text, dates as dates), about `records` rows in all."""
    rng = np.random.default_rng(seed)
    pop = _Population(households, persons, extract_date)
    on = extract_date
    parts: dict[Source, list[dict]] = {s: [] for s in Source}
    counter = {"certificate": 0, "plate": 0, "credit": 0, "account": 0}

    def serial(kind: str, n: int) -> np.ndarray:
        start = counter[kind]
        counter[kind] += n
        return np.arange(start, start + n, dtype=np.int64)

    def employers(n: int) -> pa.Array:
        return _fill(_pick(rng, _EMPLOYERS, n), _pick(rng, _PLACES, n))

    # 人社 wages -----------------------------------------------------------------------------
    earners = np.flatnonzero(pop.wage > 0)
    reported = earners[rng.random(len(earners)) < RATES["wage_reported"]]
    wage = pop.wage[reported].copy()
    off = rng.random(len(reported)) < RATES["wage_off"]
    wage[off] = (wage[off] * rng.uniform(0.95, 1.05, off.sum())).astype(np.int64)
    fell = ~off & (rng.random(len(reported)) < RATES["wage_fell"])
    wage[fell] = (wage[fell] * rng.uniform(0.3, 0.7, fell.sum())).astype(np.int64)
    undeclared = _select(rng, (pop.wage == 0) & pop.working_age, RATES["undeclared_wage"])
    who = np.r_[reported, undeclared]
    wages = np.r_[wage, rng.integers(150_000, 500_000, len(undeclared))]
    parts[Source.SOCIAL_INSURANCE].append(
        _rows(
            who,
            pop,
            rng,
            employer=employers(len(who)),
            insured_since=_dates(rng, len(who), date(2010, 1, 1), on),
            monthly_wage=_yuan(wages),
        )
    )

    # 税务 business and property income, 市场监管 registrations ----------------------------------
    biz = np.flatnonzero(pop.business > 0)
    biz_known = biz[rng.random(len(biz)) < 0.7]
    new_biz = _select(rng, (pop.business == 0) & pop.working_age, RATES["undeclared_business"])
    prop_new = _select(rng, pop.property == 0, RATES["undeclared_property_income"])
    prop_known = np.flatnonzero(pop.property > 0)
    who = np.r_[biz_known, new_biz, prop_known, prop_new]
    kinds = np.r_[
        np.zeros(len(biz_known) + len(new_biz), np.int64), np.ones(len(prop_known) + len(prop_new), np.int64)
    ]
    amounts = np.r_[pop.business[biz_known], rng.integers(200_000, 800_000, len(new_biz)),
                    pop.property[prop_known], rng.integers(50_000, 300_000, len(prop_new))]  # fmt: skip
    parts[Source.TAX].append(
        _rows(
            who,
            pop,
            rng,
            income_kind=pc.take(pa.array(["经营所得", "财产性所得"]), pa.array(kinds)),
            payer=pa.array([""] * len(who), pa.string()),
            monthly_income=_yuan(amounts),
        )
    )
    registered = np.r_[biz[rng.random(len(biz)) < 0.6], new_biz]
    n = len(registered)
    parts[Source.BUSINESS].append(
        _rows(
            registered,
            pop,
            rng,
            credit_code=_credit_codes(serial("credit", n)),
            business_name=_join(_pick(rng, _PLACES, n), _pick(rng, _GIVEN, n), "个体工商户"),
            registered_on=_dates(rng, n, date(2012, 1, 1), on),
            status=pc.if_else(pa.array(rng.random(n) < 0.9), "存续", "注销"),
        )
    )

    # 不动产: declared houses (co-owned ones listed for the spouse too) and undeclared ones ------
    house_hh = np.repeat(np.arange(pop.H), pop.houses)
    new_house_hh = _select(rng, np.ones(pop.H, dtype=bool), RATES["undeclared_house"])
    house_hh = np.r_[house_hh, new_house_hh]
    certificates = _certificates(serial("certificate", len(house_hh)))
    owner = pop.head[house_hh]
    co = np.flatnonzero((rng.random(len(house_hh)) < RATES["co_owned_house"]) & (pop.spouse[house_hh] >= 0))
    who = np.r_[owner, pop.spouse[house_hh[co]]]
    certs = pa.concat_arrays([certificates, pc.take(certificates, pa.array(co))])
    n = len(who)
    parts[Source.REAL_ESTATE].append(
        _rows(
            who,
            pop,
            rng,
            certificate_no=certs,
            address=_join(_pick(rng, _PLACES, n), "区", _num(rng.integers(1, 300, n)), "号"),
            use=pc.if_else(pa.array(rng.random(n) < 0.95), "住宅", "商业"),
            registered_on=_dates(rng, n, date(2000, 1, 1), on),
        )
    )

    # 车管: declared vehicles, undeclared cars, disability vehicles (not counted) -----------------
    car_hh = np.r_[np.repeat(np.arange(pop.H), pop.vehicles),
                   _select(rng, np.ones(pop.H, dtype=bool), RATES["undeclared_vehicle"])]  # fmt: skip
    dis_hh = _select(rng, np.ones(pop.H, dtype=bool), RATES["disability_vehicle"])
    who = pop.head[np.r_[car_hh, dis_hh]]
    n = len(who)
    types = np.r_[rng.choice(3, len(car_hh), p=[0.8, 0.1, 0.1]), np.full(len(dis_hh), 3)]
    parts[Source.VEHICLES].append(
        _rows(
            who,
            pop,
            rng,
            plate_no=_plates(serial("plate", n)),
            vehicle_type=pc.take(pa.array(["小型汽车", "货车", "摩托车", "残疾人专用车"]), pa.array(types)),
            registered_on=_dates(rng, n, date(2008, 1, 1), on),
        )
    )

    # 公积金: some of the better-paid wage earners --------------------------------------------
    fund = earners[(pop.wage[earners] > 300_000) & (rng.random(len(earners)) < 0.5)]
    n = len(fund)
    parts[Source.PROVIDENT_FUND].append(
        _rows(
            fund,
            pop,
            rng,
            employer=employers(n),
            monthly_deposit=_yuan(pop.wage[fund] * 12 // 100),
            balance=_yuan(rng.integers(100_000, 5_000_000, n)),
        )
    )

    # 银行: balances around the declared deposits, a few far above -----------------------------
    has = np.flatnonzero(pop.deposits > 0)
    above = _select(rng, np.ones(pop.H, dtype=bool), RATES["deposits_above"])
    balance = np.zeros(pop.H, dtype=np.int64)
    balance[has] = pop.deposits[has]
    balance[above] += rng.integers(5_000_000, 30_000_000, len(above))
    account_hh = np.flatnonzero(balance > 0)
    n = len(account_hh)
    parts[Source.BANK_DEPOSITS].append(
        _rows(
            pop.head[account_hh],
            pop,
            rng,
            bank=_pick(rng, _BANKS, n),
            account_no=_accounts(serial("account", n)),
            balance=_yuan(balance[account_hh]),
            as_of=pa.array(np.full(n, np.datetime64(on)), pa.date32()),
        )
    )

    # 公安/卫健: deaths and hospital stays -------------------------------------------------------
    dead = _select(rng, np.ones(pop.P, dtype=bool), RATES["death"])
    parts[Source.DEATHS].append(
        _rows(
            dead,
            pop,
            rng,
            died_on=_dates(rng, len(dead), on - timedelta(days=120), on),
            authority=_pick(rng, ("重庆市公安局", "重庆市卫生健康委员会"), len(dead)),
        )
    )
    ill = _select(rng, np.ones(pop.P, dtype=bool), RATES["hospital"])
    n = len(ill)
    admitted = np.datetime64(on) - rng.integers(1, 60, n).astype("timedelta64[D]")
    stay = rng.integers(2, 30, n).astype("timedelta64[D]")
    discharged = np.where(admitted + stay <= np.datetime64(on), admitted + stay, np.datetime64("NaT"))
    parts[Source.HOSPITALISATION].append(
        _rows(
            ill,
            pop,
            rng,
            hospital=_pick(rng, _HOSPITALS, n),
            admitted_on=pa.array(admitted, pa.date32()),
            discharged_on=pa.array(discharged.astype("datetime64[D]"), pa.date32()),
            out_of_pocket=_yuan(rng.integers(50_000, 3_000_000, n)),
        )
    )

    # 户籍: the deaths again as 死亡注销, and a few moves; insurers, securities, 失业登记 --------
    moved = _select(rng, np.ones(pop.P, dtype=bool), RATES["move"])
    who = np.r_[dead, moved]
    n = len(who)
    change = np.r_[np.zeros(len(dead), np.int64), rng.integers(1, 3, len(moved))]
    parts[Source.HOUSEHOLD_REGISTRATION].append(
        _rows(
            who,
            pop,
            rng,
            change=pc.take(pa.array(["死亡注销", "迁出", "迁入"]), pa.array(change)),
            changed_on=_dates(rng, n, on - timedelta(days=120), on),
            place=pc.if_else(pa.array(change == 0), "", _join(_pick(rng, _PLACES, n), "区")),
            authority=_pick(rng, ("重庆市公安局",), n),
        )
    )
    insured = pop.head[_select(rng, np.ones(pop.H, dtype=bool), RATES["insured"])]
    n = len(insured)
    parts[Source.INSURANCE].append(
        _rows(
            insured,
            pop,
            rng,
            insurer=_pick(rng, _INSURERS, n),
            policy_no=_join("P", _num(serial("account", n), 12)),
            product=_pick(rng, ("人寿保险", "年金保险", "健康保险"), n),
            cash_value=_yuan(rng.integers(0, 5_000_000, n)),
            annual_premium=_yuan(rng.integers(50_000, 1_000_000, n)),
            as_of=pa.array(np.full(n, np.datetime64(on)), pa.date32()),
        )
    )
    holders = _select(rng, np.ones(pop.P, dtype=bool), RATES["securities"])
    n = len(holders)
    parts[Source.SECURITIES].append(
        _rows(
            holders,
            pop,
            rng,
            broker=_pick(rng, _BROKERS, n),
            account_no=_join("A", _num(serial("account", n), 10)),
            market_value=_yuan(rng.integers(0, 20_000_000, n)),
            as_of=pa.array(np.full(n, np.datetime64(on)), pa.date32()),
        )
    )
    jobless = _select(rng, pop.working_age, RATES["unemployed"])
    n = len(jobless)
    registered_on = np.datetime64(on) - rng.integers(1, 360, n).astype("timedelta64[D]")
    ended = np.where(rng.random(n) < 0.2, registered_on + 90, np.datetime64("NaT"))
    ended = np.where(ended <= np.datetime64(on), ended, np.datetime64("NaT"))
    parts[Source.UNEMPLOYMENT].append(
        _rows(
            jobless,
            pop,
            rng,
            registered_on=pa.array(registered_on.astype("datetime64[D]"), pa.date32()),
            ended_on=pa.array(ended.astype("datetime64[D]"), pa.date32()),
            benefit=pc.if_else(pa.array(rng.random(n) < 0.5), _yuan(rng.integers(100_000, 180_000, n)), ""),
        )
    )

    # People outside the population fill the rest, spread over the sources by their shares.
    have = {source: sum(len(p["id_number"]) for p in parts[source]) for source in Source}
    room = max(records - sum(have.values()), 0)
    wanted = {source: max(records * share - have[source], 0) for source, share in SHARES.items()}
    scale = room / max(sum(wanted.values()), 1)
    start = 0
    for source in Source:
        n = int(wanted[source] * scale)
        if n:
            parts[source].append(_outsider_part(source, n, start, rng, on, serial))
            start += n
    return {source: _table(source, parts[source]) for source in Source}


def _fill(templates: pa.Array, place: pa.Array) -> pa.Array:
    """Put a place name into each '{}' template (vectorised split and join)."""
    split = pc.split_pattern(templates, "{}", max_splits=1)
    return _join(pc.list_element(split, 0), place, pc.list_element(split, 1))


def _certificates(serial: np.ndarray) -> pa.Array:
    return _join("渝(", _num(2005 + serial % 15), ")不动产权第", _num(serial, 7), "号")


def _plates(serial: np.ndarray) -> pa.Array:
    letters = np.frombuffer(b"ABCDFGHK", dtype=np.uint8)
    alphabet = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)
    digits = np.stack([(serial // len(alphabet) ** k) % len(alphabet) for k in range(4, -1, -1)], axis=1)
    code = np.hstack([letters[(serial // len(alphabet) ** 5) % len(letters)][:, None], alphabet[digits]])
    return _join("渝", _ascii(code))


def _credit_codes(serial: np.ndarray) -> pa.Array:
    return _join("92500000MA", _num(serial, 8))


def _accounts(serial: np.ndarray) -> pa.Array:
    return _join("6217", _num(serial, 15))


def _outsider_part(source: Source, n: int, start: int, rng, on: date, serial) -> dict:
    base = _outsiders(n, start, rng)
    if source == Source.SOCIAL_INSURANCE:
        extra = {"employer": _fill(_pick(rng, _EMPLOYERS, n), _pick(rng, _PLACES, n)),
                 "insured_since": _dates(rng, n, date(2005, 1, 1), on),
                 "monthly_wage": _yuan(rng.integers(200_000, 1_200_000, n))}  # fmt: skip
    elif source == Source.TAX:
        extra = {"income_kind": _pick(rng, ("经营所得", "财产性所得"), n), "payer": _pick(rng, ("", "代扣单位"), n),
                 "monthly_income": _yuan(rng.integers(100_000, 2_000_000, n))}  # fmt: skip
    elif source == Source.REAL_ESTATE:
        extra = {
            "certificate_no": _certificates(serial("certificate", n)),
            "address": _pick(rng, _PLACES, n),
            "use": _pick(rng, ("住宅", "商业", "其他"), n),
            "registered_on": _dates(rng, n, date(1998, 1, 1), on),
        }
    elif source == Source.VEHICLES:
        extra = {"plate_no": _plates(serial("plate", n)), "vehicle_type": _pick(rng, ("小型汽车", "货车", "摩托车"), n),
                 "registered_on": _dates(rng, n, date(2005, 1, 1), on)}  # fmt: skip
    elif source == Source.BUSINESS:
        extra = {
            "credit_code": _credit_codes(serial("credit", n)),
            "business_name": _join(_pick(rng, _PLACES, n), "商贸有限公司"),
            "registered_on": _dates(rng, n, date(2005, 1, 1), on),
            "status": _pick(rng, ("存续", "注销"), n),
        }
    elif source == Source.PROVIDENT_FUND:
        extra = {"employer": _fill(_pick(rng, _EMPLOYERS, n), _pick(rng, _PLACES, n)),
                 "monthly_deposit": _yuan(rng.integers(20_000, 300_000, n)),
                 "balance": _yuan(rng.integers(100_000, 20_000_000, n))}  # fmt: skip
    elif source == Source.BANK_DEPOSITS:
        extra = {"bank": _pick(rng, _BANKS, n), "account_no": _accounts(serial("account", n)),
                 "balance": _yuan(rng.integers(0, 50_000_000, n)),
                 "as_of": pa.array(np.full(n, np.datetime64(on)), pa.date32())}  # fmt: skip
    elif source == Source.HOUSEHOLD_REGISTRATION:
        extra = {
            "change": _pick(rng, ("死亡注销", "迁出", "迁入"), n),
            "changed_on": _dates(rng, n, on - timedelta(days=365), on),
            "place": _pick(rng, _PLACES, n),
            "authority": _pick(rng, ("四川省公安厅",), n),
        }
    elif source == Source.INSURANCE:
        extra = {"insurer": _pick(rng, _INSURERS, n), "policy_no": _join("Q", _num(serial("account", n), 12)),
                 "product": _pick(rng, ("人寿保险", "年金保险", "健康保险", "财产保险"), n),
                 "cash_value": _yuan(rng.integers(0, 10_000_000, n)), "annual_premium": _pick(rng, ("",), n),
                 "as_of": pa.array(np.full(n, np.datetime64(on)), pa.date32())}  # fmt: skip
    elif source == Source.SECURITIES:
        extra = {"broker": _pick(rng, _BROKERS, n), "account_no": _join("B", _num(serial("account", n), 10)),
                 "market_value": _yuan(rng.integers(0, 50_000_000, n)),
                 "as_of": pa.array(np.full(n, np.datetime64(on)), pa.date32())}  # fmt: skip
    elif source == Source.UNEMPLOYMENT:
        extra = {"registered_on": _dates(rng, n, on - timedelta(days=365), on),
                 "ended_on": pa.array([None] * n, pa.date32()), "benefit": _pick(rng, ("",), n)}  # fmt: skip
    elif source == Source.DEATHS:
        extra = {
            "died_on": _dates(rng, n, on - timedelta(days=365), on),
            "authority": _pick(rng, ("重庆市公安局",), n),
        }
    else:
        admitted = _dates(rng, n, on - timedelta(days=365), on)
        extra = {"hospital": _pick(rng, _HOSPITALS, n), "admitted_on": admitted,
                 "discharged_on": pa.array([None] * n, pa.date32()),
                 "out_of_pocket": _yuan(rng.integers(10_000, 5_000_000, n))}  # fmt: skip
    return {**base, **extra}


def _table(source: Source, parts: list[dict]) -> pa.Table:
    schema = pa.schema(
        [(c.name, pa.date32() if c.type == ColumnType.DATE else pa.string()) for c in SCHEMAS[source].columns]
    )
    tables = [pa.table({f.name: part[f.name] for f in schema}).cast(schema) for part in parts]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def write_extracts(tables: dict[Source, pa.Table], out_dir: Path, fmt: str = "parquet") -> dict[Source, Path]:
    """Write each source's extract as <out_dir>/<source>.<fmt> (Parquet, or CSV with Chinese headers)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for source, table in tables.items():
        path = out_dir / f"{source.value}.{fmt}"
        if fmt == "csv":
            labels = [SCHEMAS[source].column(n).label for n in table.column_names]
            pacsv.write_csv(table.rename_columns(labels), path)
        else:
            pq.write_table(table, path, compression="zstd", row_group_size=500_000)
        paths[source] = path
    return paths


def read_population_tables(directory: Path) -> tuple[pa.Table, pa.Table]:
    """households.parquet and persons.parquet of a synthetic population (doudi synth --out DIR)."""
    directory = Path(directory)
    households = pq.read_table(directory / "households.parquet",
                               columns=["household_id", "deposits_fen", "vehicles", "houses"])  # fmt: skip
    persons = pq.read_table(
        directory / "persons.parquet",
        columns=[
            "person_id",
            "household_id",
            "id_number",
            "name",
            "birth_date",
            "income_wage_fen",
            "income_business_fen",
            "income_property_fen",
        ],  # fmt: skip
    )
    return households, persons
