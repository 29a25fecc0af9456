/* MedCover's service worker: shows the web push notifications MedCover sends (a title, never a patient's details)
   and opens MedCover's notifications when one is clicked. It caches nothing: pages hold patient data. */
"use strict";

self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "MedCover", {
      body: data.body || "",
      tag: "medcover",
      renotify: true,
      data: { url: data.url || "/notifications" },
    })
  );
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/notifications", self.location.origin);
  if (target.origin !== self.location.origin) {
    return; // only ever our own pages
  }
  event.waitUntil(self.clients.openWindow(target.href));
});
