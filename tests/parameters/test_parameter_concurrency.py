"""Two administrators entering a value for the same date at the same moment: one wins, the other
gets Conflict (HTTP 409), and exactly one row exists — never a silent overwrite."""

import threading
from datetime import date

import pytest
from django.db import connection, connections

from doudi.core.errors import Conflict
from doudi.parameters.models import ParameterValue
from doudi.parameters.services import add_parameter_value

ON_SQLITE = connection.vendor != "postgresql"


@pytest.mark.postgres
@pytest.mark.skipif(ON_SQLITE, reason="PostgreSQL not available (this run uses SQLite)")
@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_values_for_one_date(regions, make_user):
    admins = [make_user(f"admin{i}", regions.city, "municipal_admin") for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def enter(user, value):
        try:
            barrier.wait()
            add_parameter_value(
                user=user,
                name="dibao.standard.urban",
                effective_from=date(2020, 3, 1),
                value=value,
                reference="渝民发〔2020〕1号",
                reason="并发录入",
            )
            outcomes.append("stored")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=enter, args=(user, 700 + i)) for i, user in enumerate(admins)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "stored"]
    assert ParameterValue.objects.count() == 1
