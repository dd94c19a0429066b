"""Apps add their pages to the console bar by declaring NavLinks on their AppConfig."""

import pytest
from django.urls import reverse

from doudi.core.nav import Menu, NavLink, declared_links, links_for, menus_for

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


def test_links_are_grouped_into_menus_and_a_lone_link_stands_alone(regions, make_user):
    officer = make_user("officer", regions.a, "district_officer")
    links = [
        NavLink("console:duplicates", "疑似重复", Menu.PEOPLE, order=20),
        NavLink("console:search", "人员查询", Menu.PEOPLE, order=10),
        NavLink("console:home", "首页"),
        NavLink("intake:list", "案件", Menu.CASES),
        NavLink("intake:transfers", "仅市级", Menu.CASES, roles=("municipal_admin",)),
        NavLink("nowhere:page", "未上线", Menu.SYSTEM),
    ]
    menus = menus_for(officer, links)
    shown = [
        (m.label, [link.label for link in m.links]) if m.is_dropdown else m.links[0].label for m in menus
    ]
    assert shown == [
        "首页",
        (str(Menu.PEOPLE.label), ["人员查询", "疑似重复"]),
        "案件",  # the other link of 案件办理 is not for this role: no one-item dropdown
    ]
    assert menus[1].url_names == ["console:search", "console:duplicates"]


def test_the_bar_shows_menus_and_hides_what_the_role_cannot_use(client, regions, make_user):
    admin = make_user("admin", regions.city, "municipal_admin")
    worker = make_user("worker", regions.a_v, "village_worker")
    client.force_login(admin)
    page = client.get(reverse("console:home")).content.decode()
    assert page.count('data-testid="nav-menu"') >= 4
    assert f'href="{reverse("parameters:simulate")}"' in page
    client.force_login(worker)
    page = client.get(reverse("console:home")).content.decode()
    assert f'href="{reverse("parameters:simulate")}"' not in page
    assert f'href="{reverse("portal:outbox")}"' not in page


def test_the_simulation_link_is_for_the_roles_that_may_simulate():
    from doudi.parameters.services import SIMULATION_ROLES

    (link,) = [link for link in declared_links() if link.url_name == "parameters:simulate"]
    assert set(link.roles) == set(SIMULATION_ROLES)
