"""Apps add their pages to the console bar by declaring NavLinks on their AppConfig."""

import pytest
from django.urls import reverse

from doudi.core.nav import NavLink, declared_links, links_for

pytestmark = pytest.mark.django_db


def test_links_are_filtered_by_role_and_skip_urls_that_do_not_exist(regions, make_user):
    worker = make_user("worker", regions.a_v, "village_worker")
    links = [
        NavLink("console:search", "查询", order=10),
        NavLink("console:duplicates", "仅区县", order=20, roles=("district_officer",)),
        NavLink("nowhere:page", "未上线", order=30),
    ]
    assert [link.url for link in links_for(worker, links)] == [reverse("console:search")]
    officer = make_user("officer", regions.a, "district_officer")
    assert [link.label for link in links_for(officer, links)] == ["查询", "仅区县"]


def test_console_declares_its_own_pages_first():
    names = [link.url_name for link in declared_links()]
    assert names[:3] == ["console:home", "console:search", "console:duplicates"]
