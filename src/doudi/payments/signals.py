"""What the payments stage tells the faces: `return_imported` (sent once the import is committed) with
`imported` (a loaded ReturnImport). The portal answers it with an SMS to each household whose payment
the bank returned as failed; payments never imports the portal."""

from django.db import transaction
from django.dispatch import Signal

return_imported = Signal()


def announce_return(imported) -> None:
    """After the commit (a refused or rolled-back import tells nobody); a receiver's failure never undoes it."""
    from doudi.payments.models import ReturnImport

    transaction.on_commit(lambda: return_imported.send_robust(sender=ReturnImport, imported=imported))
