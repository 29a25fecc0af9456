"""Outgoing email: real SMTP in production, .eml files for development, a list in memory for tests.

``send_email`` is a job function: call it through ``jobs.enqueue`` so nothing leaves before commit.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import smtplib
import ssl
import uuid
from collections.abc import Callable
from email.header import Header
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
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
    """Send the message on a connection of its own. ``before_handover`` runs once the server is ready to take it,
    just before it is handed over: until then nothing has left (a caller records that a message may now be out)."""
    with Mailer() as mailer:
        mailer.send(message, before_handover=before_handover)


class Mailer:
    """Many messages over one SMTP connection (or into the file / memory backends), opened at the first message.

    A refusal of one message (a recipient, the data) leaves the connection open for the next; a connection that
    drops is opened again for the next message. Once opening it fails, every later message fails at once with the same
    error instead of waiting for the server again.
    """

    def __init__(self) -> None:
        self.config = current_app.config
        self.backend = self.config["MAIL_BACKEND"]
        if self.backend not in ("memory", "file", "smtp"):
            raise RuntimeError(f"unknown MAIL_BACKEND {self.backend!r}")
        self._smtp: smtplib.SMTP | None = None
        self._sender: str | None = None
        self._broken: OSError | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def send(self, message: EmailMessage, *, before_handover: Callable[[], None] | None = None) -> None:
        ready = before_handover or (lambda: None)
        if self.backend == "memory":
            ready()
            outbox.append(message)
        elif self.backend == "file":
            ready()
            folder = Path(self.config["MAIL_FILE_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))
        else:
            self._over_smtp(ready, lambda smtp: smtp.send_message(message))
        log.info("email sent", extra={"backend": self.backend, "subject_len": len(message["Subject"] or "")})

    def send_text(
        self,
        to: str,
        subject: str,
        body: str,
        *,
        message_id: str,
        before_handover: Callable[[], None] | None = None,
    ) -> None:
        """A plain-text message. Over SMTP it is written as bytes directly (the email package takes about a
        millisecond to build and flatten each message: more than the SMTP exchange itself); an address that
        needs more than ASCII goes through ``build_message``. Raises ValueError for a header with a line break."""
        raw = None
        if self.backend == "smtp":
            raw = _plain_bytes(self.config["MAIL_SENDER"], to, subject, body, message_id)
        if raw is None:
            self.send(build_message(to, subject, body, message_id=message_id), before_handover=before_handover)
            return
        sender = self._envelope_sender()
        self._over_smtp(before_handover or (lambda: None), lambda smtp: smtp.sendmail(sender, [to], raw))
        log.info("email sent", extra={"backend": self.backend, "subject_len": len(subject)})

    def _over_smtp(self, ready: Callable[[], None], transmit: Callable[[smtplib.SMTP], object]) -> None:
        smtp = self._connection()
        ready()
        try:
            transmit(smtp)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
            # smtplib reset the transaction, so the connection takes the next message, unless the server is
            # closing it (421) or smtplib already closed it
            if smtp.sock is None or getattr(exc, "smtp_code", 0) == 421:
                self._drop()
            raise
        except OSError:
            self._drop()
            raise

    def _envelope_sender(self) -> str:
        if self._sender is None:
            self._sender = parseaddr(self.config["MAIL_SENDER"])[1]
        return self._sender

    def _connection(self) -> smtplib.SMTP:
        if self._broken is not None:
            raise self._broken
        if self._smtp is None:
            try:
                self._smtp = self._connect()
            except OSError as exc:
                self._broken = exc  # unreachable: the batch's other messages fail now, not after a time-out each
                raise
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30)
        try:
            if config["MAIL_USE_TLS"]:
                # smtplib's default context checks neither the certificate nor the host name: a
                # man in the middle would read the mail and the login. Verify both, as a browser does.
                smtp.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.quit()
            self._smtp.close()
            self._smtp = None


def _plain_bytes(sender: str, to: str, subject: str, body: str, message_id: str) -> bytes | None:
    """The message as ``build_message`` would write it (text/plain, UTF-8), or None when an address is not ASCII."""
    for value in (sender, to, subject, message_id):
        if "\n" in value or "\r" in value:
            raise ValueError("Header values may not contain linefeed or carriage return characters")
    if not (sender.isascii() and to.isascii() and message_id.isascii()):
        return None
    if not subject.isascii() or len(subject) > 900:
        subject = Header(subject, "utf-8").encode()
    if body.isascii() and all(len(line) < 990 for line in body.splitlines()):
        encoding, text = "7bit", body if body.endswith("\n") else body + "\n"
    else:
        encoding, text = "base64", base64.encodebytes(body.encode()).decode("ascii")
    head = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n'
    )
    return (head + text).encode("ascii")


def send_email(to: str, subject: str, body: str, html: str | None = None) -> None:
    deliver(build_message(to, subject, body, html))
