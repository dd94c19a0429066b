"""The money rules of POLICY.md §3 (R1–R6).

Importing this package registers them; the order below is the order of the explanation's steps.
"""

import importlib

MODULES = ("emergency", "dibao", "tekun", "children", "price_subsidy", "covid", "total")

for _module in MODULES:
    importlib.import_module(f"{__name__}.{_module}")
