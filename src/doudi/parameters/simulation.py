"""政策测算 (what-if): the per-district table behind `doudi simulate` and the console page.

The computing is `doudi.policy.batch.simulate` (two vectorised evaluations of the population); this
module names the districts and shapes the result for display, with totals and the chart's series.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from django.utils.translation import gettext as _

from doudi.policy.parameters import ParameterSet
from doudi.regions.models import Region, RegionLevel


def district_names(input_dir: Path) -> dict[str, str]:
    """Names from the population's own regions.parquet when it has one, else the region tree."""
    names = dict(Region.objects.filter(level=RegionLevel.DISTRICT).values_list("code", "name"))
    regions = Path(input_dir) / "regions.parquet"
    if regions.is_file():
        table = pq.read_table(regions, columns=["code", "name", "level"])
        for row in table.to_pylist():
            if row["level"] == RegionLevel.DISTRICT:
                names.setdefault(row["code"], row["name"])
    return names


def run_what_if(
    period: str, input_dir: Path, params: ParameterSet, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Evaluate `input_dir` for `period` with `params` and with `params` + `overrides`; the table per
    district (amounts in whole yuan) with a total row and the chart series (difference by district)."""
    from doudi.policy.batch import simulate

    differences = simulate(period, input_dir, params, overrides)
    names = district_names(input_dir)
    rows = [
        {
            "district": d.district,
            "name": names.get(d.district, d.district),
            "households": d.households,
            "baseline": d.cost_base,
            "scenario": d.cost_reform,
            "difference": d.difference,
            "gained": d.gained,
            "lost": d.lost,
        }
        for d in differences
    ]
    total = {
        key: sum(row[key] for row in rows)
        for key in ("households", "baseline", "scenario", "difference", "gained", "lost")
    }
    return {"rows": rows, "total": total, "chart": chart(rows)}


def chart(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The chart's data: districts sorted by the change (largest increase first, then by name), and
    every text it shows — title, axis titles with units, legend — in the user's language."""
    ordered = sorted(rows, key=lambda row: (-row["difference"], row["name"], row["district"]))
    return {
        "labels": [row["name"] for row in ordered],
        "values": [row["difference"] for row in ordered],
        "title": _("各区县每月资金差额（调整后 − 现行，按差额从大到小排列）"),
        "x_title": _("资金差额（元/月）"),
        "y_title": _("区县"),
        "increase": _("增加支出（元/月）"),
        "decrease": _("减少支出（元/月）"),
        "unit": _("元"),
    }


def format_what_if(result: dict[str, Any]) -> str:
    """The table as aligned text for the terminal (`doudi simulate`)."""
    columns = ("district", "name", "households", "baseline", "scenario", "difference", "gained", "lost")
    body = [*result["rows"], {"district": "all", "name": "", **result["total"]}]
    text = [[f"{row[c]:+}" if c == "difference" else str(row[c]) for c in columns] for row in body]
    widths = [max(len(c), *(_width(r[i]) for r in text)) for i, c in enumerate(columns)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell + " " * (w - _width(cell)) if i == 1 else " " * (w - _width(cell)) + cell
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(list(columns)), *(line(r) for r in text)])


def _width(text: str) -> int:
    # CJK characters take two columns in a terminal
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
