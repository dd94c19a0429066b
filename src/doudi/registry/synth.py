"""合成人口: a synthetic Chongqing population for demos, tests and benchmarks, and its bulk loader.

`generate_population` draws a plausible province — townships and villages under the 41 districts,
households with assets and 低保 status, people with valid resident IDs, incomes around the 低保
line, categories (特困, 孤儿, 建档立卡…) consistent with ages, a few COVID-19 cases — as three Arrow
tables. Everything is vectorised numpy/Arrow: no Python loop runs per household or per person (only
per region, ~12,000 at most). The same seed gives the same tables, byte for byte.

`write_population` / `read_population` keep them as Parquet (regions, households, persons), the
exchange format read by the policy engine and the benchmarks.

`load_population` writes them into the Django tables in ONE transaction, validated whole first:
PostgreSQL through binary COPY built with Arrow (no per-row Python), ids taken as one block from each
sequence, secondary indexes and foreign keys dropped and rebuilt for large loads; SQLite through
executemany in large chunks. Resident IDs already in the database refuse the whole load.

Nothing here is real: names, IDs, phones and addresses are drawn at random. Parameters used to shape
incomes (the 2019 低保 standards 546/420 yuan) mirror POLICY.md's defaults; district weights and urban
shares are rough figures for plausibility only.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.core.exceptions import ValidationError

# ---------------------------------------------------------------------------------------------
# Schemas (the contract with the policy engine and the benchmarks)

REGION_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("name", pa.string()),
        ("parent", pa.string()),
        ("level", pa.int16()),
        ("path", pa.string()),
        ("is_local_code", pa.bool_()),
    ]
)

HOUSEHOLD_SCHEMA = pa.schema(
    [
        ("household_id", pa.int64()),
        ("region", pa.string()),  # 12-digit village/community code
        ("district", pa.string()),  # 6-digit district code (the level-2 node of the region's path)
        ("area_type", pa.string()),  # urban | rural
        ("dibao_enrolled", pa.bool_()),
        ("dibao_last_amount", pa.int64()),  # yuan; null when not enrolled
        ("deposits_fen", pa.int64()),
        ("vehicles", pa.int16()),
        ("houses", pa.int16()),
        ("address", pa.string()),
    ]
)

CATEGORY_FLAGS = (
    "tekun",
    "orphan",
    "de_facto_unsupported_child",
    "hardship_child",
    "registered_poor",
    "elderly_alone",
    "left_behind_child",
    "left_behind_elderly",
    "severe_disability",
)
INCOME_KINDS = ("wage", "business", "agricultural", "property", "transfer", "exempt")

PERSON_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("household_id", pa.int64()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("sex", pa.string()),  # M | F
        ("birth_date", pa.date32()),
        ("relation", pa.string()),  # head | spouse | child | parent | other
        ("phone", pa.string()),
        *[(f"income_{k}_fen", pa.int64()) for k in INCOME_KINDS],
        ("work", pa.string()),  # none | local | migrant | returned
        *[(f"cat_{c}", pa.bool_()) for c in CATEGORY_FLAGS],
        ("orphan_care", pa.string()),  # institutional | scattered
        ("covid_confirmed_on", pa.date32()),
        ("covid_discharged_on", pa.date32()),
        ("covid_died_on", pa.date32()),
    ]
)

RELATIONS = ("head", "spouse", "child", "parent", "other")
WORK = ("none", "local", "migrant", "returned")
AREA_TYPES = ("urban", "rural")

# The day the registry snapshot describes: ages and categories hold on this day.
REFERENCE_DATE = dt.date(2020, 1, 1)
EMERGENCY_START = dt.date(2020, 1, 24)  # Chongqing's level-I response

# POLICY.md §2 defaults in force in 2020 (yuan/person/month), used only to shape incomes.
DIBAO_STANDARD = {"urban": 546, "rural": 420}

MUNICIPALITY = ("500000", "重庆市")

# District/county: (code, name, weight ~ resident population in 10,000s, urban share). Rough figures
# for plausibility only. The codes and names are those of doudi.regions.loading.chongqing_rows().
DISTRICTS: tuple[tuple[str, str, int, float], ...] = (
    ("500101", "万州区", 156, 0.68), ("500102", "涪陵区", 111, 0.70), ("500103", "渝中区", 59, 1.00),
    ("500104", "大渡口区", 42, 0.97), ("500105", "江北区", 93, 0.96), ("500106", "沙坪坝区", 148, 0.95),
    ("500107", "九龙坡区", 153, 0.93), ("500108", "南岸区", 119, 0.94), ("500109", "北碚区", 83, 0.83),
    ("500110", "綦江区", 101, 0.57), ("500111", "大足区", 83, 0.55), ("500112", "渝北区", 219, 0.86),
    ("500113", "巴南区", 118, 0.80), ("500114", "黔江区", 49, 0.52), ("500115", "长寿区", 69, 0.62),
    ("500116", "江津区", 136, 0.68), ("500117", "合川区", 124, 0.65), ("500118", "永川区", 114, 0.68),
    ("500119", "南川区", 57, 0.55), ("500120", "璧山区", 76, 0.65), ("500151", "铜梁区", 69, 0.58),
    ("500152", "潼南区", 69, 0.50), ("500153", "荣昌区", 67, 0.56), ("500154", "开州区", 121, 0.50),
    ("500155", "梁平区", 65, 0.50), ("500156", "武隆区", 36, 0.48), ("500229", "城口县", 19, 0.42),
    ("500230", "丰都县", 56, 0.48), ("500231", "垫江县", 65, 0.48), ("500233", "忠县", 72, 0.48),
    ("500235", "云阳县", 93, 0.45), ("500236", "奉节县", 74, 0.46), ("500237", "巫山县", 46, 0.43),
    ("500238", "巫溪县", 39, 0.40), ("500240", "石柱土家族自治县", 39, 0.45),
    ("500241", "秀山土家族苗族自治县", 50, 0.45), ("500242", "酉阳土家族苗族自治县", 61, 0.38),
    ("500243", "彭水苗族土家族自治县", 49, 0.40),
    # 功能区 with local codes; their streets keep the GB code of the district they belong to in law.
    ("500190", "两江新区", 60, 0.90), ("500191", "重庆高新区", 30, 0.85), ("500192", "万盛经开区", 26, 0.70),
)  # fmt: skip
LOCAL_CODE_HOST = {"500190": "500112", "500191": "500106", "500192": "500110"}

# Characters for place names (two of them, then 街道/镇/乡/社区/村).
_PLACE_CHARS = (
    "龙凤桥溪坝湾坪山河石林新华安和平兴东南西北中青云水江竹花柏松桂梅金玉宝福寿长永太白马黄高双三团"
    "民胜利光明文德清泉岩峰塘堡场沟岭岗园坡桃李杨柳荷莲鹤龟回仙观音佛寺庙关营盘"
)

# Surnames, most frequent first (roughly Chongqing's order), and weights.
_SURNAMES = (
    "陈李刘王张杨黄周吴何罗谭冉向赵徐孙马朱胡郭高林郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃"
    "武戴莫孔汤牟游税"
)
_GIVEN_MALE = "伟强军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林洋磊成东亮峰建国文志永兵春"
_GIVEN_FEMALE = "芳娟敏静丽艳娜秀英华慧巧美娟霞平红梅琳玲燕萍雪婷倩颖莉琴云兰凤洁佳欣怡丹蓉莎露"
_GIVEN_ANY = "子小晓天思雨嘉梓一佳家俊明永世光德秋春冬"
_PHONE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
    "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "185", "186", "187", "188",
    "189", "191", "198", "199",
)  # fmt: skip

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class Population:
    """The three tables of a synthetic population (see the *_SCHEMA constants)."""

    regions: pa.Table
    households: pa.Table
    persons: pa.Table


def _days(d: dt.date | str) -> int:
    """Days since 1970-01-01 (Arrow's date32)."""
    return int((np.datetime64(d, "D") - _EPOCH).astype(np.int64))


# ---------------------------------------------------------------------------------------------
# Regions


@dataclass
class _Villages:
    """The villages households are placed in, as parallel arrays."""

    code: np.ndarray  # object array of 12-digit codes
    name: np.ndarray  # object array
    district: np.ndarray  # object array of 6-digit district codes (the path's level-2 node)
    urban: np.ndarray  # bool
    weight: np.ndarray  # float, relative number of households


def _place_names(codes: list[str]) -> list[str]:
    """Distinct two-character stems for sibling codes, each a function of its code (so a code keeps
    its name whatever the seed or scale, but for a rare clash among siblings)."""
    k = len(_PLACE_CHARS)
    taken: set[int] = set()
    out = []
    for code in codes:
        i = zlib.crc32(code.encode()) % (k * k)
        while i in taken:
            i = (i + 1) % (k * k)
        taken.add(i)
        out.append(_PLACE_CHARS[i // k] + _PLACE_CHARS[i % k])
    return out


def _split(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Integers ≥ minimum, proportional to weights, summing to max(total, minimum × len)."""
    n = len(weights)
    total = max(total, minimum * n)
    share = weights / weights.sum() * (total - minimum * n)
    base = np.floor(share).astype(np.int64)
    rest = total - minimum * n - base.sum()
    base[np.argsort(-(share - base), kind="stable")[:rest]] += 1
    return base + minimum


def _synthetic_regions(households: int, rng: np.random.Generator) -> tuple[list[tuple], _Villages]:
    """Townships and villages under every district: ~1,000 and ~11,000 at full scale, fewer for small N.

    Codes follow the statistical pattern district+3+3: streets (街道) 0xx, towns (镇) 1xx, townships
    (乡) 2xx; communities (社区, urban) 0xx and villages (村, rural) 2xx under them. Under a functional
    zone the codes extend its host district's GB code, numbered down from 99 while the host numbers
    up from 01, so a code stands for the same place (district, kind, name) at every scale.
    """
    n_districts = len(DISTRICTS)
    n_villages = int(np.clip(households // 90, 2 * n_districts, 11_000))
    n_townships = max(n_districts, round(n_villages / 10.7))
    weights = np.array([d[2] for d in DISTRICTS], dtype=np.float64)
    towns_per_district = _split(n_townships, weights, 1)
    villages_per_district = np.maximum(_split(n_villages, weights, 1), towns_per_district)

    rows: list[tuple] = [(MUNICIPALITY[0], MUNICIPALITY[1], None, 1, f"{MUNICIPALITY[0]}/", False)]
    v_code: list[str] = []
    v_name: list[str] = []
    v_district: list[str] = []
    v_urban: list[bool] = []
    v_weight: list[float] = []
    used: dict[tuple[str, int, bool], int] = {}  # (GB prefix, kind, zone?) -> numbers used so far
    community_scale = 2.5  # a community registers more households than a village
    for (code, name, weight, urban_share), n_t, n_v in zip(
        DISTRICTS, towns_per_district, villages_per_district, strict=True
    ):
        district_path = f"{MUNICIPALITY[0]}/{code}/"
        rows.append((code, name, MUNICIPALITY[0], 2, district_path, code in LOCAL_CODE_HOST))
        prefix = LOCAL_CODE_HOST.get(code, code)
        # Urban villages (communities) so that their households make up `urban_share`.
        s = urban_share
        n_urban = round(s * n_v / (community_scale - s * (community_scale - 1)))
        n_urban = int(np.clip(n_urban, 1 if s >= 0.5 else 0, n_v if s >= 0.99 else n_v - 1))
        # Streets hold the communities, towns the villages; every township gets at least one.
        n_rural = n_v - n_urban
        n_urban_t = int(np.clip(round(n_t * n_urban / n_v), max(0, n_t - n_rural), min(n_t, n_urban)))
        t_is_street = np.arange(n_t) < n_urban_t
        v_is_urban = np.arange(n_v) < n_urban
        v_town = np.empty(n_v, dtype=np.int64)
        streets = np.arange(n_urban_t) if n_urban_t else np.arange(n_t)
        towns = np.arange(n_urban_t, n_t) if n_t > n_urban_t else np.arange(n_t)
        v_town[v_is_urban] = streets[np.arange(n_urban) % len(streets)]
        v_town[~v_is_urban] = towns[np.arange(n_rural) % len(towns)]
        t_codes, t_suffixes = [], []
        for t in range(int(n_t)):
            if t_is_street[t]:
                kind, suffix = 0, "街道"
            else:
                kind, suffix = (1, "镇") if rng.random() < 0.8 else (2, "乡")
            # A district numbers its townships up from 01, a functional zone down from 99 under its
            # host's code, so a code names the same place at every scale.
            zone = code in LOCAL_CODE_HOST
            count = used.get((prefix, kind, zone), 0) + 1
            used[(prefix, kind, zone)] = count
            if used.get((prefix, kind, True), 0) + used.get((prefix, kind, False), 0) > 99:
                raise ValueError(f"too many townships of one kind under {prefix}")
            number = 100 - count if zone else count
            t_codes.append(f"{prefix}{kind * 100 + number:03d}")
            t_suffixes.append(suffix)
        for t, (t_code, t_stem) in enumerate(zip(t_codes, _place_names(t_codes), strict=True)):
            t_path = f"{district_path}{t_code}/"
            rows.append((t_code, t_stem + t_suffixes[t], code, 3, t_path, False))
            members = np.flatnonzero(v_town == t)
            n_comm = n_vill = 0
            v_codes = []
            for v in members:
                if v_is_urban[v]:
                    n_comm += 1
                    v_codes.append(f"{t_code}{n_comm:03d}")
                else:
                    n_vill += 1
                    v_codes.append(f"{t_code}{200 + n_vill:03d}")
            for v, vc, stem in zip(members, v_codes, _place_names(v_codes), strict=True):
                vname = stem + ("社区" if v_is_urban[v] else "村")
                rows.append((vc, vname, t_code, 4, f"{t_path}{vc}/", False))
                v_code.append(vc)
                v_name.append(vname)
                v_district.append(code)
                v_urban.append(bool(v_is_urban[v]))
                v_weight.append(weight / n_v * (community_scale if v_is_urban[v] else 1.0))
    villages = _Villages(
        code=np.array(v_code, dtype=object),
        name=np.array(v_name, dtype=object),
        district=np.array(v_district, dtype=object),
        urban=np.array(v_urban, dtype=bool),
        weight=np.array(v_weight),
    )
    return rows, villages


def _given_villages(villages: Sequence[Any]) -> tuple[list[tuple], _Villages]:
    """Villages passed by the caller: Region objects (or codes). Urban = a community (社区, village part
    0xx–1xx), rural = a village (村, 2xx), as in the statistical code pattern."""
    rows: list[tuple] = []
    code, name, district, urban = [], [], [], []
    for v in villages:
        if isinstance(v, str):
            c, n, d = v, v, v[:6]
        else:
            c, n = v.code, v.name
            d = v.path.strip("/").split("/")[1]
            rows.append((c, n, v.parent_id, int(v.level), v.path, bool(getattr(v, "is_local_code", False))))
        if len(c) != 12 or not c.isdigit():
            raise ValueError(f"{c!r} is not a 12-digit village/community code")
        code.append(c)
        name.append(n)
        district.append(d)
        urban.append(n.endswith("社区") if n != c else int(c[9:]) < 200)
    if not code:
        raise ValueError("no villages given")
    return rows, _Villages(
        code=np.array(code, dtype=object),
        name=np.array(name, dtype=object),
        district=np.array(district, dtype=object),
        urban=np.array(urban, dtype=bool),
        weight=np.where(np.array(urban), 2.5, 1.0),
    )


# ---------------------------------------------------------------------------------------------
# Vectorised helpers


def _take_str(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    return pc.take(pa.array(list(values), pa.string()), pa.array(idx))


def _digits_to_strings(digits: np.ndarray, keep: np.ndarray | None = None) -> pa.Array:
    """An (n, k) array of ASCII bytes as a string array ('' where keep is False), without Python per row."""
    n, k = digits.shape
    if keep is None:
        offsets = np.arange(0, n * k + 1, k, dtype=np.int32)
        data = np.ascontiguousarray(digits, dtype=np.uint8).ravel()
    else:
        offsets = np.concatenate([[0], np.cumsum(np.where(keep, k, 0))]).astype(np.int32)
        data = np.ascontiguousarray(digits[keep], dtype=np.uint8).ravel()
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _int_digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative integers, zero-padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers % 10 + 48).astype(np.uint8)


def id_check_digits(body: np.ndarray) -> np.ndarray:
    """GB 11643 check characters (ASCII) for an (n, 17) array of digit values 0–9."""
    return _ID_CHECK[(body.astype(np.int64) @ _ID_WEIGHTS) % 11]


def _date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    years = d.astype("datetime64[Y]").astype(np.int64) + 1970
    months = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    mday = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return years, months, mday


def _group_rank(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows grouped by equal keys: each row's rank within its group, and its group's first row
    (both in the original order)."""
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    change = np.ones(len(order), dtype=bool)
    change[1:] = sorted_key[1:] != sorted_key[:-1]
    start = np.maximum.accumulate(np.where(change, np.arange(len(order)), 0))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - start
    first = np.empty(len(order), dtype=np.int64)
    first[order] = order[start]
    return rank, first


def _resident_ids(
    addr_codes: np.ndarray, p_addr: np.ndarray, day0: int, day_i: np.ndarray, seq: np.ndarray
) -> pa.Array:
    """18-digit resident IDs (GB 11643) from per-person indexes into small tables of address codes and
    birth days, and 3-digit order codes: digits and weighted sums are computed once per table entry."""
    y, m, d = _date_parts(day0 + np.arange(int(day_i.max()) + 1))
    a_dig = _int_digits(addr_codes, 6)
    d_dig = np.concatenate([_int_digits(y, 4), _int_digits(m, 2), _int_digits(d, 2)], axis=1)
    s_dig = _int_digits(np.arange(1000), 3)
    w = _ID_WEIGHTS
    total = (
        ((a_dig - 48).astype(np.int64) @ w[:6])[p_addr]
        + ((d_dig - 48).astype(np.int64) @ w[6:14])[day_i]
        + ((s_dig - 48).astype(np.int64) @ w[14:])[seq]
    )
    return pc.binary_join_element_wise(
        _digits_to_strings(a_dig).take(pa.array(p_addr)),
        _digits_to_strings(d_dig).take(pa.array(day_i)),
        _digits_to_strings(s_dig).take(pa.array(seq)),
        _take_str("10X98765432", total % 11),
        "",
    )


def _at_least(flags: np.ndarray, eligible: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Top a rare flag up to k set among the eligible, so small populations still show every case."""
    missing = k - int(flags.sum())
    candidates = np.flatnonzero(eligible & ~flags)
    if missing > 0 and len(candidates):
        flags = flags.copy()
        flags[rng.choice(candidates, size=min(missing, len(candidates)), replace=False)] = True
    return flags


# ---------------------------------------------------------------------------------------------
# Generation


def generate_population(
    households: int, *, seed: int = 2020, villages: Sequence[Any] | None = None
) -> Population:
    """Draw a synthetic population of `households` households (~2.5 persons each).

    villages: None for a synthetic province (regions table: city, 41 districts, townships, villages);
    or Region objects / 12-digit codes of existing villages to place every household in (the
    regions table then lists just the given Region objects).
    """
    if households < 1:
        raise ValueError("households must be at least 1")
    rng = np.random.default_rng(seed)
    if villages is None:
        # The tree depends on the scale only, not on the seed: populations drawn with different seeds
        # share their regions and can be loaded into one database.
        region_rows, vill = _synthetic_regions(households, np.random.default_rng(2260))
        vill.weight = vill.weight * rng.lognormal(0.0, 0.3, len(vill.weight))
    else:
        region_rows, vill = _given_villages(villages)
    # Households are drawn village by village in code order, so a load appends to the region indexes.
    by_code = np.argsort(vill.code.astype(str), kind="stable")
    vill = _Villages(
        **{k: getattr(vill, k)[by_code] for k in ("code", "name", "district", "urban", "weight")}
    )
    regions = pa.Table.from_pylist(
        [dict(zip(REGION_SCHEMA.names, r, strict=True)) for r in region_rows], schema=REGION_SCHEMA
    )

    n = households
    # --- households: village, area type, size ------------------------------------------------------
    counts = rng.multinomial(n, vill.weight / vill.weight.sum())
    h_village = np.repeat(np.arange(len(counts)), counts)
    h_urban = vill.urban[h_village]
    size_p = {True: [0.26, 0.32, 0.23, 0.12, 0.05, 0.02], False: [0.24, 0.30, 0.22, 0.13, 0.07, 0.04]}
    u = rng.random(n)
    h_size = np.where(
        h_urban,
        np.searchsorted(np.cumsum(size_p[True]), u, side="right") + 1,
        np.searchsorted(np.cumsum(size_p[False]), u, side="right") + 1,
    ).clip(1, 6)

    # --- persons: position in household and relation ----------------------------------------------
    p_total = int(h_size.sum())
    p_hh = np.repeat(np.arange(n), h_size)
    h_start = np.concatenate([[0], np.cumsum(h_size)[:-1]])
    pos = np.arange(p_total) - h_start[p_hh]
    size = h_size[p_hh]
    urban = h_urban[p_hh]
    r = rng.random(p_total)
    h_has_spouse = rng.random(n) < 0.8
    h_head_age = np.where(
        (h_size == 1) & (rng.random(n) < 0.5),
        rng.uniform(60, 92, n),
        np.clip(rng.normal(47, 13, n), 21, 90),
    )
    # A parent of the head lives in some three-generation households (only with a young enough head).
    h_parent_last = (h_size >= 3) & (rng.random(n) < 0.25) & (h_head_age <= 62)
    relation = np.full(p_total, 2, dtype=np.int8)  # child
    relation[pos == 0] = 0
    relation[(pos == 1) & h_has_spouse[p_hh]] = 1
    relation[(pos == size - 1) & (pos >= 2) & h_parent_last[p_hh]] = 3
    relation[(relation == 2) & (pos >= 2) & (r < 0.03)] = 4

    # --- ages and sexes ------------------------------------------------------------------------------
    head_age = h_head_age[p_hh]
    age = np.empty(p_total)
    is_head, is_spouse, is_child = relation == 0, relation == 1, relation == 2
    is_parent, is_other = relation == 3, relation == 4
    age[is_head] = head_age[is_head]
    age[is_spouse] = np.clip(head_age[is_spouse] + rng.normal(-2, 3, p_total)[is_spouse], 20, 99)
    gap = rng.uniform(20, 40, p_total)
    child_age = head_age - gap
    young = child_age < 0
    child_age[young] = rng.uniform(0, 1, p_total)[young] * np.maximum(head_age[young] - 20, 0.5)
    age[is_child] = child_age[is_child]
    age[is_parent] = np.clip(head_age[is_parent] + rng.uniform(22, 33, p_total)[is_parent], 45, 99)
    age[is_other] = rng.uniform(0, 80, p_total)[is_other]
    h_head_male = rng.random(n) < 0.7
    male = rng.random(p_total) < 0.51
    male[is_head] = h_head_male[p_hh][is_head]
    male[is_spouse] = ~h_head_male[p_hh][is_spouse]
    male[is_parent] = rng.random(p_total)[is_parent] < 0.4

    # Whole years as drawn, the day within the year at random (clipped ages would otherwise pile up on
    # one birthday and exhaust the ID order codes).
    age = np.floor(age) + rng.random(p_total)
    ref = _days(REFERENCE_DATE)
    birth = ref - 1 - np.floor(age * 365.2425).astype(np.int64)
    minor = age < 18
    elderly = age >= 60

    # --- categories ----------------------------------------------------------------------------------
    rural = ~urban
    cat: dict[str, np.ndarray] = {}
    disability = rng.random(p_total) < 0.004 + 0.0003 * age
    cat["severe_disability"] = disability
    minor_child = minor & ~is_head & ~is_spouse
    orphan = _at_least((rng.random(p_total) < 0.002) & minor_child, minor_child, 2, rng)
    # 一(四): some orphans turn 18 during 2020, so the age-out deferral has cases to act on.
    ageing_out = orphan & (rng.random(p_total) < 0.35)
    ageing_out = _at_least(ageing_out, orphan, 1, rng)
    birth[ageing_out] = rng.integers(_days("2002-01-01"), _days("2003-06-30"), p_total)[ageing_out]
    relation[orphan] = 4  # living with relatives (or placed), not with parents
    defacto = _at_least((rng.random(p_total) < 0.003) & minor_child & ~orphan, minor_child & ~orphan, 2, rng)
    cat["orphan"] = orphan
    cat["de_facto_unsupported_child"] = defacto
    age = (ref - 1 - birth) / 365.2425
    minor = age < 18
    elderly = age >= 60
    adult = ~minor

    # 特困: elderly or severely disabled adults living alone, without support.
    alone = size == 1
    tekun = (
        alone & adult & ((elderly & (rng.random(p_total) < 0.2)) | (disability & (rng.random(p_total) < 0.5)))
    )
    cat["tekun"] = _at_least(tekun, alone & elderly, 2, rng)

    # --- work ----------------------------------------------------------------------------------------
    working_age = (age >= 18) & (age < 60) & ~disability & ~cat["tekun"]
    wu = rng.random(p_total)
    work = np.zeros(p_total, dtype=np.int8)
    urban_cut = np.array([0.28, 0.90, 0.95])  # none, local, migrant, returned
    rural_cut = np.array([0.22, 0.50, 0.85])
    w_urban = np.searchsorted(urban_cut, wu, side="right")
    w_rural = np.searchsorted(rural_cut, wu, side="right")
    work[working_age] = np.where(urban, w_urban, w_rural)[working_age]
    farming_elder = rural & (age >= 60) & (age < 72) & ~disability & ~cat["tekun"] & (wu < 0.3)
    work[farming_elder] = 1
    is_migrant = work == 2

    # Left-behind children and elders: rural households whose working-age parents all went out to work.
    parent_role = (is_head | is_spouse) & working_age
    n_parent_roles = np.bincount(p_hh, weights=parent_role, minlength=n)
    n_parent_away = np.bincount(p_hh, weights=parent_role & is_migrant, minlength=n)
    parents_away = ((n_parent_roles > 0) & (n_parent_away == n_parent_roles))[p_hh]
    has_migrant = (np.bincount(p_hh, weights=is_migrant, minlength=n) > 0)[p_hh]
    has_local = (np.bincount(p_hh, weights=work == 1, minlength=n) > 0)[p_hh]
    lb_child = rural & (age < 16) & parents_away & ~orphan & ~defacto
    cat["left_behind_child"] = _at_least(
        lb_child, rural & (age < 16) & minor_child & ~orphan & ~defacto, 2, rng
    )
    lb_elder = rural & elderly & has_migrant & ~has_local & ~alone & (rng.random(p_total) < 0.8)
    cat["left_behind_elderly"] = _at_least(lb_elder, rural & elderly & ~alone, 2, rng)
    cat["elderly_alone"] = alone & elderly & (rng.random(p_total) < 0.85)

    # --- incomes: each household's per-capita income as a multiple of its 低保 standard -------------------
    standard = np.where(h_urban, DIBAO_STANDARD["urban"], DIBAO_STANDARD["rural"])
    ratio = rng.lognormal(np.log(3.0), 0.8, n)
    in_unit = ~cat["tekun"]
    h_unit = np.bincount(p_hh, weights=in_unit, minlength=n).astype(np.int64)
    h_target_fen = ratio * standard * h_unit * 100
    weight = (
        np.select(
            [work > 0, elderly, adult & ~disability, adult],
            [1.0, 0.35, 0.15, 0.05],
            default=0.0,
        )
        * in_unit
        * rng.uniform(0.6, 1.4, p_total)
    )
    h_weight = np.bincount(p_hh, weights=weight, minlength=n)
    share = np.divide(weight, h_weight[p_hh], out=np.zeros(p_total), where=h_weight[p_hh] > 0)
    income = share * h_target_fen[p_hh]
    # Split each person's income by kind (shares by situation), rounded to whole yuan.
    kinds = np.zeros((p_total, 5))  # wage, business, agricultural, property, transfer
    worker = work > 0
    urban_worker, rural_local = worker & urban, worker & rural & (work == 1)
    rural_out = worker & rural & (work >= 2)
    kinds[urban_worker] = [0.88, 0.06, 0.0, 0.06, 0.0]
    kinds[rural_local] = [0.35, 0.10, 0.55, 0.0, 0.0]
    kinds[rural_out] = [0.95, 0.0, 0.05, 0.0, 0.0]
    kinds[~worker & elderly] = [0.0, 0.0, 0.0, 0.1, 0.9]
    kinds[~worker & ~elderly] = [0.0, 0.0, 0.0, 0.4, 0.6]
    kinds[~worker & elderly & rural] = [0.0, 0.0, 0.25, 0.0, 0.75]
    amounts = np.round(income[:, None] * kinds / 100).astype(np.int64) * 100
    # Exempt income (not counted): disability allowances, awards.
    exempt = np.where(disability, rng.integers(60, 200, p_total) * 100, 0)
    exempt += np.where(rng.random(p_total) < 0.02, rng.integers(1, 50, p_total) * 1000, 0)
    # Tekun members outside the unit: support and pension as transfer income.
    amounts[cat["tekun"], 4] = rng.integers(100, 400, p_total)[cat["tekun"]] * 100

    # --- household assets and 低保 status -------------------------------------------------------------
    h_income_fen = np.bincount(p_hh, weights=(amounts.sum(axis=1) * in_unit), minlength=n).astype(np.int64)
    h_line_fen = standard.astype(np.int64) * h_unit * 100
    months_saved = rng.lognormal(np.log(6), 1.0, n)
    deposits = (np.maximum(h_income_fen, 20_000) * months_saved).astype(np.int64) // 100 * 100
    deposits += rng.integers(0, 100, n)
    p_vehicle = np.clip(0.02 + 0.1 * ratio, 0, 0.7)
    vu = rng.random(n)
    vehicles = (vu < p_vehicle).astype(np.int16) + (vu < p_vehicle * 0.15).astype(np.int16)
    hu = rng.random(n)
    houses = np.where(
        h_urban,
        (hu >= 0.18).astype(np.int16) + (hu >= 0.88 - np.clip(0.03 * ratio, 0, 0.3)).astype(np.int16),
        (hu >= 0.03).astype(np.int16) + (hu >= 0.94).astype(np.int16),
    ).astype(np.int16)
    below = (h_income_fen < h_line_fen) & (h_unit > 0)
    near = (h_income_fen >= h_line_fen) & (h_income_fen < h_line_fen * 1.25) & (h_unit > 0)
    eu = rng.random(n)
    enrolled = (below & (eu < 0.55)) | (near & (eu < 0.12))
    # Last month's payment: the gap at the last review (income then a little different), ≥ 30 yuan;
    # for a household now over the line, what it was still paid.
    gap_then = h_line_fen - h_income_fen * rng.uniform(0.8, 1.15, n)
    last_amount = np.where(below, np.maximum(np.round(gap_then / 100), 30), rng.integers(50, 300, n)).astype(
        np.int64
    )

    # 建档立卡: whole households, mostly rural and poor.
    h_poor = rng.random(n) < np.where(h_urban, 0.005, np.where(ratio < 1.5, 0.25, 0.03))
    cat["registered_poor"] = h_poor[p_hh]
    hardship = minor_child & ~orphan & ~defacto & (rng.random(p_total) < np.where(below[p_hh], 0.06, 0.008))
    cat["hardship_child"] = _at_least(hardship, minor_child & ~orphan & ~defacto, 2, rng)
    orphan_care = np.where(orphan & (rng.random(p_total) < 0.3), 0, 1)  # institutional, scattered

    # --- COVID-19 confirmations (2020-01-24 … mid-April), discharges and deaths -----------------------
    covered = (
        enrolled[p_hh] | cat["tekun"] | orphan | defacto | cat["hardship_child"] | cat["registered_poor"]
    )
    n_covid = max(round(p_total * 0.0005), min(6, p_total // 100))
    pool = rng.random(p_total) + np.where(covered, 0.0, 0.6)  # favour people the notice covers
    n_covid = min(n_covid, p_total)
    covid = np.zeros(p_total, dtype=bool)
    covid[np.argpartition(pool, n_covid - 1)[:n_covid] if n_covid else []] = True
    start = _days(EMERGENCY_START)
    confirmed = start + np.where(
        rng.random(p_total) < 0.85, np.minimum(rng.gamma(2.0, 8.0, p_total), 40), rng.uniform(0, 82, p_total)
    ).astype(np.int64)
    outcome = rng.random(p_total)
    died = covid & (outcome < 0.015)
    died = _at_least(died, covid, 1 if n_covid >= 5 else 0, rng)
    in_hospital = covid & ~died & (outcome > 0.98)
    discharged = covid & ~died & ~in_hospital
    discharge_day = confirmed + 9 + rng.gamma(3.0, 5.0, p_total).astype(np.int64)
    death_day = confirmed + rng.integers(3, 25, p_total)

    # --- names, IDs, phones ----------------------------------------------------------------------------
    sn_w = 1.0 / (np.arange(len(_SURNAMES)) + 8.0)
    sn_p = sn_w / sn_w.sum()
    family = rng.choice(len(_SURNAMES), size=n, p=sn_p)[p_hh]
    own = rng.choice(len(_SURNAMES), size=p_total, p=sn_p)
    head_male_p = h_head_male[p_hh]
    takes_family = (is_head & male) | (is_spouse & male) | is_child | (is_parent & male & head_male_p)
    takes_family |= is_head & ~male & (rng.random(p_total) < 0.3)
    surname = np.where(takes_family & (relation != 4), family, own)
    # Given name: one sex-typed character, or two (a neutral or sex-typed one, then a sex-typed one).
    given_pool = _GIVEN_ANY + _GIVEN_MALE + _GIVEN_FEMALE
    n_any, n_m, n_f = len(_GIVEN_ANY), len(_GIVEN_MALE), len(_GIVEN_FEMALE)
    sex_lo = np.where(male, n_any, n_any + n_m)
    sex_n = np.where(male, n_m, n_f)
    last = sex_lo + (rng.random(p_total) * sex_n).astype(np.int64)
    first_c = rng.random(p_total) * (n_any + sex_n)
    first_c = np.where(first_c < n_any, first_c, sex_lo - n_any + first_c).astype(np.int64)
    two = rng.random(p_total) < 0.75
    g1 = pc.if_else(pa.array(two), _take_str(given_pool, first_c), pa.scalar(""))
    g2 = _take_str(given_pool, last)
    names = pc.binary_join_element_wise(_take_str(_SURNAMES, surname), g1, g2, "")

    # Resident ID: address code (the village's GB district code), birth date, order code (odd = male),
    # check digit. Order codes are unique per (address, birth date, sex) by ranking within that group
    # from a random start, so all IDs are distinct.
    v_addr = np.array([int(c[:6]) for c in vill.code], dtype=np.int64)
    addr_codes, v_addr_i = np.unique(v_addr, return_inverse=True)
    p_addr = v_addr_i[h_village][p_hh]
    day0 = int(birth.min())
    day_i = birth - day0
    rank, first = _group_rank((p_addr * (int(day_i.max()) + 1) + day_i) * 2 + male)
    if rank.max() >= 499:
        raise ValueError("too many people share an address code, birth date and sex for distinct IDs")
    offset = rng.integers(0, 499, p_total)[first]
    seq = (offset + rank) % 499 * 2 + np.where(male, 1, 2)
    id_numbers = _resident_ids(addr_codes, p_addr, day0, day_i, seq)

    has_phone = (age >= 16) & (rng.random(p_total) < np.where(elderly, 0.7, 0.97))
    phones = pc.if_else(
        pa.array(has_phone),
        pc.binary_join_element_wise(
            _take_str(_PHONE_PREFIXES, rng.integers(0, len(_PHONE_PREFIXES), p_total)),
            pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 100_000_000, p_total)), pa.string()), 8, "0"),
            "",
        ),
        pa.scalar(""),
    )

    # --- assemble --------------------------------------------------------------------------------------
    h_ids = np.arange(1, n + 1, dtype=np.int64)
    v_names = pa.array(list(vill.name), pa.string())
    unit_word = pc.if_else(pa.array(h_urban), pa.scalar("栋"), pa.scalar("组"))
    address = pc.binary_join_element_wise(
        pc.take(v_names, pa.array(h_village)),
        pc.cast(pa.array(rng.integers(1, 30, n)), pa.string()),
        unit_word,
        pc.cast(pa.array(rng.integers(1, 200, n)), pa.string()),
        pa.scalar("号"),
        "",
    )
    hh = pa.Table.from_arrays(
        [
            pa.array(h_ids),
            pa.array(list(vill.code), pa.string()).take(pa.array(h_village)),
            pa.array(list(vill.district), pa.string()).take(pa.array(h_village)),
            _take_str(AREA_TYPES, np.where(h_urban, 0, 1)),
            pa.array(enrolled),
            pa.array(last_amount, mask=~enrolled),
            pa.array(deposits),
            pa.array(vehicles, pa.int16()),
            pa.array(houses, pa.int16()),
            address,
        ],
        schema=HOUSEHOLD_SCHEMA,
    )

    def dates(values: np.ndarray, mask: np.ndarray) -> pa.Array:
        return pa.array(values.astype(np.int32), pa.int32(), mask=~mask).cast(pa.date32())

    persons = pa.Table.from_arrays(
        [
            pa.array(np.arange(1, p_total + 1, dtype=np.int64)),
            pa.array(h_ids[p_hh]),
            id_numbers,
            names.cast(pa.string()),
            _take_str(("M", "F"), np.where(male, 0, 1)),
            pa.array(birth.astype(np.int32)).cast(pa.date32()),
            _take_str(RELATIONS, relation),
            phones,
            *[pa.array(amounts[:, i]) for i in range(5)],
            pa.array(exempt.astype(np.int64)),
            _take_str(WORK, work),
            *[pa.array(cat[c]) for c in CATEGORY_FLAGS],
            _take_str(("institutional", "scattered"), orphan_care),
            dates(confirmed, covid),
            dates(discharge_day, discharged),
            dates(death_day, died),
        ],
        schema=PERSON_SCHEMA,
    )
    return Population(regions=regions, households=hh, persons=persons)


# ---------------------------------------------------------------------------------------------
# Parquet


def write_population(population: Population, out_dir: str | Path) -> dict[str, Path]:
    """regions.parquet, households.parquet, persons.parquet in out_dir (created if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in ("regions", "households", "persons"):
        path = out / f"{name}.parquet"
        pq.write_table(getattr(population, name), path, compression="zstd")
        paths[name] = path
    return paths


def read_population(in_dir: str | Path) -> Population:
    src = Path(in_dir)
    missing = [n for n in ("regions", "households", "persons") if not (src / f"{n}.parquet").exists()]
    if missing:
        raise FileNotFoundError(f"{src}: missing {', '.join(m + '.parquet' for m in missing)}")
    return Population(
        regions=pq.read_table(src / "regions.parquet"),
        households=pq.read_table(src / "households.parquet"),
        persons=pq.read_table(src / "persons.parquet"),
    )


# ---------------------------------------------------------------------------------------------
# Loading into the database

ProgressFn = Callable[[str], None]


class PopulationInvalid(ValidationError):
    """The tables do not describe a loadable population; nothing was written."""


class PopulationConflict(ValidationError):
    """Resident IDs already registered: the whole load is refused and nothing was written."""

    def __init__(self, existing: list[str], count: int):
        self.existing = existing
        self.count = count
        shown = "、".join(existing[:10])
        super().__init__(
            {
                "id_number": [
                    f"{count} 个身份证号已登记，本次导入全部未写入：{shown}{'…' if count > 10 else ''}"
                ]
            }
        )


def _noop(_msg: str) -> None:
    pass


_DAY_YEARS = 365.2425


def _distinct(values: np.ndarray) -> bool:
    """No value twice (sorted input, the usual case, is checked without sorting)."""
    if len(values) < 2 or (np.diff(values) > 0).all():
        return True
    ordered = np.sort(values)  # (np.unique hashes, which is several times slower here)
    return bool((ordered[1:] != ordered[:-1]).all())


def _validate(pop: Population) -> list[str]:
    """Every problem found in the tables, vectorised (nothing is written while any remains)."""
    errors: list[str] = []
    for name, schema in (("households", HOUSEHOLD_SCHEMA), ("persons", PERSON_SCHEMA)):
        table = getattr(pop, name)
        for field in schema:
            if field.name == "address":
                continue
            if field.name not in table.column_names:
                errors.append(f"{name}: missing column {field.name}")
            elif not table.schema.field(field.name).type.equals(field.type):
                errors.append(
                    f"{name}.{field.name}: type {table.schema.field(field.name).type}, expected {field.type}"
                )
    if errors:
        return errors
    h, p = pop.households, pop.persons

    def check(ok: Any, what: str, ids: pa.ChunkedArray) -> None:
        if isinstance(ok, pa.Array | pa.ChunkedArray):
            ok = pc.fill_null(ok, False).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(~np.asarray(ok, dtype=bool))
        if len(bad):
            sample = ids.take(pa.array(bad[:5])).to_pylist()
            errors.append(f"{what}: {len(bad)} rows, e.g. ids {sample}")

    hid, pid = h.column("household_id"), p.column("person_id")
    not_null = [
        "household_id",
        "region",
        "district",
        "area_type",
        "dibao_enrolled",
        "deposits_fen",
        "vehicles",
        "houses",
    ]
    for col in not_null:
        check(pc.is_valid(h.column(col)), f"households.{col} is empty", hid)
    for col in [f.name for f in PERSON_SCHEMA if not f.name.startswith("covid_")]:
        check(pc.is_valid(p.column(col)), f"persons.{col} is empty", pid)
    if errors:
        return errors
    if not _distinct(hid.to_numpy()):
        errors.append("households.household_id: duplicate ids")
    if not _distinct(pid.to_numpy()):
        errors.append("persons.person_id: duplicate ids")
    check(
        pc.match_substring_regex(h.column("region"), r"^\d{12}$"),
        "households.region is not a 12-digit code",
        hid,
    )
    check(pc.is_in(h.column("area_type"), pa.array(AREA_TYPES)), "households.area_type not urban/rural", hid)
    enrolled = h.column("dibao_enrolled")
    check(
        pc.equal(enrolled, pc.is_valid(h.column("dibao_last_amount"))),
        "households.dibao_last_amount must be given exactly when enrolled",
        hid,
    )
    check(
        pc.fill_null(pc.greater_equal(h.column("dibao_last_amount"), 0), True),
        "households.dibao_last_amount is negative",
        hid,
    )
    for col in ("deposits_fen", "vehicles", "houses"):
        check(pc.greater_equal(h.column(col), 0), f"households.{col} is negative", hid)
    for col in [f"income_{k}_fen" for k in INCOME_KINDS]:
        check(pc.greater_equal(p.column(col), 0), f"persons.{col} is negative", pid)
    check(pc.is_in(p.column("household_id"), hid), "persons.household_id not among the households", pid)
    for col, allowed in (
        ("sex", ("M", "F")),
        ("relation", RELATIONS),
        ("work", WORK),
        ("orphan_care", ("institutional", "scattered")),
    ):
        check(
            pc.is_in(p.column(col), pa.array(allowed)), f"persons.{col} not one of {'/'.join(allowed)}", pid
        )
    names = p.column("name")
    check(
        pc.and_(pc.greater(pc.utf8_length(names), 0), pc.less_equal(pc.utf8_length(names), 64)),
        "persons.name empty or longer than 64",
        pid,
    )
    check(pc.less_equal(pc.utf8_length(p.column("phone")), 20), "persons.phone longer than 20", pid)
    # Exactly one head per household.
    heads = pc.filter(p.column("household_id"), pc.equal(p.column("relation"), "head"))
    if len(heads) != len(hid) or not _distinct(heads.to_numpy()):
        errors.append("persons.relation: every household needs exactly one head")
    # Resident IDs: format, check digit, distinct.
    ids = p.column("id_number").combine_chunks()
    fmt = pc.match_substring_regex(ids, r"^\d{17}[\dX]$")
    check(fmt, "persons.id_number is not 18 digits (last may be X)", pid)
    if pc.all(fmt).as_py():
        raw = np.frombuffer(ids.buffers()[2], dtype=np.uint8)
        start = int(_offsets(ids)[0])
        digits = raw[start : start + 18 * len(ids)].reshape(-1, 18)
        check(
            id_check_digits(digits[:, :17] - 48) == digits[:, 17], "persons.id_number check digit wrong", pid
        )
        # The first 17 digits fix the check digit, so they identify a valid number: compare them as integers.
        body = (digits[:, :17] - 48).astype(np.int64) @ (10 ** np.arange(16, -1, -1, dtype=np.int64))
        if not _distinct(body):
            errors.append("persons.id_number: the same resident ID appears more than once")
    return errors


# ---- database columns ----------------------------------------------------------------------------


@dataclass
class _Column:
    """One column to write: an array (numpy fixed-width or Arrow string), with a validity mask, or a constant."""

    name: str
    kind: str  # int8 int4 int2 bool date timestamptz text
    values: Any = None
    valid: np.ndarray | None = None  # None = no nulls
    const: Any = None
    is_const: bool = False


_FIXED = {"int8": ">i8", "int4": ">i4", "int2": ">i2", "bool": "u1", "date": ">i4", "timestamptz": ">i8"}
_PG_EPOCH_DAYS = _days("2000-01-01")
_PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _kind(field: Any, connection: Any) -> str:
    db_type = (field.db_type(connection) or "").lower()
    for prefix, kind in (
        ("bigint", "int8"), ("bigserial", "int8"), ("integer", "int4"), ("serial", "int4"),
        ("smallint", "int2"), ("boolean", "bool"), ("bool", "bool"), ("date", "date"),
        ("timestamp", "timestamptz"), ("datetime", "timestamptz"), ("varchar", "text"), ("text", "text"),
        ("char", "text"), ("int", "int8"),
    ):  # fmt: skip
        if db_type.startswith(prefix):
            return kind
    raise TypeError(f"{field} has column type {db_type!r}, which the bulk loader does not write")


def _columns(model: Any, provided: dict[str, Any], connection: Any, now: dt.datetime) -> list[_Column]:
    """The model's concrete columns: values from `provided` (by attname) or the field's default.

    Driven by the model, so a field added later with a default or null=True needs no change here."""
    cols = []
    for f in model._meta.concrete_fields:
        kind = _kind(f, connection)
        if f.attname in provided:
            v = provided[f.attname]
            values, valid = v if isinstance(v, tuple) else (v, None)
            if isinstance(values, pa.ChunkedArray):
                values = values.combine_chunks()
            cols.append(_Column(f.column, kind, values=values, valid=valid))
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            cols.append(_Column(f.column, kind, const=now, is_const=True))
        elif f.null:
            cols.append(_Column(f.column, kind, const=None, is_const=True))
        else:
            default = f.get_default()
            if default is None:
                raise TypeError(f"{model.__name__}.{f.attname} has no value and no default")
            cols.append(_Column(f.column, kind, const=default, is_const=True))
    return cols


def _const_bytes(col: _Column) -> bytes | None:
    """PostgreSQL binary representation of a constant (None for NULL)."""
    v = col.const
    if v is None:
        return None
    if col.kind == "text":
        return str(v).encode()
    if col.kind == "timestamptz":
        us = (v - _PG_EPOCH) // dt.timedelta(microseconds=1)
        return np.array([us], ">i8").tobytes()
    if col.kind == "date":
        return np.array([_days(v) - _PG_EPOCH_DAYS], ">i4").tobytes()
    return np.array([int(v)], _FIXED[col.kind]).tobytes()


def _fixed_be(col: _Column, lo: int, hi: int) -> np.ndarray:
    values = np.asarray(col.values[lo:hi])
    if col.kind == "date":
        values = values.astype(np.int64) - _PG_EPOCH_DAYS
    return values.astype(_FIXED[col.kind])


def _offsets(arr: pa.Array) -> np.ndarray:
    """The value offsets of a (non-large) string/binary array."""
    return np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]


def _fsb(data: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """Rows of `width` bytes as an Arrow binary array (null where not valid)."""
    n = data.nbytes // width
    buffers = [None, pa.py_buffer(np.ascontiguousarray(data).view(np.uint8))]
    null_count = -1
    if valid is not None:
        buffers[0] = pa.py_buffer(np.packbits(valid, bitorder="little"))
        null_count = int(n - valid.sum())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, buffers, null_count=null_count).cast(
        pa.binary()
    )


def _pg_layout(cols: list[_Column]) -> tuple[list[_Column], list[_Column]]:
    """Column order on the wire: fixed-width non-null columns and constants first, then the rest."""
    block = [c for c in cols if c.is_const or (c.kind != "text" and c.valid is None)]
    return block, [c for c in cols if not (c.is_const or (c.kind != "text" and c.valid is None))]


def _pg_binary_rows(cols: list[_Column], lo: int, hi: int) -> pa.Buffer:
    """Rows lo..hi in PostgreSQL's binary COPY tuple format, built column-wise with numpy and Arrow.

    Fixed-width non-null columns and constants form one packed big-endian record per row; text and
    nullable columns are (length, bytes) pairs; Arrow's element-wise join concatenates them per row."""
    n = hi - lo
    block, var = _pg_layout(cols)
    fields: list[tuple[str, str]] = [("nf", ">i2")]
    consts: dict[str, bytes | None] = {}
    for i, c in enumerate(block):
        fields.append((f"l{i}", ">i4"))
        if c.is_const:
            consts[f"v{i}"] = b = _const_bytes(c)
            if b:
                fields.append((f"v{i}", f"S{len(b)}"))
        else:
            fields.append((f"v{i}", _FIXED[c.kind]))
    rec = np.empty(n, dtype=np.dtype(fields))
    rec["nf"] = len(cols)
    for i, c in enumerate(block):
        if c.is_const:
            b = consts[f"v{i}"]
            rec[f"l{i}"] = -1 if b is None else len(b)
            if b:
                rec[f"v{i}"] = b
        else:
            rec[f"l{i}"] = np.dtype(_FIXED[c.kind]).itemsize
            rec[f"v{i}"] = _fixed_be(c, lo, hi)
    if not var:
        return pa.py_buffer(rec.view(np.uint8))
    parts = [_fsb(rec.view(np.uint8), rec.dtype.itemsize)]
    for c in var:
        if c.kind == "text":
            arr = (
                c.values.slice(lo, n)
                if isinstance(c.values, pa.Array)
                else pa.array(c.values[lo:hi], pa.string())
            )
            arr = arr.cast(pa.binary())
            lengths = pc.fill_null(pc.binary_length(arr), -1).to_numpy(zero_copy_only=False).astype(">i4")
            parts += [_fsb(lengths, 4), pc.fill_null(arr, b"")]
        else:
            valid = c.valid[lo:hi]
            width = np.dtype(_FIXED[c.kind]).itemsize
            parts += [
                _fsb(np.where(valid, width, -1).astype(">i4"), 4),
                pc.fill_null(_fsb(_fixed_be(c, lo, hi), width, valid), b""),
            ]
    joined = pc.binary_join_element_wise(*parts, b"")
    offsets = _offsets(joined)
    return joined.buffers()[2][int(offsets[0]) : int(offsets[-1])]


_PG_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_PG_TRAILER = b"\xff\xff"


def _copy_pg(cursor: Any, table: str, cols: list[_Column], n: int, chunk: int = 200_000) -> None:
    block, var = _pg_layout(cols)
    names = ", ".join(f'"{c.name}"' for c in [*block, *var])
    with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN (FORMAT BINARY)') as copy:
        copy.write(_PG_HEADER)
        for lo in range(0, n, chunk):
            copy.write(memoryview(_pg_binary_rows(cols, lo, min(n, lo + chunk))))
        copy.write(_PG_TRAILER)


def _py_column(col: _Column, lo: int, hi: int, connection: Any) -> Iterable[Any]:
    """Python values for SQLite's executemany (dates as ISO text, as Django stores them)."""
    import itertools

    if col.is_const:
        v = col.const
        if isinstance(v, dt.datetime):
            v = connection.ops.adapt_datetimefield_value(v)
        return itertools.repeat(v, hi - lo)
    if col.kind == "text":
        arr = (
            col.values.slice(lo, hi - lo) if isinstance(col.values, pa.Array) else pa.array(col.values[lo:hi])
        )
        return arr.to_pylist()
    values = np.asarray(col.values[lo:hi])
    if col.kind == "date":
        out = pa.array(values.astype(np.int32)).cast(pa.date32()).cast(pa.string())
        if col.valid is not None:
            out = pc.if_else(pa.array(col.valid[lo:hi]), out, pa.scalar(None, pa.string()))
        return out.to_pylist()
    if col.kind == "bool":
        values = values.astype(bool)
    py = values.tolist()
    if col.valid is not None:
        py = [v if ok else None for v, ok in zip(py, col.valid[lo:hi].tolist(), strict=True)]
    return py


def _insert_sqlite(connection: Any, table: str, cols: list[_Column], n: int, chunk: int = 50_000) -> None:
    names = ", ".join(f'"{c.name}"' for c in cols)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(cols))})'
    raw = connection.connection
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        raw.executemany(sql, zip(*[_py_column(c, lo, hi, connection) for c in cols], strict=True))


def _write(connection: Any, model: Any, cols: list[_Column], n: int) -> None:
    if n == 0:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            _copy_pg(cursor, model._meta.db_table, cols, n)
    else:
        _insert_sqlite(connection, model._meta.db_table, cols, n)


# ---- ids, indexes, existing resident IDs ---------------------------------------------------------------


def _id_block(connection: Any, model: Any, n: int) -> int:
    """The first id of a block of n fresh ids (the tables are locked against other writers)."""
    table = model._meta.db_table
    with connection.cursor() as c:
        c.execute(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"')
        top = c.fetchone()[0]
        if connection.vendor == "postgresql":
            c.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f'"{table}"'])
            seq = c.fetchone()[0]
            if seq:
                c.execute(f"SELECT last_value, is_called FROM {seq}")
                last, called = c.fetchone()
                top = max(top, last if called else last - 1)
        else:
            c.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = c.fetchone()
            if row:
                top = max(top, row[0])
    return int(top) + 1


def _advance_sequence(connection: Any, model: Any, last_id: int) -> None:
    """PostgreSQL: move the id sequence past the block written (SQLite's AUTOINCREMENT follows by itself)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as c:
        c.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f'"{model._meta.db_table}"'])
        seq = c.fetchone()[0]
        if seq:
            c.execute("SELECT setval(%s, GREATEST(%s, (SELECT last_value FROM " + seq + ")))", [seq, last_id])


def _drop_secondary_indexes(connection: Any, tables: list[str]) -> list[str]:
    """Drop the secondary indexes, unique constraints and foreign keys of `tables`; return the statements
    that rebuild them. Primary keys and anything another table's foreign key relies on stay.

    Measured (docs/benchmarks.md): one sort per index and one join per foreign key after the COPY are
    several times faster than maintaining them row by row. Keeping the indexes on columns that
    arrive in order (ids, household ids) made no measurable difference, so all go."""
    with connection.cursor() as c:
        # Altering a table is refused while deferred foreign-key checks are pending on it or on the
        # tables it references (e.g. regions just added): run those checks now.
        c.execute("SET CONSTRAINTS ALL IMMEDIATE")
        c.execute("SET CONSTRAINTS ALL DEFERRED")
        c.execute(
            """
            SELECT con.conrelid::regclass::text, con.conname, pg_get_constraintdef(con.oid), con.contype
            FROM pg_constraint con
            WHERE con.conrelid = ANY(%s::regclass[]) AND con.contype IN ('u', 'f')
              AND NOT EXISTS (SELECT 1 FROM pg_constraint ref WHERE ref.contype = 'f'
                              AND ref.conindid = con.conindid AND con.contype = 'u')
            ORDER BY con.contype DESC, con.conname
            """,
            [tables],
        )
        constraints = c.fetchall()
        c.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid)
            ORDER BY 1
            """,
            [tables],
        )
        indexes = c.fetchall()
        for table, name, _definition, _kind in constraints:
            c.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            c.execute(f"DROP INDEX {name}")
    rebuild = [definition for _name, definition in indexes]
    rebuild += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, k in constraints if k == "u"]
    rebuild += [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, k in constraints if k == "f"]
    return rebuild


