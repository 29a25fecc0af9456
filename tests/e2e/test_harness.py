"""The harness's own checks, provoked on purpose in a real browser: a swap that brings an inline style (the CSP
refuses it), a script error, a missing image, a request cut off, an image with no text, a refused form that the
journey says it expects, and an expected answer that never comes. Each is seen; the test then forgets them, so the
harness's end-of-journey check (which would fail it) passes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.watch import ORDER_SLACK

pytestmark = pytest.mark.e2e

PROVOKE = """() => {
  const main = document.querySelector("main");
  main.insertAdjacentHTML("beforeend", '<p id="styled" style="color: red">swapped in</p><img src="/static/nope.png">');
  setTimeout(() => { throw new Error("thrown on purpose"); }, 0);
  fetch("/static/also-missing.js").catch(() => {});
  fetch("/static/cut-off.css").catch(() => {});
}"""


def test_the_harness_sees_csp_refusals_script_errors_failed_requests_and_axe_violations(
    page, page_errors, expect_error_response, world
):
    watch = page._medcover_watch
    page.goto(world.base_url + "/auth/login")
    assert page_errors == []  # the sign-in page itself is clean, axe included
    assert watch.axe_runs == 1

    expect_error_response(404, "/static/also-missing.js")
    for missing in ("nope.png", "also-missing.js"):
        page.route(f"**/static/{missing}", lambda route: route.fulfill(status=404, body="Not Found"))
    page.route("**/static/cut-off.css", lambda route: route.abort("connectionreset"))
    page.evaluate(PROVOKE)
    expect(page.locator("#styled")).to_be_attached()

    def seen(fragment: str) -> bool:
        return any(fragment in line for line in page_errors)

    expected = [
        "console error on /auth/login: Applying inline style violates the following Content Security Policy",
        "script error: thrown on purpose",
        "error response: GET /static/nope.png answered 404",
        "request failed: GET /static/cut-off.css: net::ERR_CONNECTION_RESET",
    ]
    for fragment in expected:
        for _ in range(50):  # the browser's events come in while the page is asked something
            if seen(fragment):
                break
            page.wait_for_timeout(100)
        assert seen(fragment), (fragment, page_errors)
    assert not seen("also-missing.js"), page_errors  # declared: the journey provoked it on purpose

    watch.check_axe(again=True)
    assert seen("axe critical image-alt on /auth/login: img: Images must have alternative text"), page_errors

    # Given up by the browser with no navigation to explain it: a failure, judged at the end. (A request given up
    # within ORDER_SLACK of a navigation may have been left behind by it, its events reaching the harness out of
    # order: this one starts well after the page's last navigation.)
    page.wait_for_timeout(ORDER_SLACK * 1000 + 200)
    page.route("**/static/given-up.css", lambda route: route.abort("aborted"))
    page.evaluate("() => { fetch('/static/given-up.css').catch(() => {}); }")
    for _ in range(50):
        if any("given-up.css: net::ERR_ABORTED" in line for line in watch.problems()):
            break
        page.wait_for_timeout(100)
    assert "request failed: GET /static/given-up.css: net::ERR_ABORTED" in watch.problems()
    watch.forget()

    # Left behind by a navigation (the person moved on before it answered): not a failure.
    page.route("**/static/never-answers.css", lambda route: None)
    page.evaluate("() => { fetch('/static/never-answers.css').catch(() => {}); }")
    page.goto(world.base_url + "/auth/login")
    assert "request failed: GET /static/never-answers.css: net::ERR_ABORTED" in [line for *_, line in watch._aborted]
    assert watch.problems() == []

    expect_error_response(418, "/teapot")  # declared, never provoked: that fails a journey too
    assert "expected 418 from /teapot; none came" in watch.problems()

    watch.forget()
    assert watch.problems() == []
