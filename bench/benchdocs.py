"""docs/benchmarks.md: each benchmark owns one `## ` section, which `--write-docs` replaces in place.

Analysis written by hand survives: whatever follows the line `KEEP` inside a section is carried over
below the new figures."""

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
KEEP = "<!-- written by hand: --write-docs keeps what follows -->"


def write_section(heading: str, section: str, docs: Path = DOCS) -> None:
    """Replace the section that starts at `heading` (up to the next `## `) with `section`, or append it."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    if heading in text:
        start = text.index(heading)
        following = text.find("\n## ", start + len(heading))
        end = following + 1 if following != -1 else len(text)
        old = text[start:end]
        if KEEP in old:
            section = section.rstrip("\n") + "\n\n" + old[old.index(KEEP) :].rstrip("\n") + "\n\n"
        text = text[:start] + section + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    docs.write_text(text, encoding="utf-8")
