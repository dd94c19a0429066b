"""axe-core in the browser tests: the vendored axe.min.js (vendor/axe-core, unmodified from npm) injected
into the page, run on the WCAG 2 A/AA rules; nothing is downloaded at run time."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
RUN = "() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}, resultTypes: ['violations']})"


def violations(page, impacts=BLOCKING) -> list[str]:
    """axe's violations of `impacts`, one line per offending element (rule, impact, selector, summary).

    The page's context must be opened with bypass_csp=True: Playwright injects the script inline, which
    the site's Content-Security-Policy (rightly) refuses."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(RUN)
    return [
        f"{v['id']} ({v['impact']}) {node['target']}: {node['failureSummary']}"
        for v in result["violations"]
        if v["impact"] in impacts
        for node in v["nodes"]
    ]


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    return page.evaluate("Math.max(0, document.scrollingElement.scrollWidth - window.innerWidth)")
