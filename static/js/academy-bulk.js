/* Bulk enrollment progress (learning/staff_views.py bulk_job): polls the job's JSON status and
 * moves the progress bar; reloads once the job is done so the report shows. */
(function () {
  "use strict";
  var root = document.querySelector("[data-bulk-job]");
  if (!root || !window.fetch) return;
  var bar = root.querySelector("[data-bulk-progress]");
  var text = root.querySelector("[data-bulk-text]");
  var POLL_MS = 1000;
  function poll() {
    fetch(root.getAttribute("data-status-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        bar.value = data.percent;
        bar.textContent = data.percent + "%";
        text.textContent = data.processed + " of " + data.total + " rows (" + data.status + ")";
        if (data.status === "done" || data.status === "failed") window.location.reload();
        else window.setTimeout(poll, POLL_MS);
      })
      .catch(function () { window.setTimeout(poll, POLL_MS * 5); });
  }
  window.setTimeout(poll, POLL_MS);
})();
