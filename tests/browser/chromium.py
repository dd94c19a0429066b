"""Where the browser tests find Debian's chromium, and what to do when it is missing."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MISSING = "chromium not available (install Debian chromium)"


def when_missing(path: Path = CHROMIUM, env: Mapping[str, str] = os.environ) -> tuple[str, str] | None:
    """None when chromium is there; otherwise ("skip", reason), or ("fail", reason) when
    DOUDI_REQUIRE_BROWSER=1 (CI) — so CI can never go green by skipping the browser tests."""
    if path.exists():
        return None
    if env.get("DOUDI_REQUIRE_BROWSER") == "1":
        return "fail", f"{MISSING}; DOUDI_REQUIRE_BROWSER=1 requires it"
    return "skip", MISSING
