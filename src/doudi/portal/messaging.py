"""短信/微信 messages to citizens through a pluggable backend (DOUDI_SMS_BACKEND).

- `outbox` (default, for development and testing): writes each message to `OutboxMessage`, listed
  in the console (短信发件箱) with the phone masked. Nothing leaves the server.
- `gateway`: `SmsGatewayBackend`, a generic HTTPS JSON adapter for the bureau's SMS gateway. It refuses
  to send (`MessagingNotConfigured`) unless DOUDI_SMS_GATEWAY_URL and DOUDI_SMS_GATEWAY_TOKEN are set.
- any dotted path to a `MessageBackend` subclass (a vendor's SMS or WeChat template-message API).

Settings are read from Django settings first, then from the environment of the same name.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from doudi.core.masking import mask_phone

logger = logging.getLogger(__name__)

DEFAULT_BACKEND = "outbox"
ALIASES = {
    "outbox": "doudi.portal.messaging.OutboxBackend",
    "gateway": "doudi.portal.messaging.SmsGatewayBackend",
}


class MessagingError(Exception):
    """The message could not be sent."""


class MessagingNotConfigured(MessagingError):
    """The backend lacks its configuration: it refuses rather than pretending to send."""


def setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value in (None, ""):
        value = os.environ.get(name, default)
    return str(value or "")


@dataclass(frozen=True)
class SendResult:
    ok: bool
    backend: str
    error: str = ""


class MessageBackend(ABC):
    """Sends one text message to one phone number. `check()` raises MessagingNotConfigured when the
    backend cannot send at all (so callers can say so before doing anything else)."""

    name = "abstract"

    def check(self) -> None:  # noqa: B027 - optional hook
        """Raise MessagingNotConfigured if this backend cannot send."""

    @abstractmethod
    def send(self, *, phone: str, text: str, purpose: str, case: Any = None) -> None:
        """Send or raise MessagingError."""


class OutboxBackend(MessageBackend):
    """开发用: the message goes to the outbox table instead of a phone."""

    name = "outbox"

    def send(self, *, phone: str, text: str, purpose: str, case: Any = None) -> None:
        from doudi.portal.models import OutboxMessage

        OutboxMessage.objects.create(phone=phone, text=text, purpose=purpose, case=case, backend=self.name)


class SmsGatewayBackend(MessageBackend):
    """短信网关 over HTTPS: POST {"phone", "text", "signature"} with a bearer token.

    A stub for the bureau's gateway: the payload is the common shape of provincial SMS platforms and
    will be adapted to the contracted vendor; until configured it refuses to send.
    """

    name = "gateway"
    timeout = 5

    def __init__(self) -> None:
        self.url = setting("DOUDI_SMS_GATEWAY_URL")
        self.token = setting("DOUDI_SMS_GATEWAY_TOKEN")
        self.signature = setting("DOUDI_SMS_SIGNATURE", "兜底救助")

    def check(self) -> None:
        if not self.url or not self.token:
            raise MessagingNotConfigured(
                _("短信网关未配置（DOUDI_SMS_GATEWAY_URL、DOUDI_SMS_GATEWAY_TOKEN），不能发送短信。")
            )
        if not self.url.startswith("https://"):
            raise MessagingNotConfigured(_("短信网关地址必须使用 HTTPS。"))

    def send(self, *, phone: str, text: str, purpose: str, case: Any = None) -> None:
        self.check()
        body = json.dumps({"phone": phone, "text": text, "signature": self.signature}).encode()
        request = urllib.request.Request(
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - https only
                if not 200 <= response.status < 300:
                    raise MessagingError(f"gateway answered {response.status}")
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise MessagingError(str(exc)) from exc


def get_backend() -> MessageBackend:
    path = setting("DOUDI_SMS_BACKEND", DEFAULT_BACKEND)
    cls = import_string(ALIASES.get(path, path))
    if not (isinstance(cls, type) and issubclass(cls, MessageBackend)):
        raise MessagingNotConfigured(f"DOUDI_SMS_BACKEND={path} is not a MessageBackend")
    return cls()


def backend_available() -> bool:
    try:
        get_backend().check()
    except MessagingError:
        return False
    return True


def send_message(*, phone: str, text: str, purpose: str, case: Any = None) -> SendResult:
    """Send through the configured backend; never raises: a failure is logged (phone masked) and
    returned, so an application is never lost because a message could not go out."""
    try:
        backend = get_backend()
    except (MessagingError, ImportError) as exc:
        logger.error("messaging backend unusable: %s", exc)
        return SendResult(False, "", str(exc))
    try:
        backend.send(phone=phone, text=text, purpose=purpose, case=case)
    except MessagingError as exc:
        logger.warning("message to %s not sent by %s: %s", mask_phone(phone), backend.name, exc)
        return SendResult(False, backend.name, str(exc))
    return SendResult(True, backend.name)
