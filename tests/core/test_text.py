"""Names and addresses are stored without invisible characters, and masking works on what remains."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doudi.core.masking import mask_name
from doudi.core.text import clean_multiline_text, clean_text

ZW = "\u200b"  # zero-width space


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (f"{ZW}张三丰", "张三丰"),
        ("张\u200c三\u200d丰", "张三丰"),  # zero-width (non-)joiners
        ("\ufeff欧阳小明", "欧阳小明"),  # byte-order mark pasted from a file
        ("\u202e丰三张\u202c", "丰三张"),  # bidi override and pop
        ("\u2066李四\u2069", "李四"),  # bidi isolates
        ("\u200e王五\u200f", "王五"),  # left-to-right / right-to-left marks
        ("张\u00ad三", "张三"),  # soft hyphen
        ("\u3164李四", "李四"),  # Hangul filler, drawn as nothing
        ("张　三", "张三"),  # ideographic space as padding between Han characters
        ("  张\t三\n", "张三"),
        ("买买提·艾力", "买买提·艾力"),
        ("Zhang  San", "Zhang San"),
        (" 高笋塘路  8号 ", "高笋塘路 8号"),
        ("e\u0301", "\u00e9"),  # NFC: one code point for é
        ("\u845b\U000e0100", "\u845b\U000e0100"),  # an ideographic variation selector stays
        ("", ""),
        (None, ""),
        (ZW * 3, ""),
    ],
)
def test_clean_text(typed, stored):
    assert clean_text(typed) == stored
    assert clean_text(stored) == stored  # idempotent


def test_masking_keeps_the_real_surname():
    assert mask_name(f"{ZW}张三丰") == "张*丰"
    assert mask_name(f"{ZW}张三") == "张*"
    assert mask_name(f"\u202e{ZW}欧阳小明{ZW}") == "欧**明"
    assert mask_name(ZW) == ""


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("第一行\r\n第二行", "第一行\n第二行"),  # Windows line endings
        ("第一行\r第二行", "第一行\n第二行"),
        (f"{ZW}家中无人照料{ZW}\n\u202e需上门\u202c", "家中无人照料\n需上门"),
        ("  缘由：\t失业  \n\n\n\n联系电话已核实  ", "缘由： 失业\n\n联系电话已核实"),
        ("\ufeff\n\n申请理由\n\n", "申请理由"),
        (ZW * 3 + "\n" + "\u3164", ""),
        (None, ""),
    ],
)
def test_clean_multiline_text_keeps_lines_and_drops_invisible(typed, stored):
    assert clean_multiline_text(typed) == stored
    assert clean_multiline_text(stored) == stored  # idempotent


@given(st.text())
def test_clean_multiline_text_is_idempotent_and_has_nothing_invisible(raw):
    out = clean_multiline_text(raw)
    assert clean_multiline_text(out) == out
    assert "\r" not in out and "\n\n\n" not in out and out == out.strip()
    assert clean_text(out) == clean_text(raw)  # the same words, only the lines kept
