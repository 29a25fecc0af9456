"""Delivery channels: email over SMTP (medcover.mail), SMS through a provider adapter, in-app (stored only)."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flask import current_app

from medcover import mail

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The channel could not hand the message over; the attempt is retried later."""


@dataclass(frozen=True)
class Outgoing:
    notification_id: int
    address: str | None
    subject: str
    body: str
    #: the notification's own Message-ID, the same on every attempt
    message_id: str | None = None
    #: called just before the message is handed over (records that it may now be out)
    before_handover: Callable[[], None] | None = None


class SmsProvider(Protocol):
    name: str

    def send(self, to: str, text: str, reference: str) -> str:
        """Hand the message to the provider; returns its message id."""


class LogSmsProvider:
    """Development adapter: logs that a message went out (never its text or number) and keeps it in memory."""

    name = "log"
    sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str, reference: str) -> str:
        self.sent.append((to, text))
        log.info("sms handed to log provider", extra={"reference": reference, "length": len(text)})
        return f"log-{reference}"


class HttpSmsProvider:
    """A JSON-over-HTTPS SMS gateway: POST {to, from, text, reference} with a bearer key; answers {"id": ...}."""

    name = "http"

    def __init__(self, url: str, token: str, sender: str, timeout: float = 10.0):
        if not url.startswith(("https://", "http://")):
            raise DeliveryError("SMS_HTTP_URL must be an http(s) URL")
        self.url, self.token, self.sender, self.timeout = url, token, sender, timeout

    def send(self, to: str, text: str, reference: str) -> str:
        body = json.dumps({"to": to, "from": self.sender, "text": text, "reference": reference}).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"SMS provider answered {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"SMS provider unreachable: {type(exc).__name__}") from None
        except ValueError:
            raise DeliveryError("SMS provider answered something that is not JSON") from None
        message_id = answer.get("id") or answer.get("message_id")
        if not message_id:
            raise DeliveryError("SMS provider gave no message id")
        return str(message_id)


def sms_provider() -> SmsProvider:
    config = current_app.config
    if config.get("SMS_BACKEND", "log") == "http":
        if not config.get("SMS_HTTP_URL"):
            raise DeliveryError("SMS_HTTP_URL is not configured")
        return HttpSmsProvider(
            config["SMS_HTTP_URL"], config.get("SMS_HTTP_TOKEN") or "", config.get("SMS_SENDER") or "MedCover"
        )
    return LogSmsProvider()


def send_email(message: Outgoing) -> str:
    if not message.address:
        raise DeliveryError("no email address")
    try:
        email = mail.build_message(message.address, message.subject, message.body, message_id=message.message_id)
    except ValueError as exc:  # an address or subject the email library refuses (e.g. a line break in it)
        raise DeliveryError(f"cannot build the email: {exc}"[:300]) from None
    try:
        mail.deliver(email, before_handover=message.before_handover)
    except (OSError, TimeoutError) as exc:  # smtplib's errors are OSErrors
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from None
    return str(email["Message-ID"])


def send_sms(message: Outgoing) -> str:
    if not message.address:
        raise DeliveryError("no phone number")
    provider = sms_provider()
    if message.before_handover:
        message.before_handover()
    return provider.send(message.address, message.body, reference=f"n{message.notification_id}")
