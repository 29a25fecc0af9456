"""Outgoing email: real SMTP in production, .eml files for development, a list in memory for tests.

``send_email`` is a job function: call it through ``jobs.enqueue`` so nothing leaves before commit.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)

#: messages "sent" with the memory backend (tests)
outbox: list[EmailMessage] = []


def build_message(
    to: str, subject: str, body: str, html: str | None = None, *, message_id: str | None = None
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="medcover.local")
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def deliver(message: EmailMessage, *, before_handover: Callable[[], None] | None = None) -> None:
    """Send the message. ``before_handover`` runs once the server is ready to take it, just before it is handed
    over: until then nothing has left (a caller records that a message may now be out)."""
    config = current_app.config
    backend = config["MAIL_BACKEND"]
    ready = before_handover or (lambda: None)
    if backend == "memory":
        ready()
        outbox.append(message)
    elif backend == "file":
        ready()
        folder = Path(config["MAIL_FILE_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))
    elif backend == "smtp":
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
            if config["MAIL_USE_TLS"]:
                # smtplib's default context checks neither the certificate nor the host name: a
                # man in the middle would read the mail and the login. Verify both, as a browser does.
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            ready()
            smtp.send_message(message)
    else:
        raise RuntimeError(f"unknown MAIL_BACKEND {backend!r}")
    log.info("email sent", extra={"backend": backend, "subject_len": len(message["Subject"] or "")})


def send_email(to: str, subject: str, body: str, html: str | None = None) -> None:
    deliver(build_message(to, subject, body, html))