def _existing_id_numbers(connection: Any, ids: pa.Array) -> tuple[list[str], int]:
    """Resident IDs of `ids` already in registry_person: (the first 20, how many)."""
    from doudi.registry.models import Person

    table = Person._meta.db_table
    with connection.cursor() as c:
        c.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")')
        if not c.fetchone()[0]:
            return [], 0
        c.execute("CREATE TEMPORARY TABLE synth_incoming_ids (id_number varchar(18) PRIMARY KEY)")
        try:
            col = [_Column("id_number", "text", values=ids)]
            if connection.vendor == "postgresql":
                _copy_pg(c, "synth_incoming_ids", col, len(ids))
            else:
                _insert_sqlite(connection, "synth_incoming_ids", col, len(ids))
            join = f'FROM synth_incoming_ids t JOIN "{table}" p ON p.id_number = t.id_number'
            c.execute(f"SELECT COUNT(*) {join}")
            count = c.fetchone()[0]
            c.execute(f"SELECT t.id_number {join} ORDER BY t.id_number LIMIT 20")
            sample = [r[0] for r in c.fetchall()]
        finally:
            c.execute("DROP TABLE synth_incoming_ids")
    return sample, count


# ---- derived rows: memberships and categories ---------------------------------------------------------


def _spread(ids: np.ndarray, days: int) -> np.ndarray:
    """A deterministic pseudo-random 0..days-1 per id (Knuth's multiplicative hash)."""
    return (ids.astype(np.uint64) * np.uint64(2654435761) % np.uint64(2**32)).astype(np.int64) % days


