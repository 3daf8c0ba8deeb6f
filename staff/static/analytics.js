// Service analytics for supervisors: one report (GET /api/v1/analytics/report) drawn as KPI cards, ECharts charts
// (staff/static/vendor/echarts.min.js, vendored: `make vendor`) and tables, for a date range and filters kept in the
// page's query string (a bookmark opens the same view). A click on a card, a bar, a point or a table row lists the
// conversations or tickets behind that number (GET /api/v1/analytics/drill); every list row links to the transcript
// or the ticket. Each table exports as CSV (GET /api/v1/analytics/export.csv).
// Customer-typed text (names, KB questions, titles) is set with textContent (shell.js fdEl()); chart tooltips are
// HTML, so everything they show passes through esc(), and chart labels are drawn on the canvas.
(function () {
  "use strict";
  const t = window.fdI18n.t;
  const { fdEl: el, fdClear: clear, fdApi: api } = window;
  const $ = (id) => document.getElementById(id);
  const pdca = window.fdAnalyticsPdca; // analytics-pdca.js: targets, notes, chart annotations
  const FILTERS = ["channel", "language", "team", "queue", "category", "priority", "agent"];
  const RANGE = ["from", "to"];
  const DRILL_PAGE = 100;
  const PRIORITY_ORDER = ["urgent", "high", "normal", "low"];
  // Chart colours, each at least 3:1 on white.
  const COLOURS = { blue: "#1f6fb2", teal: "#12806f", orange: "#b55a00", red: "#b42336", green: "#2f7d32", grey: "#6e7781" };
  const PALETTE = ["#1f6fb2", "#12806f", "#b55a00", "#7b3fa0", "#b42336", "#5a6b00", "#0e6a8a", "#8a4b6b", "#6e7781"];

  let state = readQuery(); // {from?, to?, channel?, …}: what the URL says
  let report = null;
  let drill = null; // {params, rows, total, kind}

  // ---- the query string ----
  function readQuery() {
    const query = new URLSearchParams(window.location.search);
    const read = {};
    [...RANGE, ...FILTERS].forEach((key) => { if (query.get(key)) read[key] = query.get(key); });
    return read;
  }

  function queryString(extra) {
    const query = new URLSearchParams();
    Object.entries(Object.assign({}, state, extra || {})).forEach(([key, value]) => {
      if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
    });
    return query.toString();
  }

  // ---- words and numbers in the page's language ----
  function locale() { return window.fdI18n.lang === "zh" ? "zh-CN" : "en-GB"; }
  function number(value, digits) {
    return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits || 0 }).format(value);
  }
  function percent(ratio) {
    return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(ratio);
  }

  // A duration (seconds) in the largest two units that matter: "45 s", "12 min", "3 h 20 min", "2 d 4 h".
  function duration(seconds) {
    const s = Math.abs(seconds);
    if (s < 60) return t("{n} s", { n: number(s) });
    if (s < 3600) return t("{n} min", { n: number(s / 60, s < 600 ? 1 : 0) });
    if (s < 86400) {
      const minutes = Math.round(s / 60);
      const h = Math.floor(minutes / 60);
      const m = minutes % 60;
      return m ? t("{h} h {m} min", { h: number(h), m: number(m) }) : t("{h} h", { h: number(h) });
    }
    const hours = Math.round(s / 3600);
    const d = Math.floor(hours / 24);
    const h = hours % 24;
    return h ? t("{d} d {h} h", { d: number(d), h: number(h) }) : t("{d} d", { d: number(d) });
  }

  // A KPI's value by its unit; "–" when there was nothing to measure.
  function valueText(value, unit) {
    if (value === null || value === undefined) return "–";
    if (unit === "ratio") return percent(value);
    if (unit === "seconds") return duration(value);
    if (unit === "count") return number(value);
    if (String(unit).indexOf("1000") >= 0) return t("{n} per 1,000", { n: number(value, 2) });
    return number(value, 2);
  }

  function day(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric", timeZone: "UTC" }).format(Date.UTC(y, m - 1, d));
  }
  function fullDay(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeZone: "UTC" }).format(Date.UTC(y, m - 1, d));
  }
  const when = window.fdTime; // shell.js

  function esc(text) {
    const entities = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
    return String(text).replace(/[&<>"']/g, (c) => entities[c]);
  }

  function kpiLabel(key) {
    const labels = {
      conversations: t("Conversations"), containment: t("Bot containment"), handoff_rate: t("Handoff rate"),
      abandonment_rate: t("Abandoned in queue"), queue_wait_p50: t("Queue wait p50"), queue_wait_p90: t("Queue wait p90"),
      first_response_p50: t("First response p50"), first_response_p90: t("First response p90"),
      first_response_bh_p90: t("First response p90 (business hours)"), next_reply_p50: t("Next reply p50"),
      handle_p50: t("Handle time p50"), tickets: t("Tickets"), resolution_p50: t("Resolution p50"),
      resolution_p90: t("Resolution p90"), sla_first_response: t("SLA met: first response"),
      sla_resolution: t("SLA met: resolution"), reopen_rate: t("Reopen rate (7 days)"),
      fcr: t("First-contact resolution"), csat: t("CSAT"), survey_response_rate: t("Survey response rate"),
      complaint_rate: t("Complaints per 1,000 conversations"), kb_answer_rate: t("KB answer rate"),
      kb_helpful_rate: t("KB helpful rate"),
      // drill-downs that are not KPIs
      volume: t("Conversations"), first_response: t("First response time"), resolution: t("Resolution time"),
      sla: t("SLA attainment"), category: t("Category"), handoff_reason: t("Handoff reason"), channel: t("Channel"),
      language: t("Language"), kb_not_found: t("No answer found"), kb_unhelpful: t("Marked unhelpful"),
    };
    return Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : key;
  }

  // Codes the report uses beyond shell.js fdLabel's (which words languages and handoff reasons too): buckets.
  function label(code) {
    const labels = {
      "0-1h": t("under 1 h"), "1-4h": t("1–4 h"), "4-8h": t("4–8 h"), "8-24h": t("8–24 h"), "24h+": t("over 24 h"),
    };
    if (code === null || code === undefined || code === "") return "–";
    return Object.prototype.hasOwnProperty.call(labels, code) ? labels[code] : window.fdLabel(code);
  }

  // ---- the filter form ----
  function isoToday() {
    // Today in the business time zone the report's days are counted in (Asia/Shanghai by default), not the browser's:
    // a supervisor abroad, or anyone after midnight UTC+8 but before it locally, gets the same "last 7 days".
    const tz = (report && report.range && report.range.tz) || undefined;
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date());
    const part = (type) => parts.find((p) => p.type === type).value;
    return `${part("year")}-${part("month")}-${part("day")}`;
  }
  function isoDaysBefore(iso, days) {
    const [y, m, d] = iso.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d - days)).toISOString().slice(0, 10);
  }

  function fillSelect(select, values, chosen) {
    clear(select);
    select.appendChild(el("option", { value: "" }, t("all")));
    const seen = new Set();
    values.forEach(([value, text]) => {
      seen.add(value);
      select.appendChild(el("option", { value }, text));
    });
    if (chosen && !seen.has(chosen)) select.appendChild(el("option", { value: chosen }, chosen)); // a bookmark's
    select.value = chosen || "";
  }

  function renderForm() {
    const options = (report && report.options) || {};
    const pairs = (list) => (list || []).map((code) => [code, label(code)]);
    fillSelect($("f-channel"), pairs(options.channels), state.channel);
    fillSelect($("f-language"), pairs(options.languages), state.language);
    fillSelect($("f-team"), (options.teams || []).map((x) => [x.id, x.name || x.id]), state.team);
    fillSelect($("f-queue"), (options.queues || []).map((q) => [q, q]), state.queue);
    fillSelect($("f-category"), pairs(options.categories), state.category);
    fillSelect($("f-priority"), pairs(options.priorities), state.priority);
    fillSelect($("f-agent"), (options.agents || []).map((a) => [a.username, a.display_name ? `${a.display_name} (${a.username})` : a.username]), state.agent);
    const range = (report && report.range) || {};
    $("f-from").value = state.from || range.from || "";
    $("f-to").value = state.to || range.to || "";
    document.querySelectorAll(".presets button").forEach((button) => {
      const days = Number(button.dataset.days);
      button.setAttribute("aria-pressed", String(range.days === days && range.to === isoToday()));
    });
  }

  function readForm() {
    const read = {};
    if ($("f-from").value) read.from = $("f-from").value;
    if ($("f-to").value) read.to = $("f-to").value;
    document.querySelectorAll("#filter-selects select").forEach((select) => {
      if (select.value) read[select.dataset.filter] = select.value;
    });
    return read;
  }

  function go(next) {
    state = next;
    const query = queryString();
    window.history.pushState(null, "", window.location.pathname + (query ? "?" + query : ""));
    closeDrill();
    load();
  }

  // ---- KPI cards ----
  // The change against the previous period: percentage points for ratios, a relative change otherwise (the
  // difference itself when the previous value was 0). `tone`: good | bad | neutral, by the KPI's `better`.
  function change(kpi) {
    if (kpi.value === null || kpi.value === undefined || kpi.previous === null || kpi.previous === undefined) {
      return { text: t("no earlier figure"), arrow: "", tone: "neutral" };
    }
    const diff = kpi.value - kpi.previous;
    const arrow = diff > 0 ? "▲" : diff < 0 ? "▼" : "=";
    const tone = diff === 0 || kpi.better === "none" ? "neutral"
      : (diff > 0) === (kpi.better === "up") ? "good" : "bad";
    const sign = diff > 0 ? "+" : diff < 0 ? "−" : "±";
    let text;
    if (kpi.unit === "ratio") text = t("{n} pts", { n: sign + number(Math.abs(diff) * 100, 1) });
    else if (kpi.previous) text = sign + percent(Math.abs(diff / kpi.previous));
    else text = sign + (kpi.unit === "seconds" ? duration(diff) : number(Math.abs(diff), 2));
    return { text, arrow, tone };
  }

  function kpiCard(kpi) {
    const moved = change(kpi);
    const card = el("button", {
      type: "button", className: "kpi" + (kpi.breached ? " breached" : ""), dataset: { kpi: kpi.key },
      onclick: () => { pdca.select(kpi.key); openDrill({ metric: kpi.key }); },
      title: t("Previous period: {value}", { value: valueText(kpi.previous, kpi.unit) }),
    },
    el("span", { className: "kpi-label" }, kpiLabel(kpi.key)),
    el("span", { className: "kpi-value" }, valueText(kpi.value, kpi.unit)),
    el("span", { className: "kpi-change " + moved.tone }, moved.arrow ? el("span", { "aria-hidden": "true" }, moved.arrow + " ") : null, moved.text));
    if (kpi.target) {
      const target = t("Target {op} {value}", { op: kpi.target.op === "<=" ? "≤" : "≥", value: valueText(kpi.target.value, kpi.unit) });
      card.appendChild(el("span", { className: "kpi-target" + (kpi.breached ? " missed" : " met") },
        kpi.breached ? t("{target} · missed", { target }) : t("{target} · met", { target })));
    }
    if (kpi.n !== undefined && kpi.n !== null) card.appendChild(el("span", { className: "kpi-n" }, t("n = {n}", { n: number(kpi.n) })));
    return card;
  }

  function renderKpis() {
    const box = $("kpis");
    clear(box);
    report.kpis.forEach((kpi) => box.appendChild(kpiCard(kpi)));
    const range = report.range;
    $("range-text").textContent = t("{from} – {to} ({days} days, {tz})", { from: fullDay(range.from), to: fullDay(range.to), days: number(range.days), tz: range.tz });
    $("previous-text").textContent = report.previous
      ? t("Changes against {from} – {to}", { from: fullDay(report.previous.from), to: fullDay(report.previous.to) })
      : "";
  }

  // ---- charts ----
  const chartNodes = () => Array.from(document.querySelectorAll(".chart"));

  function chart(id) {
    const node = $(id);
    const old = window.echarts.getInstanceByDom(node);
    if (old) old.dispose();
    const instance = window.echarts.init(node, null, { locale: window.fdI18n.lang === "zh" ? "ZH" : "EN" });
    // The chart's aria-label is its caption (ECharts' own description reads out raw series data).
    const figure = node.closest("figure");
    const caption = figure.querySelector("figcaption span[data-i18n]") || figure.querySelector("figcaption");
    instance.setOption({ aria: { enabled: true, label: { description: caption.textContent } } });
    return instance;
  }

  function base(extra) {
    return Object.assign({
      animation: false,
      color: PALETTE,
      textStyle: { fontFamily: 'system-ui, "Noto Sans CJK SC", "PingFang SC", sans-serif', color: "#1f2328" },
      grid: { left: 12, right: 16, top: 40, bottom: 12 },
      tooltip: { confine: true },
    }, extra);
  }

  // ECharts' "no data" is an empty grid; say so instead.
  function empty(instance) {
    instance.setOption({
      title: { text: t("No data in this range"), left: "center", top: "middle", textStyle: { color: "#57606a", fontSize: 13, fontWeight: "normal" } },
    });
  }

  const percentAxis = { type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => percent(v) } };

  function tooltipLines(title, lines) {
    return `<strong>${esc(title)}</strong><br>` + lines.map(([marker, name, value]) => `${marker || ""}${esc(name)}: <strong>${esc(value)}</strong>`).join("<br>");
  }

  function axisTooltip(formatValue, titleOf) {
    return {
      trigger: "axis", confine: true,
      formatter: (items) => tooltipLines(titleOf(items[0].dataIndex), items.map((p) => [p.marker, p.seriesName, formatValue(p)])),
    };
  }

  function volumeChart() {
    const s = report.series;
    const instance = chart("chart-volume");
    const names = [t("Conversations"), t("Handoffs"), t("Bot containment")];
    instance.setOption(base({
      legend: { top: 4 },
      tooltip: axisTooltip((p) => (p.seriesIndex === 2 ? valueText(p.value, "ratio") : number(p.value || 0)), (i) => fullDay(s.days[i])),
      xAxis: { type: "category", data: s.days.map(day) },
      yAxis: [{ type: "value", minInterval: 1 }, Object.assign({ splitLine: { show: false } }, percentAxis)],
      series: [
        { name: names[0], type: "bar", barMaxWidth: 48, data: s.conversations, itemStyle: { color: COLOURS.blue }, markLine: pdca.markLine(report) },
        { name: names[1], type: "bar", barMaxWidth: 48, data: s.handoffs, itemStyle: { color: COLOURS.orange } },
        { name: names[2], type: "line", yAxisIndex: 1, data: s.containment, connectNulls: false, itemStyle: { color: COLOURS.teal }, symbolSize: 7 },
      ],
    }));
    const metrics = ["volume", "handoff_rate", "containment"];
    instance.on("click", (p) => openDrill({ metric: metrics[p.seriesIndex], day: s.days[p.dataIndex] }));
    if (!(s.conversations || []).some((n) => n)) empty(instance);
  }

  function distributionChart(id, metric, colour) {
    const d = report.distributions;
    const counts = d[metric] || [];
    const instance = chart(id);
    instance.setOption(base({
      tooltip: axisTooltip((p) => number(p.value || 0), (i) => label(d.buckets[i])),
      xAxis: { type: "category", data: d.buckets.map(label), axisLabel: { interval: 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: metric === "resolution" ? t("Tickets") : t("Conversations"), type: "bar", barMaxWidth: 48, data: counts, itemStyle: { color: colour }, label: { show: true, position: "top", formatter: (p) => (p.value ? number(p.value) : "") } }],
    }));
    instance.on("click", (p) => openDrill({ metric, bucket: d.buckets[p.dataIndex] }));
    if (!counts.some((n) => n)) empty(instance);
  }

  // Met and missed counts per priority, one stack per clock; a click lists the met or the missed ones.
  function slaChart() {
    const rows = report.sla || [];
    const priorities = PRIORITY_ORDER.filter((p) => rows.some((r) => r.priority === p))
      .concat(rows.map((r) => r.priority).filter((p, i, all) => !PRIORITY_ORDER.includes(p) && all.indexOf(p) === i));
    const clocks = ["first_response", "resolution"];
    const find = (priority, clock) => rows.find((r) => r.priority === priority && r.clock === clock);
    const series = [];
    const colours = { first_response: [COLOURS.green, COLOURS.red], resolution: ["#5f9e62", "#d4707e"] };
    clocks.forEach((clock) => {
      [true, false].forEach((met, i) => {
        series.push({
          name: `${window.fdLabel(clock)}: ${met ? t("met") : t("missed")}`, type: "bar", barMaxWidth: 48, stack: clock,
          data: priorities.map((p) => { const r = find(p, clock); return r ? (met ? r.met : r.missed) : 0; }),
          itemStyle: { color: colours[clock][i] }, clock, met,
        });
      });
    });
    const instance = chart("chart-sla");
    instance.setOption(base({
      legend: { top: 4, itemGap: 8, itemWidth: 14 },
      grid: { left: 12, right: 16, top: 64, bottom: 12 },
      tooltip: {
        trigger: "axis", confine: true,
        formatter: (items) => {
          const priority = priorities[items[0].dataIndex];
          const lines = clocks.map((clock) => {
            const r = find(priority, clock);
            return ["", window.fdLabel(clock), r ? t("{met} met, {missed} missed ({rate})", { met: number(r.met), missed: number(r.missed), rate: r.rate === null || r.rate === undefined ? "–" : percent(r.rate) }) : "–"];
          });
          return tooltipLines(window.fdLabel(priority), lines);
        },
      },
      xAxis: { type: "category", data: priorities.map(window.fdLabel) },
      yAxis: { type: "value", minInterval: 1 },
      series: series.map(({ clock, met, ...rest }) => rest),
    }));
    instance.on("click", (p) => {
      const { clock, met } = series[p.seriesIndex];
      const priority = priorities[p.dataIndex];
      openDrill({ metric: "sla", priority, clock, met: String(met) });
    });
    if (!rows.length) empty(instance);
  }

  function csatChart() {
    const s = report.series;
    const instance = chart("chart-csat");
    instance.setOption(base({
      tooltip: axisTooltip((p) => valueText(p.value, "ratio"), (i) => fullDay(s.days[i])),
      xAxis: { type: "category", data: s.days.map(day) },
      yAxis: percentAxis,
      series: [{ name: t("CSAT"), type: "line", data: s.csat, connectNulls: true, itemStyle: { color: COLOURS.green }, symbolSize: 7, markLine: pdca.markLine(report) }],
    }));
    instance.on("click", (p) => openDrill({ metric: "csat", day: s.days[p.dataIndex] }));
    if (!(s.csat || []).some((v) => v !== null && v !== undefined)) empty(instance);
  }

  function mixData(list) { return (list || []).map((item) => ({ name: label(item.key), value: item.count, key: item.key })); }

  function categoryChart() {
    const data = mixData(report.mix.categories);
    const instance = chart("chart-category");
    instance.setOption(base({
      tooltip: { trigger: "item", confine: true, formatter: (p) => tooltipLines(p.name, [[p.marker, t("Tickets"), `${number(p.value)} (${percent(p.percent / 100)})`]]) },
      series: [{
        name: t("Category"), type: "pie", radius: ["30%", "55%"], center: ["50%", "52%"], data, showEmptyCircle: false,
        label: { formatter: (p) => `${p.name}\n${percent(p.percent / 100)}`, color: "#1f2328", overflow: "none" },
      }],
    }));
    instance.on("click", (p) => openDrill({ metric: "category", key: p.data.key }));
    if (!data.length) empty(instance);
  }

  function handoffChart() {
    const data = mixData(report.mix.handoff_reasons).sort((a, b) => a.value - b.value);
    const instance = chart("chart-handoff");
    instance.setOption(base({
      tooltip: axisTooltip((p) => number(p.value || 0), (i) => data[i].name),
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: data.map((d) => d.name) },
      series: [{ name: t("Handoffs"), type: "bar", barMaxWidth: 48, data: data.map((d) => d.value), itemStyle: { color: COLOURS.orange }, label: { show: true, position: "right", formatter: (p) => number(p.value) } }],
    }));
    instance.on("click", (p) => openDrill({ metric: "handoff_reason", key: data[p.dataIndex].key }));
    if (!data.length) empty(instance);
  }

  function renderCharts() {
    volumeChart();
    distributionChart("chart-first-response", "first_response", COLOURS.blue);
    distributionChart("chart-resolution", "resolution", "#7b3fa0");
    slaChart();
    csatChart();
    categoryChart();
    handoffChart();
  }

  // ---- tables ----
  function cells(row, values) {
    values.forEach(([value, numeric]) => row.appendChild(el("td", { className: numeric ? "num" : "" }, value)));
    return row;
  }
  const dur = (s) => (s === null || s === undefined ? "–" : duration(s));
  const pct = (r) => (r === null || r === undefined ? "–" : percent(r));

  function renderTables() {
    const agents = document.querySelector("#agents tbody");
    clear(agents);
    report.agents.forEach((a) => {
      const name = a.display_name ? `${a.display_name} (${a.agent})` : a.agent;
      agents.appendChild(cells(el("tr", { className: "clickable", tabindex: "0", dataset: { agent: a.agent }, onclick: () => openDrill({ metric: "conversations", agent: a.agent }) }),
        [[name], [number(a.conversations), true], [dur(a.first_response_p50), true], [dur(a.handle_p50), true], [pct(a.csat), true], [number(a.csat_n || 0), true]]));
    });
    if (!report.agents.length) agents.appendChild(el("tr", {}, el("td", { colspan: "6", className: "muted" }, t("none"))));

    const teams = document.querySelector("#teams tbody");
    clear(teams);
    report.teams.forEach((x) => {
      teams.appendChild(cells(el("tr", { className: "clickable", tabindex: "0", dataset: { team: x.team }, onclick: () => openDrill({ metric: "conversations", team: x.team }) }),
        [[x.name || x.team], [number(x.conversations), true], [number(x.tickets), true], [dur(x.first_response_p50), true], [dur(x.resolution_p50), true], [pct(x.csat), true], [number(x.csat_n || 0), true]]));
    });
    if (!report.teams.length) teams.appendChild(el("tr", {}, el("td", { colspan: "7", className: "muted" }, t("none"))));

    const kb = report.kb || {};
    const rates = $("kb-rates");
    clear(rates);
    [[t("Answered"), kb.answer_rate], [t("Asked to clarify"), kb.clarify_rate], [t("No answer found"), kb.not_found_rate], [t("Marked helpful"), kb.helpful_rate]]
      .forEach(([name, value]) => rates.appendChild(el("div", {}, el("dt", {}, name), el("dd", {}, pct(value)))));
    const notFound = document.querySelector("#kb-not-found tbody");
    clear(notFound);
    const drillRow = (params) => el("tr", { className: "clickable", tabindex: "0", onclick: () => openDrill(params) });
    (kb.not_found_top || []).forEach((q) => notFound.appendChild(cells(drillRow({ metric: "kb_not_found", key: q.query }), [[q.query], [number(q.count), true]])));
    if (!(kb.not_found_top || []).length) notFound.appendChild(el("tr", {}, el("td", { colspan: "2", className: "muted" }, t("none"))));
    const unhelpful = document.querySelector("#kb-unhelpful tbody");
    clear(unhelpful);
    (kb.unhelpful_entries || []).forEach((e) => unhelpful.appendChild(cells(drillRow({ metric: "kb_unhelpful", key: e.entry }), [[e.entry], [e.title || "–"], [number(e.count), true]])));
    if (!(kb.unhelpful_entries || []).length) unhelpful.appendChild(el("tr", {}, el("td", { colspan: "3", className: "muted" }, t("none"))));
  }

  function renderExports() {
    document.querySelectorAll("a.csv").forEach((a) => {
      a.href = "/api/v1/analytics/export.csv?" + queryString({ table: a.dataset.table });
      a.setAttribute("download", "");
    });
  }

  // ---- the drill-down list ----
  function sameSitePath(link) {
    return typeof link === "string" && link.charAt(0) === "/" && link.charAt(1) !== "/" && link.indexOf("\\") < 0;
  }

  // Names for the ids a drill row carries, from the report's filter options; the id itself when unknown.
  function agentName(username) {
    const agent = username && ((report && report.options.agents) || []).find((a) => a.username === username);
    return agent && agent.display_name ? agent.display_name : username || "–";
  }
  function teamName(id) {
    const team = id && ((report && report.options.teams) || []).find((x) => x.id === id);
    return team && team.name ? team.name : id || "–";
  }

  function drillRow(row) {
    const isTicket = Boolean(row.ticket);
    const name = isTicket ? row.ticket : t("Transcript {id}", { id: String(row.conversation_id || "").slice(0, 8) });
    const target = [sameSitePath(row.link) ? el("a", { href: row.link, title: row.conversation_id || "" }, name) : name];
    if (isTicket && row.conversation_id) { // the chat the ticket came from, beside it
      const chat = "/console/conversations/" + encodeURIComponent(row.conversation_id);
      target.push(" · ", el("a", { href: chat, className: "chat", title: row.conversation_id }, t("Transcript")));
    }
    const met = row.met === true ? t("met") : row.met === false ? t("missed") : "–";
    return cells(el("tr", { dataset: { conversation: row.conversation_id || "", ticket: row.ticket || "" } }), [
      [when(row.opened_at)], [target], [row.customer || "–"], [label(row.channel)], [label(row.language)],
      [agentName(row.agent)], [teamName(row.team)], [label(row.category)], [label(row.priority)],
      [dur(row.value_s), true], [met],
    ]);
  }

  function renderDrill() {
    if (!drill) return;
    $("drill-what").textContent = describe(drill.params);
    const body = document.querySelector("#drill-rows tbody");
    clear(body);
    drill.rows.forEach((row) => body.appendChild(drillRow(row)));
    $("drill-empty").hidden = drill.rows.length > 0;
    $("drill-count").textContent = t("{shown} of {total}", { shown: number(drill.rows.length), total: number(drill.total) });
    $("drill-more").hidden = drill.rows.length >= drill.total;
  }

  async function loadDrill(offset) {
    const current = drill;
    try {
      const data = await api("GET", "/api/v1/analytics/drill?" + queryString(Object.assign({}, current.params, { limit: DRILL_PAGE, offset })));
      if (drill !== current) return; // another drill-down was asked for meanwhile
      current.rows = offset ? current.rows.concat(data.rows) : data.rows;
      current.total = data.total;
      current.kind = data.kind;
      renderDrill();
    } catch (e) {
      $("flash").textContent = problem(e);
    }
  }

  // What a drill-down lists, in words: the metric, then what narrows it (a day, a bucket, a key, an SLA clock, …).
  function describe(params) {
    const parts = [kpiLabel(params.metric)];
    if (params.day) parts.push(fullDay(params.day));
    if (params.bucket) parts.push(label(params.bucket));
    if (params.key) parts.push(label(params.key));
    if (params.priority) parts.push(window.fdLabel(params.priority));
    if (params.clock) parts.push(window.fdLabel(params.clock));
    if (params.met) parts.push(params.met === "true" ? t("met") : t("missed"));
    if (params.agent) parts.push(agentName(params.agent));
    if (params.team) parts.push(teamName(params.team));
    return parts.join(" · ");
  }

  async function openDrill(params) {
    drill = { params, rows: [], total: 0, kind: "conversation" };
    $("drill").hidden = false;
    renderDrill();
    await loadDrill(0);
    $("drill").scrollIntoView({ block: "start" });
  }

  function closeDrill() {
    drill = null;
    $("drill").hidden = true;
  }

  // A refused query in words (the range and filters come from the address, which anyone may edit); the server's own
  // message for anything else.
  function problem(error) {
    const words = {
      bad_date: t("A date in the address is not a valid date."), reversed_range: t("The range ends before it starts."),
      range_too_long: t("A range covers at most a year."), unknown_filter: t("The address has a filter this page does not know."),
      bad_filter: t("A filter in the address has a value that cannot match."),
    };
    return Object.prototype.hasOwnProperty.call(words, error.code) ? words[error.code] : error.message;
  }

  // ---- loading ----
  function render() {
    if (!report) return;
    renderForm();
    renderKpis();
    renderCharts();
    renderTables();
    renderExports();
    renderDrill();
    pdca.render(report, { kpiLabel, valueText, reload: load });
  }

  let loading = 0;
  async function load() {
    const ticket = ++loading;
    $("loading").hidden = false;
    try {
      const data = await api("GET", "/api/v1/analytics/report?" + queryString());
      if (ticket !== loading) return;
      report = data;
      $("flash").textContent = "";
      render();
      document.body.dataset.ready = "true";
    } catch (e) {
      if (ticket === loading) $("flash").textContent = problem(e);
    } finally {
      if (ticket === loading) $("loading").hidden = true;
    }
  }

  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    go(readForm());
  });
  $("reset").addEventListener("click", () => go({ from: state.from, to: state.to }));
  document.querySelectorAll(".presets button").forEach((button) => {
    button.addEventListener("click", () => {
      const to = isoToday();
      go(Object.assign(readForm(), { from: isoDaysBefore(to, Number(button.dataset.days) - 1), to }));
    });
  });
  $("drill-close").addEventListener("click", closeDrill);
  $("drill-more").addEventListener("click", () => loadDrill(drill.rows.length));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.matches && event.target.matches("tr.clickable")) event.target.click();
  });
  window.addEventListener("popstate", () => { state = readQuery(); closeDrill(); load(); });
  window.addEventListener("resize", () => chartNodes().forEach((node) => {
    const instance = window.echarts.getInstanceByDom(node);
    if (instance) instance.resize();
  }));
  document.addEventListener("fd:language", render);
  window.fdI18n.ready.then(load);
})();
