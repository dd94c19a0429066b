"""The console's navigation bar, open to every app.

An app adds its pages to the bar by declaring them on its AppConfig, without touching the
console's templates; each link names the menu it belongs in:

    class IntakeConfig(AppConfig):
        name = "doudi.intake"
        console_nav = [NavLink("intake:list", _("案件"), Menu.CASES, order=40)]

The bar shows one dropdown per menu, in the menus' order; a menu left with a single link shows
that link alone, and a menu left with none is not shown. A link is left out for a user without
one of its `roles`, and when its URL does not resolve (the app's urls not included yet) rather
than breaking every console page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import translation
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: str  # a lazy translation
    order: int


class Menu:
    """The console bar's menus. A new app files its pages under one of these; a new menu is
    added here, so the bar stays a handful of words wide."""

    # A menu title has its own context, so that its English can be one word (the bar keeps to one
    # row at 1280 px) while the same Chinese elsewhere (政策参数 as a page title) reads in full.
    # Translators: console menu title; one short word in English: People
    PEOPLE = NavGroup("people", pgettext_lazy("console menu", "人员与家庭"), 10)
    # Translators: console menu title; one short word in English: Cases
    CASES = NavGroup("cases", pgettext_lazy("console menu", "案件办理"), 20)
    # Translators: console menu title; one short word in English: Care
    CARE = NavGroup("care", pgettext_lazy("console menu", "关爱服务"), 25)
    # Translators: console menu title; one short word in English: Verification
    VERIFICATION = NavGroup("verification", pgettext_lazy("console menu", "核对"), 30)
    # Translators: console menu title; one short word in English: Policy
    POLICY = NavGroup("policy", pgettext_lazy("console menu", "政策参数"), 40)
    # Translators: console menu title; one short word in English: Oversight
    SUPERVISION = NavGroup("supervision", pgettext_lazy("console menu", "监督检查"), 45)
    # Translators: console menu title; one short word in English: System
    SYSTEM = NavGroup("system", pgettext_lazy("console menu", "系统与区划"), 50)


@dataclass(frozen=True)
class NavLink:
    url_name: str
    label: str  # a lazy translation
    group: NavGroup | None = None  # None: a link of its own on the bar (首页)
    order: int = 100
    roles: tuple[str, ...] = ()  # empty: every console user

    def visible_for(self, user) -> bool:
        return not self.roles or user.has_role(*self.roles)


@dataclass(frozen=True)
class ResolvedLink:
    url: str
    label: str
    url_name: str


@dataclass
class ResolvedMenu:
    """One item on the bar: a dropdown (`label` with its `links`), or a single link."""

    key: str
    label: str
    links: list[ResolvedLink] = field(default_factory=list)

    @property
    def is_dropdown(self) -> bool:
        return len(self.links) > 1

    @property
    def url_names(self) -> list[str]:
        return [link.url_name for link in self.links]


def declared_links() -> list[NavLink]:
    links: list[NavLink] = []
    for config in apps.get_app_configs():
        links.extend(getattr(config, "console_nav", ()) or ())
    return sorted(links, key=_position)


def _position(link: NavLink) -> tuple[int, int, str]:
    # Ungrouped links (首页) come first; then the menus in their order, each link at its order.
    return (link.group.order if link.group else 0, link.order, link.url_name)


def _resolve(user, links: Iterable[NavLink]) -> list[tuple[NavLink, ResolvedLink]]:
    resolved = []
    for link in links:
        if not link.visible_for(user):
            continue
        try:
            url = reverse(link.url_name)
        except NoReverseMatch:
            continue
        resolved.append((link, ResolvedLink(url=url, label=str(link.label), url_name=link.url_name)))
    return resolved


def links_for(user, links: Iterable[NavLink] | None = None) -> list[ResolvedLink]:
    """The links this user sees, flat, in bar order."""
    return [resolved for _link, resolved in _resolve(user, declared_links() if links is None else links)]


# The bar depends only on the roles, the language and the URLconf: resolved once per process for each
# (every console page drew it, ~50 reverse() calls), shared read-only by the pages.
_bar_cache: dict[tuple, list[ResolvedMenu]] = {}


def menus_for(user, links: Iterable[NavLink] | None = None) -> list[ResolvedMenu]:
    """The bar for this user: its menus in order, each with the links the user sees."""
    if links is None:
        declared = declared_links()
        key = (
            frozenset(user.roles),
            translation.get_language(),
            settings.ROOT_URLCONF,
            get_urlconf(),
            get_script_prefix(),
            tuple(map(id, declared)),
        )
        if key not in _bar_cache:
            _bar_cache[key] = _menus(user, declared)
        return _bar_cache[key]
    return _menus(user, sorted(links, key=_position))


def _menus(user, links: list[NavLink]) -> list[ResolvedMenu]:
    menus: dict[str, ResolvedMenu] = {}
    for link, resolved in _resolve(user, links):
        if link.group is None:
            menus[f"link:{link.url_name}"] = ResolvedMenu(link.url_name, resolved.label, [resolved])
        else:
            key = link.group.key
            menus.setdefault(key, ResolvedMenu(key, str(link.group.label))).links.append(resolved)
    return list(menus.values())
