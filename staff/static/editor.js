// The FAQ editor page. Every string that a customer or an editor typed is shown with textContent; the only HTML
// inserted is the answer preview, which the server renders from Markdown and sanitises (nh3) before sending.
(function () {
  "use strict";

  const t = window.fdI18n.t;
  const $ = (id) => document.getElementById(id);
  const state = { current: null, entries: [] };

  const { fdEl: el, fdApi: api } = window; // shell.js: a 401 from the API goes to the login page

  // ----- tabs -----
  document.querySelectorAll("nav [role=tab]").forEach((tab) => {
    tab.addEventListener("click", () => {
      document.querySelectorAll("nav [role=tab]").forEach((t) => t.setAttribute("aria-selected", String(t === tab)));
      document.querySelectorAll("main [role=tabpanel]").forEach((panel) => {
        panel.hidden = panel.id !== "panel-" + tab.dataset.tab;
      });
      if (tab.dataset.tab === "unanswered") loadUnanswered();
      if (tab.dataset.tab === "calibration") loadCalibration();
    });
  });

  // ----- status line -----
  async function loadStatus() {
    try {
      const s = await api("GET", "/api/v1/kb/status");
      $("kb-status").textContent = (s.ready ? t("index ready") : t("index building…")) + " · " +
        t("{indexed} searchable of {published} published", { indexed: s.indexed, published: s.published });
    } catch (e) {
      $("kb-status").textContent = t("status unavailable");
    }
  }

  // ----- list -----
  let listTimer = null;
  async function loadEntries() {
    const params = new URLSearchParams();
    const q = $("filter-q").value.trim();
    if (q) params.set("q", q);
    ["status", "language", "category"].forEach((name) => {
      const value = $("filter-" + name).value;
      if (value) params.set(name, value);
    });
    const data = await api("GET", "/api/v1/kb/entries?" + params.toString());
    state.entries = data.entries;
    const body = $("entries").querySelector("tbody");
    body.replaceChildren(...data.entries.map((entry) => el("tr", {
      dataset: { id: entry.id }, className: state.current && state.current.id === entry.id ? "selected" : "",
      onclick: () => openEntry(entry.id),
    },
      el("td", {}, entry.question),
      el("td", {}, window.fdLabel(entry.language)),
      el("td", {}, entry.category),
      el("td", {}, el("span", { className: "status " + entry.status }, window.fdLabel(entry.status))),
      el("td", {}, entry.version),
      el("td", {}, `${entry.feedback.helpful}/${entry.feedback.unhelpful}`),
    )));
    $("list-summary").textContent = t("{shown} of {total} entries", { shown: data.entries.length, total: data.total });
    fillCategories(data.categories);
  }

  function fillCategories(categories) {
    const select = $("filter-category");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "" }, t("any category")),
      ...categories.map((c) => el("option", { value: c }, c)));
    select.value = categories.includes(chosen) ? chosen : "";
    $("categories").replaceChildren(...categories.map((c) => el("option", { value: c })));
  }

  function scheduleList() {
    clearTimeout(listTimer);
    listTimer = setTimeout(() => loadEntries().catch(showListError), 250);
  }
  function showListError(e) { $("list-summary").textContent = e.message; }
  $("filter-q").addEventListener("input", scheduleList);
  ["filter-status", "filter-language", "filter-category"].forEach((id) => $(id).addEventListener("change", scheduleList));
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); scheduleList(); });

  // ----- the form -----
  function formDraft() {
    return {
      question: $("f-question").value,
      paraphrases: $("f-paraphrases").value.split("\n").map((s) => s.trim()).filter(Boolean),
      answer: $("f-answer").value,
      category: $("f-category").value,
      language: $("f-language").value,
      tags: $("f-tags").value.split(",").map((s) => s.trim()).filter(Boolean),
    };
  }

  // The texts about an entry that this script writes (a language switch re-runs it without touching the form).
  function labelEntry(entry) {
    $("form-title").textContent = entry ? t("Edit entry") : t("New entry");
    $("form-meta").textContent = entry
      ? `${entry.id} · ${window.fdLabel(entry.status)} · ` +
        t("version {version} · by {author}", { version: entry.version, author: entry.author }) +
        ` · ${entry.indexed ? t("searchable") : t("not searchable")}`
      : t("A new entry starts as a draft.");
    $("save-publish").textContent = entry && entry.status === "published" ? t("Save") : t("Save & publish");
  }

  function showEntry(entry) {
    state.current = entry;
    $("detail").hidden = false;
    $("form-error").textContent = "";
    labelEntry(entry);
    $("f-question").value = entry ? entry.question : "";
    $("f-paraphrases").value = entry ? entry.paraphrases.join("\n") : "";
    $("f-answer").value = entry ? entry.answer : "";
    $("f-category").value = entry ? entry.category : "general";
    $("f-language").value = entry ? entry.language : "en";
    $("f-tags").value = entry ? entry.tags.join(", ") : "";
    $("f-preview").innerHTML = entry ? entry.answer_html : "";  // sanitised by the server
    $("unpublish").hidden = !entry || entry.status === "draft";
    $("archive").hidden = !entry || entry.status === "archived";
    $("save").hidden = Boolean(entry && entry.status === "published");
    $("history-box").hidden = !entry;
    $("diff").hidden = true;
    document.querySelectorAll("#entries tbody tr").forEach((row) => {
      row.classList.toggle("selected", Boolean(entry) && row.dataset.id === entry.id);
    });
    if (entry) loadHistory(entry.id);
  }

  async function openEntry(id) {
    showEntry(await api("GET", "/api/v1/kb/entries/" + encodeURIComponent(id)));
  }

  async function save(publish) {
    $("form-error").textContent = "";
    const draft = formDraft();
    try {
      let entry;
      if (state.current) {
        draft.expected_version = state.current.version;
        if (publish) draft.status = "published";
        entry = await api("PUT", "/api/v1/kb/entries/" + encodeURIComponent(state.current.id), draft);
      } else {
        draft.publish = publish;
        entry = await api("POST", "/api/v1/kb/entries", draft);
      }
      showEntry(entry);
      await loadEntries();
      loadStatus();
    } catch (e) {
      $("form-error").textContent = e.message;
    }
  }

  async function changeStatus(action) {
    if (!state.current) return;
    $("form-error").textContent = "";
    try {
      const entry = await api("POST", `/api/v1/kb/entries/${encodeURIComponent(state.current.id)}/${action}`,
        { expected_version: state.current.version });
      showEntry(entry);
      await loadEntries();
      loadStatus();
    } catch (e) {
      $("form-error").textContent = e.message;
    }
  }

  $("entry-form").addEventListener("submit", (e) => { e.preventDefault(); save(false); });
  $("save-publish").addEventListener("click", () => save(true));
  $("unpublish").addEventListener("click", () => changeStatus("unpublish"));
  $("archive").addEventListener("click", () => changeStatus("archive"));
  $("new-entry").addEventListener("click", () => { showEntry(null); $("f-question").focus(); });
  $("close-detail").addEventListener("click", () => { state.current = null; $("detail").hidden = true; });

  let previewTimer = null;
  $("f-answer").addEventListener("input", () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(async () => {
      try {
        const data = await api("POST", "/api/v1/kb/preview", { markdown: $("f-answer").value });
        $("f-preview").innerHTML = data.html;  // sanitised by the server
      } catch (e) {
        $("f-preview").textContent = e.message;
      }
    }, 300);
  });

  // ----- history, diff, restore -----
  async function loadHistory(id) {
    const data = await api("GET", `/api/v1/kb/entries/${encodeURIComponent(id)}/revisions`);
    $("history").replaceChildren(...data.revisions.map((r) => el("li", {},
      t("v{version} {action} by {author}", { version: r.version, action: window.fdLabel(r.action), author: r.author }) +
        ` · ${window.fdTime(r.at)} `,
      r.note ? el("span", { className: "muted" }, r.note + " ") : null,
      r.version > 1 ? el("button", { type: "button", className: "link", onclick: () => showDiff(id, r.version - 1, r.version) }, t("diff")) : null,
      state.current && r.version !== state.current.version
        ? el("button", { type: "button", className: "link", onclick: () => restore(id, r.version) }, t("restore")) : null,
    )));
  }

  async function showDiff(id, from, to) {
    const data = await api("GET", `/api/v1/kb/entries/${encodeURIComponent(id)}/diff?from=${from}&to=${to}`);
    const lines = [el("div", { className: "field" }, `v${data.from} → v${data.to}`)];
    if (!data.changes.length) lines.push(el("div", {}, t("no content changes")));
    data.changes.forEach((change) => {
      lines.push(el("div", { className: "field" }, change.field));
      change.lines.forEach((line) => {
        const kind = line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "";
        lines.push(el("div", { className: kind }, line));
      });
    });
    $("diff").replaceChildren(...lines);
    $("diff").hidden = false;
  }

  async function restore(id, version) {
    try {
      const entry = await api("POST", `/api/v1/kb/entries/${encodeURIComponent(id)}/restore`,
        { version, expected_version: state.current.version });
      showEntry(entry);
      await loadEntries();
    } catch (e) {
      $("form-error").textContent = e.message;
    }
  }

  // ----- try it -----
  // Why the knowledge base decided so, in the page's language: the reason code (kb/decision.py: Reason) against the
  // thresholds in force and where they came from.
  function tryWhy(result) {
    const bar = result.thresholds;
    if (!result.candidates.length || !bar) return t("Not found: the knowledge base has no entries in this language.");
    const params = {
      confidence: result.confidence.toFixed(2), answer: bar.answer.toFixed(2), clarify: bar.clarify.toFixed(2),
      ratio: Math.round(result.ambiguity_ratio * 100) + "%", shown: result.offered,
    };
    const why = {
      confident: t("Answered: confidence {confidence} reaches the answer threshold {answer}, and no other entry comes within {ratio} of it.", params),
      close_runner_up: t("Clarify: confidence {confidence} reaches the answer threshold {answer}, but another entry comes within {ratio} of it, so the customer is asked which of the top {shown} they meant.", params),
      unsure: t("Clarify: confidence {confidence} is between the clarify threshold {clarify} and the answer threshold {answer}, so the top {shown} are offered.", params),
      low_confidence: t("Not found: confidence {confidence} is below the clarify threshold {clarify}; the bot asks the customer to rephrase or hands over to a person.", params),
    }[result.reason] || "";
    const origin = bar.source === "kb"
      ? t("Thresholds fitted on {count} of the knowledge base's own questions.", { count: bar.questions })
      : bar.source === "fixed" ? t("Thresholds fixed for this language.") : t("Thresholds applied by an editor from the calibration report.");
    return why + " " + origin;
  }

  $("try-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("try-error").textContent = "";
    const query = $("try-query").value.trim();
    if (!query) return;
    try {
      const body = { query };
      if ($("try-language").value) body.language = $("try-language").value;
      const result = await api("POST", "/api/v1/kb/try", body);
      $("try-result").hidden = false;
      const decisions = { answer: t("answer"), clarify: t("clarify"), not_found: t("not found") };
      $("try-decision").textContent = decisions[result.decision] || result.decision;
      $("try-confidence").textContent = result.confidence.toFixed(2);
      $("try-elapsed").textContent = `${window.fdLabel(result.language)} · ${result.elapsed_ms} ms`;
      $("try-explanation").textContent = tryWhy(result);
      $("try-candidates").querySelector("tbody").replaceChildren(...result.candidates.map((c, i) => el("tr", {
        // The rows the customer would see: the answer, or the 2–3 entries a clarify question offers.
        className: i < (result.offered || 0) ? "selected" : "",
        dataset: { id: c.entry_id }, onclick: () => { document.getElementById("tab-entries").click(); openEntry(c.entry_id); },
      },
        el("td", {}, c.question),
        el("td", {}, c.matched_question),
        el("td", {}, c.confidence.toFixed(2)),
        el("td", {}, c.dense_score.toFixed(3)),
        el("td", {}, c.lexical_score.toFixed(3)),
      )));
      $("try-answer").textContent = result.candidates.length ? result.candidates[0].answer : "";
    } catch (err) {
      $("try-error").textContent = err.message;
    }
  });

  // ----- unanswered -----
  async function loadUnanswered() {
    const language = $("unanswered-language").value;
    try {
      const data = await api("GET", "/api/v1/kb/unanswered" + (language ? "?language=" + language : ""));
      $("unanswered-summary").textContent = data.groups.length
        ? t("{count} groups of unanswered questions, most asked first", { count: data.groups.length })
        : t("No unanswered questions.");
      $("unanswered").replaceChildren(...data.groups.map((group) => el("li", {},
        el("span", { className: "count" }, `×${group.count}`),
        el("span", { lang: group.language }, group.question),
        el("span", { className: "muted" }, " · " + Object.entries(group.reasons).map(([k, v]) => `${k} ${v}`).join(", ")),
        el("ul", { className: "examples" }, ...group.examples.map((text) => el("li", { lang: group.language }, text))),
        el("button", { type: "button", className: "make-draft", onclick: () => draftFrom(group) }, t("Create draft")),
        " ",
        el("button", { type: "button", className: "link", onclick: () => dismiss(group) }, t("Dismiss")),
      )));
    } catch (e) {
      $("unanswered-summary").textContent = e.message;
    }
  }

  async function draftFrom(group) {
    const entry = await api("POST", "/api/v1/kb/unanswered/draft", { ids: group.ids });
    document.getElementById("tab-entries").click();
    await loadEntries();
    showEntry(entry);
    $("f-answer").focus();
  }

  async function dismiss(group) {
    await api("POST", "/api/v1/kb/unanswered/dismiss", { ids: group.ids });
    loadUnanswered();
  }

  $("unanswered-language").addEventListener("change", loadUnanswered);
  $("unanswered-refresh").addEventListener("click", loadUnanswered);

  // ----- calibration: what the record says about the thresholds (staff/calibration_api.py) -----
  let calibration = null;
  const share = (value) => (value === null || value === undefined ? "–" : (100 * value).toFixed(1) + " %");
  const sourceText = (source) => ({
    kb: t("fitted by the KB on its own questions"),
    fixed: t("fixed for this language"),
    record: t("applied from this report"),
  }[source] || source);

  async function loadCalibration() {
    $("calibration-result").textContent = "";
    try {
      calibration = await api("GET", "/api/v1/kb/calibration?language=" + $("calibration-language").value);
    } catch (e) {
      $("calibration-summary").textContent = e.message;
      return;
    }
    renderCalibration();
  }

  function renderCalibration() {
    const r = calibration;
    if (!r) return;
    $("calibration-summary").textContent = t("{decisions} decisions in the last {days} days, {labelled} with a verdict: {agent} agent labels, {feedback} helpful or unhelpful answers, {handoff} handoffs soon after an answer. Target: at most {target} of all decisions answered wrongly.", {
      decisions: r.decisions, days: r.days, labelled: r.labelled, agent: r.by_evidence.agent,
      feedback: r.by_evidence.feedback, handoff: r.by_evidence.handoff, target: share(r.target_wrong_rate),
    });
    const fitted = r.fitted ? t("The KB's own fit: answer {answer}, clarify {clarify}.", {
      answer: r.fitted.answer.toFixed(3), clarify: r.fitted.clarify.toFixed(3) }) : "";
    $("calibration-source").textContent = t("Thresholds in force: {source}.", { source: sourceText(r.current_source) }) + " " + fitted;
    const now = r.current, next = r.proposal;
    const rows = [
      [t("Answer threshold"), (e) => e.answer.toFixed(3)],
      [t("Clarify threshold"), (e) => e.clarify.toFixed(3)],
      [t("Answered correctly"), (e) => share(e.answered_correctly)],
      [t("Answered wrongly"), (e) => share(e.answered_wrongly)],
      [t("Clarify"), (e) => share(e.clarified)],
      [t("Not found"), (e) => share(e.not_found)],
      [t("Answered (with a verdict)"), (e) => t("{answered} ({labelled})", { answered: e.answered, labelled: e.answered_labelled })],
    ];
    $("calibration-table").querySelector("tbody").replaceChildren(...rows.map(([name, value]) => el("tr", {},
      el("th", {}, name), el("td", {}, value(now)), el("td", {}, next ? value(next) : "–"))));
    let refusal = "";
    if (r.refusal === "too_few_labels") {
      refusal = t("No proposal yet: {labelled} decisions have a verdict and {needed} are needed. Agents label the bot's answers in the console.", { labelled: r.labelled, needed: r.min_labelled });
    } else if (r.refusal === "one_sided_labels") {
      refusal = t("No proposal yet: it needs at least {needed} decisions labelled right and {needed} labelled wrong ({right} and {wrong} so far).", { needed: r.min_each, right: r.labelled_right, wrong: r.labelled_wrong });
    } else if (next && !next.meets_target) {
      refusal = t("No threshold meets the target on this evidence: the proposal is the highest answer threshold allowed.");
    }
    $("calibration-refusal").textContent = refusal;
    $("calibration-apply").disabled = !next;
    $("calibration-reset").hidden = r.current_source !== "record";
  }

  async function changeThresholds(path, body) {
    const language = $("calibration-language").value;
    try {
      const done = await api("POST", `/api/v1/kb/calibration/${language}/${path}`, body);
      await loadCalibration();
      $("calibration-result").textContent = t("Now answer {answer}, clarify {clarify}. The change is marked on the analytics charts.", {
        answer: done.after.answer.toFixed(3), clarify: done.after.clarify.toFixed(3) });
    } catch (e) {
      $("calibration-result").textContent = e.message;
    }
  }
  $("calibration-apply").addEventListener("click", () => {
    if (calibration && calibration.proposal) {
      changeThresholds("apply", { answer: calibration.proposal.answer, clarify: calibration.proposal.clarify });
    }
  });
  $("calibration-reset").addEventListener("click", () => changeThresholds("reset"));
  $("calibration-language").addEventListener("change", loadCalibration);
  $("calibration-refresh").addEventListener("click", loadCalibration);

  // ----- import -----
  $("import-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("import-result").textContent = "";
    $("import-problems").replaceChildren();
    const file = $("import-file").files[0];
    if (!file) { $("import-result").textContent = t("Choose a file first."); return; }
    const format = file.name.toLowerCase().endsWith(".csv") ? "csv" : "yaml";
    let data;
    try {
      data = await api("POST", `/api/v1/kb/import?format=${format}&status=${$("import-status").value}`, await file.text(),
        { contentType: format === "csv" ? "text/csv" : "application/yaml" });
    } catch (e) {
      $("import-result").textContent = e.message;
      const problems = (e.data && e.data.error && e.data.error.problems) || [];
      $("import-problems").replaceChildren(...problems.map((p) => el("li", {}, t("row {row}: {message}", { row: p.row, message: p.message }))));
      return;
    }
    $("import-result").textContent = t("Created {created}, updated {updated}, unchanged {unchanged}.", data);
    loadEntries();
    loadStatus();
  });

  // A language switch re-renders what this script built; the marked static texts are re-translated by i18n.js.
  document.addEventListener("fd:language", () => {
    loadStatus();
    loadEntries().catch(showListError);
    if (!$("detail").hidden) labelEntry(state.current);
    renderCalibration();
  });
  window.fdI18n.ready.then(() => {
    loadStatus();
    loadEntries().catch(showListError);
    setInterval(loadStatus, 15000);
  });
})();
