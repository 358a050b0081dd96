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

  // A histogram's SVG from its bins (reports/histogram.py, compact), laid out here and drawn once, when it is first
  // shown: bars of BAR pixels GAP apart from LEFT, PLOT_H high at the largest count; each bar's lower part the cases
  // within their tolerance, its upper part those beyond (or inf/NaN); the finite bins' upper edges 0.5 * factor**i.
  var BAR = 16, GAP = 3, LEFT = 30, TOP = 14, PLOT_H = 80, BOTTOM = 30, STEP = BAR + GAP;

  function edgeText(v) {
    if (!isFinite(v)) { return "inf"; }  // the last edge of errors near the largest float overflows
    if (v < 1024) { return String(v); }
    if (v < 1048576) { return v / 1024 + "k"; }
    if (v < 1073741824) { return v / 1048576 + "M"; }
    return "2^" + Math.round(Math.log2(v));
  }

  function draw(fig) {
    var h = hists[Number(fig.getAttribute("data-h"))];
    if (!h || fig.querySelector("svg")) { return; }
    var factor = h[0], nbins = h[1], bins = h[2].slice(), nonfinite = h[3], mark = h[4];
    var edge = function (i) { return 0.5 * Math.pow(factor, i); };
    if (nonfinite) { bins.push([nbins, 0, nonfinite, true]); }
    var columns = nbins + (nonfinite ? 1 : 0), highest = 1;
    bins.forEach(function (b) { highest = Math.max(highest, b[1] + b[2]); });
    var scale = PLOT_H / highest, base = TOP + PLOT_H, right = LEFT + STEP * columns, width = right + 12;
    var svg = node("svg", {width: width, height: base + BOTTOM, viewBox: "0 0 " + width + " " + (base + BOTTOM),
                           role: "img", "aria-label": fig.textContent});
    if (mark !== null) {
      var at = mark <= 0.5 ? Math.max(mark, 0) / 0.5 : 1 + Math.log(mark / 0.5) / Math.log(factor);
      var x = LEFT + at * STEP, text = "tolerance " + String(Number(mark.toPrecision(3))) + (h[5] ? " (worst case)" : "");
      var room = 4.6 * text.length;  // about what 9px text takes: the side of the line it fits on, else centred on it
      var anchor = x + room <= width ? "start" : x - room >= 0 ? "end" : "middle";
      svg.appendChild(node("line", {"class": "tolline", x1: x, y1: TOP, x2: x, y2: base}));
      svg.appendChild(node("text", {"class": "tl", x: x, y: TOP - 4, "text-anchor": anchor}, text));
    }
    svg.appendChild(node("line", {"class": "axis", x1: LEFT, y1: base, x2: right, y2: base}));
    svg.appendChild(node("text", {"class": "yl", x: LEFT - 4, y: TOP + 8}, highest));
    svg.appendChild(node("text", {"class": "yl", x: LEFT - 4, y: base}, 0));
    bins.forEach(function (b) {
      var i = b[0], x = LEFT + i * STEP, hIn = b[1] * scale, hOut = b[2] * scale, g = node("g", {});
      var span = b[3] ? "inf or NaN" : i === 0 ? "[0, 0.5]" : "(" + edgeText(edge(i - 1)) + ", " + edgeText(edge(i)) + "]";
      g.appendChild(node("title", {}, span + ": " + b[1] + " within tolerance, " + b[2] + " beyond"));
      if (hIn) { g.appendChild(node("rect", {"class": "in", x: x, y: base - hIn, width: BAR, height: hIn})); }
      if (hOut) { g.appendChild(node("rect", {"class": b[3] ? "nf" : "out", x: x, y: base - hIn - hOut, width: BAR, height: hOut})); }
      g.appendChild(node("text", {"class": "cnt", x: x + BAR / 2, y: base - hIn - hOut - 2}, b[1] + b[2]));
      svg.appendChild(g);
    });
    var every = nbins <= 12 ? 1 : 2;
    for (var i = 0; i < nbins; i++) {
      if ((nbins - 1 - i) % every === 0) {  // the last edge always labelled
        svg.appendChild(node("text", {"class": "xl", x: LEFT + (i + 1) * STEP - GAP / 2, y: base + 11}, edgeText(edge(i))));
      }
    }
    if (nonfinite) {
      svg.appendChild(node("text", {"class": "xl mid", x: LEFT + nbins * STEP + BAR / 2, y: base + 11}, "inf/NaN"));
    }
    svg.appendChild(node("text", {"class": "xt", x: LEFT, y: base + 25}, "ULP error"));
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
