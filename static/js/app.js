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
// Money-moving actions confirm first (templates/_confirm_macros.html, medcover/confirm.py): the form's question in
// a dialog; "Confirm" sends the form again with confirmed=yes (htmx forms too: this listens before htmx does).
(function () {
  "use strict";
  var dialog = null;
  var pending = null;
  function money(value) {
    return value.toLocaleString("en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function fill(form, text) {
    var name = form.getAttribute("data-confirm-count");
    if (!name) return text;
    var boxes = form.querySelectorAll('input[name="' + name + '"]:checked');
    if (!boxes.length) {
      boxes = document.querySelectorAll('input[form="' + form.id + '"][name="' + name + '"]:checked');
    }
    var total = 0;
    boxes.forEach(function (box) { total += parseFloat(box.getAttribute("data-amount") || "0"); });
    var count = boxes.length;
    return text.replace("{count}", count + (count === 1 ? " claim" : " claims")).replace("{total}", money(total));
  }
  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-question");
    dialog.setAttribute("aria-describedby", "confirm-dialog-detail");
    var h = document.createElement("h2");
    h.id = "confirm-dialog-question";
    var p = document.createElement("p");
    p.id = "confirm-dialog-detail";
    var actions = document.createElement("div");
    actions.className = "confirm-actions";
    var yes = document.createElement("button");
    yes.type = "button";
    yes.setAttribute("data-confirm-yes", "");
    var no = document.createElement("button");
    no.type = "button";
    no.textContent = "Cancel";
    no.addEventListener("click", function () { pending = null; dialog.close(); });
    yes.addEventListener("click", function () {
      var form = pending && pending.form;
      var submitter = pending && pending.submitter;
      pending = null;
      dialog.close();
      if (!form) return;
      var flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = "confirmed";
      flag.value = "yes";
      flag.setAttribute("data-confirm-flag", "");
      form.appendChild(flag);
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
      // an htmx form stays on the page: the next press asks again
      setTimeout(function () { if (flag.parentNode) flag.parentNode.removeChild(flag); }, 0);
    });
    dialog.addEventListener("close", function () { pending = null; });
    actions.appendChild(yes);
    actions.appendChild(no);
    dialog.appendChild(h);
    dialog.appendChild(p);
    dialog.appendChild(actions);
    document.body.appendChild(dialog);
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm")) return;
    if (form.querySelector("input[data-confirm-flag]")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (!dialog) build();
    var kind = form.getAttribute("data-confirm-kind");
    dialog.querySelector("h2").textContent = fill(form, form.getAttribute("data-confirm"));
    dialog.querySelector("p").textContent = fill(form, form.getAttribute("data-confirm-detail") || "");
    var yes = dialog.querySelector("[data-confirm-yes]");
    yes.textContent = form.getAttribute("data-confirm-button") || "Confirm";
    yes.className = kind === "danger" ? "danger" : "primary";
    pending = { form: form, submitter: event.submitter };
    dialog.showModal();
    yes.focus();
  }, true);
})();
