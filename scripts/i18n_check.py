#!/usr/bin/env python3
"""Check that doudi's English catalogue is complete — with nothing but Python (no GNU gettext).

Chinese is the source language; every user-facing string is a msgid and English must translate all
of them. This fails (exit 1, one line per problem) when:

  * a msgid in a catalogue (src/doudi/**/locale/en/LC_MESSAGES/django.po) is untranslated or fuzzy;
  * a python-format translation does not keep the msgid's placeholders (%(name)s, %s, %d);
  * the compiled django.mo is missing or does not match the .po (someone forgot compilemessages —
    a fresh machine without gettext serves the .mo as committed);
  * a string marked for translation in the code (gettext/_/pgettext/ngettext… in .py, {% translate %}
    / {% blocktranslate %} in templates) is not in the catalogue at all (makemessages not re-run).

The code extraction mirrors `django-admin makemessages` (xgettext with Django's keywords, templates
through django.utils.translation.template.templatize), so a clean run here means the catalogue that
makemessages would build has no gap.

To refresh the catalogue (needs GNU gettext):
    cd src/doudi && ../../.venv/bin/doudi makemessages -l en --ignore=.venv && \\
        ../../.venv/bin/doudi compilemessages -l en
Helpers for translators:
    scripts/i18n_check.py --todo todo.json     # untranslated/fuzzy msgids as a JSON list to fill in
    scripts/i18n_check.py --fill done.json     # write the translations (clears fuzzy); then compile
"""

from __future__ import annotations

import argparse
import ast
import gettext
import io
import json
import os
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "doudi"
LANG = "en"
IGNORED_DIRS = {".venv", "__pycache__", "node_modules", "locale"}

# xgettext's Python defaults plus the keywords Django's makemessages adds. Values: positions (1-based)
# of (context, singular, plural); None when the keyword has no such argument.
KEYWORDS: dict[str, tuple[int | None, int, int | None]] = {
    "_": (None, 1, None),
    "gettext": (None, 1, None),
    "ugettext": (None, 1, None),
    "gettext_lazy": (None, 1, None),
    "gettext_noop": (None, 1, None),
    "dgettext": (None, 2, None),
    "ngettext": (None, 1, 2),
    "ungettext": (None, 1, 2),
    "ngettext_lazy": (None, 1, 2),
    "dngettext": (None, 2, 3),
    "pgettext": (1, 2, None),
    "pgettext_lazy": (1, 2, None),
    "npgettext": (1, 2, 3),
    "npgettext_lazy": (1, 2, 3),
}

Key = tuple[str | None, str]  # (msgctxt, msgid)


# --- the .po file ----------------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index 0 for a singular entry
    flags: set[str] = field(default_factory=set)
    start: int = 0  # first line (0-based) of the entry in the file
    end: int = 0  # one past its last line

    @property
    def key(self) -> Key:
        return (self.msgctxt, self.msgid)

    @property
    def translated(self) -> bool:
        expected = 2 if self.msgid_plural is not None else 1
        return len(self.msgstr) >= expected and all(self.msgstr.get(i) for i in range(expected))


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


