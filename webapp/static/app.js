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
document.addEventListener("click", function (event) {
  var button = event.target;
  if (!(button.matches && button.matches("button.copy-button"))) { return; }
  var source = document.getElementById(button.dataset.copy);
  if (!source) { return; }
  var text = source.textContent;
  var done = function () {
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = "Copy"; }, 2000);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
  } else {
    selectText(source);
  }
});
function selectText(node) {
  var range = document.createRange();
  range.selectNodeContents(node);
  var selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}
