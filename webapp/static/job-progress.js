// Polls job runs started from a page and shows their progress; reloads when they finish.
// Markup: <div data-job-status-url="/w/1/jobs/42"><progress></progress><span data-job-message></span></div>
(function () {
  function poll(el) {
    var url = el.getAttribute("data-job-status-url");
    var bar = el.querySelector("progress");
    var text = el.querySelector("[data-job-message]");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (run) {
        if (!run) { return; }
        if (bar) { bar.value = run.progress; bar.max = 100; }
        if (text) { text.textContent = run.status + (run.message ? ": " + run.message : "") + (run.error ? " (" + run.error + ")" : ""); }
        el.setAttribute("data-job-state", run.status);
        if (run.finished) { if (!el.hasAttribute("data-no-reload")) { window.setTimeout(function () { window.location.reload(); }, 800); } }
        else { window.setTimeout(function () { poll(el); }, 1000); }
      })
      .catch(function () { window.setTimeout(function () { poll(el); }, 3000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-job-status-url]").forEach(poll);
  });
})();
