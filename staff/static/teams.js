// Teams (departments), for supervisors: members, skills, a lead and SLA targets per priority that override the
// policy's. Names and usernames are set with textContent only (shell.js fdEl()).
(function () {
  "use strict";
  const t = window.fdI18n.t;
  const { fdEl: el, fdClear: clear, fdApi: api } = window;
  const { flash } = window.fdWorkspace;
  const $ = (id) => document.getElementById(id);
  const PRIORITIES = ["urgent", "high", "normal", "low"];
  const HOURS = ["first_response_hours", "next_reply_hours", "resolution_hours"];
  // {teams, skills, agents: [{username, display_name}], defaults: {priority: target}}; a target is spelt as the
  // server spells it (intake.sla.SlaTarget): "first response/resolution[/next reply]" in hours, e.g. "4/24/2".
  let data = { teams: [], skills: [], agents: [], defaults: {} };
  let editing = null; // the team being edited, or {} for a new one

  function parseTarget(text) {
    const [first, resolution, reply] = String(text || "").split("/");
    return { first_response_hours: first || "", resolution_hours: resolution || "", next_reply_hours: reply || "" };
  }

  function targetsText(targets) {
    return PRIORITIES.filter((p) => targets && targets[p]).map((p) => `${window.fdLabel(p)} ${targets[p]}`).join(" · ") || t("default");
  }

  function agentName(username) {
    const agent = data.agents.find((a) => a.username === username);
    return agent && agent.display_name ? `${agent.display_name} (${username})` : username;
  }

  function render() {
    const body = document.querySelector("#teams tbody");
    clear(body);
    data.teams.forEach((team) => {
      body.appendChild(el("tr", { dataset: { team: team.id }, onclick: () => edit(team) },
        el("td", {}, el("strong", {}, team.name), el("div", { className: "muted" }, team.id)),
        el("td", {}, team.skills.map(window.fdLabel).join(", ") || "–"),
        el("td", {}, team.lead || "–"),
        el("td", {}, team.members.join(", ") || "–"),
        el("td", {}, targetsText(team.targets))));
    });
    if (editing) renderForm();
  }

  function checkboxes(box, name, values, chosen, label) {
    clear(box);
    values.forEach((value) => {
      const id = `${name}-${value}`;
      box.appendChild(el("label", { for: id },
        el("input", { type: "checkbox", id, value, checked: chosen.includes(value) }), label(value)));
    });
  }

  function renderForm() {
    const team = editing;
    const isNew = !team.id;
    $("form-title").textContent = isNew ? t("New team") : t("Edit team {name}", { name: team.name });
    $("t-id").value = team.id || $("t-id").value;
    $("t-id").readOnly = !isNew;
    $("t-name").value = team.name || $("t-name").value;
    checkboxes($("t-skills"), "skill", data.skills, team.skills || [], window.fdLabel);
    const usernames = data.agents.map((a) => a.username);
    checkboxes($("t-members"), "member", usernames, team.members || [], agentName);
    const lead = $("t-lead");
    clear(lead);
    lead.appendChild(el("option", { value: "" }, t("no lead")));
    data.agents.forEach((a) => lead.appendChild(el("option", { value: a.username }, agentName(a.username))));
    lead.value = team.lead || "";
    const targets = $("t-targets");
    clear(targets);
    PRIORITIES.forEach((p) => {
      const own = parseTarget((team.targets || {})[p]);
      const fallback = parseTarget(data.defaults[p]);
      targets.appendChild(el("tr", { dataset: { priority: p } }, el("th", {}, window.fdLabel(p)),
        HOURS.map((h) => el("td", {}, el("input", {
          type: "number", min: "0.25", step: "0.25", name: h, value: own[h] || "",
          placeholder: fallback[h],
          "aria-label": `${window.fdLabel(p)} · ${window.fdLabel(h.replace("_hours", ""))}`,
        })))));
    });
    $("t-delete").hidden = isNew;
    $("team-form").hidden = false;
  }

  function edit(team) {
    editing = team;
    $("t-id").value = "";
    $("t-name").value = "";
    flash($("done"), "");
    renderForm();
  }

  function formTeam() {
    const checked = (box) => Array.from($(box).querySelectorAll("input:checked")).map((i) => i.value);
    const targets = {};
    $("t-targets").querySelectorAll("tr").forEach((row) => {
      const hours = {};
      let given = false;
      row.querySelectorAll("input").forEach((input) => {
        // A blank beside a filled one keeps the default; a blank next reply is the first-response target.
        hours[input.name] = input.value || (input.name === "next_reply_hours" ? "" : input.placeholder);
        given = given || Boolean(input.value);
      });
      if (!given) return;
      const reply = hours.next_reply_hours ? "/" + hours.next_reply_hours : "";
      targets[row.dataset.priority] = `${hours.first_response_hours}/${hours.resolution_hours}${reply}`;
    });
    return {
      name: $("t-name").value.trim(),
      skills: checked("t-skills"),
      lead: $("t-lead").value || null,
      members: checked("t-members"),
      targets,
    };
  }

  async function load() {
    try {
      data = await api("GET", "/api/v1/teams");
      flash($("flash"), "");
      render();
    } catch (e) {
      flash($("flash"), e.message);
    }
  }

  $("new-team").addEventListener("click", () => edit({}));
  $("t-cancel").addEventListener("click", () => { editing = null; $("team-form").hidden = true; });
  $("team-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const id = $("t-id").value.trim();
    try {
      const result = await api("PUT", "/api/v1/teams/" + encodeURIComponent(id), formTeam());
      editing = result.team;
      flash($("flash"), "");
      flash($("done"), t("Team {name} saved.", { name: result.team.name }), true);
      await load();
    } catch (e) {
      flash($("flash"), e.message);
    }
  });
  $("t-delete").addEventListener("click", async () => {
    if (!editing || !editing.id) return;
    try {
      await api("DELETE", "/api/v1/teams/" + encodeURIComponent(editing.id));
      flash($("done"), t("Team {name} deleted.", { name: editing.name }), true);
      editing = null;
      $("team-form").hidden = true;
      await load();
    } catch (e) {
      flash($("flash"), e.message);
    }
  });
  document.addEventListener("fd:language", render);

  window.fdI18n.ready.then(load);
})();
