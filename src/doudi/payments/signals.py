"""What the payments stage tells the faces: `return_imported` (sent once the import is committed) with
`imported` (a loaded ReturnImport). The portal answers it with an SMS to each household whose payment
the bank returned as failed; payments never imports the portal. `payroll_computed` (sent once a month's
payroll, round 0, is computed) with `run`: supervision runs its checks on it."""

from django.db import transaction
from django.dispatch import Signal

return_imported = Signal()
payroll_computed = Signal()


def announce_return(imported) -> None:
    """After the commit (a refused or rolled-back import tells nobody); a receiver's failure never undoes it."""
    from doudi.payments.models import ReturnImport

    transaction.on_commit(lambda: return_imported.send_robust(sender=ReturnImport, imported=imported))


def announce_computed(run) -> None:
    """After the commit; a receiver's failure never undoes the payroll."""
    from doudi.payments.models import PayrollRun

    transaction.on_commit(lambda: payroll_computed.send_robust(sender=PayrollRun, run=run))
