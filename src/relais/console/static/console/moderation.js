// Keyboard shortcuts of the moderation page: a approve, m change the métier, r reject.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    var target = {a: "approuver", r: "refuser"}[event.key];
    if (target) {
      var button = document.getElementById(target);
      if (button) { event.preventDefault(); button.click(); }
    } else if (event.key === "m") {
      var select = document.getElementById("metier");
      if (select) { event.preventDefault(); select.focus(); }
    }
  });
})();
