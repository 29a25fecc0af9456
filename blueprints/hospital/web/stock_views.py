"""Hospital pages for pharmacy stock: the stock list with its code search, and deliveries. As the work
queues, the list shows nothing to non-clinical staff."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from blueprints.hospital import bp
from blueprints.hospital.services import orders
from blueprints.hospital.web.forms import StockForm
from blueprints.hospital.web.views import HOSPITAL_STAFF, chosen_institution, institution_choices, institutions, typed
from medcover.pages import actor, page_of, render, submit, tenant
from medcover.rbac import allow


def _stock_form(formdata: bool = True) -> StockForm:
    form = StockForm() if formdata else StockForm(formdata=None)
    form.institution_id.choices = institution_choices()
    return form


def _stock_page(form=None, status: int = 200):
    q = typed(request.args.get("q", ""), 30).strip()
    rows, paging = page_of(orders.stock_for(actor(), q))
    return render(
        "hospital/stock.html",
        "hospital/_stock_rows.html",
        status=status,
        q=q,
        rows=rows,
        paging=paging,
        form=form or _stock_form(formdata=False),
        choose_institution=tenant().is_global,
        institutions={i.id: i.name for i in institutions()},
        clinical=orders.may_use_queues(actor()),
    )


@bp.get("/hospital/pharmacy/stock")
@allow(HOSPITAL_STAFF)
def stock():
    """The stock list; the code search's HTMX calls get just the rows."""
    return _stock_page()


@bp.post("/hospital/pharmacy/stock")
@allow(HOSPITAL_STAFF)
def stock_receive():
    form = _stock_form()

    def receive():
        return orders.receive_stock(
            actor=actor(),
            institution_id=chosen_institution(form),
            item_code=form.item_code.data,
            name=form.name.data,
            quantity=form.quantity.data,
            unit=form.unit.data or "unit",
        )

    done = submit(form, receive)
    if not done.ok:
        return _stock_page(form, done.status)
    row = done.result
    flash(f"Received {form.quantity.data} {row.unit} of {row.name}; {row.quantity} in stock.", "success")
    return redirect(url_for("hospital.stock", q=row.item_code), 303)
