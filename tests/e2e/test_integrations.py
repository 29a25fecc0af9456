"""Integration settings in a real browser: an administrator registers an OAuth client, copies its secret from the
one page that shows it, and revokes the client through the confirmation dialog; a webhook to a link-local address
is refused on the form with the field at fault named."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_admin_registers_an_oauth_client_sees_its_secret_once_and_revokes_it(
    page, page_errors, sign_in, world, axe_check
):
    sign_in(world.admin_email, world.demo_password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="OAuth clients").click()
    page.get_by_role("link", name="Register a client").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register an OAuth client")
    axe_check()
    page.get_by_label("Name").fill("Lab gateway")
    page.get_by_label("Organisation").select_option(index=1)
    page.get_by_label("Integration", exact=True).check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("OAuth client Lab gateway registered")
    expect(page.locator("#client-secret")).to_contain_text("mcs_")
    axe_check()
    page.get_by_role("link", name="Done").click()

    row = page.locator("tbody tr", has_text="Lab gateway")
    expect(row).to_contain_text("Active")
    expect(page.locator("body")).not_to_contain_text("mcs_")
    row.get_by_role("button", name="Revoke").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Revoke OAuth client Lab gateway?")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Revoke").click()
    expect(page.locator("tbody tr", has_text="Lab gateway")).to_contain_text("Revoked")
    assert page_errors == []


def test_a_webhook_to_the_metadata_address_is_refused_on_the_form(
    page, page_errors, sign_in, world, expect_error_response, axe_check
):
    sign_in(world.admin_email, world.demo_password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    axe_check()
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Receiving URL").fill("http://169.254.169.254/latest/meta-data")
    page.get_by_label("Organisation").select_option(index=1)
    page.get_by_label("An invoice was issued").check()
    expect_error_response(422, "/admin/webhooks/new")
    page.get_by_role("button", name="Create webhook").click()
    expect(page.locator(".field.has-error")).to_contain_text("link-local")
    expect(page.get_by_label("Receiving URL")).to_have_value("http://169.254.169.254/latest/meta-data")
    axe_check()
    assert page_errors == []
