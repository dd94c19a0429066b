"""The console's shared view helpers: a safe way back, and a service's refusal in words."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.template import Context, Template
from django.test import RequestFactory

from doudi.core.errors import Conflict
from doudi.core.http import redirect_next, refusal_text


def test_redirect_next_stays_on_this_site():
    factory = RequestFactory()
    back = factory.post("/x/", {"next": "/console/cases/?state=open"})
    assert redirect_next(back, "/console/")["Location"] == "/console/cases/?state=open"
    for target in ("https://evil.example/", "//evil.example/", ""):
        request = factory.post("/x/", {"next": target})
        assert redirect_next(request, "/console/")["Location"] == "/console/"


def test_refusal_text_names_every_problem_or_the_conflict():
    assert refusal_text(ValidationError({"a": "甲错", "b": "乙错"})) == "甲错；乙错"
    assert refusal_text(Conflict("已被他人处理")) == "已被他人处理"
    assert refusal_text(PermissionDenied("不在辖区")) == "不在辖区"
    assert refusal_text(PermissionDenied(), denied="不能合并") == "不能合并"


def test_page_links_keep_the_filters_but_not_the_page():
    template = Template("{% load doudi %}{% page_query_prefix as p %}{{ p }}")
    request = RequestFactory().get("/x/", {"state": "open", "page": "3", "q": "张"})
    assert template.render(Context({"request": request})) == "state=open&amp;q=%E5%BC%A0&amp;"
    assert template.render(Context({"request": RequestFactory().get("/x/", {"page": "2"})})) == ""
