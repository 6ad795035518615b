// The console's own script (the Content-Security-Policy allows scripts only from /console/static/).
// Progressive enhancement only: every page works without it.
(function () {
  "use strict";
  // A form button marked data-confirm asks before it submits (e.g. replaying a dead letter).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // A form is sent once: a second click while the first submission is on its way does nothing.
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }
    var form = event.target;
    if (form.getAttribute("data-submitting") === "true") { event.preventDefault(); return; }
    form.setAttribute("data-submitting", "true");
    window.setTimeout(function () { form.removeAttribute("data-submitting"); }, 5000);
  });
})();
