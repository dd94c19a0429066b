"""The kill test's helper, run in a subprocess against the database of its environment:

python tests/payments/seed_world.py seed N          the payroll world with N extra households
python tests/payments/seed_world.py approve MONTH   every batch of the month's run through the three tiers
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.settings")

import django  # noqa: E402

django.setup()


def approve(month: str) -> None:
    from doudi.accounts.models import User
    from doudi.payments.models import PayrollBatch
    from doudi.payments.services import sign_batch

    users = {u.username: u for u in User.objects.all()}
    tiers = {"500101": ("a_officer", "a_approver"), "500102": ("b_officer", "b_approver")}
    for batch in PayrollBatch.objects.filter(run__month=month, run__round=0).order_by("district_id"):
        officer, approver = tiers[batch.district_id]
        for action, name in (("submit", officer), ("approve", approver), ("confirm", "finance")):
            sign_batch(batch=batch, action=action, officer=users[name])


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        from payments.world import build_world

        build_world(extra_households=int(sys.argv[2]))
    else:
        approve(sys.argv[2])
