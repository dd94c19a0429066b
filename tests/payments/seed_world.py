"""Seed the payroll world into the database of the environment (the kill test's subprocess):
python tests/payments/seed_world.py N    (N extra households)"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")

import django  # noqa: E402

django.setup()

from payments.world import build_world  # noqa: E402

build_world(extra_households=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
