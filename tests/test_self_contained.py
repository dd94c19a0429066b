"""A fresh clone runs its tests and defaults alone: no file reaches outside the repository.

The issue that prompted this: a test read the price-index reference file from the shared folder beside the repository, so `make test`
failed on a clone without that sibling folder. Reference data the code or the tests need is copied in.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("src", "tests", "bench", "scripts", ".ci")
TOP_FILES = ("Makefile", "pyproject.toml", "manage.py")
SUFFIXES = {".py", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".json", ".sh", ".html", ".txt", ""}

# Path(__file__).resolve().parents[N]  /  Path(__file__).parent.parent…
PARENTS_INDEX = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")
PARENT_CHAIN = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?((?:\.parent)+)\b")
# Literal paths that climb out of a folder or name a machine's absolute location.
OUTSIDE_LITERAL = re.compile(
    r"""(?:["'/]\.\./(?:\.\./)*(?:shared|reference)\b|["']shared["']\s*/|/work/|/home/\w)"""
)


def _files() -> list[Path]:
    found = [ROOT / name for name in TOP_FILES if (ROOT / name).exists()]
    for folder in CHECKED:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                found.append(path)
    return found


def _outside_references(path: Path, text: str) -> list[str]:
    problems = []
    for match in PARENTS_INDEX.finditer(text):
        target = (
            path.resolve().parents[int(match.group(1))] if int(match.group(1)) < len(path.parents) else None
        )
        if target is None or not target.is_relative_to(ROOT):
            problems.append(match.group(0))
    for match in PARENT_CHAIN.finditer(text):
        target = path.resolve()
        for _ in range(match.group(1).count(".parent")):
            target = target.parent
        if not target.is_relative_to(ROOT):
            problems.append(match.group(0))
    problems.extend(m.group(0) for m in OUTSIDE_LITERAL.finditer(text))
    return problems


def test_no_source_or_test_file_reads_outside_the_repository():
    this = Path(__file__).resolve()
    found = {}
    for path in _files():
        if path.resolve() == this:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        problems = _outside_references(path, text)
        if problems:
            found[str(path.relative_to(ROOT))] = problems
    assert found == {}


def test_the_check_sees_a_reference_outside(tmp_path):
    inside = ROOT / "tests" / "policy" / "example.py"
    # The sibling folder's name is assembled so that this file does not itself name it.
    sibling = "sha" + "red"
    assert _outside_references(inside, f'Path(__file__).resolve().parents[3] / "{sibling}" / "x.tsv"')
    assert _outside_references(inside, "Path(__file__).parent.parent.parent.parent")
    assert _outside_references(inside, f'open("../{sibling}/reference/price-index.tsv")')
    assert not _outside_references(inside, 'Path(__file__).resolve().parent / "data" / "x.tsv"')
    assert not _outside_references(inside, "Path(__file__).resolve().parents[2]")
