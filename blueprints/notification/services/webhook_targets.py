"""Where a webhook may go: http(s) URLs whose host resolves only to public addresses. Checked when a subscription
is made and again at every delivery, which then connects to the very address it checked (no DNS rebinding between
the check and the connection). ``WEBHOOK_ALLOW_PRIVATE`` lifts the address rule (tests, closed networks)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from medcover.errors import Invalid

MAX_URL = 500


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    #: path and query, as sent in the request line
    path: str
    #: the Host header
    host_header: str
    #: the addresses the host resolved to, every one allowed
    addresses: tuple[str, ...]


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (a module function so tests can stand in for DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.IPv4Network("100.64.0.0/10"))  # carrier NAT
    )


def check(url: str, field: str = "url") -> Target:
    """The target of ``url``, or ``Invalid`` naming ``field`` and saying why it can't receive webhooks."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL:
        raise Invalid.field(field, f"Give an http or https URL of at most {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Invalid.field(field, "This is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid.field(field, "Give an http or https URL with a host name.")
    if parts.username or parts.password:
        raise Invalid.field(field, "Leave credentials out of the URL; deliveries are signed instead.")
    host = parts.hostname
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise Invalid.field(field, f"The host {host} can't be resolved.") from None
    if not addresses:
        raise Invalid.field(field, f"The host {host} can't be resolved.")
    if not current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
        private = [a for a in addresses if not is_public(a)]
        if private:
            raise Invalid.field(
                field,
                f"The host {host} resolves to a private, loopback or link-local address ({private[0]}): "
                "webhooks go to public addresses only.",
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = (parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)
    host_header = host if default_port else f"{host}:{port}"
    if ":" in host and not default_port:
        host_header = f"[{host}]:{port}"
    return Target(parts.scheme, host, port, path, host_header, tuple(addresses))
