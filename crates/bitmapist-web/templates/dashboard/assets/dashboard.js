// bitmapist dashboard: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Show the controls that need JavaScript.
  var jsOnly = document.querySelectorAll(".js-only");
  for (var i = 0; i < jsOnly.length; i++) {
    if (jsOnly[i].id !== "bm-filter-note") jsOnly[i].hidden = false;
  }

  // Overview: filter the rows of this page as you type (Enter searches every event).
  var search = document.getElementById("bm-q");
  var table = document.getElementById("bm-events");
  var note = document.getElementById("bm-filter-note");
  if (search && table && table.tBodies.length) {
    var rows = table.tBodies[0].rows;
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      var shown = 0;
      for (var r = 0; r < rows.length; r++) {
        var name = (rows[r].getAttribute("data-name") || "").toLowerCase();
        var match = q === "" || name.indexOf(q) !== -1;
        rows[r].hidden = !match;
        if (match) shown++;
      }
      if (note) {
        note.hidden = q === "";
        note.textContent = shown + " of " + rows.length + " on this page match; press Enter to search every event.";
      }
    });
  }

  // Cohort form: add and remove chained events.
  var chain = document.getElementById("bm-chain");
  var template = document.getElementById("bm-chain-row");
  var add = document.getElementById("bm-add");
  if (chain && template && add) {
    add.addEventListener("click", function () {
      chain.appendChild(template.content.cloneNode(true));
      var inputs = chain.querySelectorAll("input");
      if (inputs.length) inputs[inputs.length - 1].focus();
    });
    chain.addEventListener("click", function (e) {
      var target = e.target;
      if (target && target.classList && target.classList.contains("remove")) {
        var row = target.closest(".chain-row");
        if (row) row.remove();
      }
    });
  }
})();
