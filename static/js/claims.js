// Claims pages: keys for the adjudicators' queue and claim page, and the 409 panel swap. No inline script (CSP).
(function () {
  "use strict";
  function typing(el) {
    return el && (/input|textarea|select/i.test(el.tagName) || el.isContentEditable);
  }
  function go(selector) {
    var link = document.querySelector(selector);
    if (link) { link.click(); return true; }
    return false;
  }
  // Queue: j / k move between the claims of the list; Enter opens the focused one (a link).
  function step(delta) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("a[data-queue-row]"));
    if (!rows.length) return false;
    var at = rows.indexOf(document.activeElement);
    var next = at < 0 ? (delta > 0 ? 0 : rows.length - 1) : Math.min(Math.max(at + delta, 0), rows.length - 1);
    rows[next].focus();
    return true;
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(document.activeElement)) return;
    var done = false;
    if (event.key === "n" || event.key === "j") {
      done = go("[data-next-claim]") || step(1);
    } else if (event.key === "k") {
      done = step(-1) || go("[data-queue-link]");
    } else if (event.key === "a") {
      var approve = document.querySelector("[data-approve-focus]");
      if (approve) { approve.focus(); done = true; }
    }
    if (done) event.preventDefault();
  });
  // Someone else decided the claim first: the server answers 409 with the claim as it now stands. htmx
  // swaps only 2xx and 422, so let this one through for the claim panel, not as an error.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var target = event.detail.target;
    if (xhr && xhr.status === 409 && target && target.closest && target.closest("[data-swap-conflict]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