def _unquote(text: str) -> str:
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"not a quoted string: {text!r}")
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\r", "\\r")
    if "\n" in escaped[:-1]:
        # Multi-line strings the way msgmerge writes them: an empty first line, one line per \n.
        parts = escaped.split("\n")
        lines = [p + "\\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
        return '""\n' + "\n".join(f'"{line}"' for line in lines)
    return f'"{escaped.replace(chr(10), chr(92) + "n")}"'


def parse_po(path: Path) -> tuple[list[Entry], list[str]]:
    """Entries (the header as msgid "", obsolete `#~` ones left out) and the file's lines.

    Entries are blocks separated by blank lines, as xgettext and msgmerge write them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    entries: list[Entry] = []
    n = 0
    while n < len(lines):
        if not lines[n].strip():
            n += 1
            continue
        start = n
        while n < len(lines) and lines[n].strip():
            n += 1
        entry = _parse_block(path, lines, start, n)
        if entry is not None:
            entries.append(entry)
    return entries, lines


def _parse_block(path: Path, lines: list[str], start: int, end: int) -> Entry | None:
    entry = Entry(start=start, end=end)
    target: tuple[str, int] | None = None
    keywords = 0
    for n in range(start, end):
        line = lines[n].strip()
        if line.startswith("#"):
            if line.startswith("#,"):
                entry.flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith('"'):
            if target is None:
                raise ValueError(f"{path}:{n + 1}: continuation line outside an entry")
            name, index = target
            if name == "msgstr":
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, name, getattr(entry, name) + _unquote(line))
            continue
        keyword, _, rest = line.partition(" ")
        keywords += 1
        if keyword in ("msgctxt", "msgid", "msgid_plural"):
            setattr(entry, keyword, _unquote(rest))
            target = (keyword, 0)
        elif keyword == "msgstr":
            entry.msgstr[0], target = _unquote(rest), ("msgstr", 0)
        elif keyword.startswith("msgstr["):
            index = int(keyword[7:-1])
            entry.msgstr[index], target = _unquote(rest), ("msgstr", index)
        else:
            raise ValueError(f"{path}:{n + 1}: unexpected line {lines[n]!r}")
    return entry if keywords else None  # a block of only comments / `#~` lines is obsolete


def catalogues(source: Path = SOURCE, lang: str = LANG) -> list[Path]:
    return sorted(source.glob(f"**/locale/{lang}/LC_MESSAGES/django.po"))


# --- checks ----------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?([sdifr%])")


def placeholders(text: str) -> tuple[list[str], int]:
    """Named placeholders (sorted) and the number of positional ones; "%%" is not a placeholder."""
    named, positional = [], 0
    for m in _PLACEHOLDER.finditer(text):
        if m.group(2) == "%":
            continue
        if m.group(1):
            named.append(m.group(1))
        else:
            positional += 1
    return sorted(set(named)), positional


def check_catalogue(po: Path) -> list[str]:
    problems: list[str] = []
    entries, _ = parse_po(po)
    rel = po.relative_to(ROOT) if po.is_relative_to(ROOT) else po
    for e in entries:
        if not e.msgid and e.msgctxt is None:
            continue  # the header
        label = f"{rel}: msgid {e.msgid!r}" + (f" (context {e.msgctxt!r})" if e.msgctxt else "")
        if "fuzzy" in e.flags:
            problems.append(f"{label}: fuzzy (check the translation and remove the flag)")
        elif not e.translated:
            problems.append(f"{label}: untranslated")
        elif "python-format" in e.flags:
            sources = [e.msgid] + ([e.msgid_plural] if e.msgid_plural is not None else [])
            want_named = sorted({n for s in sources for n in placeholders(s)[0]})
            for i, text in sorted(e.msgstr.items()):
                named, positional = placeholders(text)
                # English singular forms may drop the count ("one item"), so only check names there.
                if e.msgid_plural is None and (named, positional) != placeholders(e.msgid):
                    problems.append(f"{label}: translation changes the placeholders: {text!r}")
                elif e.msgid_plural is not None and i > 0 and not set(named) <= set(want_named):
                    problems.append(f"{label}: plural form {i} has unknown placeholders: {text!r}")
    problems.extend(check_compiled(po, entries))
    return problems


def check_compiled(po: Path, entries: list[Entry]) -> list[str]:
    mo = po.with_suffix(".mo")
    rel = mo.relative_to(ROOT) if mo.is_relative_to(ROOT) else mo
    if not mo.exists():
        return [f"{rel}: missing — run compilemessages and commit the .mo"]
    with mo.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    stale = 0
    for e in entries:
        if not e.msgid or "fuzzy" in e.flags or not e.translated:
            continue
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt is not None else e.msgid
        if e.msgid_plural is None:
            ok = catalog.get(key) == e.msgstr[0]
        else:
            ok = all(catalog.get((key, i)) == text for i, text in e.msgstr.items())
        stale += not ok
    if stale:
        return [f"{rel}: {stale} translation(s) differ from the .po — run compilemessages and commit the .mo"]
    return []


# --- extraction from the code ----------------------------------------------------------------------


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def extract_python(source: str, filename: str = "<python>") -> set[Key]:
    keys: set[Key] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        spec = KEYWORDS.get(_call_name(node.func) or "")
        if spec is None:
            continue
        ctx_pos, msg_pos, _plural = spec
        args = node.args
        msgid = _literal(args[msg_pos - 1]) if len(args) >= msg_pos else None
        if msgid is None or msgid == "":
            continue
        ctx = None
        if ctx_pos is not None:
            ctx = _literal(args[ctx_pos - 1]) if len(args) >= ctx_pos else None
            if ctx is None:
                continue
        keys.add((ctx, msgid))
    return keys


_TEMPLATE_CALL = re.compile(r"\b(" + "|".join(re.escape(k) for k in KEYWORDS) + r")\(")


def extract_template(source: str, origin: str = "<template>") -> set[Key]:
    """Run Django's templatize (what makemessages feeds xgettext) and read the gettext calls back."""
    from django.utils.translation.template import templatize

    code = templatize(source, origin=origin)
    keys: set[Key] = set()
    for m in _TEMPLATE_CALL.finditer(code):
        args = _call_string_args(code[m.end() :])
        ctx_pos, msg_pos, _plural = KEYWORDS[m.group(1)]
        if len(args) < msg_pos or args[msg_pos - 1] is None or args[msg_pos - 1] == "":
            continue
        ctx = None
        if ctx_pos is not None:
            if len(args) < ctx_pos or args[ctx_pos - 1] is None:
                continue
            ctx = args[ctx_pos - 1]
        keys.add((ctx, args[msg_pos - 1]))
    return keys


def _call_string_args(rest: str) -> list[str | None]:
    """The arguments of a call whose '(' was just consumed: a string for a literal, else None."""
    args: list[str | None] = []
    pieces: list[str] = []
    other = False
    depth = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(rest).readline):
            if tok.type == tokenize.OP and tok.string in "([{":
                depth += 1
                other = True
            elif tok.type == tokenize.OP and tok.string in ")]}":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and tok.type == tokenize.OP and tok.string == ",":
                args.append(None if other or not pieces else "".join(pieces))
                pieces, other = [], False
            elif depth == 0 and tok.type == tokenize.STRING:
                pieces.append(ast.literal_eval(tok.string))
            elif tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                other = True
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass
    args.append(None if other or not pieces else "".join(pieces))
    return args


