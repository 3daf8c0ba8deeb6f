// One ticket: its header and SLA clocks, the whole timeline (internal notes marked as never shown to the customer),
// linked chat transcripts, the reply / internal-note composer, status moves (only the legal ones are offered),
// assignment, transfer to another team, merging, and the "save as FAQ draft" offer after resolving. Every text a
// customer or a colleague wrote is set with textContent only (shell.js fdEl()).
(function () {
  "use strict";
  const t = window.fdI18n.t;
  const { fdEl: el, fdClear: clear, fdApi: api } = window;
  const { clockText, flash } = window.fdWorkspace;
  const fmtTime = window.fdTime; // shell.js
  const $ = (id) => document.getElementById(id);
  const number = decodeURIComponent(window.location.pathname.split("/").pop());
  const base = "/api/v1/tickets/" + encodeURIComponent(number);
  let data = null; // {ticket, customer_name, allowed, timeline, transcripts, teams, agents, me}
  let mode = "reply";

  function teamName(id) {
    const team = data && data.teams.find((x) => x.id === id);
    return team ? team.name : id || "–";
  }

  function agentName(username) {
    if (!username) return t("unassigned");
    const agent = data && data.agents.find((a) => a.username === username);
    return agent && agent.display_name ? `${agent.display_name} (${username})` : username;
  }

  function actorName(actor) {
    const names = { customer: t("Customer"), bot: t("Bot"), system: t("System") };
    return names[actor] || actor;
  }

  // The action that moves the ticket to `status`, as a button says it.
  function moveLabel(status, from) {
    if (status === "open") return from === "resolved" ? t("Reopen") : from === "new" ? t("Open") : t("Back to open");
    const labels = {
      pending_customer: t("Wait for the customer"), pending_internal: t("Wait on an internal team"),
      resolved: t("Resolve"), closed: t("Close"),
    };
    return labels[status] || window.fdLabel(status);
  }

  // ---- header ----
  function renderHead() {
    const ticket = data.ticket;
    document.title = t("Ticket {number}", { number: ticket.number }) + " · frontdoor";
    $("number").textContent = ticket.number;
    $("status").textContent = window.fdLabel(ticket.status);
    $("status").className = "badge status-" + ticket.status;
    $("priority").textContent = window.fdLabel(ticket.priority);
    $("priority").className = "badge " + ticket.priority;
    $("category").textContent = ticket.category ? window.fdLabel(ticket.category) : t("no category");
    $("channel").textContent = ticket.channel ? window.fdLabel(ticket.channel) : t("no channel");
    $("team").textContent = ticket.team_id ? teamName(ticket.team_id) : "–";
    $("assignee").textContent = agentName(ticket.assignee);
    $("merged").hidden = !ticket.merged_into;
    $("merged").textContent = ticket.merged_into ? t("merged into {number}", { number: ticket.merged_into }) : "";
    if (ticket.merged_into) $("merged").href = "/console/tickets/" + encodeURIComponent(ticket.merged_into);
    $("head").hidden = false;
    $("body").hidden = false;
    tick();
  }

  function tick() {
    if (!data) return;
    const clocks = $("clocks");
    clear(clocks);
    const now = Date.now() / 1000;
    const sla = data.ticket.sla || { clocks: [] };
    sla.clocks.forEach((clock) => {
      const shown = clockText(clock, now);
      clocks.appendChild(el("span", { dataset: { metric: clock.metric } },
        el("span", { className: "clock-name" }, window.fdLabel(clock.metric)),
        el("span", { className: "sla " + shown.cls, title: clock.due ? fmtTime(clock.due) : "" }, shown.text)));
    });
    if (!sla.clocks.length) clocks.appendChild(el("span", { className: "muted" }, t("No SLA clock is running.")));
  }

  // ---- timeline ----
  function eventText(e) {
    const d = e.data || {};
    const who = actorName(e.actor);
    switch (e.kind) {
      case "created": return t("{actor} created the ticket", { actor: who });
      case "status": {
        const from = d.from || d.from_status;
        const to = d.to || d.to_status;
        if (d.reason === "customer_message" || e.actor === "customer") {
          return t("The customer's message moved it from {from} to {to}", { from: window.fdLabel(from), to: window.fdLabel(to) });
        }
        return from
          ? t("{actor} moved it from {from} to {to}", { actor: who, from: window.fdLabel(from), to: window.fdLabel(to) })
          : t("{actor} set the status to {to}", { actor: who, to: window.fdLabel(to) });
      }
      case "assigned": {
        const to = d.to !== undefined ? d.to : d.assignee;
        return to ? t("{actor} assigned it to {agent}", { actor: who, agent: agentName(to) }) : t("{actor} unassigned it", { actor: who });
      }
      case "transferred":
        return t("{actor} transferred it from {from} to {to}", { actor: who, from: teamName(d.from || d.from_team), to: teamName(d.to || d.to_team || d.team) });
      case "merged": return t("{actor} merged this ticket into {number}", { actor: who, number: d.into || d.merged_into || "" });
      case "merged_from": return t("{actor} merged {number} into this ticket", { actor: who, number: d.source || d.from || "" });
      case "priority": return t("Priority changed from {from} to {to}", { from: window.fdLabel(d.from), to: window.fdLabel(d.to) });
      case "sla_at_risk": return t("SLA at risk: {clock}", { clock: window.fdLabel(d.metric) });
      case "sla_breached": return t("SLA breached: {clock}", { clock: window.fdLabel(d.metric) });
      case "linked_conversation": return t("Conversation {id} linked", { id: d.conversation_id || "" });
      case "delivery_failed":
        return t("Could not reach the customer by {channel}", { channel: window.fdLabel(d.channel || "") });
      case "follow_up":
        if (d.answer === "solved") return t("Follow-up: the customer says it is solved");
        if (d.answer === "not_solved") return t("Follow-up: the customer says it is not solved");
        if (d.answer === "rated") return t("Follow-up: the customer rated the help {score} of 5", { score: d.score });
        return t("Follow-up: the customer commented");
      case "follow_up_task":
        return d.reason === "low_score"
          ? t("Supervisor follow-up: a low score ({score} of 5)", { score: d.score })
          : t("Supervisor follow-up: not solved after closing");
      default: return e.kind;
    }
  }

  function timelineItem(e) {
    const meta = el("span", { className: "meta" }, fmtTime(e.at), " · ", actorName(e.actor));
    if (e.kind === "note") {
      return el("li", { className: "kind-note", dataset: { kind: e.kind, seq: e.seq, public: "false" } },
        el("span", { className: "tag" }, t("Internal — not visible to the customer")), meta,
        el("span", { className: "body" }, e.body));
    }
    if (e.kind === "reply") {
      return el("li", { className: "kind-reply", dataset: { kind: e.kind, seq: e.seq, public: "true" } },
        el("span", { className: "tag" }, t("Public reply — sent to the customer")), meta,
        el("span", { className: "body" }, e.body));
    }
    if (e.kind === "customer_message") {
      return el("li", { className: "kind-customer_message", dataset: { kind: e.kind, seq: e.seq, public: "true" } },
        el("span", { className: "meta" }, fmtTime(e.at), " · ", t("Customer wrote")),
        el("span", { className: "body" }, e.body));
    }
    const item = el("li", { className: "event kind-" + e.kind, dataset: { kind: e.kind, seq: e.seq, public: String(Boolean(e.public)) } },
      el("span", { className: "meta" }, fmtTime(e.at)), eventText(e));
    if (e.body) item.appendChild(el("span", { className: "body" }, e.body));
    if (e.kind === "created" && data.ticket.description) {
      item.appendChild(el("span", { className: "body" }, data.ticket.description));
    }
    return item;
  }

  function renderTimeline() {
    const list = $("timeline");
    clear(list);
    data.timeline.forEach((e) => list.appendChild(timelineItem(e)));
    if (!data.timeline.length) list.appendChild(el("li", { className: "event" }, t("none")));
  }

  function who(sender) {
    const names = { customer: t("Customer"), bot: t("Bot"), agent: t("Agent"), system: t("System"), event: t("Event") };
    return names[sender] || sender;
  }

  function renderTranscripts() {
    const box = $("transcripts");
    clear(box);
    (data.transcripts || []).forEach((transcript, index) => {
      const list = el("ol", { className: "transcript" });
      transcript.messages.filter((m) => m.sender !== "event").forEach((m) => {
        list.appendChild(el("li", { className: m.sender, dataset: { sender: m.sender } },
          el("span", { className: "who" }, who(m.sender), m.sender === "agent" && m.sender_id ? " " + m.sender_id : "", " · ", fmtTime(m.created_at)),
          m.text));
      });
      const summary = el("summary", {}, t("Conversation {id}", { id: transcript.conversation_id }),
        " · ", t("messages: {count}", { count: list.children.length }));
      box.appendChild(el("details", { className: "linked", open: index === 0 && transcript.messages.length < 30, dataset: { conversation: transcript.conversation_id } }, summary, list));
    });
    if (!box.children.length) box.appendChild(el("p", { className: "muted" }, t("none")));
  }

  // ---- side ----
  function renderSide() {
    const ticket = data.ticket;
    const actions = $("status-actions");
    clear(actions);
    (data.allowed || []).forEach((status) => {
      actions.appendChild(el("button", {
        type: "button", className: status === "closed" ? "secondary" : "", dataset: { to: status },
        onclick: () => move(status),
      }, moveLabel(status, ticket.status)));
    });
    if (!actions.children.length) actions.appendChild(el("p", { className: "muted" }, t("Closed tickets do not change.")));
    const details = $("details");
    clear(details);
    [
      [t("Customer"), data.customer_name || ticket.customer_id], [t("Order number"), ticket.order_number], [t("Product"), ticket.product],
      [t("Contact"), ticket.contact], [t("Language"), ticket.language ? window.fdLabel(ticket.language) : ""], [t("Created"), fmtTime(ticket.created_at)],
      [t("Updated"), fmtTime(ticket.updated_at)], [t("Description"), ticket.description],
    ].forEach(([name, value]) => {
      details.appendChild(el("dt", {}, name));
      details.appendChild(el("dd", {}, value || "–"));
    });
    const assign = $("assign-to");
    clear(assign);
    assign.appendChild(el("option", { value: "" }, t("nobody (unassign)")));
    data.agents.forEach((a) => assign.appendChild(el("option", { value: a.username }, agentName(a.username))));
    assign.value = ticket.assignee || "";
    const transfer = $("transfer-team");
    const team = transfer.value;
    clear(transfer);
    data.teams.filter((x) => x.id !== ticket.team_id).forEach((x) => transfer.appendChild(el("option", { value: x.id }, x.name)));
    if (team && Array.from(transfer.options).some((o) => o.value === team)) transfer.value = team;
    const closed = ticket.status === "closed";
    ["assign", "assign-me", "transfer", "merge", "composer-send"].forEach((id) => { $(id).disabled = closed; });
  }

  function renderComposer() {
    const internal = mode === "note";
    $("composer").classList.toggle("internal", internal);
    $("mode-reply").setAttribute("aria-pressed", String(!internal));
    $("mode-note").setAttribute("aria-pressed", String(internal));
    $("composer-hint").textContent = internal
      ? t("Internal — not visible to the customer")
      : t("The customer receives this on their channel.");
    $("composer-send").textContent = internal ? t("Add internal note") : t("Send reply");
    $("composer-text").setAttribute("maxlength", internal ? "2000" : "4000");
  }

  function render() {
    renderHead();
    renderTimeline();
    renderTranscripts();
    renderSide();
    renderComposer();
    renderCustomer();
  }

  // The customer's record across channels (customer-panel.js), drawn again when the ticket's customer changes (a
  // merge of their records moves the ticket to the record that lives on) and after every action this page performs:
  // the panel lists this ticket's status and SLA clocks, which a status change, reply, assignment, transfer or merge
  // moves (act() forgets `customerShown`).
  let customerShown = null;
  function renderCustomer() {
    const id = data.ticket.customer_id;
    if (id === customerShown) return;
    customerShown = id;
    window.fdCustomerPanel.show($("customer-panel"), id).catch((e) => {
      const box = $("customer-panel");
      clear(box);
      box.appendChild(el("p", { className: "muted" }, e.status === 404 ? t("No customer record for this ticket.") : e.message));
    });
  }

  async function load() {
    try {
      data = await api("GET", base);
      flash($("flash"), "");
      render();
    } catch (e) {
      flash($("flash"), e.status === 404 ? t("No ticket {number}.", { number }) : e.message);
    }
  }

  // Runs an action, shows its outcome, then re-reads the ticket (the timeline records what happened) and redraws the
  // customer panel.
  async function act(method, path, body, done) {
    flash($("done"), "");
    try {
      const result = await api(method, base + path, body);
      flash($("flash"), "");
      if (done) flash($("done"), done, true);
      customerShown = null;
      await load();
      return result;
    } catch (e) {
      // A refused change usually means the ticket moved on elsewhere: show it as it stands now, then say why.
      if (e.status === 409) { customerShown = null; await load(); }
      flash($("flash"), e.code === "illegal_transition" ? t("That move is not allowed from here: {reason}", { reason: e.message }) : e.message);
      return null;
    }
  }

  // The FAQ draft offer: the question in the customer's words, the answer from the last public reply.
  function offerFaq() {
    const said = data.timeline.filter((e) => e.kind === "customer_message").map((e) => e.body);
    const replies = data.timeline.filter((e) => e.kind === "reply").map((e) => e.body);
    $("faq-question").value = (said[0] || data.ticket.description || "").slice(0, 300);
    $("faq-answer").value = replies.length ? replies[replies.length - 1] : "";
    $("faq-panel").hidden = false;
    $("faq-question").focus();
  }

  async function move(status) {
    const note = $("status-note").value.trim();
    const result = await act("POST", "/status", note ? { status, note } : { status }, t("Status: {status}", { status: window.fdLabel(status) }));
    if (result) {
      $("status-note").value = "";
      if (status === "resolved") offerFaq();
    }
  }

  // ---- events ----
  $("mode-reply").addEventListener("click", () => { mode = "reply"; renderComposer(); });
  $("mode-note").addEventListener("click", () => { mode = "note"; renderComposer(); });
  $("composer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = $("composer-text").value.trim();
    if (!body) return;
    const internal = mode === "note";
    const result = await act("POST", internal ? "/notes" : "/replies", { body }, internal ? t("Internal note added.") : t("Reply sent to the customer."));
    if (result) $("composer-text").value = "";
  });
  $("assign-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const to = $("assign-to").value || null;
    act("POST", "/assign", { assignee: to }, to ? t("Assigned to {agent}.", { agent: agentName(to) }) : t("Unassigned."));
  });
  $("assign-me").addEventListener("click", () => {
    act("POST", "/assign", { assignee: data.me.username }, t("Assigned to {agent}.", { agent: agentName(data.me.username) }));
  });
  $("transfer-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const team = $("transfer-team").value;
    const reason = $("transfer-reason").value.trim();
    if (!team || !reason) return;
    const result = await act("POST", "/transfer", { team, reason }, t("Transferred to {team}.", { team: teamName(team) }));
    if (result) $("transfer-reason").value = "";
  });
  $("merge-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const into = $("merge-into").value.trim();
    if (!into) return;
    const result = await act("POST", "/merge", { into }, t("Merged into {number}.", { number: into }));
    if (result) $("merge-into").value = "";
  });
  $("faq-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const question = $("faq-question").value.trim();
    const answer = $("faq-answer").value.trim();
    if (!question || !answer) { flash($("flash"), t("A FAQ draft needs a question and an answer.")); return; }
    try {
      const result = await api("POST", base + "/faq-draft", { question, answer });
      $("faq-panel").hidden = true;
      flash($("flash"), "");
      flash($("done"), result.available === false ? t("FAQ drafts are not available here.") : t("Saved as a FAQ draft for the editors to review."), true);
    } catch (e) {
      flash($("flash"), e.message);
    }
  });
  $("faq-skip").addEventListener("click", () => { $("faq-panel").hidden = true; });
  document.addEventListener("fd:language", () => { if (data) render(); });

  window.fdI18n.ready.then(() => {
    load();
    setInterval(tick, 1000);
  });
})();
