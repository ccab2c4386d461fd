// Progressive enhancement only: every figure is in the HTML already (exact, in data-*); this shows
// it in the browser's locale and time zone, draws charts, and polls where a page waits for data.
(function () {
  "use strict";
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const tz = document.getElementById("tz");
  if (tz) tz.textContent = zone;

  function decimals(text) {
    const dot = text.indexOf(".");
    return dot < 0 ? 0 : text.length - dot - 1;
  }
  // Sub-cent calls must not read $0.00: below $1, up to 4 significant digits (at most 8 decimals);
  // from $1 on, cents. The exact value stays in data-usd (and the title).
  function money(text) {
    const value = Number(text);
    const magnitude = Math.abs(value) >= 1 || value === 0 ? 2 : Math.min(8, 3 - Math.floor(Math.log10(Math.abs(value))));
    const digits = Math.max(2, Math.min(magnitude, Math.max(2, decimals(text))));
    return new Intl.NumberFormat(undefined, {style: "currency", currency: "USD",
      minimumFractionDigits: 2, maximumFractionDigits: digits}).format(value);
  }
  document.querySelectorAll("[data-usd]").forEach(function (el) {
    el.textContent = money(el.dataset.usd);
    el.title = "$" + el.dataset.usd;
  });
  document.querySelectorAll("[data-num]").forEach(function (el) {
    el.textContent = new Intl.NumberFormat().format(Number(el.dataset.num));
  });
  const when = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "short"});
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    const moment = new Date(el.getAttribute("datetime"));
    if (!isNaN(moment)) { el.textContent = when.format(moment); el.title = el.getAttribute("datetime"); }
  });

  const palette = ["#4f7cff", "#ff9f40", "#2ec4b6", "#e15b64", "#9b5de5", "#f6c343", "#43aa8b", "#8d99ae", "#577590"];
  function stacked(el, data) {
    // data: {x: [unix seconds], series: [{label, values}]}; bars stacked by summing series in order.
    if (!data.x.length || !data.series.length) { el.innerHTML = '<p class="empty">No spend in this range yet.</p>'; return; }
    const sums = data.x.map(function () { return 0; });
    const columns = [data.x];
    data.series.forEach(function (s) {
      s.values.forEach(function (v, i) { sums[i] += v; });
      columns.push(sums.slice());
    });
    const bars = uPlot.paths.bars({size: [0.7, 40]});
    const series = [{}].concat(data.series.map(function (s, i) {
      return {label: s.label, fill: palette[i % palette.length], stroke: palette[i % palette.length], paths: bars,
              points: {show: false},
              value: function (u, v, si, idx) { return idx == null ? "" : money(String(data.series[i].values[idx])); }};
    }));
    // Draw the largest stack first so each smaller one sits in front of it.
    const order = columns.slice(1).map(function (c, i) { return i; }).reverse();
    const plotted = [columns[0]].concat(order.map(function (i) { return columns[i + 1]; }));
    const ordered = [series[0]].concat(order.map(function (i) { return series[i + 1]; }));
    el.innerHTML = "";
    new uPlot({width: el.clientWidth || 800, height: 260, series: ordered,
               axes: [{}, {values: function (u, ticks) { return ticks.map(function (t) { return money(String(t)); }); }, size: 80}],
               scales: {x: {time: true}, y: {range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; }}}},
              plotted, el);
  }
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    const source = document.getElementById(el.id + "-data");
    try {
      stacked(el, JSON.parse(source.textContent));
    } catch (err) {
      el.innerHTML = '<p class="error-state">The chart could not be drawn: ' + String(err).replace(/[<&]/g, "") + "</p>";
    }
  });

  const waiting = document.querySelector("[data-wait-for-spans]");
  if (waiting) {
    setInterval(function () {
      fetch("/dashboard/first-span", {credentials: "same-origin"}).then(function (r) { return r.json(); })
        .then(function (body) { if (body.has_spans) window.location.reload(); }).catch(function () {});
    }, 2000);
  }
})();
