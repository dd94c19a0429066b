"""English is complete: every msgid translated, nothing fuzzy, the committed .mo current, and every
string marked for translation in the code present in the catalogue (scripts/i18n_check.py).

The checker needs only Python (no GNU gettext), so this runs on any machine and in CI.
"""

import importlib.util
import struct
import sys
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("i18n_check", ROOT / "scripts" / "i18n_check.py")
i18n_check = importlib.util.module_from_spec(_spec)
sys.modules["i18n_check"] = i18n_check  # dataclasses look their module up there
_spec.loader.exec_module(i18n_check)


def test_english_catalogue_is_complete_and_compiled():
    problems = []
    for po in i18n_check.catalogues():
        problems.extend(i18n_check.check_catalogue(po))
    assert i18n_check.catalogues(), "no English catalogue"
    assert problems == [], "\n".join(problems)


def test_every_string_in_the_code_is_in_the_catalogue():
    problems = i18n_check.check_code_covered()
    assert problems == [], "\n".join(problems[:50]) + f"\n({len(problems)} in all)"


def test_committed_mo_serves_english_without_gettext_tools():
    with translation.override("en"):
        assert translation.gettext("姓名") == "Name"
        assert (
            translation.ngettext("找到 %(counter)s 条结果", "找到 %(counter)s 条结果", 2) % {"counter": 2}
            == "2 results found"
        )
    with translation.override("zh-hans"):
        assert translation.gettext("姓名") == "姓名"


# --- the checker itself ---------------------------------------------------------------------------

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'


def _write_mo(path: Path, messages: dict) -> None:
    """A minimal GNU .mo writer (what msgfmt does), so these tests need no gettext tools."""
    items = sorted(messages.items())
    ids = b"".join(k.encode() + b"\0" for k, _ in items)
    strs = b"".join(v.encode() + b"\0" for _, v in items)
    n = len(items)
    key_start = 7 * 4 + 16 * n
    value_start = key_start + len(ids)
    koffsets, voffsets, ko, vo = [], [], 0, 0
    for k, v in items:
        koffsets += [len(k.encode()), key_start + ko]
        voffsets += [len(v.encode()), value_start + vo]
        ko += len(k.encode()) + 1
        vo += len(v.encode()) + 1
    header = struct.pack("Iiiiiii", 0x950412DE, 0, n, 7 * 4, 7 * 4 + n * 8, 0, 0)
    path.write_bytes(header + struct.pack(f"{4 * n}i", *(koffsets + voffsets)) + ids + strs)


@pytest.fixture
def po(tmp_path):
    path = tmp_path / "locale" / "en" / "LC_MESSAGES" / "django.po"
    path.parent.mkdir(parents=True)
    return path


def test_checker_reports_untranslated_fuzzy_and_placeholders(po):
    po.write_text(
        HEADER
        + '\nmsgid "好"\nmsgstr "Good"\n'
        + '\nmsgid "空"\nmsgstr ""\n'
        + '\n#, fuzzy\n#| msgid "旧"\nmsgid "新"\nmsgstr "Old"\n'
        + '\n#, python-format\nmsgid "第%(row)s行"\nmsgstr "Line %(line)s"\n'
        + '\nmsgid "%(n)s 人"\nmsgid_plural "%(n)s 人"\nmsgstr[0] "%(n)s person"\nmsgstr[1] ""\n'
        + '\n#~ msgid "过时"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    _write_mo(
        po.with_suffix(".mo"),
        {"": "Content-Type: text/plain; charset=UTF-8\n", "好": "Good", "第%(row)s行": "Line %(line)s"},
    )
    problems = i18n_check.check_catalogue(po)
    text = "\n".join(problems)
    assert "'空': untranslated" in text
    assert "'新': fuzzy" in text
    assert "'第%(row)s行': translation changes the placeholders" in text
    assert "'%(n)s 人': untranslated" in text
    assert "过时" not in text  # obsolete entries are ignored
    assert len(problems) == 4, text


def test_checker_reports_a_stale_or_missing_mo(po):
    po.write_text(HEADER + '\nmsgid "好"\nmsgstr "Good"\n', encoding="utf-8")
    assert any("missing" in p for p in i18n_check.check_catalogue(po))
    _write_mo(po.with_suffix(".mo"), {"": "Content-Type: text/plain; charset=UTF-8\n", "好": "Fine"})
    assert any("differ from the .po" in p for p in i18n_check.check_catalogue(po))
    _write_mo(po.with_suffix(".mo"), {"": "Content-Type: text/plain; charset=UTF-8\n", "好": "Good"})
    assert i18n_check.check_catalogue(po) == []


def test_extraction_from_python_follows_djangos_keywords():
    source = """
from django.utils.translation import gettext as _, gettext_lazy, ngettext, pgettext_lazy
from django.utils import translation
a = _("甲") + gettext_lazy("乙" "丙")
b = ngettext("%(n)s 个", "%(n)s 些", 2)
c = pgettext_lazy("月份", "五月")
d = translation.gettext("丁")
e = _(f"不提取{a}")
f = print("也不提取")
"""
    assert i18n_check.extract_python(source) == {
        (None, "甲"),
        (None, "乙丙"),
        (None, "%(n)s 个"),
        ("月份", "五月"),
        (None, "丁"),
    }


def test_extraction_from_templates_matches_makemessages():
    source = """{% load i18n %}<h1>{% translate "标题" %}</h1>{% trans '上下文' context "菜单" %}
{% blocktranslate with name=user.name %}你好，{{ name }}{% endblocktranslate %}
{% blocktranslate count counter=items|length %}{{ counter }} 项{% plural %}{{ counter }} 项{% endblocktranslate %}
{% blocktranslate trimmed %}
  第一行
  第二行
{% endblocktranslate %}{% translate "按 50% 计" as label %}{{ _("变量") }}"""
    assert i18n_check.extract_template(source) == {
        (None, "标题"),
        ("菜单", "上下文"),
        (None, "你好，%(name)s"),
        (None, "%(counter)s 项"),
        (None, "第一行 第二行"),
        (None, "按 50%% 计"),
        (None, "变量"),
    }


def test_fill_writes_translations_and_clears_fuzzy(po):
    po.write_text(
        HEADER
        + '\n#: a.py:1\n#, fuzzy, python-format\n#| msgid "旧 %(n)s"\nmsgid "新 %(n)s"\nmsgstr "Old %(n)s"\n'
        + '\nmsgid "多"\nmsgid_plural "多"\nmsgstr[0] ""\nmsgstr[1] ""\n'
        + '\nmsgid "不动"\nmsgstr "Untouched"\n',
        encoding="utf-8",
    )
    written = i18n_check.fill(
        [
            {"msgid": "新 %(n)s", "msgstr": 'New "%(n)s"'},
            {"msgid": "多", "msgid_plural": "多", "msgstr_plural": ["one", "many"]},
        ],
        source=po.parents[3],
    )
    assert written == 2
    entries = {e.msgid: e for e in i18n_check.parse_po(po)[0]}
    assert entries["新 %(n)s"].msgstr == {0: 'New "%(n)s"'} and entries["新 %(n)s"].flags == {"python-format"}
    assert entries["多"].msgstr == {0: "one", 1: "many"}
    assert entries["不动"].msgstr == {0: "Untouched"}
    assert "#|" not in po.read_text(encoding="utf-8")
