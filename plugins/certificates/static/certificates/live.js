/*
 * Certificates: fill in the certificate containers ([data-certificate][data-course-id]) of the
 * course page and the dashboard when the learner's certificate is issued or revoked, from the
 * live frames the core client passes on as "academy:live" DOM events. Without it (no WebSocket)
 * a reload shows the same.
 */
(function () {
  "use strict";

  function safePath(url) {
    // Only same-site paths: the frame comes from our server, but never trust a URL blindly.
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : null;
  }

  function render(container, data) {
    while (container.firstChild) container.removeChild(container.firstChild);
    var p = document.createElement("p");
    if (data.status === "revoked") {
      p.className = "muted small";
      p.setAttribute("data-certificate-state", "revoked");
      p.textContent = "Your certificate for this course was revoked.";
    } else if (data.ready && safePath(data.download_url)) {
      p.setAttribute("data-certificate-state", "ready");
      var download = document.createElement("a");
      download.className = "button button-small";
      download.href = safePath(data.download_url);
      download.setAttribute("data-certificate-download", "");
      download.textContent = "Download certificate (PDF)";
      p.appendChild(download);
      if (safePath(data.verify_url)) {
        p.appendChild(document.createTextNode(" "));
        var verify = document.createElement("a");
        verify.className = "small";
        verify.href = safePath(data.verify_url);
        verify.setAttribute("data-certificate-verify-link", "");
        verify.textContent = "Verify link";
        p.appendChild(verify);
      }
    } else {
      p.className = "muted small";
      p.setAttribute("data-certificate-state", "pending");
      p.textContent = "Your certificate is being prepared…";
    }
    container.appendChild(p);
    container.classList.remove("is-empty");
    container.hidden = false;
  }

  document.addEventListener("academy:live", function (event) {
    var frame = event.detail || {};
    if (frame.type !== "certificates.issued" && frame.type !== "certificates.revoked") return;
    var data = frame.data || {};
    if (typeof data.course_id !== "number") return;
    var containers = document.querySelectorAll('[data-certificate][data-course-id="' + data.course_id + '"]');
    Array.prototype.forEach.call(containers, function (container) { render(container, data); });
  });

  // The course was just completed here: say the certificate is on its way until it arrives.
  document.addEventListener("academy:live", function (event) {
    var frame = event.detail || {};
    if (frame.type !== "progress.updated" || !frame.data || !frame.data.course_completed) return;
    var containers = document.querySelectorAll('[data-certificate].is-empty[data-course-id="' + frame.data.course_id + '"]');
    Array.prototype.forEach.call(containers, function (container) { render(container, { status: "valid", ready: false }); });
  });
})();
