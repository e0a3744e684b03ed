/* The quiz editor's accessible names (plugins/quizzes/wagtail_hooks.py): in a quiz's questions,
 * each rich-text prompt is named by its field's label ("Prompt"), and each item of a list of plain
 * inputs (the accepted answers) by its list's label and number ("Accepted answers 2"). Wagtail
 * renders neither name. The questions are drawn by Wagtail's script after the page loads, and
 * more are added while editing, so names are set whenever the editor changes. */
(function () {
  "use strict";
  var SCOPE = '[data-contentpath="questions"]';
  var counter = 0;

  function named(el) {
    return el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") || (el.labels && el.labels.length);
  }

  function labelFor(id) {
    var label = id && document.querySelector('label[for="' + id.replace(/"/g, "") + '"]');
    return label && label.textContent.trim() ? label : null;
  }

  function humanized(id) {
    var name = (id || "").split("-").pop().replace(/_/g, " ");
    return name.charAt(0).toUpperCase() + name.slice(1);
  }

  function nameAll(scope) {
    scope.querySelectorAll('.public-DraftEditor-content[role="textbox"]').forEach(function (box) {
      if (named(box)) return;
      var field = box.closest(".w-field, [data-field]") || box.parentElement;
      var hidden = field && field.querySelector("input[type=hidden][id]");
      // Wagtail's label of a rich-text block sits near the field, without a "for".
      var label = hidden && labelFor(hidden.id);
      for (var up = box.parentElement, depth = 0; !label && up && depth < 10; up = up.parentElement, depth += 1) {
        var near = up.querySelector(":scope > label.w-field__label");
        if (near && near.textContent.trim()) label = near;
      }
      if (label) {
        if (!label.id) label.id = "quiz-label-" + (counter += 1);
        box.setAttribute("aria-labelledby", label.id);
      } else if (hidden) {
        box.setAttribute("aria-label", humanized(hidden.id));
      }
    });
    scope.querySelectorAll("input:not([type=hidden]), textarea, select").forEach(function (input) {
      if (named(input)) return;
      var item = /^(.*)-(\d+)-value$/.exec(input.id || "");
      if (!item) return;
      var list = labelFor(item[1]);
      var text = list ? list.textContent.trim().replace(/\s*\*$/, "") : humanized(item[1]);
      input.setAttribute("aria-label", text + " " + (parseInt(item[2], 10) + 1));
    });
  }

  function sweep() {
    document.querySelectorAll(SCOPE).forEach(nameAll);
  }

  function start() {
    sweep();
    var pending = false;
    new MutationObserver(function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; sweep(); });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