def _clip_dates(days: np.ndarray, birth: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(days, birth), _days("2019-12-31"))


def _joined_on(birth: np.ndarray, parent: np.ndarray, head_birth: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """加入日期: the household forms when its head is ~22; spouse then, children at birth, parents later."""
    formed = np.minimum(head_birth + int(22 * _DAY_YEARS), _days("2019-12-31"))
    joined = np.maximum(birth, formed)
    joined[parent] = formed[parent] + _spread(pid[parent], 3650)
    return _clip_dates(joined, birth)


# (earliest age in years, first date, spread in days) of each category's 起始日期.
_CATEGORY_START = {
    "tekun": (18, "2010-01-01", 3650),
    "orphan": (0, "2012-01-01", 2900),
    "de_facto_unsupported_child": (0, "2019-07-01", 180),  # category created in 2019
    "hardship_child": (0, "2016-06-01", 1200),
    "registered_poor": (0, "2014-10-17", 800),  # 建档立卡 from 2014
    "elderly_alone": (60, "2015-01-01", 1800),
    "left_behind_child": (0, "2016-02-01", 1400),
    "left_behind_elderly": (60, "2016-02-01", 1400),
    "severe_disability": (0, "2008-01-01", 4300),
}


# ---- the load --------------------------------------------------------------------------------------------


def load_population(
    source: Population | str | Path,
    *,
    using: str = "default",
    actor: Any = None,
    progress: ProgressFn | None = None,
    defer_indexes: bool | None = None,
) -> dict[str, Any]:
    """Write a population into the registry tables in one transaction; return the counts written.

    Regions not yet present are added (existing codes are kept as they are). Households and persons
    get fresh ids from one block per table, in the tables' order (in an empty database they equal the
    tables' own ids). Each person gets a current membership and a PersonCategory row per cat_* flag.
    Raises PopulationInvalid (bad tables) or PopulationConflict (resident IDs already registered)
    with nothing written. defer_indexes: drop and rebuild indexes and foreign keys around the COPY
    (PostgreSQL; default: for large loads).
    """
    from django.db import connections, transaction
    from django.utils import timezone

    from doudi.audit.models import AuditAction
    from doudi.audit.services import record
    from doudi.regions.models import Region
    from doudi.registry.models import Household, Membership, Person, PersonCategory

    say = progress or _noop
    t0 = time.perf_counter()
    pop = source if isinstance(source, Population) else read_population(source)
    hh = pop.households.combine_chunks()
    pp = pop.persons.combine_chunks()
    errors = _validate(Population(pop.regions, hh, pp))
    if errors:
        raise PopulationInvalid({"population": errors})
    n_h, n_p = hh.num_rows, pp.num_rows
    say(f"validated {n_h:,} households, {n_p:,} persons ({time.perf_counter() - t0:.1f} s)")

    # Households in the table's order; persons point to theirs by position.
    h_src = hh.column("household_id").to_numpy()
    order = np.argsort(h_src, kind="stable")
    p_hh_src = pp.column("household_id").to_numpy()
    p_h_pos = order[np.searchsorted(h_src, p_hh_src, sorter=order)]
    p_src = pp.column("person_id").to_numpy()
    is_head = pc.equal(pp.column("relation"), "head").to_numpy(zero_copy_only=False)
    is_parent = pc.equal(pp.column("relation"), "parent").to_numpy(zero_copy_only=False)
    head_pos = np.empty(n_h, dtype=np.int64)
    head_pos[p_h_pos[is_head]] = np.flatnonzero(is_head)
    birth = pp.column("birth_date").cast(pa.int32()).to_numpy().astype(np.int64)

    connection = connections[using]
    now = timezone.now()
    counts: dict[str, Any] = {}
    with transaction.atomic(using=using):
        tables = [m._meta.db_table for m in (Household, Person, Membership, PersonCategory)]
        if connection.vendor == "postgresql":
            with connection.cursor() as c:
                c.execute(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")
        existing, n_existing = _existing_id_numbers(connection, pp.column("id_number"))
        if n_existing:
            raise PopulationConflict(existing, n_existing)
        say(f"no resident ID already registered ({time.perf_counter() - t0:.1f} s)")

        counts["regions"], region_paths = _load_regions(pop.regions, hh, Region, using)
        h_first = _id_block(connection, Household, n_h)
        p_first = _id_block(connection, Person, n_p)
        m_first = _id_block(connection, Membership, n_p)
        h_db = h_first + np.arange(n_h, dtype=np.int64)
        p_db = p_first + np.arange(n_p, dtype=np.int64)

        if defer_indexes is None:
            defer_indexes = (
                connection.vendor == "postgresql"
                and n_p >= 100_000
                and n_p >= _row_estimate(connection, Person._meta.db_table) // 2
            )
        village = hh.column("region")
        household_cols = _columns(
            Household,
            {
                "id": h_db,
                "region_id": village,
                "area_type": hh.column("area_type"),
                "head_id": p_db[head_pos],
                "deposits_fen": hh.column("deposits_fen").to_numpy(),
                "vehicles": hh.column("vehicles").to_numpy(),
                "houses": hh.column("houses").to_numpy(),
                "dibao_enrolled": hh.column("dibao_enrolled").to_numpy(zero_copy_only=False),
                "dibao_last_amount": (
                    hh.column("dibao_last_amount").fill_null(0).to_numpy(),
                    hh.column("dibao_enrolled").to_numpy(zero_copy_only=False),
                ),
                **({"address": hh.column("address").fill_null("")} if "address" in hh.column_names else {}),
            },
            connection,
            now,
        )

        def dates(name: str) -> tuple[np.ndarray, np.ndarray]:
            col = pp.column(name)
            valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
            return col.cast(pa.int32()).fill_null(0).to_numpy(), valid

        person_values: dict[str, Any] = {
            "id": p_db,
            "id_number": pp.column("id_number"),
            "name": pp.column("name"),
            "birth_date": birth,
            "sex": pp.column("sex"),
            "phone": pp.column("phone"),
            "region_id": village.take(pa.array(p_h_pos)),
            "work": pp.column("work"),
            "orphan_care": pp.column("orphan_care"),
            "covid_confirmed_on": dates("covid_confirmed_on"),
            "covid_discharged_on": dates("covid_discharged_on"),
            "covid_died_on": dates("covid_died_on"),
        }
        for k in INCOME_KINDS:
            person_values[f"income_{k}_fen"] = pp.column(f"income_{k}_fen").to_numpy()
        person_cols = _columns(Person, person_values, connection, now)

        membership_cols = _columns(
            Membership,
            {
                "id": m_first + np.arange(n_p, dtype=np.int64),
                "household_id": h_db[p_h_pos],
                "person_id": p_db,
                "relation": pp.column("relation"),
                "joined_on": _joined_on(birth, is_parent, birth[head_pos][p_h_pos], p_src),
            },
            connection,
            now,
        )

        # One row per person and category, person by person.
        c_person, c_name, c_from = [], [], []
        for cat in CATEGORY_FLAGS:
            idx = np.flatnonzero(pp.column(f"cat_{cat}").to_numpy(zero_copy_only=False))
            min_age, first, spread = _CATEGORY_START[cat]
            start = np.maximum(
                birth[idx] + int(min_age * _DAY_YEARS), _days(first) + _spread(p_src[idx], spread)
            )
            c_person.append(idx)
            c_name.append(np.full(len(idx), cat, dtype=object))
            c_from.append(_clip_dates(start, birth[idx]))
        c_idx = np.concatenate(c_person)
        by_person = np.argsort(c_idx, kind="stable")
        c_idx = c_idx[by_person]
        n_c = len(c_idx)
        c_first = _id_block(connection, PersonCategory, n_c)
        category_cols = _columns(
            PersonCategory,
            {
                "id": c_first + np.arange(n_c, dtype=np.int64),
                "person_id": p_db[c_idx],
                "category": pa.array(np.concatenate(c_name)[by_person], pa.string()),
                "valid_from": np.concatenate(c_from)[by_person],
            },
            connection,
            now,
        )
        writes = [
            ("households", Household, household_cols, n_h),
            ("persons", Person, person_cols, n_p),
            ("memberships", Membership, membership_cols, n_p),
            ("categories", PersonCategory, category_cols, n_c),
        ]

        rebuild: list[str] = []
        if defer_indexes and connection.vendor == "postgresql":
            rebuild = _drop_secondary_indexes(connection, tables)
            say(f"dropped {len(rebuild)} indexes/constraints for the load")
        for what, model, cols, n in writes:
            _write(connection, model, cols, n)
            say(f"{what} written ({time.perf_counter() - t0:.1f} s)")

        if rebuild:
            with connection.cursor() as c:
                c.execute("SET LOCAL maintenance_work_mem = '512MB'")
                for statement in rebuild:
                    c.execute(statement)
            say(f"indexes and constraints rebuilt ({time.perf_counter() - t0:.1f} s)")
        for model, first, n in (
            (Household, h_first, n_h),
            (Person, p_first, n_p),
            (Membership, m_first, n_p),
            (PersonCategory, c_first, n_c),
        ):
            if n:
                _advance_sequence(connection, model, first + n - 1)

        counts.update(
            households=n_h,
            persons=n_p,
            memberships=n_p,
            categories=n_c,
            household_ids=[int(h_first), int(h_first + n_h - 1)],
            person_ids=[int(p_first), int(p_first + n_p - 1)],
        )
        record(
            actor=actor,
            action=AuditAction.IMPORT,
            object_type="registry.population",
            object_id=f"{h_first}-{h_first + n_h - 1}",
            region_path=_common_prefix(region_paths),
            after=counts,
            reason="合成人口导入",
        )
    if defer_indexes and connection.vendor == "postgresql":
        with connection.cursor() as c:
            for table in tables:
                c.execute(f'ANALYZE "{table}"')
    counts["seconds"] = round(time.perf_counter() - t0, 2)
    say(f"committed ({counts['seconds']} s)")
    return counts


def _row_estimate(connection: Any, table: str) -> int:
    with connection.cursor() as c:
        c.execute("SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        return int(c.fetchone()[0])


def _load_regions(regions: pa.Table, households: pa.Table, Region: Any, using: str) -> tuple[int, list[str]]:
    """Add the table's regions that are not in the database yet (parents first; paths from the
    stored parents, so existing nodes are never changed). Every household's village must then exist,
    in the district the household names."""
    stored = {
        code: (level, path)
        for code, level, path in Region.objects.using(using).values_list("code", "level", "path")
    }
    new = []
    rows = sorted(regions.to_pylist(), key=lambda r: (r["level"], r["code"]))
    problems = []
    for r in rows:
        if r["code"] in stored:
            continue
        parent = stored.get(r["parent"]) if r["parent"] else None
        if r["parent"] and parent is None:
            problems.append(f"region {r['code']}: parent {r['parent']} unknown")
            continue
        level, path = (parent[0] + 1, f"{parent[1]}{r['code']}/") if parent else (1, f"{r['code']}/")
        stored[r["code"]] = (level, path)
        new.append(
            Region(
                code=r["code"],
                name=r["name"],
                level=level,
                path=path,
                parent_id=r["parent"] or None,
                is_local_code=bool(r.get("is_local_code")),
            )
        )
    villages = pc.unique(households.column("region")).to_pylist()
    for code in villages:
        if stored.get(code, (0,))[0] != 4:
            problems.append(f"households.region {code}: no such village/community")
    if not problems:
        pairs = pc.unique(
            pc.binary_join_element_wise(households.column("region"), households.column("district"), "/")
        ).to_pylist()
        for pair in pairs:
            village, district = pair.split("/")
            if stored[village][1].split("/")[1] != district:
                problems.append(f"households.district {district}: village {village} lies in another district")
    if problems:
        raise PopulationInvalid({"region": problems[:50]})
    Region.objects.using(using).bulk_create(new, batch_size=2000)
    return len(new), [stored[v][1] for v in villages]


def _common_prefix(paths: list[str]) -> str:
    """The deepest region path containing all of `paths` (for the audit entry's scope)."""
    if not paths:
        return ""
    prefix = min(paths)
    for p in (max(paths),):  # the common prefix of the sorted extremes is everyone's
        while not p.startswith(prefix):
            prefix = prefix[: prefix.rstrip("/").rfind("/") + 1]
    return prefix
