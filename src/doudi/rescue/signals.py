"""Signals other apps listen to, sent inside the writing transaction.

saturation_alerted(sender=SaturationAlert, alert): a station reached its saturation line on a day and the
    district's alert was raised (once per station and day). The portal answers with an SMS to the
    station's alert phone (区县值班手机); this app never imports the portal.
"""

from django.dispatch import Signal

saturation_alerted = Signal()
