"""Admin pages for OAuth clients: the list, registering one, its secret shown once, rotating it, revoking it."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from wtforms.fields.choices import SelectChoice

from blueprints.core import bp, services
from blueprints.core.web.forms import OAuthClientForm
from medcover import confirm, tenants
from medcover.errors import DomainError
from medcover.extensions import db
from medcover.naming import Named, whole_ids
from medcover.pages import actor, page_of, render, submit, tenant
from medcover.rbac import Role, allow


def _secret_page(registered, what: str):
    """The only place a secret is ever shown; never stored (and, like every page, never cached: medcover.security)."""
    return render(
        "core/oauth_client_secret.html", None, client=registered.client, secret=registered.client_secret, what=what
    )


@bp.get("/admin/oauth-clients")
@allow(Role.ADMIN)
def oauth_clients():
    rows, paging = page_of(services.oauth_clients.clients_query(actor()))
    return render("core/oauth_clients.html", None, rows=rows, paging=paging, role_label=_role_label)


def _role_label(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


@bp.route("/admin/oauth-clients/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def oauth_client_new():
    form = OAuthClientForm()
    form.organisation.choices = [
        SelectChoice(value, words) for value, words in [("", "Choose a hospital or an insurer"), *tenants.choices()]
    ]
    done = submit(
        form,
        lambda: services.oauth_clients.register_client(
            actor=actor(),
            name=form.name.data,
            scopes=form.scopes.data or [],
            **dict(zip(("institution_id", "company_id"), tenants.from_choice(form.organisation.data), strict=True)),
        ),
    )
    if done.ok:
        return _secret_page(done.result, "registered")
    return render_template("core/oauth_client_form.html", form=form), done.status


@bp.post("/admin/oauth-clients/<id:client_pk>/rotate")
@allow(Role.ADMIN)
def oauth_client_rotate(client_pk: int):
    client = services.oauth_clients.get_client(tenant(), client_pk)
    if not confirm.confirmed():
        return confirm.ask(
            confirm.Ask(
                question=f"Replace the secret of OAuth client {client.name}?",
                consequence="The current secret stops working at once; tokens already issued run until they expire. "
                "The new secret is shown once.",
                button="Replace the secret",
                cancel_url=url_for("core.oauth_clients"),
            )
        )
    try:
        registered = services.oauth_clients.rotate_secret(actor=actor(), client_pk=client_pk)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("core.oauth_clients"), 303)
    db.session.commit()
    return _secret_page(registered, "rotated")


@bp.post("/admin/oauth-clients/<id:client_pk>/revoke")
@allow(Role.ADMIN)
def oauth_client_revoke(client_pk: int):
    client = services.oauth_clients.get_client(tenant(), client_pk)
    if not confirm.confirmed():
        return confirm.ask(
            confirm.Ask(
                question=f"Revoke OAuth client {client.name}?",
                consequence="It gets no more tokens and every token it holds is refused from now on. "
                "This can't be undone: register a new client instead.",
                button="Revoke the client",
                cancel_url=url_for("core.oauth_clients"),
                danger=True,
                facts=(("Organisation", tenants.tenant_label(client.institution_id, client.company_id)),),
            )
        )
    try:
        services.oauth_clients.revoke_client(actor=actor(), client_pk=client_pk)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for("core.oauth_clients"), 303)
    db.session.commit()
    flash(f"OAuth client {client.name} is revoked.", "success")
    return redirect(url_for("core.oauth_clients"), 303)


def oauth_client_names(ids: set[str]) -> dict[str, Named]:
    """The audit log's words for clients: "OAuth client Lab gateway", linking to the list."""
    wanted = whole_ids(ids)
    rows = services.oauth_clients.client_names(wanted) if wanted else {}
    return {str(pk): Named(f"OAuth client {name}", url_for("core.oauth_clients")) for pk, name in rows.items()}
