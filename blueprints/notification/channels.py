"""Delivery channels: email over SMTP (medcover.mail), SMS through a provider adapter, in-app (stored only), and web
push to the browsers of staff who opted in (pywebpush, VAPID keys from config).

A delivery batch opens ``Connections`` once: one SMTP connection for all its emails and one HTTP session (a
connection pool kept alive) for all its SMS; a message sent without them opens its own."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import make_msgid
from typing import Protocol

from flask import current_app

from medcover import mail

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The channel could not hand the message over; the attempt is retried later."""


class Undeliverable(Exception):
    """There is nowhere to deliver the message any more (every push subscription expired): not retried."""


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
    #: the batch's open connections, when it is sent as part of one
    via: Connections | None = None


class Connections:
    """The connections one delivery batch shares, each opened when its first message needs it: one SMTP connection
    and one SMS provider (one HTTP session). Use as a context manager: they are closed at the end."""

    def __init__(self) -> None:
        self._mailer: mail.Mailer | None = None
        self._sms: SmsProvider | None = None

    @property
    def mailer(self) -> mail.Mailer:
        if self._mailer is None:
            self._mailer = mail.Mailer()
        return self._mailer

    @property
    def sms(self) -> SmsProvider:
        if self._sms is None:
            self._sms = sms_provider()
        return self._sms

    def __enter__(self) -> Connections:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._mailer is not None:
            self._mailer.close()
        close = getattr(self._sms, "close", None)
        if close is not None:
            close()


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
        self._session = None

    def send(self, to: str, text: str, reference: str) -> str:
        import requests

        if self._session is None:
            self._session = requests.Session()  # one connection pool, kept alive across the batch's messages
        try:
            response = self._session.post(
                self.url,
                json={"to": to, "from": self.sender, "text": text, "reference": reference},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except (requests.RequestException, OSError) as exc:
            raise DeliveryError(f"SMS provider unreachable: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise DeliveryError(f"SMS provider answered {response.status_code}")
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            raise DeliveryError("SMS provider answered something that is not JSON") from None
        message_id = answer.get("id") or answer.get("message_id") if isinstance(answer, dict) else None
        if not message_id:
            raise DeliveryError("SMS provider gave no message id")
        return str(message_id)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


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
    message_id = message.message_id or make_msgid(domain="medcover.local")
    try:
        if message.via is not None:
            message.via.mailer.send_text(
                message.address,
                message.subject,
                message.body,
                message_id=message_id,
                before_handover=message.before_handover,
            )
        else:
            email = mail.build_message(message.address, message.subject, message.body, message_id=message_id)
            mail.deliver(email, before_handover=message.before_handover)
    except ValueError as exc:  # an address or subject the email library refuses (e.g. a line break in it)
        raise DeliveryError(f"cannot build the email: {exc}"[:300]) from None
    except (OSError, TimeoutError) as exc:  # smtplib's errors are OSErrors
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from None
    return message_id


def send_sms(message: Outgoing) -> str:
    if not message.address:
        raise DeliveryError("no phone number")
    provider = message.via.sms if message.via is not None else sms_provider()
    if message.before_handover:
        message.before_handover()
    return provider.send(message.address, message.body, reference=f"n{message.notification_id}")


def send_push(message: Outgoing) -> str:
    """Push to every browser the recipient subscribed; an expired subscription (404/410) is removed. Only the title
    goes out (a lock screen is no place for a patient's details): the text stays in the in-app inbox."""
    from pywebpush import WebPushException, webpush
    from requests import RequestException

    from blueprints.notification import services

    config = current_app.config
    if not services.push_enabled():
        raise DeliveryError("web push is not set up (VAPID keys)")
    subscriptions = services.subscriptions_for(message.notification_id)
    if not subscriptions:
        raise Undeliverable("no browser is subscribed to push any more")
    payload = json.dumps(
        {"title": message.subject or "MedCover", "body": "Open MedCover to read it.", "url": "/notifications"}
    )
    if message.before_handover:
        message.before_handover()
    delivered, errors = 0, []
    for subscription in subscriptions:
        info = {"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}
        try:
            webpush(
                info,
                data=payload,
                vapid_private_key=config["VAPID_PRIVATE_KEY"],
                vapid_claims={"sub": config["VAPID_SUBJECT"]},
                ttl=24 * 3600,
                timeout=10,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in (404, 410):
                services.expired(subscription.id)
                continue
            errors.append(f"push service answered {status or 'nothing'}")
        except (RequestException, OSError) as exc:
            errors.append(f"push service unreachable: {type(exc).__name__}")
        else:
            services.pushed(subscription.id)
            delivered += 1
    if delivered:
        return f"push to {delivered} browser(s)"
    if errors:
        raise DeliveryError("; ".join(errors)[:300])
    raise Undeliverable("every browser's push subscription had expired")
