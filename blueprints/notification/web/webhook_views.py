"""Admin pages for webhooks: subscriptions, a new one (its secret shown once), the delivery log with resend,
secret rotation and disabling."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from wtforms.fields.choices import SelectChoice

from blueprints.notification import bp
from blueprints.notification.models import WebhookSubscription
from blueprints.notification.services import webhooks
from blueprints.notification.web.forms import WebhookForm
from medcover import confirm, tenants
from medcover.errors import DomainError
from medcover.extensions import db
from medcover.naming import Named, whole_ids
from medcover.pages import actor, page_of, render, submit, tenant
from medcover.rbac import Role, allow


def _secret_page(done: webhooks.WithSecret, what: str):
    """The signing secret, shown once (never cached, like every page: medcover.security)."""
    return render(
        "notification/webhook_secret.html", None, subscription=done.subscription, secret=done.secret, what=what
    )


@bp.get("/admin/webhooks")
@allow(Role.ADMIN)
def webhooks_page():
    rows, paging = page_of(webhooks.subscriptions_query(tenant()))
    return render("notification/webhooks.html", None, rows=rows, paging=paging, events=webhooks.EVENTS)


@bp.route("/admin/webhooks/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def webhook_new():
    form = WebhookForm()
    form.organisation.choices = [
        SelectChoice(value, words) for value, words in [("", "Choose a hospital or an insurer"), *tenants.choices()]
    ]
    institution_id, company_id = tenants.from_choice(form.organisation.data)
    done = submit(
        form,
        lambda: webhooks.subscribe(
            actor=actor(),
            url=form.url.data,
            events=form.events.data or [],
            description=form.description.data or "",
            institution_id=institution_id,
            company_id=company_id,
        ),
    )
    if done.ok:
        return _secret_page(done.result, "created")
    return render_template("notification/webhook_form.html", form=form), done.status


@bp.get("/admin/webhooks/<id:subscription_id>")
@allow(Role.ADMIN)
def webhook_detail(subscription_id: int):
    subscription = webhooks.get_subscription(tenant(), subscription_id)
    rows, paging = page_of(webhooks.deliveries_query(tenant(), subscription_id))
    return render(
        "notification/webhook.html", None, subscription=subscription, rows=rows, paging=paging, events=webhooks.EVENTS
    )


def _act(subscription: WebhookSubscription, action, message: str | None = None):
    try:
        result = action()
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            raise
        flash(exc.detail, "error")
        return None
    db.session.commit()
    if message:
        flash(message, "success")
    return result


@bp.post("/admin/webhooks/<id:subscription_id>/rotate")
@allow(Role.ADMIN)
def webhook_rotate(subscription_id: int):
    subscription = webhooks.get_subscription(tenant(), subscription_id)
    back = url_for("notification.webhook_detail", subscription_id=subscription_id)
    if not confirm.confirmed():
        return confirm.ask(
            confirm.Ask(
                question=f"Replace the signing secret of the webhook to {subscription.url}?",
                consequence="Deliveries carry signatures of both the old and the new secret during the grace "
                "period; after it only the new one. The new secret is shown once.",
                button="Replace the secret",
                cancel_url=back,
            )
        )
    done = _act(subscription, lambda: webhooks.rotate_secret(actor=actor(), subscription_id=subscription_id))
    return _secret_page(done, "rotated") if done else redirect(back, 303)


@bp.post("/admin/webhooks/<id:subscription_id>/disable")
@allow(Role.ADMIN)
def webhook_disable(subscription_id: int):
    subscription = webhooks.get_subscription(tenant(), subscription_id)
    back = url_for("notification.webhook_detail", subscription_id=subscription_id)
    if not confirm.confirmed():
        return confirm.ask(
            confirm.Ask(
                question=f"Stop the webhook to {subscription.url}?",
                consequence="It receives no more events and waiting deliveries are not sent. This can't be undone; "
                "its delivery log stays.",
                button="Stop the webhook",
                cancel_url=back,
                danger=True,
            )
        )
    _act(subscription, lambda: webhooks.disable(actor=actor(), subscription_id=subscription_id), "Webhook stopped.")
    return redirect(back, 303)


@bp.post("/admin/webhook-deliveries/<id:delivery_id>/resend")
@allow(Role.ADMIN)
def webhook_resend(delivery_id: int):
    delivery = webhooks.get_delivery(tenant(), delivery_id)
    subscription = webhooks.get_subscription(tenant(), delivery.subscription_id)
    _act(subscription, lambda: webhooks.resend(actor=actor(), delivery_id=delivery_id), "Sent again.")
    return redirect(url_for("notification.webhook_detail", subscription_id=subscription.id), 303)


def webhook_names(ids: set[str]) -> dict[str, Named]:
    """The audit log's words for subscriptions: "Webhook to https://...", linking to its delivery log."""
    return {
        str(pk): Named(f"Webhook to {url}", url_for("notification.webhook_detail", subscription_id=pk))
        for pk, url in webhooks.subscription_urls(whole_ids(ids)).items()
    }


def webhook_delivery_names(ids: set[str]) -> dict[str, Named]:
    return {
        str(pk): Named(
            f"{webhooks.EVENTS.get(event, event)}: webhook to {url}",
            url_for("notification.webhook_detail", subscription_id=subscription_id),
        )
        for pk, (event, url, subscription_id) in webhooks.delivery_names(whole_ids(ids)).items()
    }
