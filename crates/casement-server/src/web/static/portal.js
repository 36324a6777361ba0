// Casement portal: install buttons go through the JSON API without reloading the page, and
// install statuses refresh by themselves. Without JavaScript the forms post normally and the
// page shows the same statuses on reload.
(function () {
  "use strict";
  var list = document.getElementById("install-list");
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (!list || !meta) return;
  var csrf = meta.getAttribute("content");
  var FINAL = { installed: true, failed: true };
  var timer = null;

  function row(install) {
    var li = list.querySelector('li[data-install-id="' + install.id + '"]');
    if (!li) {
      li = document.createElement("li");
      li.setAttribute("data-install-id", install.id);
      var what = document.createElement("span");
      what.className = "what";
      var badge = document.createElement("span");
      var detail = document.createElement("span");
      detail.className = "detail";
      li.appendChild(what);
      li.appendChild(badge);
      li.appendChild(detail);
      list.insertBefore(li, list.firstChild);
      var empty = document.getElementById("no-installs");
      if (empty) empty.remove();
    }
    li.setAttribute("data-status", install.status);
    li.querySelector(".what").textContent = install.app_name + " on " + install.device_name;
    var badge = li.children[1];
    badge.className = "badge " + install.tone;
    badge.textContent = install.label;
    li.querySelector(".detail").textContent = install.detail;
  }

  function refresh() {
    fetch("/api/v1/portal/installs", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        body.installs.slice().reverse().forEach(row);
        var waiting = body.installs.some(function (i) { return !FINAL[i.status]; });
        schedule(waiting);
      })
      .catch(function () { schedule(true); });
  }

  function schedule(again) {
    if (timer) clearTimeout(timer);
    timer = again ? setTimeout(refresh, 2000) : null;
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.install"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      var out = form.querySelector("output");
      var device = form.querySelector('[name="device_id"]');
      button.disabled = true;
      out.textContent = "Requesting…";
      fetch("/api/v1/portal/installs", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
        body: JSON.stringify({ app_id: form.querySelector('[name="app_id"]').value, device_id: device.value })
      })
        .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
        .then(function (res) {
          button.disabled = false;
          if (!res.ok) { out.textContent = res.body.reason || "The install could not be requested."; return; }
          out.textContent = "Requested. Follow it under Your installs.";
          row(res.body);
          schedule(true);
        })
        .catch(function () { button.disabled = false; out.textContent = "The server could not be reached. Try again."; });
    });
  });

  var pending = list.querySelector("li[data-status]:not([data-status=installed]):not([data-status=failed])");
  schedule(!!pending);
})();
