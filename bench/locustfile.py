"""The users of bench/web_load.py (Locust): console officers and citizens, on the hot pages.

Reads its sample (session cookies, ID numbers, case ids) from the JSON file named by WEB_LOAD_SAMPLE,
written by the set-up. The user class named on Locust's command line runs:

    Officer — a township officer searches by ID number, opens a case, pages the queue (one task each)
    Citizen — a citizen whose code was verified reads the status of their case, as fast as it goes
"""

from __future__ import annotations

import json
import os
import random

from locust import FastHttpUser, constant, task

SAMPLE = json.loads(open(os.environ["WEB_LOAD_SAMPLE"], encoding="utf-8").read())


def _get(user: FastHttpUser, url: str, name: str) -> None:
    """A page counts only as a 200 answered with the page itself (a redirect to the login is a failure)."""
    with user.client.get(
        url, headers=user.cookie, name=name, allow_redirects=False, catch_response=True
    ) as r:
        if r.status_code != 200:
            r.failure(f"HTTP {r.status_code}")


class Officer(FastHttpUser):
    """A township officer at the desk: search, open, page the queue."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.cookie = {"Cookie": f"sessionid={random.choice(SAMPLE['officer_sessions'])}"}

    @task
    def search_by_id_number(self) -> None:
        q = random.choice(SAMPLE["id_numbers"])
        _get(self, f"/console/search/?q={q}", "ID-number search")

    @task
    def case_page(self) -> None:
        pk = random.choice(SAMPLE["case_ids"])
        _get(self, f"/console/cases/{pk}/", "case page")

    @task
    def queue(self) -> None:
        _get(self, "/console/cases/", "officer's queue")


class Citizen(FastHttpUser):
    """A citizen re-reading the status page of their case (the code already verified)."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.cookie = {"Cookie": f"sessionid={random.choice(SAMPLE['citizen_sessions'])}"}

    @task
    def status(self) -> None:
        _get(self, "/status/case/", "portal status")
