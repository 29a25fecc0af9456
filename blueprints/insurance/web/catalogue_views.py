"""Insurance pages: the benefit catalogue (categories and benefits; platform administrators add to it)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user

from blueprints.insurance import bp, services
from blueprints.insurance.web.forms import BenefitForm, CategoryForm, choices
from blueprints.insurance.web.views import READERS, WRITERS, catalogue_benefits, refused
from medcover.errors import DomainError
from medcover.extensions import db
from medcover.pages import actor, render, tenant
from medcover.rbac import allow


def _catalogue(status: int = 200, **forms):
    categories = services.categories()
    benefit_form = forms.get("benefit_form") or BenefitForm(formdata=None, prefix="benefit")
    benefit_form.category_id.choices = choices([(0, "Choose a category…")] + [(c.id, c.name) for c in categories])
    return render(
        "insurance/catalogue.html",
        status=status,
        categories=categories,
        benefits=catalogue_benefits(),
        category_form=forms.get("category_form") or CategoryForm(formdata=None, prefix="category"),
        benefit_form=benefit_form,
        can_edit=current_user.role in WRITERS and tenant().is_global,
    )


@bp.get("/insurance/catalogue")
@allow(READERS)
def catalogue():
    return _catalogue()


@bp.post("/insurance/catalogue/categories")
@allow(WRITERS)
def category_add():
    form = CategoryForm(prefix="category")
    if form.validate_on_submit():
        try:
            services.create_category(actor=actor(), code=form.code.data, name=form.name.data)
        except DomainError as exc:
            return _catalogue(refused(form, exc), category_form=form)
        db.session.commit()
        flash("Category added.", "success")
        return redirect(url_for("insurance.catalogue"), 303)
    return _catalogue(422, category_form=form)


@bp.post("/insurance/catalogue/benefits")
@allow(WRITERS)
def benefit_add():
    form = BenefitForm(prefix="benefit")
    if form.validate_on_submit():
        try:
            services.create_benefit(
                actor=actor(), code=form.code.data, name=form.name.data, category_id=form.category_id.data or 0
            )
        except DomainError as exc:
            return _catalogue(refused(form, exc), benefit_form=form)
        db.session.commit()
        flash("Benefit added to the catalogue.", "success")
        return redirect(url_for("insurance.catalogue"), 303)
    return _catalogue(422, benefit_form=form)
