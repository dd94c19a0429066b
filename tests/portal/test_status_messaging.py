"""The pluggable messaging backend and the console outbox."""

import pytest
from django.urls import reverse

from doudi.portal import messaging
from doudi.portal.models import OutboxMessage

pytestmark = pytest.mark.django_db


class Recorder(messaging.MessageBackend):
    """A stand-in for a vendor's API (loaded by dotted path): records what it was asked to send."""

    name = "recorder"

    def send(self, *, phone, text, purpose, case=None):
        OutboxMessage.objects.create(phone=phone, text=text, purpose=purpose, backend=self.name)


def test_outbox_is_the_default_backend():
    assert isinstance(messaging.get_backend(), messaging.OutboxBackend)
    result = messaging.send_message(phone="13800138000", text="测试", purpose="other")
    assert result.ok and OutboxMessage.objects.get().text == "测试"


def test_gateway_refuses_without_configuration(settings):
    settings.DOUDI_SMS_BACKEND = "gateway"
    backend = messaging.get_backend()
    with pytest.raises(messaging.MessagingNotConfigured):
        backend.check()
    result = messaging.send_message(phone="13800138000", text="测试", purpose="other")
    assert not result.ok and result.backend == "gateway" and "未配置" in result.error
    assert not messaging.backend_available()
    settings.DOUDI_SMS_GATEWAY_URL = "http://sms.example/"  # configured, but not over HTTPS
    settings.DOUDI_SMS_GATEWAY_TOKEN = "secret"
    with pytest.raises(messaging.MessagingNotConfigured):
        messaging.get_backend().check()


def test_gateway_posts_json_when_configured(settings, monkeypatch):
    settings.DOUDI_SMS_BACKEND = "gateway"
    settings.DOUDI_SMS_GATEWAY_URL = "https://sms.example/send"
    settings.DOUDI_SMS_GATEWAY_TOKEN = "secret"
    seen = {}

    class Response:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def fake_urlopen(request, timeout):
        seen.update(
            url=request.full_url, auth=request.headers["Authorization"], body=request.data, timeout=timeout
        )
        return Response()

    monkeypatch.setattr(messaging.urllib.request, "urlopen", fake_urlopen)
    assert messaging.send_message(phone="13800138000", text="您好", purpose="other").ok
    assert seen["url"] == "https://sms.example/send" and seen["auth"] == "Bearer secret"
    assert b'"phone": "13800138000"' in seen["body"] and not OutboxMessage.objects.exists()


def test_any_backend_by_dotted_path(settings):
    settings.DOUDI_SMS_BACKEND = "portal.test_status_messaging.Recorder"
    assert messaging.send_message(phone="13900000000", text="hi", purpose="other").backend == "recorder"
    assert OutboxMessage.objects.values_list("phone", "text", "backend").get() == (
        "13900000000",
        "hi",
        "recorder",
    )
    settings.DOUDI_SMS_BACKEND = "doudi.portal.messaging.setting"  # not a backend
    assert not messaging.send_message(phone="13900000000", text="hi", purpose="other").ok


def test_outbox_page_for_municipal_admins_with_masked_phones(client, regions, make_user, settings):
    messaging.send_message(phone="13812345678", text="验证码为 123456", purpose="status_code")
    admin = make_user("admin", regions.city, "municipal_admin")
    officer = make_user("officer", regions.a_t, "township_officer")
    url = reverse("portal:outbox")
    assert url == "/console/outbox/"
    assert client.get(url).status_code == 302  # sign in first
    client.force_login(officer)
    settings.DEBUG = False
    assert client.get(url).status_code == 403
    settings.DEBUG = True
    assert client.get(url).status_code == 200  # in development every console user may look
    settings.DEBUG = False
    client.force_login(admin)
    page = client.get(url).content.decode()
    assert "138****5678" in page and "13812345678" not in page and "验证码为 123456" in page
    home = client.get(reverse("console:home")).content.decode()
    assert f'href="{url}"' in home  # in the admin's console navigation
