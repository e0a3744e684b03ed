/* Discussions on lesson, course and thread pages (no inline script: the CSP stays strict).
 *
 * - "Show replies" loads a thread's posts (a fragment the server renders after checking access).
 * - "Show more threads" (a link to the next page of the list, which works without this script)
 *   appends the next page's summaries here and replaces itself with the page's own link.
 * - "Quote" puts the quoted post's id in the reply form and its text, as Markdown, in the reply.
 * - Live: discussions.* frames of the course's stream (ids and counts only) update vote and reply
 *   counts at once; a new thread on this lesson, a reply, an answer or a moderation change fetch
 *   the affected fragment again (a 404, for a thread the reader may not see, changes nothing).
 */
(function () {
  "use strict";
  var root = document.querySelector("[data-discussions]");
  if (!root) return;
  var lessonId = root.getAttribute("data-lesson-id") || "";
  var summaryUrl = root.getAttribute("data-summary-url");

  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    });
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  function threadEl(threadId) {
    return root.querySelector('[data-thread][data-thread-id="' + threadId + '"]');
  }

  function detailUrl(el) {
    var box = el.querySelector("[data-thread-detail]");
    var button = el.querySelector("[data-expand]");
    var url = (box && box.getAttribute("data-detail-url")) || (button && button.getAttribute("data-detail-url"));
    return url ? url + "&next=" + encodeURIComponent(window.location.pathname + window.location.search) : null;
  }

  function loadDetail(el) {
    var box = el.querySelector("[data-thread-detail]");
    var url = detailUrl(el);
    if (!box || !url) return Promise.resolve();
    return fetchHtml(url).then(function (html) {
      box.replaceChildren(parse(html));
      box.hidden = false;
      box.setAttribute("data-loaded", "true");
    }).catch(function () {});
  }

  function refreshSummary(threadId, insert) {
    if (!summaryUrl) return Promise.resolve();
    return fetchHtml(summaryUrl + "?fragment=1&thread=" + encodeURIComponent(threadId)).then(function (html) {
      var fresh = parse(html).querySelector("[data-thread]");
      if (!fresh) return;
      var old = threadEl(threadId);
      var list = root.querySelector("[data-thread-list]");
      if (old) {
        var box = old.querySelector("[data-thread-detail]");
        var open = box && box.getAttribute("data-loaded") === "true" && !box.hidden;
        old.replaceWith(fresh);
        if (open) {
          var button = fresh.querySelector("[data-expand]");
          if (button) { button.setAttribute("aria-expanded", "true"); button.textContent = "Hide replies"; }
          loadDetail(fresh);
        }
      } else if (insert && list) {
        var empty = list.querySelector("[data-no-threads]");
        if (empty) empty.remove();
        list.insertBefore(fresh, list.firstChild);
        countOne();
      }
    }).catch(function () {});
  }

  function countOne() {
    var total = root.querySelector("[data-thread-total]");
    if (!total) return;
    var count = total.querySelector("[data-thread-count]");
    var n = count ? parseInt(count.textContent, 10) + 1 : 1;
    total.replaceChildren();
    var number = document.createElement("span");
    number.setAttribute("data-thread-count", "");
    number.textContent = String(n);
    total.append(number, n === 1 ? " thread" : " threads");
  }

  function showMore(link) {
    var more = link.closest("[data-more-threads]");
    link.setAttribute("aria-busy", "true");
    return fetchHtml(link.getAttribute("href") + "&fragment=1").then(function (html) {
      var fragment = parse(html);
      var list = root.querySelector("[data-thread-list]");
      fragment.querySelectorAll("[data-thread]").forEach(function (el) {
        // A thread that moved up since the page was loaded (a new reply) is shown once.
        if (!threadEl(el.getAttribute("data-thread-id"))) list.appendChild(el);
      });
      var next = fragment.querySelector("[data-more-threads]");
      if (next) more.replaceWith(next); else more.remove();
    }).catch(function () {
      window.location.href = link.href;  // the page of its own, as without this script
    });
  }

  root.addEventListener("click", function (event) {
    var moreLink = event.target.closest("[data-show-more]");
    if (moreLink && summaryUrl) {
      event.preventDefault();
      showMore(moreLink);
      return;
    }
    var expand = event.target.closest("[data-expand]");
    if (expand) {
      var el = expand.closest("[data-thread]");
      var box = el && el.querySelector("[data-thread-detail]");
      if (!box) return;
      if (expand.getAttribute("aria-expanded") === "true") {
        box.hidden = true;
        expand.setAttribute("aria-expanded", "false");
        expand.textContent = "Show replies";
      } else {
        expand.setAttribute("aria-expanded", "true");
        expand.textContent = "Hide replies";
        loadDetail(el);
      }
      return;
    }
    var quote = event.target.closest("[data-quote]");
    if (quote) {
      var detail = quote.closest("[data-thread-detail-body]");
      var post = quote.closest("[data-post]");
      var form = detail && detail.querySelector("[data-reply-form]");
      if (!form || !post) return;
      form.querySelector("[data-quoted-id]").value = quote.getAttribute("data-quote");
      var text = (post.querySelector("[data-post-body]") || {}).textContent || "";
      var area = form.querySelector("[data-reply-body]");
      area.value = text.trim().split("\n").map(function (line) { return "> " + line; }).join("\n") + "\n\n" + area.value;
      area.focus();
    }
  });

  document.addEventListener("academy:live", function (event) {
    var frame = event.detail || {};
    var data = frame.data || {};
    if (typeof frame.type !== "string" || frame.type.indexOf("discussions.") !== 0) return;
    if (String(data.course_id) !== root.getAttribute("data-course-id")) return;
    var threadId = String(data.thread_id);
    var kind = frame.type.slice("discussions.".length);
    if (kind === "vote") {
      root.querySelectorAll('[data-votes][data-post-id="' + data.post_id + '"]').forEach(function (el) {
        el.textContent = String(data.votes);
      });
      return;
    }
    var el = threadEl(threadId);
    var here = !lessonId || String(data.lesson_id) === lessonId;
    if (root.hasAttribute("data-thread-page")) {
      if (el) loadDetail(el);
      return;
    }
    if (kind === "thread" && here) {
      refreshSummary(threadId, true);
    } else if (el) {
      refreshSummary(threadId, false);
    }
  });
})();
