"""P4: the portal's status page (the citizen's verified session re-reading their case) at a fixed number
of queries, whatever the case holds (docs/scale.md). A count, never a time."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from doudi.intake.models import Case
from doudi.portal.views import STATUS_SESSION_KEY

pytestmark = pytest.mark.django_db

STATUS_QUERIES = 8


def _status_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("portal:status_case"))
    assert response.status_code == 200 and "data-testid" in response.content.decode()
    return len(ctx.captured_queries)


def test_the_status_page_makes_a_fixed_number_of_queries(client, regions, application):
    client.post(reverse("portal:apply", args=["dibao"]), application())
    case = Case.objects.get()
    session = client.session
    until = timezone.now() + datetime.timedelta(minutes=10)
    session[STATUS_SESSION_KEY] = {"case": case.pk, "until": until.isoformat()}
    session.save()
    assert _status_queries(client) <= STATUS_QUERIES
