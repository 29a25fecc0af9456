"""What the browser sees go wrong on a journey, collected for the harness (conftest.py) to fail the test on.

- console errors (a Content-Security-Policy refusal is one) and uncaught script errors;
- failed requests, and answers of 400 or more that the journey did not declare it would provoke;
- axe-core's serious and critical violations on every page the journey lands on (once per path after each
  navigation, and once more on the page the journey ends on, after its swaps);
- words a person should never read (UI.md, "Words and numbers"): an internal id ("claim #61") or a raw enum value in
  snake_case ("bank_transfer", "pending_review") in the visible text of those same pages. Text marked ``data-raw``
  (the audit log's stored JSON) and code samples are left alone.
"""

from __future__ import annotations

import re
import time
from fnmatch import fnmatch
from urllib.parse import urlsplit

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Error as PlaywrightError

#: axe impacts that fail a journey; "moderate" and "minor" are left to review
FAILING_IMPACTS = ("serious", "critical")
#: the page methods after which the browser is on a (possibly) new page, checked by axe when they return
NAVIGATIONS = ("goto", "reload", "go_back", "go_forward", "wait_for_url", "wait_for_load_state")
#: Chromium's console line for an error answer or a failed load: reported once, from the response or the failure
LOAD_FAILURE = "Failed to load resource"
#: how long after a request is abandoned a navigation still explains it
ABORT_GRACE = 2.0
#: how long before a request is seen here a navigation still explains it: the browser's events for two requests
#: may reach us in either order (a routed request's comes later), and a loaded machine spreads them apart
ORDER_SLACK = 1.0
AXE_RUN = "() => axe.run(document, {resultTypes: ['violations']})"
#: the visible text of the page, without what is shown as data on purpose (stored JSON, code samples)
VISIBLE_TEXT = """() => {
  const skip = 'script, style, template, noscript, pre[data-raw], [data-raw], code, kbd, samp';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip)) continue;
    if (parent.checkVisibility && !parent.checkVisibility()) continue;
    const text = node.textContent.trim();
    if (text) parts.push(text);
  }
  return parts.join(' \u2502 ');
}"""
#: "#61", "Dispute #12": an internal id shown as a number (not "#1 of 3" pager wording, which says "of")
INTERNAL_ID = re.compile(r"(?<![\w&])#\d+\b")
#: a raw enum value or field name: lower-case words joined by underscores, not inside an email address or a path
SNAKE_CASE = re.compile(r"(?<![\w@./:-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/-]|\.[a-z])")


