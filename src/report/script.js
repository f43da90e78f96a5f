// The report's only script: the buttons that open and close the
// scenarios. Without it every section still opens by hand.
document.querySelectorAll("button[data-open]").forEach(function (button) {
  button.addEventListener("click", function () {
    var which = button.getAttribute("data-open");
    document.querySelectorAll("details.scenario").forEach(function (section) {
      var verdict = section.getAttribute("data-verdict");
      section.open = which === "all" || (which === "failed" && (verdict === "failed" || verdict === "error"));
    });
  });
});
