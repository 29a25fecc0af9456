// MedCover page behaviour. No inline script anywhere: the CSP forbids it.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  // Every htmx request that changes something carries the CSRF token in a header.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });
  // Server responses announce results with HX-Trigger: {"toast": "Saved."}
  var hideTimer = null;
  document.addEventListener("toast", function (event) {
    var toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = event.detail && event.detail.value ? event.detail.value : "Done.";
    toast.hidden = false;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () { toast.hidden = true; }, 4000);
  });
  // Errors from htmx requests are shown, not swallowed.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var message = status === 403 ? "You do not have access to that." :
      status === 401 ? "Your session has ended. Sign in again." :
      status === 429 ? "Too many requests. Wait a moment." : "Something went wrong (" + status + ").";
    document.dispatchEvent(new CustomEvent("toast", { detail: { value: message } }));
    if (status === 401) window.location.reload();
  });
  // A form with data-carry="<selector>" takes along the named boxes inside that element when it is submitted (the
  // invoice's Issue button sends the draft's line boxes as shown, saved or not: what is issued is what is seen).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var selector = form.getAttribute && form.getAttribute("data-carry");
    if (!selector) return;
    form.querySelectorAll("input[data-carried]").forEach(function (old) { old.remove(); });
    document.querySelectorAll(selector).forEach(function (area) {
      area.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (box) {
        if (box.form === form || box.name === "csrf_token" || box.disabled) return;
        if ((box.type === "checkbox" || box.type === "radio") && !box.checked) return;
        var copy = document.createElement("input");
        copy.type = "hidden";
        copy.name = box.name;
        copy.value = box.value;
        copy.setAttribute("data-carried", "");
        form.appendChild(copy);
      });
    });
  }, true);
  // "/" jumps to the page's search box, as in most admin tools; on a page without one, to the global search.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || /input|textarea|select/i.test(document.activeElement.tagName)) return;
    var search = document.querySelector("main [data-search]") || document.querySelector("[data-global-search]");
    if (search) { event.preventDefault(); search.focus(); }
  });
  // Below 1024 px the side navigation folds behind the menu button; Escape folds it again.
  function setMenu(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    document.body.classList.toggle("nav-open", open);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".menu-button") : null;
    if (button) setMenu(button, button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("keydown", function (event) {
    var button = document.querySelector(".menu-button[aria-expanded='true']");
    if (event.key !== "Escape" || !button) return;
    setMenu(button, false);
    button.focus();
  });
})();
