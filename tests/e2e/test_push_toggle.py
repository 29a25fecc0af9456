"""Journey: a staff member turns web push on and off for their browser on the profile page. The page, its script
and the service worker run for real under the CSP (no console error, no failed request, axe clean); only the
browser's push service is stood in for (headless Chromium has none), by a subscription with real keys."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from contextlib import closing

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from tests.live_server import WebServer, app_env, flask

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "push.admin@medcover.example", "push-journey-password-1"
ENDPOINT = "https://push.example.net/wpush/v2/journey"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("push")
    key = Vapid()
    key.generate_keys()
    public = b64(key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
    env = app_env(
        DATABASE_URL=f"sqlite:///{tmp / 'push.db'}",
        MAIL_BACKEND="file",
        MAIL_FILE_DIR=str(tmp / "mail"),
        SECRET_KEY="push-journey-secret-key-not-for-production",
        VAPID_PRIVATE_KEY=b64(key.private_key.private_numbers().private_value.to_bytes(32, "big")),
        VAPID_PUBLIC_KEY=public,
        VAPID_SUBJECT="mailto:ops@medcover.example",
    )
    flask("db", "upgrade", env=env)
    flask("users", "create", EMAIL, "--role", "admin", "--password", PASSWORD, "--name", "Push Admin", env=env)
    server = WebServer(env=env, log_path=tmp / "gunicorn.log", workers=1)
    try:
        server.wait_ready()
        yield server.url, tmp / "push.db", public
    finally:
        server.stop()


def fake_push_service(page) -> None:
    """The browser's push service: subscribe() answers a subscription with real P-256 keys, as a browser would."""
    browser_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    keys = {
        "p256dh": b64(
            browser_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        ),
        "auth": b64(os.urandom(16)),
    }
    page.add_init_script(
        """(() => {
      const data = __DATA__;
      let current = null;
      const make = () => ({
        endpoint: data.endpoint,
        toJSON: () => ({endpoint: data.endpoint, expirationTime: null, keys: data.keys}),
        unsubscribe: () => { current = null; return Promise.resolve(true); },
      });
      PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
      PushManager.prototype.subscribe = function (options) {
        if (!options || !options.userVisibleOnly || !(options.applicationServerKey instanceof Uint8Array)) {
          return Promise.reject(new Error("subscribe called without the server key"));
        }
        window.__serverKeyLength = options.applicationServerKey.length;
        current = make();
        return Promise.resolve(current);
      };
    })();""".replace("__DATA__", json.dumps({"endpoint": ENDPOINT, "keys": keys}))
    )


def subscriptions(db_path) -> list[str]:
    with closing(sqlite3.connect(db_path)) as conn:
        return [row[0] for row in conn.execute("SELECT endpoint FROM push_subscriptions")]


def test_a_staff_member_turns_push_on_and_off_on_the_profile_page(page, page_errors, site):
    base_url, db_path, _public = site
    page.context.grant_permissions(["notifications"], origin=base_url)
    fake_push_service(page)
    page.goto(base_url + "/auth/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()

    page.goto(base_url + "/auth/profile")
    toggle = page.get_by_role("button", name="Turn on push notifications on this browser")
    toggle.wait_for()
    page.wait_for_function("() => !document.querySelector('#push-toggle button').disabled")
    toggle.click()
    page.get_by_text("This browser shows your notifications as they arrive.").wait_for()
    assert page.evaluate("window.__serverKeyLength") == 65  # the site's VAPID public key, decoded
    assert subscriptions(db_path) == [ENDPOINT]
    assert page.evaluate("navigator.serviceWorker.getRegistration().then(r => r && r.active ? r.active.scriptURL : '')")

    page.get_by_role("button", name="Turn off push notifications on this browser").click()
    page.get_by_text("This browser does not show push notifications.").wait_for()
    assert subscriptions(db_path) == []
    assert page_errors == []
