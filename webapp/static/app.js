// Progressive enhancement only: every page works without this file.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.matches && form.matches("form.confirm") && !window.confirm(form.dataset.confirm || "Are you sure?")) {
    event.preventDefault();
  }
});
document.addEventListener("click", function (event) {
  var input = event.target;
  if (input.matches && input.matches("input.copy")) { input.select(); }
});
