"""Names and addresses as they are stored: one normalisation for every entry point (portal, console,
registry services and import, API, loaders).

Text pasted from chat apps and web pages carries characters nobody sees — a zero-width space before a
surname, a right-to-left mark, a byte-order mark — that make one name several strings (a search misses,
a duplicate is not found) and shift masking (a zero-width "surname" masks away the real one on the
public 公示). `clean_text` removes them once, where the value comes in.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# Format (Cf: zero-width space/joiners, BOM, soft hyphen, bidi embeddings, overrides and isolates…),
# control (Cc) and surrogate (Cs) characters never belong in a name or an address.
_DROPPED_CATEGORIES = frozenset({"Cf", "Cc", "Cs"})
# Letters and symbols that render as nothing (Hangul fillers, the blank braille pattern).
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def clean_text(raw: Any) -> str:
    """NFC, without invisible characters, every run of whitespace (ideographic space included) one
    space — none between two Han characters — trimmed. Variation selectors (ideographic variants of
    rare surname characters) are kept."""
    text = unicodedata.normalize("NFC", "" if raw is None else str(raw))
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
        elif ch not in _INVISIBLE and unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            kept.append(ch)
    words = "".join(kept).split()
    # A space between two Han characters is padding ("张　三"), never part of a Chinese name or address.
    out = words[:1]
    for word in words[1:]:
        out.append(word if _han(out[-1][-1]) and _han(word[0]) else " " + word)
    return "".join(out)


def clean_multiline_text(raw: Any) -> str:
    """Free text (a case summary, a reason, a comment) as stored: NFC and without invisible characters
    like `clean_text`, but its lines kept — line endings become "\n", spaces inside a line are kept as
    typed (one space each), trailing spaces and runs of more than one blank line are dropped."""
    text = unicodedata.normalize("NFC", "" if raw is None else str(raw))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in text.split("\n"):
        kept = []
        for ch in line:
            if ch.isspace():
                kept.append(" ")
            elif ch not in _INVISIBLE and unicodedata.category(ch) not in _DROPPED_CATEGORIES:
                kept.append(ch)
        lines.append("".join(kept).rstrip())
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _han(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))
