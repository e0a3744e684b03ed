/* The 503 page of a request that was not saved (templates/503.html): shows a "Go back" button
 * that returns to the page the visitor sent it from (the browser usually keeps the form filled in).
 * Without a history entry to go back to, the button stays hidden and the page's text says what to do. */
(function () {
  "use strict";
  var button = document.querySelector("[data-history-back]");
  if (!button || window.history.length < 2) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.history.back(); });
})();
