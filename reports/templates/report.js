/* lossconf report: filters, drill-down links, copy buttons. Inlined; the page works without it. */
(function () {
  "use strict";
  var bar = document.getElementById("filters");
  var text = document.getElementById("filter");
  var hideExpected = document.getElementById("hidexf");
  var status = document.getElementById("filter-status");

  function selected(attr) {
    var on = {};
    bar.querySelectorAll("input[" + attr + "]").forEach(function (box) {
      if (box.checked) { on[box.getAttribute(attr)] = true; }
    });
    return on;
  }

  function textOff(el) {
    if (!el.classList.contains("finding")) { return false; }
    var q = text.value.toLowerCase();
    if (hideExpected.checked && el.classList.contains("expected")) { return true; }
    return q !== "" && el.rows[0].textContent.toLowerCase().indexOf(q) < 0;
  }

  function apply() {
    var verdicts = selected("data-fv"), impls = selected("data-fi");
    document.querySelectorAll("[data-impl]").forEach(function (el) {
      var implAttr = el.getAttribute("data-impl");
      var implOff = implAttr !== "" && !impls[implAttr];
      var v = el.getAttribute("data-v");
      var verdictOff = v !== null && !verdicts[v];
      if (el.tagName === "TD" || el.tagName === "TH") {
        el.classList.toggle("hidden", implOff);
        el.classList.toggle("off", verdictOff);
      } else {
        el.classList.toggle("hidden", implOff || verdictOff || textOff(el));
      }
    });
    var rows = document.querySelectorAll("#matrix tbody tr"), shown = 0, cells = 0;
    rows.forEach(function (tr) {
      var live = tr.querySelectorAll("td.cell:not(.hidden):not(.off)").length;
      tr.classList.toggle("hidden", live === 0);
      shown += live;
      cells += tr.querySelectorAll("td.cell").length;
    });
    status.textContent = "showing " + shown + " of " + cells + " cells";
  }

  function openTarget() {
    var id = window.location.hash.slice(1);
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") {
      el.open = true;
      el.classList.remove("hidden");
      el.scrollIntoView();
    }
  }

  function copy(button) {
    var pre = document.getElementById(button.getAttribute("data-copy"));
    if (!pre) { return; }
    function done() {
      button.textContent = "copied";
      window.setTimeout(function () { button.textContent = "copy"; }, 1500);
    }
    function select() {
      var range = document.createRange(), sel = window.getSelection();
      range.selectNodeContents(pre);
      sel.removeAllRanges();
      sel.addRange(range);
      try {
        if (document.execCommand("copy")) { done(); return; }
      } catch (e) { /* fall through: the text stays selected */ }
      button.textContent = "selected: press Ctrl+C";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(pre.textContent).then(done, select);
    } else {
      select();
    }
  }

  bar.hidden = false;
  bar.addEventListener("change", apply);
  document.getElementById("filters-all").addEventListener("click", function () {
    bar.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = true; });
    apply();
  });
  text.addEventListener("input", apply);
  hideExpected.addEventListener("change", apply);
  document.getElementById("open-all").addEventListener("click", function () {
    document.querySelectorAll("details.drill:not(.hidden)").forEach(function (d) { d.open = true; });
  });
  document.getElementById("close-all").addEventListener("click", function () {
    document.querySelectorAll("details.drill").forEach(function (d) { d.open = false; });
  });
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button[data-copy]") : null;
    if (button) { copy(button); }
  });
  window.addEventListener("hashchange", openTarget);
  apply();
  openTarget();
}());
