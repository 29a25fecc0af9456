/* The profile page's push toggle: subscribes this browser to web push (the Push API, with the site's VAPID key)
   and tells MedCover, or unsubscribes it. Nothing here runs on a page without the toggle. */
(function () {
  "use strict";
  var box = document.getElementById("push-toggle");
  if (!box) {
    return;
  }
  var button = box.querySelector("button");
  var status = box.querySelector("[data-push-status]");
  var meta = document.querySelector('meta[name="csrf-token"]');

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    status.textContent = "This browser cannot show push notifications.";
    button.hidden = true;
    return;
  }

  function applicationKey(base64) {
    var padded = (base64 + "===".slice((base64.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": meta ? meta.content : "" },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("MedCover answered " + response.status);
      }
      return response.json();
    });
  }

  function show(subscribed) {
    button.textContent = subscribed
      ? "Turn off push notifications on this browser"
      : "Turn on push notifications on this browser";
    status.textContent = subscribed
      ? "This browser shows your notifications as they arrive."
      : "This browser does not show push notifications.";
  }

  function failed() {
    status.textContent = "That did not work. Try again, or ask an administrator.";
  }

  function toggle(registration) {
    button.disabled = true;
    registration.pushManager
      .getSubscription()
      .then(function (current) {
        if (current) {
          var endpoint = current.endpoint;
          return current
            .unsubscribe()
            .then(function () {
              return post(box.dataset.off, { endpoint: endpoint }).catch(function () {});
            })
            .then(function () {
              show(false);
            });
        }
        return Notification.requestPermission().then(function (permission) {
          if (permission !== "granted") {
            status.textContent = "Notifications are blocked for MedCover in this browser's settings.";
            return null;
          }
          return registration.pushManager
            .subscribe({ userVisibleOnly: true, applicationServerKey: applicationKey(box.dataset.key) })
            .then(function (subscription) {
              var json = subscription.toJSON();
              return post(box.dataset.on, { endpoint: json.endpoint, keys: json.keys });
            })
            .then(function () {
              show(true);
            });
        });
      })
      .catch(failed)
      .then(function () {
        button.disabled = false;
      });
  }

  navigator.serviceWorker
    .register(box.dataset.worker)
    .then(function (registration) {
      return registration.pushManager.getSubscription().then(function (current) {
        show(Boolean(current));
        button.disabled = false;
        button.addEventListener("click", function () {
          toggle(registration);
        });
      });
    })
    .catch(failed);
})();
