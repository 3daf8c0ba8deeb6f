// The ticket list: saved views with counts, search, filters, sorting by the next SLA deadline and paging. The
// filters live in the address (?view=…&q=…) so a view can be bookmarked and the back button works. Customer text
// (descriptions, names) is set with textContent only (shell.js fdEl()).
(function () {
  "use strict";
  const t = window.fdI18n.t;
  const { fdEl: el, fdClear: clear, fdApi: api } = window;
  const { clockText, nextClock, flash } = window.fdWorkspace;
  const fmtTime = window.fdTime; // shell.js
  const $ = (id) => document.getElementById(id);
  const PAGE_SIZE = 25;
  const ACTIVE = "new,open,pending_customer,pending_internal";
  // What each saved view sets; every other filter goes back to "any".
  const VIEWS = {
    all: { status: "active" },
    mine: { status: "active", assignee: "me" },
    my_team: { status: "active", team: "mine" },
    unassigned: { status: "active", assignee: "none" },
    at_risk: { at_risk: true },
    breached: { breached: true },
    everything: {},
  };
  const FIELDS = ["q", "status", "priority", "category", "team", "assignee", "channel", "sort"];
  const state = { view: "all", offset: 0, tickets: [], total: 0, teams: [], customers: {} };

  function control(name) { return $(name === "q" ? "q" : "f-" + name); }

  function readForm() {
    const filters = {};
    FIELDS.forEach((name) => { filters[name] = control(name).value; });
    filters.at_risk = $("f-at-risk").checked;
    filters.breached = $("f-breached").checked;
    return filters;
  }

  function writeForm(filters) {
    FIELDS.forEach((name) => {
      const node = control(name);
      const value = filters[name] || (name === "sort" ? "due" : "");
      if (node.tagName === "SELECT" && value && !Array.from(node.options).some((o) => o.value === value)) {
        node.appendChild(el("option", { value }, value)); // a team or an agent not listed (yet)
      }
      node.value = value;
    });
    $("f-at-risk").checked = Boolean(filters.at_risk);
    $("f-breached").checked = Boolean(filters.breached);
  }

  function showView(view) {
    state.view = view;
    document.querySelectorAll("#views [role=tab]").forEach((tab) => {
      tab.setAttribute("aria-selected", String(tab.dataset.view === view));
    });
  }

  function fromAddress() {
    const params = new URLSearchParams(window.location.search);
    const view = params.get("view");
    if (view && VIEWS[view] && Array.from(params.keys()).every((k) => k === "view" || k === "offset")) {
      writeForm(VIEWS[view]);
      showView(view);
    } else if (params.toString()) {
      const filters = {};
      FIELDS.forEach((name) => { filters[name] = params.get(name) || ""; });
      filters.at_risk = params.get("at_risk") === "1";
      filters.breached = params.get("breached") === "1";
      writeForm(filters);
      showView(view && VIEWS[view] ? view : "");
    } else {
      writeForm(VIEWS.all);
      showView("all");
    }
    state.offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  }

  function toAddress(filters) {
    const params = new URLSearchParams();
    if (state.view) params.set("view", state.view);
    const preset = state.view ? VIEWS[state.view] : null;
    const custom = !preset || JSON.stringify(normalise(filters)) !== JSON.stringify(normalise(preset));
    if (custom) {
      FIELDS.forEach((name) => { if (filters[name] && !(name === "sort" && filters[name] === "due")) params.set(name, filters[name]); });
      if (filters.at_risk) params.set("at_risk", "1");
      if (filters.breached) params.set("breached", "1");
    }
    if (state.offset) params.set("offset", String(state.offset));
    const query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }

  function normalise(filters) {
    const out = {};
    FIELDS.forEach((name) => { out[name] = filters[name] || (name === "sort" ? "due" : ""); });
    out.at_risk = Boolean(filters.at_risk);
    out.breached = Boolean(filters.breached);
    return out;
  }

  function apiQuery(filters) {
    const params = new URLSearchParams();
    if (filters.q.trim()) params.set("q", filters.q.trim());
    if (filters.status) params.set("status", filters.status === "active" ? ACTIVE : filters.status);
    ["priority", "category", "team", "assignee", "channel", "sort"].forEach((name) => {
      if (filters[name]) params.set(name, filters[name]);
    });
    if (filters.at_risk) params.set("at_risk", "1");
    if (filters.breached) params.set("breached", "1");
    params.set("limit", String(PAGE_SIZE));
    params.set("offset", String(state.offset));
    return params.toString();
  }

  let loading = 0;
  async function load() {
    const filters = readForm();
    toAddress(filters);
    const mine = ++loading;
    try {
      const data = await api("GET", "/api/v1/tickets?" + apiQuery(filters));
      if (mine !== loading) return; // a later search already answered
      state.tickets = data.tickets;
      state.total = data.total;
      state.customers = data.customers || {};
      Object.entries(data.views || {}).forEach(([key, count]) => {
        const node = document.querySelector(`#views [data-count="${key}"]`);
        if (node) node.textContent = String(count);
      });
      flash($("flash"), "");
      render();
    } catch (e) {
      if (mine === loading) flash($("flash"), e.message);
    }
  }

  function teamName(id) {
    const team = state.teams.find((x) => x.id === id);
    return team ? team.name : id;
  }

  function render() {
    const body = document.querySelector("#tickets tbody");
    clear(body);
    const now = Date.now() / 1000;
    state.tickets.forEach((ticket) => {
      const href = "/console/tickets/" + encodeURIComponent(ticket.number);
      const clock = nextClock(ticket);
      const due = clock ? clockText(clock, now) : { text: ticket.sla && ticket.sla.paused ? t("paused") : "–", cls: "" };
      const subject = (ticket.description || "").slice(0, 140) || t("(no description)");
      body.appendChild(el("tr", { dataset: { number: ticket.number, status: ticket.status } },
        el("td", {}, el("a", { className: "number", href }, ticket.number)),
        el("td", { className: "subject" }, subject, ticket.order_number ? el("div", { className: "muted" }, t("Order {order}", { order: ticket.order_number })) : null),
        el("td", { className: "customer", title: ticket.customer_id }, state.customers[ticket.customer_id] || ticket.customer_id),
        el("td", {}, el("span", { className: "badge status-" + ticket.status }, window.fdLabel(ticket.status))),
        el("td", {}, el("span", { className: "badge " + ticket.priority }, window.fdLabel(ticket.priority))),
        el("td", {}, ticket.category ? window.fdLabel(ticket.category) : "–"),
        el("td", {}, ticket.team_id ? teamName(ticket.team_id) : "–"),
        el("td", {}, ticket.assignee || t("unassigned")),
        el("td", {}, ticket.channel ? window.fdLabel(ticket.channel) : "–"),
        el("td", { className: "sla " + due.cls, title: clock ? window.fdLabel(clock.metric) + " · " + fmtTime(clock.due) : "" }, due.text),
        el("td", {}, fmtTime(ticket.updated_at)),
      ));
    });
    $("empty").hidden = state.tickets.length > 0;
    const first = state.total ? state.offset + 1 : 0;
    const last = state.offset + state.tickets.length;
    $("range").textContent = t("{first}–{last} of {total}", { first, last, total: state.total });
    $("prev").disabled = state.offset === 0;
    $("next").disabled = last >= state.total;
    $("sort-due").setAttribute("aria-pressed", String($("f-sort").value === "due"));
  }

  async function loadTeams() {
    try {
      const data = await api("GET", "/api/v1/teams");
      state.teams = data.teams || [];
    } catch (e) {
      state.teams = [];
    }
    const select = $("f-team");
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    select.appendChild(el("option", { value: "mine" }, t("my teams")));
    state.teams.forEach((team) => select.appendChild(el("option", { value: team.id }, team.name)));
    const assignee = $("f-assignee");
    const members = new Set();
    state.teams.forEach((team) => team.members.forEach((m) => members.add(m)));
    Array.from(members).sort().forEach((m) => {
      if (!Array.from(assignee.options).some((o) => o.value === m)) assignee.appendChild(el("option", { value: m }, m));
    });
    select.value = chosen;
  }

  // ---- events ----
  document.querySelectorAll("#views [role=tab]").forEach((tab) => {
    tab.addEventListener("click", () => {
      writeForm(VIEWS[tab.dataset.view]);
      showView(tab.dataset.view);
      state.offset = 0;
      load();
    });
  });
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); showView(""); state.offset = 0; load(); });
  $("filters").addEventListener("change", (ev) => {
    if (ev.target.id === "q") return;
    showView("");
    state.offset = 0;
    load();
  });
  $("reset").addEventListener("click", () => { writeForm(VIEWS.all); showView("all"); state.offset = 0; load(); });
  $("sort-due").addEventListener("click", () => { $("f-sort").value = "due"; showView(state.view); state.offset = 0; load(); });
  $("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); load(); });
  $("next").addEventListener("click", () => { state.offset += PAGE_SIZE; load(); });
  document.addEventListener("fd:language", render);

  window.fdI18n.ready.then(async () => {
    await loadTeams();
    fromAddress();
    await load();
    setInterval(render, 1000); // the countdowns
    setInterval(load, 30000); // counts and new tickets
  });
})();
