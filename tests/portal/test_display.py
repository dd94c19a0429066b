"""长辈模式: the switch sets or clears its cookie and returns to a page of this site only; the public
pages then load the larger stylesheet and mark the body, the console never does."""

import pytest
from django.urls import reverse

from doudi.portal.display import ELDER_COOKIE

pytestmark = pytest.mark.django_db


def _switch(client, **params):
    return client.get(reverse("portal:display"), params)


def test_turning_it_on_and_off(client):
    response = _switch(client, mode="elder", next="/status/")
    assert response.status_code == 302 and response["Location"] == "/status/"
    cookie = response.cookies[ELDER_COOKIE]
    assert cookie.value == "1" and cookie["max-age"] == 365 * 24 * 3600 and cookie["samesite"] == "Lax"
    page = client.get("/").content.decode()
    assert "portal/elder.css" in page and '<body class="portal elder"' in page
    assert 'href="/display/?mode=standard&amp;next=/"' in page and "标准模式" in page

    response = _switch(client, mode="standard", next="/")
    assert response.cookies[ELDER_COOKIE].value == "" and response.cookies[ELDER_COOKIE]["max-age"] == 0
    page = client.get("/").content.decode()
    assert "portal/elder.css" not in page and '<body class="portal"' in page
    assert 'href="/display/?mode=elder&amp;next=/"' in page and "长辈模式" in page


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "", " //evil.example/"]
)
def test_never_leaves_the_site(client, next_url):
    response = _switch(client, mode="elder", next=next_url)
    assert response.status_code == 302 and response["Location"] == "/"


def test_unknown_mode_changes_nothing(client):
    response = _switch(client, mode="huge", next="/status/")
    assert response["Location"] == "/status/" and ELDER_COOKIE not in response.cookies
    assert client.post(reverse("portal:display"), {"mode": "elder"}).status_code == 405


def test_toggle_keeps_the_query_of_the_page(client):
    page = client.get("/", {"district": "500101"}).content.decode()
    assert 'href="/display/?mode=elder&amp;next=/%3Fdistrict%3D500101"' in page


def test_the_console_stays_standard(client):
    client.cookies[ELDER_COOKIE] = "1"
    page = client.get(reverse("console:login")).content.decode()
    assert '<body class="console"' in page and "elder.css" not in page
    assert "elder.css" in client.get(reverse("hotlines:directory")).content.decode()
