// Expandable table rows: a row's "Details" button shows or hides the row below it. Without this script the details
// rows stay visible and the buttons hidden, so nothing is lost. No inline script anywhere (CSP).
(function () {
  "use strict";
  function setUp(root) {
    var buttons = (root.querySelectorAll ? root : document).querySelectorAll("[data-row-toggle]");
    Array.prototype.forEach.call(buttons, function (button) {
      var row = document.getElementById(button.getAttribute("aria-controls"));
      if (!row || button.hasAttribute("data-row-toggle-ready")) return;
      button.setAttribute("data-row-toggle-ready", "");
      button.hidden = false;
      button.setAttribute("aria-expanded", "false");
      row.hidden = true;
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-row-toggle]") : null;
    if (!button) return;
    var row = document.getElementById(button.getAttribute("aria-controls"));
    if (!row) return;
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    row.hidden = !open;
  });
  // htmx swaps in new rows (a decided claim's panel): set those up too.
  document.addEventListener("htmx:load", function (event) { setUp(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  } else {
    setUp(document);
  }
})();
