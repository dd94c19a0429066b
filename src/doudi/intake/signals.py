"""Signals other apps listen to, sent inside the writing transaction (a listener's writes commit or
roll back with it).

covid_event_recorded(sender=CovidEvent, event, person, by): a confirmation, discharge or death was
    recorded (by hand or by import) and Person.covid_* already updated. The benefits workflows use it
    for POLICY R5/R6 — e.g. to open a bereavement case where the district has set no standard.
case_transitioned(sender=Case, case, transition, by): a case changed state (after the ledger row,
    the SLA refresh and the audit entry).
"""

from django.dispatch import Signal

covid_event_recorded = Signal()
case_transitioned = Signal()
