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

  var NS = "http://www.w3.org/2000/svg";
  var hists = JSON.parse(document.getElementById("histograms").textContent || "[]");

  function node(name, attrs, text) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = String(text); }
    return e;
  }

  // A histogram's SVG from its compact layout (reports/histogram.py, compact), drawn once, when it is first shown.
  function draw(fig) {
    var h = hists[Number(fig.getAttribute("data-h"))];
    if (!h || fig.querySelector("svg")) { return; }
    var base = h[2], left = h[3], top = h[4], tol = h[7], bar = h[10];
    var svg = node("svg", {width: h[0], height: h[1], viewBox: "0 0 " + h[0] + " " + h[1], role: "img",
                           "aria-label": fig.textContent});
    if (tol) {
      svg.appendChild(node("line", {"class": "tolline", x1: tol[0], y1: top, x2: tol[0], y2: base}));
      svg.appendChild(node("text", {"class": "tl", x: tol[0], y: top - 4, "text-anchor": tol[2]}, tol[1]));
    }
    svg.appendChild(node("line", {"class": "axis", x1: left, y1: base, x2: h[5], y2: base}));
    svg.appendChild(node("text", {"class": "yl", x: left - 4, y: top + 8}, h[6]));
    svg.appendChild(node("text", {"class": "yl", x: left - 4, y: base}, 0));
    h[8].forEach(function (b) {
      var g = node("g", {});
      g.appendChild(node("title", {}, b[7]));
      if (b[2]) { g.appendChild(node("rect", {"class": "in", x: b[0], y: b[1], width: bar, height: b[2]})); }
      if (b[4]) { g.appendChild(node("rect", {"class": b[6] ? "nf" : "out", x: b[0], y: b[3], width: bar, height: b[4]})); }
      g.appendChild(node("text", {"class": "cnt", x: b[0] + bar / 2, y: b[3] - 2}, b[5]));
      svg.appendChild(g);
    });
    h[9].forEach(function (l) {
      svg.appendChild(node("text", {"class": l[2] ? "xl mid" : "xl", x: l[0], y: base + 11}, l[1]));
    });
    svg.appendChild(node("text", {"class": "xt", x: left, y: base + 25}, "ULP error"));
    fig.insertBefore(svg, fig.firstChild);
  }

  document.addEventListener("toggle", function (ev) {
    if (ev.target.open && ev.target.querySelectorAll) { ev.target.querySelectorAll("figure.hist").forEach(draw); }
  }, true);

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