def _source_files(source: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in IGNORED_DIRS)
        for name in sorted(filenames):
            if name.endswith((".py", ".html", ".txt")) and not name.startswith("."):
                files.append(Path(dirpath) / name)
    return files


def extract_code(source: Path = SOURCE) -> dict[Key, str]:
    """Every translatable string in the code, with one place it is used."""
    found: dict[Key, str] = {}
    for path in _source_files(source):
        text = path.read_text(encoding="utf-8")
        keys = extract_python(text, str(path)) if path.suffix == ".py" else extract_template(text, str(path))
        for key in keys:
            found.setdefault(key, str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path))
    return found


def check_code_covered(source: Path = SOURCE, lang: str = LANG) -> list[str]:
    known: set[Key] = set()
    for po in catalogues(source, lang):
        entries, _ = parse_po(po)
        known |= {e.key for e in entries}
    missing = {k: where for k, where in extract_code(source).items() if k not in known}
    return [
        f"{where}: {msgid!r}"
        + (f" (context {ctx!r})" if ctx else "")
        + " is not in the catalogue — re-run makemessages"
        for (ctx, msgid), where in sorted(missing.items(), key=lambda kv: (kv[1], kv[0][1]))
    ]


def run_checks(source: Path = SOURCE, lang: str = LANG) -> list[str]:
    pos = catalogues(source, lang)
    if not pos:
        return [f"no {lang} catalogue under {source}"]
    problems: list[str] = []
    for po in pos:
        problems.extend(check_catalogue(po))
    problems.extend(check_code_covered(source, lang))
    return problems


# --- translator helpers ----------------------------------------------------------------------------


def todo(source: Path = SOURCE, lang: str = LANG) -> list[dict]:
    items = []
    for po in catalogues(source, lang):
        for e in parse_po(po)[0]:
            if e.msgid and ("fuzzy" in e.flags or not e.translated):
                item = {"msgid": e.msgid}
                if e.msgctxt is not None:
                    item["msgctxt"] = e.msgctxt
                if e.msgid_plural is not None:
                    item["msgid_plural"] = e.msgid_plural
                items.append(item)
    return items


def fill(translations: list[dict], source: Path = SOURCE, lang: str = LANG) -> int:
    """Write translations ({"msgid", "msgctxt"?, "msgstr"} or "msgstr_plural": [one, other]) into the
    catalogues, clearing fuzzy flags and previous-msgid comments of the entries written."""
    wanted = {(t.get("msgctxt"), t["msgid"]): t for t in translations}
    written = 0
    for po in catalogues(source, lang):
        entries, lines = parse_po(po)
        out: list[str] = []
        cursor = 0
        for e in entries:
            t = wanted.get(e.key)
            if t is None or not e.msgid:
                continue
            out.extend(lines[cursor : e.start])
            out.extend(_render_entry(e, lines[e.start : e.end], t))
            cursor = e.end
            written += 1
        out.extend(lines[cursor:])
        po.write_text("\n".join(out) + "\n", encoding="utf-8")
    return written


def _render_entry(e: Entry, original: list[str], t: dict) -> list[str]:
    """The entry's lines with new msgstr lines; its fuzzy flag and `#|` previous msgid dropped."""
    out = []
    for line in original:
        s = line.strip()
        if s.startswith("#|"):
            continue
        if s.startswith("#,"):
            flags = [f.strip() for f in s[2:].split(",") if f.strip() and f.strip() != "fuzzy"]
            if flags:
                out.append("#, " + ", ".join(flags))
            continue
        if s.startswith("msgstr"):
            break  # the old msgstr lines (always last in an entry) are replaced
        out.append(line)
    if e.msgid_plural is not None:
        forms = t.get("msgstr_plural") or [t["msgstr"], t["msgstr"]]
        out.extend(f"msgstr[{i}] {_quote(form)}" for i, form in enumerate(forms))
    else:
        out.append(f"msgstr {_quote(t['msgstr'])}")
    return "\n".join(out).split("\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lang", default=LANG)
    parser.add_argument("--todo", metavar="JSON", help="write the untranslated/fuzzy msgids to this file")
    parser.add_argument("--fill", metavar="JSON", help="write these translations into the catalogue")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")
    import django
    from django.conf import settings

    if not settings.configured:
        django.setup()
    if args.todo:
        items = todo(lang=args.lang)
        Path(args.todo).write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"{len(items)} msgid(s) to translate written to {args.todo}")
        return 0
    if args.fill:
        n = fill(json.loads(Path(args.fill).read_text(encoding="utf-8")), lang=args.lang)
        print(f"{n} translation(s) written; now run compilemessages")
        return 0
    problems = run_checks(lang=args.lang)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s) in the {args.lang} translation", file=sys.stderr)
        return 1
    print(f"{args.lang} translation complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
