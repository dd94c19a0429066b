"""What the benefits stage tells the faces: `enrolment_changed` (sent once the change is committed)
with `change` (an EnrolmentChange). The portal answers it with an SMS to the household; benefits never
imports the portal."""

from django.db import transaction
from django.dispatch import Signal

enrolment_changed = Signal()


def announce(change) -> None:
    """After the commit (a rolled-back change tells nobody); a receiver's failure never undoes it."""
    from doudi.benefits.models import EnrolmentChange

    transaction.on_commit(lambda: enrolment_changed.send_robust(sender=EnrolmentChange, change=change))
