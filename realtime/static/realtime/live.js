/*
 * Academy live updates: a small, dependency-free WebSocket manager.
 *
 * - Opens /ws/notifications/ on every page of a logged-in user, /ws/progress/ on pages that show
 *   progress (dashboard, course, lesson) and /ws/courses/<id>/ on pages of a followed course; on
 *   a lesson its reader may read, that stream says {"type":"lesson.viewing"} and the page shows
 *   "N people are on this lesson" from the "lesson.presence" counts (docs/websocket.md).
 * - Reconnects with jittered exponential backoff and resumes from the last event id it saw
 *   ({"type":"resume","since":N}), so nothing pushed while it was away is missed.
 * - Updates the DOM contract of the templates (see the team notes): progress bars, counts, next
 *   lesson links, unread badges, notification lists, toasts, and an "updated" notice with a reload
 *   link on lesson pages (content is never swapped under the reader).
 * - Dispatches every event frame as a DOM event "academy:live" ({type, id, data}) on document,
 *   the seam for plugins' scripts (their own event types, e.g. "certificates.issued").
 * - Without WebSockets (blocked by a proxy, old browser) the page still works: forms post
 *   normally and a reload shows the current state; the indicator says live updates are off.
 */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.dataset.userId) return;

  var BACKOFF_BASE_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var PING_INTERVAL_MS = 25000;
  var TOAST_MS = 6000;
  // Close codes after which reconnecting cannot help (see realtime/consumers.py).
  var FINAL_CLOSE_CODES = { 4401: "Logged out", 4403: "Not allowed", 4404: "Not found" };

  var script = document.currentScript || document.querySelector("script[data-live-cursor]");
  var cursorAttr = script ? script.getAttribute("data-live-cursor") : "";
  // The page itself reflects every event up to its cursor. Each stream then keeps its own last
  // id: ids are global across streams, so one stream's replay must not move another's cursor
  // past events that stream has not received yet.
  var pageCursor = cursorAttr && /^\d+$/.test(cursorAttr) ? parseInt(cursorAttr, 10) : null;
  var streams = [];
  // Last applied progress frame per course: an older frame never rolls a bar back.
  var progressApplied = {};

  function $all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function safeUrl(url) {
    if (typeof url !== "string" || !url) return null;
    try {
      var parsed = new URL(url, window.location.href);
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
      return parsed.href;
    } catch (e) {
      return null;
    }
  }

  // --- connection indicator -------------------------------------------------------------------

  var statusEl = document.querySelector("[data-live-status]");
  var STATUS_TEXT = { connecting: "Connecting…", open: "Live", closed: "Offline", off: "Live updates off" };

  function renderStatus() {
    if (!statusEl) return;
    var state = "open";
    var active = streams.filter(function (s) { return !s.final; });
    if (!window.WebSocket) state = "off";
    else if (!active.length) state = streams.length ? "closed" : "open";
    else if (active.some(function (s) { return s.state === "closed"; })) state = "closed";
    else if (active.some(function (s) { return s.state !== "open"; })) state = "connecting";
    statusEl.setAttribute("data-state", state);
    statusEl.textContent = STATUS_TEXT[state];
    statusEl.title = state === "closed" || state === "off"
      ? "Live updates are paused; reload the page to see the latest."
      : "";
  }

  // --- toasts and notices -----------------------------------------------------------------------

  function toast(title, text, link) {
    var holder = document.querySelector("[data-toasts]");
    if (!holder) return;
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    var strong = document.createElement("strong");
    strong.textContent = title;
    el.appendChild(strong);
    if (text) {
      var p = document.createElement("p");
      p.textContent = text;
      el.appendChild(p);
    }
    var href = safeUrl(link);
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = "Open";
      el.appendChild(a);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { el.remove(); });
    el.appendChild(close);
    holder.appendChild(el);
    window.setTimeout(function () { el.remove(); }, TOAST_MS);
  }

  function notice(key, text, url) {
    $all("[data-update-notice-slot]").forEach(function (slot) {
      if (slot.querySelector('.update-notice[data-notice="' + key + '"]')) return;
      var el = document.createElement("div");
      el.className = "update-notice";
      el.setAttribute("role", "status");
      el.setAttribute("data-notice", key);
      el.appendChild(document.createTextNode(text + " "));
      var a = document.createElement("a");
      a.href = safeUrl(url) || window.location.href;
      a.textContent = "Reload to see it";
      a.setAttribute("data-reload", "");
      el.appendChild(a);
      slot.appendChild(el);
    });
  }

  // --- DOM updates per event ----------------------------------------------------------------------

  // The header badge and the dashboard's "(N unread)" show one number: both change together.
  function setUnread(count) {
    if (typeof count !== "number" || count < 0) return;
    $all("[data-unread-count]").forEach(function (badge) {
      badge.textContent = count > 0 ? String(count) : "";
      badge.hidden = !(count > 0);
      badge.setAttribute("aria-label", count + " unread notifications");
    });
    $all("[data-unread-total]").forEach(function (el) {
      el.setAttribute("data-unread-total", String(count));
      el.textContent = "(" + count + " unread)";
    });
    $all("[data-mark-all-read]").forEach(function (form) { form.hidden = !(count > 0); });
  }

  function lessonLink(link, lesson, prefix) {
    var href = lesson && safeUrl(lesson.url);
    if (!href) {
      link.hidden = true;
      return false;
    }
    link.href = href;
    var title = link.querySelector("[data-next-lesson-title]");
    if (title) title.textContent = lesson.title;
    else link.textContent = lesson.title;
    var lead = link.querySelector("[data-next-lesson-prefix]");
    if (lead && prefix) lead.textContent = prefix;
    link.hidden = false;
    return true;
  }

  // One progress frame (learning.progress.ProgressData) -> every place of one course that shows
  // it: bars, percents, "N of M", the next/resume link, "every lesson is done", the status.
  function applyProgress(container, data) {
    $all("[data-progress-bar]", container).forEach(function (bar) {
      // The width comes from academy.css per data-percent: no inline style (the CSP has none).
      bar.setAttribute("data-percent", String(data.percent));
      var track = bar.closest(".progress");
      if (track) track.setAttribute("aria-valuenow", String(data.percent));
    });
    $all("[data-progress-percent]", container).forEach(function (el) { el.textContent = data.percent + "%"; });
    $all("[data-progress-count]", container).forEach(function (el) {
      el.textContent = data.completed_lessons + " of " + data.total_lessons + " lesson" + (data.total_lessons === 1 ? "" : "s");
    });
    var linked = false;
    $all("[data-next-lesson]", container).forEach(function (link) {
      var kind = link.getAttribute("data-link-kind") === "resume" ? "resume_lesson" : "next_lesson";
      var prefix = data.completed_lessons > 0 ? "Continue: " : "Start: ";
      if (lessonLink(link, data[kind], prefix)) linked = true;
    });
    $all("[data-all-done]", container).forEach(function (el) {
      el.hidden = linked || !(data.total_lessons > 0 && data.completed_lessons >= data.total_lessons);
    });
    if (data.status) {
      $all("[data-enrollment-status]", container).forEach(function (pill) {
        pill.setAttribute("data-enrollment-status", data.status);
        pill.className = pill.className.replace(/\bpill-[a-z_]+/g, "").trim() + " pill-" + (data.status === "pending_approval" ? "pending" : data.status);
        pill.textContent = data.status_label || data.status;
      });
    }
    if (data.course_completed) container.classList.add("is-complete");
    container.classList.add("live-flash");
    window.setTimeout(function () { container.classList.remove("live-flash"); }, 1200);
  }

  // The dashboard's "pick up where you left off": the course just worked on, at its resume
  // lesson; gone when that course has nothing left to resume.
  function applyResume(data) {
    $all("[data-resume]").forEach(function (panel) {
      var lesson = data.resume_lesson;
      if (!lesson || !safeUrl(lesson.url) || data.status !== "active") {
        if (panel.getAttribute("data-course-id") === String(data.course_id)) panel.hidden = true;
        return;
      }
      var link = panel.querySelector("[data-resume-link]");
      if (!link) return;
      link.href = safeUrl(lesson.url);
      var title = link.querySelector("[data-resume-title]");
      if (title) title.textContent = lesson.title;
      var card = document.querySelector('[data-enrollment][data-course-id="' + data.course_id + '"] .enrollment-title');
      var course = panel.querySelector("[data-resume-course]");
      if (course && card) course.textContent = card.textContent;
      panel.setAttribute("data-course-id", String(data.course_id));
      panel.hidden = false;
    });
  }

  var handlers = {
    "progress.updated": function (data, id) {
      var key = String(data.course_id);
      if (progressApplied[key] !== undefined && progressApplied[key] > id) return;
      progressApplied[key] = id;
      $all('[data-course-progress][data-course-id="' + key + '"], [data-enrollment][data-course-id="' + key + '"]')
        .forEach(function (container) { applyProgress(container, data); });
      applyResume(data);
      $all('[data-course-page][data-course-id="' + key + '"] [data-course-status]').forEach(function (el) {
        el.setAttribute("data-course-status", data.status);
        if (data.course_completed) el.textContent = "Completed";
      });
      $all('li[data-lesson-id="' + data.lesson_id + '"]').forEach(function (li) { li.classList.add("is-complete"); });
      $all('[data-lesson-page][data-lesson-id="' + data.lesson_id + '"]').forEach(function (article) {
        $all("[data-lesson-state]", article).forEach(function (el) {
          el.textContent = "Completed";
          el.classList.add("is-complete");
        });
        $all("form[data-complete-lesson]", article).forEach(function (form) {
          form.classList.remove("is-loading");
          form.classList.add("is-complete");
          form.removeAttribute("aria-busy");
          $all("button", form).forEach(function (b) { b.disabled = true; });
        });
      });
      if (data.course_completed) toast("Course complete!", "You finished every lesson of this course.", null);
    },
    "enrollment.activated": function (data) {
      $all('[data-enrollment][data-course-id="' + data.course_id + '"] [data-enrollment-status]').forEach(function (el) {
        el.setAttribute("data-enrollment-status", "active");
        el.className = el.className.replace(/\bpill-[a-z_]+/g, "").trim() + " pill-active";
        el.textContent = "Active";
      });
      if (document.querySelector('[data-course-page][data-course-id="' + data.course_id + '"]')) {
        notice("enrollment-" + data.enrollment_id, "Your enrollment is active.", window.location.href);
      }
      toast("Enrollment active", "You can start the course now.", null);
    },
    "notification.created": function (data) {
      setUnread(data.unread_count);
      toast(data.title, data.body, data.link);
      $all("ul[data-notification-list]").forEach(function (list) {
        if (list.querySelector('li[data-notification-id="' + data.id + '"]')) return;
        var li = document.createElement("li");
        li.setAttribute("data-notification-id", String(data.id));
        li.className = "is-unread";
        var href = safeUrl(data.link);
        var title = document.createElement(href ? "a" : "strong");
        if (href) title.href = href;
        title.textContent = data.title;
        li.appendChild(title);
        if (data.body) {
          var p = document.createElement("p");
          p.textContent = data.body;
          li.appendChild(p);
        }
        list.insertBefore(li, list.firstChild);
      });
    },
    "notification.read": function (data) {
      setUnread(data.unread_count);
      (data.ids || []).forEach(function (nid) {
        $all('li[data-notification-id="' + nid + '"]').forEach(function (li) { li.classList.remove("is-unread"); });
      });
    },
    "course.updated": function (data) {
      var lesson = document.querySelector("[data-lesson-page]");
      if (lesson && String(data.page_id) === lesson.getAttribute("data-lesson-id")) {
        notice("page-" + data.page_id, "This lesson was updated.", data.url);
      } else if (data.page_type === "course" || !lesson) {
        notice("page-" + data.page_id, "“" + data.title + "” was updated.", data.url);
      }
      toast("Course updated", "“" + data.title + "” has changed.", data.url);
    },
    "lesson.published": function (data) {
      toast("New lesson", data.title, data.url);
      if (document.querySelector('[data-course-page][data-course-id="' + data.course_id + '"]')) {
        notice("page-" + data.page_id, "A new lesson was published: " + data.title + ".", window.location.href);
      }
    },
    // How many people (not tabs) are on this lesson now; shown from two on, in a plugin's
    // panel (data-presence-slot) when the page has one, else in core's line.
    "lesson.presence": function (data) {
      var lesson = document.querySelector("[data-lesson-page]");
      if (!lesson || String(data.lesson_id) !== lesson.getAttribute("data-lesson-id")) return;
      var viewers = typeof data.viewers === "number" ? data.viewers : 0;
      var lines = $all("[data-lesson-presence]");
      var slotted = lines.filter(function (el) { return el.hasAttribute("data-presence-slot"); });
      lines.forEach(function (el) {
        var show = viewers > 1 && (!slotted.length || slotted.indexOf(el) >= 0);
        el.setAttribute("data-viewers", String(viewers));
        el.textContent = show ? viewers + " people are on this lesson" : "";
        el.hidden = !show;
      });
    },
    resync: function () {
      notice("resync", "You were offline for a while.", window.location.href);
    },
    error: function (data) {
      if (window.console) console.warn("live updates:", data && data.code, data && data.message);
    }
  };

  // --- one stream (one WebSocket) -------------------------------------------------------------------

  function Stream(path, loadingTargets) {
    this.path = path;
    this.socket = null;
    this.state = "connecting";
    this.attempt = 0;
    this.everOpened = false;
    this.final = false;
    this.timer = null;
    this.pinger = null;
    this.loadingTargets = loadingTargets || [];
    this.lastId = pageCursor;
  }

  Stream.prototype.url = function () {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + this.path;
  };

  Stream.prototype.setLoading = function (on) {
    this.loadingTargets.forEach(function (el) {
      el.classList.toggle("is-syncing", on);
      if (on) el.setAttribute("aria-busy", "true");
      else el.removeAttribute("aria-busy");
    });
  };

  Stream.prototype.connect = function () {
    var self = this;
    if (self.final || (self.socket && self.socket.readyState <= 1)) return;
    window.clearTimeout(self.timer);
    self.state = "connecting";
    self.setLoading(true);
    renderStatus();
    var socket;
    try {
      socket = new WebSocket(self.url());
    } catch (e) {
      self.scheduleReconnect();
      return;
    }
    self.socket = socket;
    socket.onopen = function () {
      self.state = "open";
      self.attempt = 0;
      self.everOpened = true;
      self.send({ type: "resume", since: self.lastId });
      // On every (re)connect: e.g. "lesson.viewing" (the server forgets it with the socket).
      if (self.hello) self.send(self.hello);
      if (self.greeting) {
        // Once per page: e.g. "lesson.opened" (the staff's live class shows the learner on it).
        self.send(self.greeting);
        self.greeting = null;
      }
      window.clearInterval(self.pinger);
      self.pinger = window.setInterval(function () { self.send({ type: "ping" }); }, PING_INTERVAL_MS);
      renderStatus();
    };
    socket.onmessage = function (message) {
      var frame;
      try {
        frame = JSON.parse(message.data);
      } catch (e) {
        return;
      }
      if (!frame || typeof frame.type !== "string") return;
      if (typeof frame.id === "number") {
        if (self.lastId === null || frame.id > self.lastId) self.lastId = frame.id;
      }
      if (frame.type === "resumed") {
        self.setLoading(false);
        return;
      }
      var handler = handlers[frame.type];
      if (handler) {
        try {
          handler(frame.data || {}, frame.id || 0);
        } catch (e) {
          if (window.console) console.error("live updates: handler failed", frame.type, e);
        }
      }
      // Every event frame also goes out as a DOM event, so a plugin's own script can react to
      // its event types: document.addEventListener("academy:live", function (e) { e.detail.type }).
      if (frame.type !== "error" && frame.type !== "pong") {
        document.dispatchEvent(new CustomEvent("academy:live", {
          detail: { type: frame.type, id: frame.id || 0, data: frame.data || {} }
        }));
      }
    };
    socket.onclose = function (event) {
      window.clearInterval(self.pinger);
      self.socket = null;
      if (FINAL_CLOSE_CODES[event.code]) {
        self.final = true;
        self.state = "closed";
        self.setLoading(false);
        renderStatus();
        return;
      }
      self.scheduleReconnect();
    };
  };

  Stream.prototype.send = function (frame) {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(frame));
  };

  Stream.prototype.scheduleReconnect = function () {
    var self = this;
    self.state = self.everOpened || self.attempt < 2 ? "connecting" : "closed";
    self.setLoading(false);
    renderStatus();
    // Full jitter: a server restart does not bring every tab back in the same millisecond.
    var ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, self.attempt));
    self.attempt += 1;
    self.timer = window.setTimeout(function () { self.connect(); }, Math.random() * ceiling);
  };

  Stream.prototype.wake = function () {
    if (this.final) return;
    if (this.socket && this.socket.readyState === 1) {
      // Back from the background: fill any gap (a slow socket may have lost live frames).
      this.send({ type: "resume", since: this.lastId });
    } else if (!this.socket) {
      this.attempt = 0;
      this.connect();
    }
  };

  // --- which streams this page needs -------------------------------------------------------------------

  function start() {
    if (!window.WebSocket) {
      renderStatus();
      return;
    }
    var progressTargets = $all("[data-course-progress], [data-enrollment]");
    var showsProgress = progressTargets.length || document.querySelector("[data-lesson-page], [data-course-page]");
    streams.push(new Stream("/ws/notifications/"));
    if (showsProgress) {
      var progress = new Stream("/ws/progress/", progressTargets);
      var opened = document.querySelector('[data-lesson-page][data-following="true"]');
      var lessonId = opened && opened.getAttribute("data-lesson-id");
      if (lessonId && /^\d+$/.test(lessonId)) progress.greeting = { type: "lesson.opened", lesson_id: parseInt(lessonId, 10) };
      streams.push(progress);
    }
    var followed = document.querySelector('[data-course-page][data-following="true"], [data-lesson-page][data-following="true"]');
    var courseId = followed && followed.getAttribute("data-course-id");
    if (courseId && /^\d+$/.test(courseId)) {
      var course = new Stream("/ws/courses/" + courseId + "/");
      // A reader of this lesson (the page shows a presence line): count them here, get counts.
      var viewed = document.querySelector("[data-lesson-presence]") && followed.getAttribute("data-lesson-id");
      if (viewed && /^\d+$/.test(viewed)) course.hello = { type: "lesson.viewing", lesson_id: parseInt(viewed, 10) };
      streams.push(course);
    }
    streams.forEach(function (s) { s.connect(); });

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") streams.forEach(function (s) { s.wake(); });
    });
    window.addEventListener("online", function () { streams.forEach(function (s) { s.wake(); }); });

    // Loading state for the mark-complete form; it still posts normally (works without JS).
    $all("form[data-complete-lesson]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.classList.add("is-loading");
        form.setAttribute("aria-busy", "true");
      });
    });
  }

  // Exposed for debugging and tests: the current cursor and stream states.
  window.academyLive = {
    lastId: function () {
      return streams.reduce(function (high, s) { return s.lastId !== null && s.lastId > high ? s.lastId : high; }, pageCursor || 0);
    },
    states: function () { return streams.map(function (s) { return [s.path, s.state]; }); }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
