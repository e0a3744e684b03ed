/* The staff's live class view (realtime/staff_views.py): follows /ws/staff/courses/<id>/ and
 * moves learners between lesson columns, adds completions to the feed. Resumes from the page's
 * cursor, then from the last id it saw, reconnecting with backoff. */
(function () {
  "use strict";
  var root = document.querySelector("[data-live-class]");
  if (!root || !window.WebSocket) return;
  var courseId = root.getAttribute("data-course-id");
  var last = parseInt(root.getAttribute("data-cursor") || "0", 10) || 0;
  var statusEl = root.querySelector("[data-live-class-status]");
  var feed = root.querySelector("[data-live-completions]");
  var backoff = 1000;
  var FINAL = { 4401: "Logged out", 4403: "Not allowed", 4404: "Not found" };

  var clock = null;
  try {
    // 24-hour, in the site's time zone: the same times as the server-rendered ones (H:i).
    clock = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: root.getAttribute("data-time-zone") || undefined
    });
  } catch (e) {
    clock = null;
  }

  function hhmm(iso) {
    var when = new Date(iso);
    if (clock) return clock.format(when);
    return ("0" + when.getHours()).slice(-2) + ":" + ("0" + when.getMinutes()).slice(-2);
  }

  function status(text) { if (statusEl) statusEl.textContent = text; }

  function column(lessonId) { return root.querySelector('[data-live-lesson="' + lessonId + '"]'); }

  function recount() {
    Array.prototype.forEach.call(root.querySelectorAll("[data-live-lesson]"), function (section) {
      section.querySelector("[data-live-count]").textContent = section.querySelectorAll("[data-live-learners] li").length;
    });
  }

  function apply(data) {
    var target = column((data.resume_lesson && data.resume_lesson.id) || data.lesson_id);
    var done = column(data.lesson_id);
    var item = root.querySelector('[data-live-learners] li[data-user-id="' + data.user_id + '"]');
    if (!item) {
      item = document.createElement("li");
      item.setAttribute("data-user-id", String(data.user_id));
    }
    item.textContent = data.name + " " + data.percent + "%";
    item.className = "academy-live-flash";
    if (target) target.querySelector("[data-live-learners]").appendChild(item);
    recount();
    if (data.completed && feed) {
      var entry = document.createElement("li");
      var title = done ? done.querySelector("[data-lesson-title]").getAttribute("data-lesson-title") : "a lesson";
      var time = document.createElement("time");
      time.setAttribute("datetime", data.at);
      time.textContent = hhmm(data.at);
      entry.appendChild(time);
      entry.appendChild(document.createTextNode(" " + data.name + " completed " + title));
      feed.insertBefore(entry, feed.firstChild);
      var none = root.querySelector("[data-live-stuck-none]");
      if (none) none.textContent = "Nobody yet (reload for the median time per lesson).";
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var cohort = root.getAttribute("data-cohort");
    var socket = new WebSocket(scheme + window.location.host + "/ws/staff/courses/" + courseId + "/" +
      (cohort ? "?cohort=" + encodeURIComponent(cohort) : ""));
    var ping = null;
    socket.onopen = function () {
      backoff = 1000;
      status("Live");
      socket.send(JSON.stringify({ type: "resume", since: last }));
      ping = window.setInterval(function () { socket.send('{"type":"ping"}'); }, 25000);
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (typeof frame.id === "number") last = Math.max(last, frame.id);
      if (frame.type === "class.activity") apply(frame.data);
      if (frame.type === "resync") window.location.reload();
    };
    socket.onclose = function (event) {
      if (ping) window.clearInterval(ping);
      if (FINAL[event.code]) { status(FINAL[event.code]); return; }
      status("Offline, reconnecting…");
      window.setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 30000);
    };
  }
  connect();
})();
