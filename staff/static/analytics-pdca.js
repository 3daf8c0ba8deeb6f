// PDCA on the analytics page (analytics.html, drawn by analytics.js): set or clear a KPI's target (PUT / DELETE
// /api/v1/analytics/targets/{kpi}), add a note to a day (POST /api/v1/analytics/annotations), list the changes of the
// range (the report's `annotations`) and mark them on the time-series charts (ECharts markLine).
// analytics.js calls window.fdAnalyticsPdca.render(report, helpers) after each load, .select(kpi) when a card is
// clicked and .markLine(report) for each time-series chart. Every staff-written text (notes, FAQ questions) is set
// with textContent or drawn on the canvas, never parsed as HTML. Calls go through shell.js fdApi (CSRF token).
(function () {
  "use strict";
  const t = window.fdI18n.t;
  const { fdEl: el, fdClear: clear, fdApi: api } = window;
  const $ = (id) => document.getElementById(id);
  const PRIORITIES = ["urgent", "high", "normal", "low"];
  // Targets are typed as people think of them: a ratio in per cent, seconds in minutes.
  const SCALE = { ratio: 100, seconds: 1 / 60 };

  let report = null;
  let helpers = null; // {kpiLabel(key), valueText(value, unit), reload()}
  let targets = []; // GET /api/v1/analytics/targets

  function kindLabel(kind) {
    const words = {
      note: t("Note"), setting: t("Setting changed"), target: t("Target changed"),
      faq_published: t("FAQ published"), faq_unpublished: t("FAQ unpublished"), faq_archived: t("FAQ archived"),
    };
    return Object.prototype.hasOwnProperty.call(words, kind) ? words[kind] : kind;
  }

  function unitHint(unit) {
    if (unit === "ratio") return "%";
    if (unit === "seconds") return t("minutes");
    if (unit === "per_1000") return t("per 1,000");
    return "";
  }

  function kpiOf(key) { return (report.kpis || []).find((k) => k.key === key); }

  function scopeText(scope) {
    if (!scope) return "";
    const [name, value] = Object.entries(scope)[0];
    return " · " + t("only {name} = {value}", { name: t(name), value: t(value) });
  }

  function say(text) { $("pdca-flash").textContent = text; }

  // The form shows the chosen KPI's target (the one of its priority scope when one is chosen).
  function fillForm() {
    const key = $("t-kpi").value;
    const kpi = kpiOf(key);
    if (!kpi) return;
    $("t-unit").textContent = unitHint(kpi.unit);
    const priority = $("t-priority").value;
    const stored = targets.find((x) => x.kpi === key && (priority ? x.scope && x.scope.priority === priority : !x.scope));
    $("t-op").value = stored ? stored.op : (kpi.better === "down" ? "<=" : ">=");
    const scale = SCALE[kpi.unit] || 1;
    $("t-value").value = stored ? String(Math.round(stored.value * scale * 1000) / 1000) : "";
    $("t-clear").disabled = !stored;
  }

  function renderTargetList() {
    const list = $("target-list");
    clear(list);
    targets.forEach((target) => {
      const op = target.op === "<=" ? "≤" : "≥";
      list.appendChild(el("li", {}, `${helpers.kpiLabel(target.kpi)} ${op} ${helpers.valueText(target.value, target.unit)}${scopeText(target.scope)}`));
    });
    if (!targets.length) list.appendChild(el("li", { className: "muted" }, t("No targets yet")));
  }

  function renderAnnotations() {
    const list = $("annotation-list");
    clear(list);
    (report.annotations || []).forEach((a) => {
      list.appendChild(el("li", {}, el("strong", {}, `${a.day} · ${kindLabel(a.kind)}`), " ", a.label));
    });
    if (!(report.annotations || []).length) list.appendChild(el("li", { className: "muted" }, t("No changes or notes in this range")));
  }

  function fillSelects() {
    const kpiSelect = $("t-kpi");
    const chosen = kpiSelect.value;
    clear(kpiSelect);
    report.kpis.forEach((kpi) => kpiSelect.appendChild(el("option", { value: kpi.key }, helpers.kpiLabel(kpi.key))));
    if (chosen) kpiSelect.value = chosen;
    const prioritySelect = $("t-priority");
    const priority = prioritySelect.value;
    clear(prioritySelect);
    prioritySelect.appendChild(el("option", { value: "" }, t("Every priority")));
    PRIORITIES.forEach((p) => prioritySelect.appendChild(el("option", { value: p }, t(p))));
    prioritySelect.value = priority;
  }

  async function render(nextReport, nextHelpers) {
    report = nextReport;
    helpers = nextHelpers;
    fillSelects();
    renderAnnotations();
    $("weekly-link").href = "/console/analytics/weekly";
    try {
      targets = (await api("GET", "/api/v1/analytics/targets")).targets || [];
    } catch (e) {
      say(e.message);
      targets = [];
    }
    renderTargetList();
    fillForm();
  }

  function select(key) {
    if (!report) return;
    $("t-kpi").value = key;
    fillForm();
  }

  function scopeBody() {
    const priority = $("t-priority").value;
    return priority ? { priority } : null;
  }

  async function saveTarget(event) {
    event.preventDefault();
    const kpi = kpiOf($("t-kpi").value);
    const typed = Number($("t-value").value);
    if (!kpi || $("t-value").value === "" || !Number.isFinite(typed)) { say(t("Enter a number for the target.")); return; }
    const body = { op: $("t-op").value, value: typed / (SCALE[kpi.unit] || 1) };
    const scope = scopeBody();
    if (scope) body.scope = scope;
    try {
      await api("PUT", "/api/v1/analytics/targets/" + encodeURIComponent(kpi.key), body);
      say(t("Target saved."));
      helpers.reload();
    } catch (e) {
      say(e.code === "bad_value" ? t("That target is out of this figure's range.") : e.message);
    }
  }

  async function clearTarget() {
    const key = $("t-kpi").value;
    const scope = scopeBody();
    const query = scope ? "?priority=" + encodeURIComponent(scope.priority) : "";
    try {
      await api("DELETE", "/api/v1/analytics/targets/" + encodeURIComponent(key) + query);
      say(t("Target cleared."));
      helpers.reload();
    } catch (e) {
      say(e.message);
    }
  }

  async function addNote(event) {
    event.preventDefault();
    const text = $("n-text").value.trim();
    if (!text) return;
    try {
      await api("POST", "/api/v1/analytics/annotations", { text, day: $("n-day").value || null });
      $("n-text").value = "";
      say(t("Note added."));
      helpers.reload();
    } catch (e) {
      say(e.message);
    }
  }

  // One dashed line per annotated day of the range, labelled with what changed (or how many things did).
  function markLine(forReport) {
    const days = forReport.series.days;
    const byDay = new Map();
    (forReport.annotations || []).forEach((a) => {
      const index = days.indexOf(a.day);
      if (index < 0) return;
      if (!byDay.has(index)) byDay.set(index, []);
      byDay.get(index).push(a);
    });
    if (!byDay.size) return undefined;
    return {
      symbol: ["none", "none"], animation: false, silent: true,
      lineStyle: { color: "#57606a", type: "dashed", width: 1 },
      label: { show: true, position: "insideEndTop", color: "#3d444d", fontSize: 11, formatter: (p) => p.name },
      data: [...byDay].map(([index, list]) => ({
        xAxis: index,
        name: list.length === 1 ? kindLabel(list[0].kind) : t("{n} changes", { n: list.length }),
      })),
    };
  }

  $("target-form").addEventListener("submit", saveTarget);
  $("t-kpi").addEventListener("change", fillForm);
  $("t-priority").addEventListener("change", fillForm);
  $("t-clear").addEventListener("click", clearTarget);
  $("note-form").addEventListener("submit", addNote);
  window.fdAnalyticsPdca = { render, select, markLine, kindLabel };
})();
