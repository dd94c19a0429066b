"""Resident ID validation: any province, historic codes, derived birth date and sex, and the check
digit catching every single-character substitution."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from idnumbers import CHECK_CHARS, WEIGHTS, check_char, make_id
from stdnum.cn import ric

from doudi.registry import identity
from doudi.registry.models import Sex

TODAY = datetime.date(2026, 11, 28)

# Real address codes: Chongqing (incl. codes newer than many holders' birth years), other provinces,
# a historic Sichuan code of the pre-1997 Chongqing area, and the residence-permit codes of
# Hong Kong, Macao and Taiwan residents.
AREA_CODES = [
    "500101",  # 万州区 (since 1997/98)
    "500112",  # 渝北区
    "500157",  # 两江新区 (2025)
    "500243",  # 彭水县
    "510219",  # 四川省重庆市 area before 1997 (code retired)
    "110101",  # 北京 东城区
    "440305",  # 深圳 南山区
    "510104",  # 成都 锦江区
    "310115",  # 上海 浦东新区
    "650102",  # 乌鲁木齐 天山区
    "810000",  # 香港居民居住证
    "830000",  # 台湾居民居住证
]

births = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)
valid_ids = st.builds(
    lambda area, birth, seq: (make_id(area, birth.strftime("%Y%m%d"), seq), birth, seq),
    st.sampled_from(AREA_CODES),
    births,
    st.integers(min_value=0, max_value=999),
)


@settings(max_examples=300, deadline=None)
@given(valid_ids)
def test_valid_numbers_are_accepted_with_birth_date_and_sex(case):
    number, birth, seq = case
    parsed = identity.parse(number, today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == birth
    assert parsed.sex == (Sex.MALE if seq % 2 else Sex.FEMALE)
    assert parsed.address_code == number[:6]


@settings(max_examples=300, deadline=None)
@given(valid_ids, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=10))
def test_any_single_character_change_is_rejected(case, position, shift):
    number = case[0]
    alphabet = "0123456789X" if position == 17 else "0123456789"
    current = alphabet.index(number[position])
    replacement = alphabet[(current + shift) % len(alphabet)]
    if replacement == number[position]:  # shift == 10 on a digit position wraps to itself
        replacement = alphabet[(current + 1) % len(alphabet)]
    changed = number[:position] + replacement + number[position + 1 :]
    assert changed != number
    with pytest.raises(ValidationError):
        identity.parse(changed, today=TODAY)


def test_mod_11_2_catches_every_single_digit_substitution():
    """Why the property above cannot fail: changing digit i by d (1 ≤ |d| ≤ 9) changes the weighted
    sum by w_i·d; 11 is prime and neither w_i (a power of 2) nor d is a multiple of 11, so the sum
    mod 11 changes — and the check character is a one-to-one function of that residue. Changing the
    check character itself obviously mismatches. Checked exhaustively here."""
    assert len(set(CHECK_CHARS)) == 11  # residue → check character is injective
    for i, w in enumerate(WEIGHTS):
        assert w % 11 != 0, i
        for d in range(1, 10):
            assert (w * d) % 11 != 0, (i, d)
            assert (w * -d) % 11 != 0, (i, d)


def test_stdnum_agrees_on_the_check_digit_but_its_validate_refuses_real_people():
    # A Wanzhou resident born 1960 (card issued after 1997): valid, but stdnum's birthplace check,
    # which wants the county to exist in the birth year, refuses it. doudi accepts it.
    elder = make_id("500101", "19600101", 123)
    assert ric.calc_check_digit(elder) == elder[-1] == check_char(elder[:17])
    assert not ric.is_valid(elder)
    parsed = identity.parse(elder, today=TODAY)
    assert parsed.birth_date == datetime.date(1960, 1, 1) and parsed.sex == Sex.MALE
    assert parsed.birth_place == "重庆市万州区"
    hk = make_id("810000", "19900101", 124)
    assert not ric.is_valid(hk)
    assert identity.parse(hk, today=TODAY).sex == Sex.FEMALE


def test_lowercase_x_full_width_and_spaces_are_normalised():
    number = next(
        make_id("500101", "19820202", s) for s in range(1000) if make_id("500101", "19820202", s)[-1] == "X"
    )
    assert identity.parse(number.lower(), today=TODAY).number == number
    full_width = number[:-1].translate(str.maketrans("0123456789", "０１２３４５６７８９")) + "ｘ"
    assert identity.validate(f" {full_width[:6]} {full_width[6:]} ") == number


def _messages(raw):
    with pytest.raises(ValidationError) as exc:
        identity.parse(raw, today=TODAY)
    return exc.value.messages, {e.code for e in exc.value.error_list}


def test_errors_name_what_is_wrong():
    msgs, codes = _messages("50010119800101123")
    assert codes == {"length"} and "18位" in msgs[0] and "17位" in msgs[0]
    msgs, codes = _messages("5001011980010112X4")
    assert codes == {"format"}
    good = make_id("500101", "19800101", 123)
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    msgs, codes = _messages(bad_check)
    assert codes == {"checksum"} and "校验位" in msgs[0]
    # A birth date that does not exist, with a correct check digit: only the date is reported.
    msgs, codes = _messages(make_id("500101", "19801301", 123))
    assert codes == {"birth_date"} and "19801301" in msgs[0]
    msgs, codes = _messages(make_id("500101", "20270101", 123))
    assert codes == {"birth_date"} and "晚于今天" in msgs[0]
    msgs, codes = _messages(make_id("990101", "19800101", 123))
    assert codes == {"address"}
    # Two problems at once are both reported.
    wrong = make_id("500101", "19800230", 123)
    msgs, codes = _messages(wrong[:-1] + ("0" if wrong[-1] != "0" else "1"))
    assert codes == {"birth_date", "checksum"}
    _msgs, codes = _messages("")
    assert codes == {"required"}
