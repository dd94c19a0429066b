"""The console's navigation bar, open to every app.

An app adds its pages to the bar by declaring them on its AppConfig, without touching the
console's templates:

    class IntakeConfig(AppConfig):
        name = "doudi.intake"
        console_nav = [NavLink("intake:list", _("案件"), order=40, roles=(Role.TOWNSHIP_OFFICER,))]

A link whose URL does not resolve (the app's urls not included yet) is left out rather than
breaking every console page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavLink:
    url_name: str
    label: str  # a lazy translation
    order: int = 100
    roles: tuple[str, ...] = ()  # empty: every console user

    def visible_for(self, user) -> bool:
        return not self.roles or user.has_role(*self.roles)


@dataclass(frozen=True)
class ResolvedLink:
    url: str
    label: str
    url_name: str


def declared_links() -> list[NavLink]:
    links: list[NavLink] = []
    for config in apps.get_app_configs():
        links.extend(getattr(config, "console_nav", ()) or ())
    return sorted(links, key=lambda link: (link.order, link.url_name))


def links_for(user, links: Iterable[NavLink] | None = None) -> list[ResolvedLink]:
    resolved = []
    for link in declared_links() if links is None else links:
        if not link.visible_for(user):
            continue
        try:
            url = reverse(link.url_name)
        except NoReverseMatch:
            continue
        resolved.append(ResolvedLink(url=url, label=str(link.label), url_name=link.url_name))
    return resolved
