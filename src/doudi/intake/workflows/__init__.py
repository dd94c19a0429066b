"""业务流程: the workflows built on the intake framework, registered over its placeholder flows.

Each module registers its `Flow` with `flows.register(..., replace=True)` (and, if it needs one, its
case-page panel with `views.register_case_panel`) when imported. `IntakeConfig.ready()` imports this
package, so the full tables are in place in every process before the first request or test.

To add a workflow, add a module here and its name to WORKFLOWS; a module not written yet is skipped,
so the engineers building the dibao, children, temporary-assistance and 特困 flows work independently.
"""

from __future__ import annotations

import importlib

WORKFLOWS = ("dibao", "children", "temporary", "tekun", "change_report")

for _name in WORKFLOWS:
    try:
        importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{_name}":  # a missing dependency inside the module is a real error
            raise
