"""Signals of the care app. `care_ended` is sent inside the transaction that ends a care arrangement
before its day (closed early, or replaced by a newer arrangement), so whatever hangs on it — the
volunteers' assignments (doudi.volunteers) — ends in the same transaction, or nothing does."""

from django.dispatch import Signal

# kwargs: arrangement (CareArrangement), last_day (date: the last day of care), reason (str), by (User)
care_ended = Signal()
