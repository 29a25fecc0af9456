"""The list pages' shared pager and empty state (templates/_list_macros.html): what a person reads under a list and
in an empty one, whatever the list."""

from __future__ import annotations

import re
from html import unescape

import pytest


def _text(markup) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", str(markup)))).strip()


def _links(markup) -> dict[str, str]:
    """Link text -> href."""
    found = re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', str(markup))
    return {_text(label): unescape(href) for href, label in found}


@pytest.fixture
def macros(app):
    def render(name: str, url: str, *args, **kwargs):
        with app.test_request_context(url):
            return getattr(app.jinja_env.get_template("_list_macros.html").module, name)(*args, **kwargs)

    return render


def _paging(page: int, total: int, per_page: int = 50) -> dict:
    return {"page": page, "per_page": per_page, "total": total, "pages": max(1, -(-total // per_page))}


def test_the_pager_says_which_rows_of_how_many_with_thousands_separators(macros):
    first = macros("pager", "/billing/invoices?q=RGH", _paging(1, 1234), "billing.invoices")
    assert _text(first).startswith("1-50 of 1,234")
    assert _links(first) == {"Next →": "/billing/invoices?q=RGH&page=2"}  # the filter goes along

    last = macros("pager", "/billing/invoices?q=RGH&page=25", _paging(25, 1234), "billing.invoices")
    assert _text(last).startswith("1,201-1,234 of 1,234")
    assert _links(last) == {"← Previous": "/billing/invoices?q=RGH&page=24"}

    middle = macros("pager", "/billing/invoices?page=3", _paging(3, 1234), "billing.invoices", "#invoice-results")
    assert _text(middle).startswith("101-150 of 1,234") and set(_links(middle)) == {"← Previous", "Next →"}
    assert 'hx-get="/billing/invoices?page=4" hx-target="#invoice-results"' in str(middle)


def test_a_single_page_still_says_how_many_and_an_empty_list_has_no_pager(macros):
    few = macros("pager", "/billing/invoices", _paging(1, 3), "billing.invoices")
    assert _text(few) == "1-3 of 3" and _links(few) == {}
    assert _text(macros("pager", "/billing/invoices", _paging(1, 0), "billing.invoices")) == ""


def test_the_pager_keeps_the_pages_own_path_arguments(macros):
    run = macros("pager", "/reconciliation/abc123?status=unpaid", _paging(1, 120), "claims.reconciliation_report")
    assert _links(run) == {"Next →": "/reconciliation/abc123?status=unpaid&page=2"}


def test_an_empty_list_with_no_filter_says_nothing_exists_yet(macros):
    empty = macros("empty_state", "/billing/invoices", "invoices", "billing.invoices", _paging(1, 0))
    assert _text(empty) == "No invoices yet." and _links(empty) == {}
    said = macros("empty_state", "/claims/queue?sort=-age", "claims", "claims.queue", nothing="Nothing waits.")
    assert _text(said) == "Nothing waits."  # sorting is not filtering


def test_an_empty_list_that_a_filter_hides_says_so_and_links_to_the_list_without_it(macros):
    hidden = macros("empty_state", "/billing/invoices?q=ZZ&status=paid", "invoices", "billing.invoices", _paging(1, 0))
    assert _text(hidden) == "No invoices match these filters. Clear filters"
    assert _links(hidden) == {"Clear filters": "/billing/invoices"}

    # the patient whose invoices these are is the page's subject, not a filter: clearing keeps it
    scoped = macros(
        "empty_state", "/billing/invoices?patient_id=7&status=void", "invoices", "billing.invoices", keep=["patient_id"]
    )
    assert _links(scoped) == {"Clear filters": "/billing/invoices?patient_id=7"}
    only_scope = macros(
        "empty_state", "/billing/invoices?patient_id=7", "invoices", "billing.invoices", keep=["patient_id"]
    )
    assert _text(only_scope) == "No invoices yet."


def test_values_that_mean_any_are_not_filters(macros):
    def queue(query: str):
        return macros("empty_state", f"/claims/queue?{query}", "claims", "claims.queue", unset=unset)

    unset = {"scheme_id": "0", "institution_id": "0"}
    anything = queue("scheme_id=0&institution_id=0")
    assert _text(anything) == "No claims yet."
    one_scheme = queue("scheme_id=4&institution_id=0")
    assert _text(one_scheme) == "No claims match these filters. Clear filters"


def test_a_list_whose_plain_view_leaves_rows_out_says_what_it_shows_and_links_to_all(macros):
    def disputes(url: str):
        return macros(
            "empty_state",
            url,
            "disputes",
            "claims.disputes_list",
            unset={"status": "all"},
            default_view="No open disputes.",
        )

    plain = disputes("/disputes")
    assert _text(plain) == "No open disputes. Show all disputes"
    assert _links(plain) == {"Show all disputes": "/disputes?status=all"}
    everything = disputes("/disputes?status=all")
    assert _text(everything) == "No disputes yet."
    filtered = disputes("/disputes?status=all&raised_by=member")
    assert _links(filtered) == {"Clear filters": "/disputes?status=all"}


def test_a_page_past_the_end_says_so_and_links_to_the_first_page(macros):
    past = macros("empty_state", "/billing/invoices?q=RGH&page=9", "invoices", "billing.invoices", _paging(9, 120))
    assert _text(past) == "There are no invoices on page 9. Go to the first page"
    assert _links(past) == {"Go to the first page": "/billing/invoices?q=RGH"}
    pager = macros("pager", "/billing/invoices?q=RGH&page=9", _paging(9, 120), "billing.invoices")
    assert _text(pager).startswith("120 in all") and _links(pager) == {"← Previous": "/billing/invoices?q=RGH&page=3"}


def test_the_empty_row_spans_the_table(macros):
    row = macros("empty_row", "/users?q=zz", 6, "users", "core.users")
    assert str(row).startswith('<tr class="empty-row"><td colspan="6" class="empty">')
    assert "No users match these filters." in _text(row)
