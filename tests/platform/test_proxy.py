"""Behind a load balancer the client's address comes from X-Forwarded-For, but only as far as the configured
number of trusted proxies: rate limits, the login lockout and the audit log all key on that address."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

PROXY, CLIENT, FORGED = "10.0.0.7", "203.0.113.9", "198.51.100.66"


def _address_audited(proxies: int, forwarded_for: str) -> str:
    from medcover.app import create_app
    from medcover.extensions import db

    app = create_app(
        "test", {"SQLALCHEMY_DATABASE_URI": "sqlite://", "TRUSTED_PROXY_COUNT": proxies, "WTF_CSRF_ENABLED": False}
    )
    with app.app_context():
        upgrade()
    reply = app.test_client().post(
        "/auth/login",
        data={"email": "nobody@hospital.example", "password": "wrong-pass-123"},
        environ_base={"REMOTE_ADDR": PROXY},
        headers={"X-Forwarded-For": forwarded_for},
    )
    assert reply.status_code == 401
    with app.app_context():
        address = db.session.scalar(text("SELECT ip_address FROM audit_logs WHERE action = 'login_failed'"))
        db.session.remove()
        db.engine.dispose()
    return address


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "seen"),
    [
        (0, CLIENT, PROXY),  # no proxy configured: the header is anyone's to write, so it is ignored
        (1, CLIENT, CLIENT),  # one proxy: it appended the real client
        (1, f"{FORGED}, {CLIENT}", CLIENT),  # the client's own forged entry is left of what the proxy added
    ],
)
def test_the_client_address_is_taken_from_trusted_proxies_only(proxies, forwarded_for, seen):
    assert _address_audited(proxies, forwarded_for) == seen
