"""bench/benchdocs.py: a benchmark's --write-docs replaces its own section and keeps the hand-written part."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("benchdocs", ROOT / "bench" / "benchdocs.py")
benchdocs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(benchdocs)


def test_replaces_its_section_only_and_keeps_the_written_analysis(tmp_path):
    docs = tmp_path / "benchmarks.md"
    docs.write_text(
        "# Benchmarks\n\n## P1 — one\n\nold one\n\n## P2 — two\n\nold figures\n\n"
        f"{benchdocs.KEEP}\n\nwhy it is slow\n\n## P3 — three\n\nthree\n",
        encoding="utf-8",
    )
    benchdocs.write_section("## P2 — two", "## P2 — two\n\nnew figures\n", docs)
    text = docs.read_text(encoding="utf-8")
    assert "old figures" not in text and "new figures" in text
    assert text.index("new figures") < text.index("why it is slow") < text.index("## P3 — three")
    assert "old one" in text and text.count(benchdocs.KEEP) == 1
    benchdocs.write_section("## P1 — one", "## P1 — one\n\nnew one\n", docs)
    assert "old one" not in docs.read_text(encoding="utf-8")


def test_appends_a_new_section(tmp_path):
    docs = tmp_path / "benchmarks.md"
    benchdocs.write_section("## P9 — nine", "## P9 — nine\n\nnine\n", docs)
    assert docs.read_text(encoding="utf-8").endswith("## P9 — nine\n\nnine\n")
