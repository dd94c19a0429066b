"""Names and addresses are stored without invisible characters, and masking works on what remains."""

import pytest

from doudi.core.masking import mask_name
from doudi.core.text import clean_text

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
