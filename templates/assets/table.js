// Sorting and filtering for the role tables, without libraries.
//
// Any <table class="roles"> sorts when a header button is clicked: cells carry
// data-sort (a number when the header says data-type="num", text otherwise);
// empty keys always sort last. A <form class="filters" data-table="ID"> is
// un-hidden and filters that table's rows by their data-* attributes. Without
// this script the pages still read: full tables in score order, form hidden.
(function () {
  "use strict";

  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function sortKey(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) return numeric ? NaN : "";
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    raw = raw.trim();
    if (numeric) return raw === "" ? NaN : parseFloat(raw);
    return raw;
  }

  function isEmpty(key, numeric) {
    return numeric ? isNaN(key) : key === "";
  }

  function sortTable(table, th) {
    var body = table.tBodies[0];
    if (!body) return;
    var index = th.cellIndex;
    var numeric = th.getAttribute("data-type") === "num";
    var current = th.getAttribute("aria-sort");
    var direction;
    if (current === "ascending") direction = "descending";
    else if (current === "descending") direction = "ascending";
    else direction = numeric ? "descending" : "ascending";
    var cells = th.parentNode.cells;
    for (var i = 0; i < cells.length; i++) cells[i].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", direction);
    var sign = direction === "ascending" ? 1 : -1;

    var items = [];
    for (var r = 0; r < body.rows.length; r++) {
      var row = body.rows[r];
      items.push({ row: row, key: sortKey(row, index, numeric), position: r });
    }
    items.sort(function (a, b) {
      var aEmpty = isEmpty(a.key, numeric);
      var bEmpty = isEmpty(b.key, numeric);
      if (aEmpty || bEmpty) {
        if (aEmpty && bEmpty) return a.position - b.position;
        return aEmpty ? 1 : -1;
      }
      var order = numeric ? a.key - b.key : collator.compare(a.key, b.key);
      return order !== 0 ? sign * order : a.position - b.position;
    });
    var fragment = document.createDocumentFragment();
    items.forEach(function (item) { fragment.appendChild(item.row); });
    body.appendChild(fragment);
  }

  function setUpSorting(table) {
    var buttons = table.querySelectorAll("thead th button[data-key]");
    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        sortTable(table, button.closest("th"));
      });
    });
  }

  function number(input) {
    if (!input) return NaN;
    var value = input.value.trim();
    return value === "" ? NaN : parseFloat(value);
  }

  function setUpFilters(form) {
    var table = document.getElementById(form.getAttribute("data-table") || "") ||
      document.querySelector("table.roles");
    if (!table || !table.tBodies[0]) return;
    var field = function (id) { return form.querySelector("#" + id); };
    var tier = field("filter-tier");
    var location = field("filter-location");
    var stage = field("filter-stage");
    var minScore = field("min-score");
    var minFee = field("min-fee");
    var search = field("search");
    var count = field("shown-count");

    var rows = Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      return {
        row: row,
        tier: row.getAttribute("data-tier") || "",
        locations: " " + (row.getAttribute("data-locations") || "") + " ",
        stage: row.getAttribute("data-stage") || "",
        score: parseFloat(row.getAttribute("data-score")),
        fee: parseFloat(row.getAttribute("data-fee")),
        search: row.getAttribute("data-search") || ""
      };
    });

    function apply() {
      var wantTier = tier ? tier.value : "";
      var wantLocation = location ? location.value : "";
      var wantStage = stage ? stage.value : "";
      var leastScore = number(minScore);
      var leastFee = number(minFee);
      var terms = search ? search.value.toLowerCase().split(/\s+/).filter(Boolean) : [];
      var shown = 0;
      rows.forEach(function (item) {
        var keep = (!wantTier || item.tier === wantTier) &&
          (!wantLocation || item.locations.indexOf(" " + wantLocation + " ") >= 0) &&
          (!wantStage || item.stage === wantStage) &&
          (isNaN(leastScore) || item.score >= leastScore) &&
          (isNaN(leastFee) || item.fee >= leastFee) &&
          terms.every(function (term) { return item.search.indexOf(term) >= 0; });
        if (item.row.hidden === keep) item.row.hidden = !keep;
        if (keep) shown++;
      });
      if (count) {
        count.textContent = shown + " of " + rows.length + (rows.length === 1 ? " role" : " roles");
      }
    }

    var timer = 0;
    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(apply, 60);
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
    form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
    form.hidden = false;
    apply();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table.roles"), setUpSorting);
    Array.prototype.forEach.call(document.querySelectorAll("form.filters"), setUpFilters);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
