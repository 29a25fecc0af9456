"""``flask notifications ...``: sweep due deliveries, send a test message."""

import click
from flask.cli import with_appcontext

from blueprints.notification import jobs as notification_jobs
from blueprints.notification import services
from blueprints.notification.models import Channel
from medcover import jobs
from medcover.extensions import db

notifications_cli = click.Group("notifications", help="Notifications and their delivery.")


@notifications_cli.command("sweep")
@with_appcontext
def sweep_command():
    """Deliver waiting domain events and re-queue deliveries that are due (retries, lost jobs)."""
    count = notification_jobs.sweep()
    jobs.run_ready()
    click.echo(f"re-queued {count} notification(s)")


@notifications_cli.command("test-email")
@click.argument("address")
@with_appcontext
def test_email_command(address: str):
    """Send a test email through the configured mail settings."""
    rows = services.send("notification.test", [services.Recipient(email=address)], {}, [Channel.EMAIL])
    db.session.commit()
    jobs.run_ready()
    click.echo(f"queued {len(rows)} message(s); see /admin/notifications")


@notifications_cli.command("vapid-keys")
def vapid_keys_command():
    """Print a new VAPID key pair for web push (set VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY from it, once)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    key = Vapid()
    key.generate_keys()
    private = key.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    click.echo(f"VAPID_PRIVATE_KEY={base64.urlsafe_b64encode(private).decode().rstrip('=')}")
    click.echo(f"VAPID_PUBLIC_KEY={base64.urlsafe_b64encode(public).decode().rstrip('=')}")