class Watch:
    """Listens to one page from its creation; ``problems()`` is everything that should fail the journey."""

    def __init__(self, page):
        self.page = page
        #: in the order seen; the ``page_errors`` fixture is this very list
        self.errors: list[str] = []
        self.axe_runs = 0
        self.axe_seconds = 0.0
        self._allowed: list[list] = []  # [status, path pattern, seen]
        self._navigations: list[float] = []  # when each main-frame navigation's request left
        self._started: dict[int, float] = {}  # id(request) -> when it left
        self._aborted: list[tuple[float, float, str]] = []  # (left, abandoned, what to say)
        self._checked: set[str] = set()
        #: every path a document loaded at, checked or not (the harness reports those axe never saw)
        self.loaded: set[str] = set()
        self._reported: set[tuple[str, str, str]] = set()
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"script error: {exc}"))
        page.on("request", self._on_request)
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        page.on("load", lambda loaded: self.loaded.add(_path(loaded.url)))
        for name in NAVIGATIONS:
            setattr(page, name, self._checked_after(getattr(page, name)))

    # --- what the journey declares ---------------------------------------------------------------------------

    def expect_error_response(self, status: int, path: str) -> None:
        self._allowed.append([status, path, False])

    @property
    def checked(self) -> set[str]:
        return set(self._checked)

    def problems(self) -> list[str]:
        aborted = [line for started, ended, line in self._aborted if not self._navigated(started, ended)]
        unseen = [f"expected {status} from {pattern}; none came" for status, pattern, seen in self._allowed if not seen]
        return self.errors + aborted + unseen

    def forget(self) -> None:
        """Drop what was seen and declared so far (the harness's own test provokes it all on purpose)."""
        self.errors.clear()
        self._aborted.clear()
        self._allowed.clear()

    def _navigated(self, started: float, ended: float) -> bool:
        return any(started - ORDER_SLACK < moment <= ended + ABORT_GRACE for moment in self._navigations)

    # --- console, scripts and requests -----------------------------------------------------------------------

    def _on_console(self, message) -> None:
        if message.type == "error" and not message.text.startswith(LOAD_FAILURE):
            where = message.location.get("url") or self.page.url
            self.errors.append(f"console error on {_path(where)}: {message.text}")

    def _on_request(self, request) -> None:
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self._navigations.append(time.monotonic())
        self._started[id(request)] = time.monotonic()

    def _on_request_failed(self, request) -> None:
        failure = request.failure or "unknown failure"
        started = self._started.pop(id(request), 0.0)
        line = f"request failed: {request.method} {_path(request.url)}: {failure}"
        if failure == "net::ERR_ABORTED" and _path(request.url).endswith("/favicon.svg"):
            # The tab icon: the browser fetches it on its own and drops it whenever it likes; no page waits for it.
            return
        if failure == "net::ERR_ABORTED":
            # Abandoned by the browser: not a failure when a navigation replaced the page it was for, which the
            # browser may tell of only after the abort; judged at the end.
            self._aborted.append((started, time.monotonic(), line))
        else:
            self.errors.append(line)

    def _on_response(self, response) -> None:
        self._started.pop(id(response.request), None)
        if response.status < 400:
            return
        path = _path(response.url)
        for allowance in self._allowed:
            status, pattern, seen = allowance
            if not seen and status == response.status and fnmatch(path, pattern):
                allowance[2] = True
                return
        self.errors.append(f"error response: {response.request.method} {path} answered {response.status}")

    # --- axe -------------------------------------------------------------------------------------------------

    def _checked_after(self, navigate):
        def navigate_then_check(*args, **kwargs):
            result = navigate(*args, **kwargs)
            self.check_axe()
            return result

        return navigate_then_check

    def check_axe(self, *, again: bool = False) -> None:
        """Run axe on the page as it is, unless its path was checked already in this journey (``again`` checks it
        anyway: a page after swaps, such as the one a journey ends on, holds what they brought in)."""
        page = self.page
        if page.is_closed() or not page.url.startswith("http"):
            return
        path = _path(page.url)
        if path in self._checked and not again:
            return
        started = time.monotonic()
        for _attempt in range(3):
            try:
                page.main_frame.wait_for_load_state()
                path = _path(page.url)
                if page.evaluate("document.contentType") != "text/html":
                    return
                if not page.evaluate("typeof window.axe === 'object'"):
                    page.evaluate(AXE_SCRIPT)
                results = page.evaluate(AXE_RUN)
                break
            except PlaywrightError as error:  # the page moved on while axe ran: check where it is now
                if "context was destroyed" not in str(error) and "navigat" not in str(error):
                    raise
        else:
            return
        self.axe_runs += 1
        self.axe_seconds += time.monotonic() - started
        self._checked.add(path)
        self.check_words(path)
        for violation in results["violations"]:
            if violation["impact"] not in FAILING_IMPACTS:
                continue
            for node in violation["nodes"]:
                target = " ".join(str(part) for part in node["target"])
                key = (violation["id"], path, target)
                if key in self._reported:
                    continue
                self._reported.add(key)
                self.errors.append(
                    f"axe {violation['impact']} {violation['id']} on {path}: {target}: {violation['help']}"
                    f" ({violation['helpUrl']})"
                )

    # --- words -------------------------------------------------------------------------------------------------

    def check_words(self, path: str) -> None:
        """Internal ids and snake_case values in what the page shows (UI.md: business numbers and plain words)."""
        try:
            text = self.page.evaluate(VISIBLE_TEXT)
        except PlaywrightError:  # the page moved on: the next check sees where it went
            return
        for line in words_problems(text):
            key = ("words", path, line)
            if key not in self._reported:
                self._reported.add(key)
                self.errors.append(f"{line} on {path}")


def words_problems(text: str) -> list[str]:
    """What a page's visible text should not say: each internal id or snake_case value, with a little context."""
    found = []
    for pattern, what in ((INTERNAL_ID, "an internal id"), (SNAKE_CASE, "a raw value")):
        for match in pattern.finditer(text):
            start, end = max(0, match.start() - 30), min(len(text), match.end() + 30)
            found.append(f"{what} {match.group(0)!r} in '…{text[start:end]}…'")
    return found


def _path(url: str) -> str:
    return urlsplit(url).path or url
