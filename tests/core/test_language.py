"""Screens are Chinese by default, whatever the browser asks for; English only by choice."""

from django.conf import settings


def test_chinese_by_default_even_for_an_english_browser(client, db):
    page = client.get("/console/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "登录" in page and "Sign in" not in page


def test_english_when_chosen(client, db):
    client.post("/i18n/setlang/", {"language": "en", "next": "/console/login/"})
    assert settings.LANGUAGE_COOKIE_NAME in client.cookies
    page = client.get("/console/login/").content.decode()
    assert "Sign in" in page and "登录" not in page.split("<footer")[0]


def test_an_unknown_language_cookie_falls_back_to_chinese(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert "登录" in client.get("/console/login/").content.decode()


def test_the_switch_names_each_language_in_itself(client, db):
    for chosen in ("zh-hans", "en"):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = chosen
        footer = client.get("/console/login/").content.decode().split("<footer")[1]
        assert "简体中文" in footer and "English" in footer and "英语" not in footer
