/* Usage dashboards in the Django admin (admin/usage/dashboard.html).
 *
 * Reads the page's config (json_script "usage-dashboard-config": dataUrl, key, showTop), fetches the
 * dashboard JSON and draws totals, charts over time (uPlot, vendored under vendor/uplot) and top-N tables.
 * Plain ES2017, no build step. Keys come from the ledger (end-user ids are whatever API callers sent): every
 * text from the data is set with textContent or a text node, never parsed as HTML.
 */
(function () {
  "use strict";

  var STEP_SECONDS = { hour: 3600, day: 86400 };
  var COLORS = ["#417690", "#e08e0b", "#ba2121", "#2e8540", "#7b4ea3"];
  var CHART_HEIGHT = 220;

  var USAGE_CHARTS = [
    { title: "Cost 费用", money: true, lines: [
      { label: "cost", value: function (p) { return Number(p.cost); }, empty: 0 },
    ] },
    { title: "Tokens", lines: [
      { label: "prompt", value: function (p) { return p.prompt_tokens; }, empty: 0 },
      { label: "completion", value: function (p) { return p.completion_tokens; }, empty: 0 },
    ] },
    { title: "Requests 请求", lines: [
      { label: "requests", value: function (p) { return p.requests; }, empty: 0 },
      { label: "errors", value: function (p) { return p.errors; }, empty: 0 },
    ] },
    { title: "Error rate 错误率 (%)", lines: [
      { label: "error rate %", value: function (p) { return p.requests ? p.error_rate * 100 : null; }, empty: null },
    ] },
    { title: "Latency 延迟 (ms)", lines: [
      { label: "p50", value: function (p) { return p.latency_ms_p50; }, empty: null },
      { label: "p95", value: function (p) { return p.latency_ms_p95; }, empty: null },
    ] },
    { title: "TTFT 首字延迟 (ms)", lines: [
      { label: "p50", value: function (p) { return p.ttft_ms_p50; }, empty: null },
      { label: "p95", value: function (p) { return p.ttft_ms_p95; }, empty: null },
    ] },
  ];

  var RUN_CHARTS = [
    { title: "Runs 运行", lines: [
      { label: "runs", value: function (p) { return p.runs; }, empty: 0 },
      { label: "failures", value: function (p) { return p.failures; }, empty: 0 },
    ] },
    { title: "Run duration 运行时长 (ms)", lines: [
      { label: "p95", value: function (p) { return p.duration_ms_p95; }, empty: null },
      { label: "mean", value: function (p) { return p.duration_ms_mean; }, empty: null },
    ] },
  ];

  var TOP_TABLES = [
    ["deployment", "Top deployments 部署"],
    ["model", "Top models 模型"],
    ["api_key", "Top API keys 密钥"],
    ["end_user", "Top end users 终端用户"],
  ];

  // An element with text content (never HTML); children are nodes or strings (strings become text nodes).
  function el(tag, className, text, children) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    (children || []).forEach(function (child) { node.append(child); });
    return node;
  }

  function integer(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString();
  }

  function ms(value) {
    return value === null || value === undefined ? "–" : Math.round(value).toLocaleString() + " ms";
  }

  function percent(value) {
    return (Number(value || 0) * 100).toFixed(2) + " %";
  }

  function money(value) {
    var n = Number(value);
    if (!n) return "0";
    if (Math.abs(n) >= 1) return n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return String(Number(n.toPrecision(3)));
  }

  // "+ 1.20 CNY (no rate)" for amounts the workspace has no conversion rate for.
  function unconvertedNote(unconverted) {
    var parts = Object.keys(unconverted || {}).map(function (code) { return money(unconverted[code]) + " " + code; });
    return parts.length ? "+ " + parts.join(", ") + " (no rate 无汇率)" : "";
  }

  // The page's series: the first (workspace total) on the overview, else the one of the page's key.
  function seriesOf(list, key) {
    if (!list) return null;
    if (key === null) return list[0] || null;
    return list.find(function (s) { return s.key === key; }) || null;
  }

  // Every bucket of [start, end): the dashboard leaves out empty buckets, the charts show them.
  function bucketTimes(view) {
    var step = STEP_SECONDS[view.granularity] || STEP_SECONDS.day;
    var start = Date.parse(view.start) / 1000;
    var end = Date.parse(view.end) / 1000;
    var times = [];
    for (var t = start; t < end; t += step) times.push(t);
    return times;
  }

  function pointsByTime(points) {
    var byTime = new Map();
    (points || []).forEach(function (p) { byTime.set(Date.parse(p.bucket) / 1000, p); });
    return byTime;
  }

  function cssVar(name, fallback) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
  }

  function drawChart(container, chart, times, byTime, currency, plots) {
    var title = chart.money ? chart.title + " (" + currency + ")" : chart.title;
    var box = el("div", "usage-chart", null, [el("h3", null, title)]);
    container.append(box);
    var fg = cssVar("--body-fg", "#333");
    var grid = cssVar("--hairline-color", "#e8e8e8");
    var axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    var data = [times].concat(chart.lines.map(function (line) {
      return times.map(function (t) {
        var point = byTime.get(t);
        if (!point) return line.empty;
        var value = line.value(point);
        return value === undefined ? null : value;
      });
    }));
    var opts = {
      width: Math.max(280, box.clientWidth - 12),
      height: CHART_HEIGHT,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      scales: { x: { time: true } },
      axes: [axis, Object.assign({}, axis, { size: 64 })],
      series: [{ label: "UTC" }].concat(chart.lines.map(function (line, i) {
        return { label: line.label, stroke: COLORS[i % COLORS.length], width: 2, points: { show: times.length <= 48 } };
      })),
    };
    plots.push({ plot: new uPlot(opts, data, box), box: box });
  }

  function kpi(label, value, note) {
    return el("div", "usage-kpi", null, [
      el("div", "usage-kpi-label", label),
      el("div", "usage-kpi-value", value),
      el("div", "usage-kpi-note", note || ""),
    ]);
  }

  function drawTotals(container, totals, runTotals, currency) {
    var t = totals || {};
    container.append(
      kpi("Cost 费用 (" + currency + ")", money(t.cost), unconvertedNote(t.unconverted)),
      kpi("Requests 请求", integer(t.requests || 0)),
      kpi("Errors 错误", integer(t.errors || 0), percent(t.error_rate)),
      kpi("Prompt tokens", integer(t.prompt_tokens || 0), "cached " + integer(t.cached_tokens || 0)),
      kpi("Completion tokens", integer(t.completion_tokens || 0)),
      kpi("Latency 延迟 p50 / p95", ms(t.latency_ms_p50), "p95 " + ms(t.latency_ms_p95)),
      kpi("TTFT 首字 p50 / p95", ms(t.ttft_ms_p50), "p95 " + ms(t.ttft_ms_p95))
    );
    if (runTotals) {
      container.append(
        kpi("Runs 运行", integer(runTotals.runs || 0)),
        kpi("Run failures 失败", integer(runTotals.failures || 0),
          percent(runTotals.failure_rate) + " · cancelled " + integer(runTotals.cancelled || 0)),
        kpi("Run duration p95", ms(runTotals.duration_ms_p95), "mean " + ms(runTotals.duration_ms_mean))
      );
    }
  }

  // A top-N row's first cell: a deployment's or API key's name when known (deployments link to their page).
  function keyCell(dimension, key, labels) {
    var known = (labels && labels[dimension] && labels[dimension][key]) || null;
    var cell = el("td", "key");
    if (key === "") {
      cell.append(el("span", "quiet", "(none 无)"));
    } else if (known && typeof known.url === "string" && known.url.charAt(0) === "/") {
      var link = el("a", null, known.label);
      link.href = known.url;
      cell.append(link);
    } else {
      cell.textContent = known ? known.label : key;
    }
    if (known) cell.title = key;
    return cell;
  }

  function drawTop(container, view) {
    var top = view.top || {};
    TOP_TABLES.forEach(function (entry) {
      var dimension = entry[0];
      var rows = top[dimension];
      if (!rows) return;
      var head = el("tr", null, null, [
        el("th", null, "Key"),
        el("th", "num", "Cost (" + view.currency + ")"),
        el("th", "num", "Requests"),
        el("th", "num", "Errors"),
        el("th", "num", "Tokens"),
      ]);
      var body = el("tbody");
      rows.forEach(function (row) {
        var note = unconvertedNote(row.unconverted);
        body.append(el("tr", null, null, [
          keyCell(dimension, row.key, view.labels),
          el("td", "num", money(row.cost) + (note ? " " + note : "")),
          el("td", "num", integer(row.requests)),
          el("td", "num", integer(row.errors)),
          el("td", "num", integer(row.tokens)),
        ]));
      });
      if (!rows.length) {
        var empty = el("td", "quiet", "No usage 无数据");
        empty.colSpan = 5;
        body.append(el("tr", null, null, [empty]));
      }
      container.append(el("div", "usage-top module", null, [
        el("h3", null, entry[1]),
        el("table", null, null, [el("thead", null, null, [head]), body]),
      ]));
    });
  }

  function render(config, view, nodes) {
    var usage = seriesOf(view.series, config.key);
    var totals = config.key === null ? view.totals : usage && usage.totals;
    var runs = view.runs || null;
    var runSeries = runs ? seriesOf(runs.series, config.key) : null;
    var runTotals = runs ? (config.key === null ? runs.totals : (runSeries && runSeries.totals) || {}) : null;
    nodes.status.textContent =
      "Money in " + view.currency + " 货币 · buckets of one " + view.granularity + " (UTC) · " +
      view.start.slice(0, 16).replace("T", " ") + " – " + view.end.slice(0, 16).replace("T", " ") + " UTC" +
      ((totals && totals.requests) || (runTotals && runTotals.runs) ? "" : " · No usage in this range 此范围无数据");
    drawTotals(nodes.totals, totals, runTotals, view.currency);
    var times = bucketTimes(view);
    var plots = [];
    var usagePoints = pointsByTime(usage ? usage.points : []);
    USAGE_CHARTS.forEach(function (chart) {
      drawChart(nodes.charts, chart, times, usagePoints, view.currency, plots);
    });
    if (runs) {
      var runPoints = pointsByTime(runSeries ? runSeries.points : []);
      RUN_CHARTS.forEach(function (chart) {
        drawChart(nodes.charts, chart, times, runPoints, view.currency, plots);
      });
    }
    if (config.showTop) drawTop(nodes.top, view);
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        plots.forEach(function (p) { p.plot.setSize({ width: Math.max(280, p.box.clientWidth - 12), height: CHART_HEIGHT }); });
      }, 150);
    });
  }

  function errorMessage(body, status) {
    if (!body || typeof body !== "object") return "Could not load the data (HTTP " + status + ").";
    var fields = body.fields || {};
    var details = Object.keys(fields).map(function (name) { return name + ": " + [].concat(fields[name]).join(" "); });
    return String(body.detail || "HTTP " + status) + (details.length ? " (" + details.join("; ") + ")" : "");
  }

  async function main() {
    var filters = document.getElementById("usage-dashboard-filters");
    if (filters) {
      filters.addEventListener("change", function () { filters.submit(); });
    }
    var configNode = document.getElementById("usage-dashboard-config");
    if (!configNode) return;
    var config = JSON.parse(configNode.textContent);
    var nodes = {
      status: document.getElementById("usage-dashboard-status"),
      totals: document.getElementById("usage-dashboard-totals"),
      charts: document.getElementById("usage-dashboard-charts"),
      top: document.getElementById("usage-dashboard-top"),
    };
    var response;
    var body;
    try {
      response = await fetch(config.dataUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      body = await response.json();
    } catch (error) {
      nodes.status.textContent = "Could not load the data 加载失败: " + String(error);
      return;
    }
    if (!response.ok) {
      nodes.status.textContent = errorMessage(body, response.status);
      return;
    }
    if (typeof uPlot === "undefined") {
      nodes.status.textContent = "The chart library (uPlot) did not load.";
      return;
    }
    render(config, body, nodes);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", main);
  } else {
    main();
  }
})();
