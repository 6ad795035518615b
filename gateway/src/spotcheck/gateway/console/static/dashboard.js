// 工作台: draws the weekly platform-compliance chart with uPlot from the page's JSON data block.
// No inline script (the Content-Security-Policy refuses it): the data sits in <script type="application/json">,
// which is never executed. Without JavaScript the table under the chart shows the same figures.
(function () {
  "use strict";
  var holder = document.getElementById("compliance-chart");
  var source = document.getElementById("compliance-data");
  if (!holder || !source || typeof window.uPlot === "undefined") { return; }
  var data;
  try { data = JSON.parse(source.textContent); } catch (e) { return; }
  if (!data || !data.series || !data.series.length) { return; }

  var palette = ["#a4161a", "#174ea6", "#1b6e3a", "#8a5a00", "#6a3d9a", "#0f7c8c", "#5b6775", "#c2185b"];
  var percent = function (u, value) { return value == null ? "—" : value.toFixed(0) + "%"; };
  // The x series is the week: the legend names the hovered week by its first day, and shows "—" until then
  // (uPlot's own placeholder, "--" beside a bare label, read as a broken figure).
  var weekStart = window.uPlot.fmtDate("{M}-{D}");
  var series = [{
    label: "周（起）",
    value: function (u, ts) {
      return ts == null ? "—" : weekStart(window.uPlot.tzDate(new Date(ts * 1000), "Asia/Shanghai"));
    }
  }];
  var columns = [data.weeks];
  data.series.forEach(function (s, i) {
    series.push({
      label: s.label,
      stroke: palette[i % palette.length],
      width: 2,
      points: { show: true, size: 6 },
      spanGaps: false,
      value: percent
    });
    columns.push(s.values);
  });

  function size() {
    var width = Math.max(280, holder.clientWidth || 600);
    return { width: width, height: width < 480 ? 220 : 280 };
  }

  var dims = size();
  var chart = new window.uPlot({
    width: dims.width,
    height: dims.height,
    // Weeks are labelled in Beijing time whatever the browser's own zone.
    tzDate: function (ts) { return window.uPlot.tzDate(new Date(ts * 1000), "Asia/Shanghai"); },
    scales: { x: { time: true }, y: { range: [0, 100] } },
    axes: [
      { values: "{M}-{D}" },
      { values: function (u, ticks) { return ticks.map(function (t) { return t + "%"; }); }, size: 50 }
    ],
    legend: { live: true },
    series: series
  }, columns, holder);

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) { window.clearTimeout(pending); }
    pending = window.setTimeout(function () { chart.setSize(size()); }, 150);
  });
})();
