// One conversation, read only (GET /api/v1/staff/conversations/{id}, staff/transcripts_api.py): the analytics
// drill-down opens it. Customer, bot and agent lines and the agents' internal notes, in the order they happened; the
// customer and the tickets born in the chat beside them. Every text is set with textContent (shell.js fdEl()).
(function () {
  "use strict";
  const t = window.fdI18n.t;
  const { fdEl: el, fdClear: clear, fdApi: api } = window;
  const { flash } = window.fdWorkspace;
  const fmtTime = window.fdTime; // shell.js
  const $ = (id) => document.getElementById(id);
  const conversationId = decodeURIComponent(window.location.pathname.split("/").pop());
  let data = null; // {conversation, customer, messages, notes, tickets}

  function who(message) {
    const names = { customer: t("Customer"), bot: t("Bot"), agent: t("Agent"), system: t("System") };
    const name = names[message.sender] || message.sender;
    return message.sender === "agent" && message.sender_id ? `${name} ${message.sender_id}` : name;
  }

  function languageLabel(code) { return code ? window.fdLabel(code) : "–"; }

  function noteTitle(kind) {
    const titles = { transfer: t("Transfer note"), resolution: t("Resolution note"), note: t("System note") };
    return titles[kind] || kind;
  }

  // Messages and notes as one list in time order; a note's time ties go after the message they follow.
  function entries() {
    const lines = data.messages.map((m) => ({ at: m.created_at, order: 0, item: messageItem(m) }));
    const notes = data.notes.map((n) => ({ at: n.at, order: 1, item: noteItem(n) }));
    return lines.concat(notes).sort((a, b) => a.at - b.at || a.order - b.order).map((e) => e.item);
  }

  function messageItem(m) {
    const kind = m.sender === "customer" ? "kind-customer_message" : m.sender === "agent" ? "kind-reply" : "event";
    return el("li", { className: kind, dataset: { sender: m.sender, seq: m.seq } },
      el("span", { className: "meta" }, fmtTime(m.created_at), " · ", who(m)),
      el("span", { className: "body" }, m.text));
  }

  function noteItem(n) {
    return el("li", { className: "kind-note", dataset: { kind: n.kind, internal: "true" } },
      el("span", { className: "tag" }, t("Internal — not visible to the customer")),
      el("span", { className: "meta" }, fmtTime(n.at), " · ", noteTitle(n.kind), " · ", who({ sender: n.actor })),
      el("span", { className: "body" }, n.text));
  }

  function render() {
    if (!data) return;
    const c = data.conversation;
    document.title = t("Transcript {id}", { id: c.id.slice(0, 8) }) + " · frontdoor";
    $("conversation-id").textContent = c.id;
    const list = $("messages");
    clear(list);
    entries().forEach((item) => list.appendChild(item));
    if (!list.children.length) list.appendChild(el("li", { className: "event" }, t("none")));
    const details = $("details");
    clear(details);
    const customer = data.customer.display_name ? `${data.customer.display_name} (${data.customer.id})` : data.customer.id;
    [
      [t("Customer"), customer], [t("Tier"), data.customer.tier ? window.fdLabel(data.customer.tier) : "–"],
      [t("Channel"), window.fdLabel(c.channel)], [t("Language"), languageLabel(c.language)],
      [t("Opened"), fmtTime(c.created_at)], [t("Closed"), fmtTime(c.closed_at)],
    ].forEach(([name, value]) => {
      details.appendChild(el("dt", {}, name));
      details.appendChild(el("dd", {}, value || "–"));
    });
    const tickets = $("tickets");
    clear(tickets);
    data.tickets.forEach((ticket) => tickets.appendChild(el("li", { dataset: { ticket: ticket.number } },
      el("a", { href: "/console/tickets/" + encodeURIComponent(ticket.number) }, ticket.number),
      " · ", window.fdLabel(ticket.status), " · ", window.fdLabel(ticket.priority))));
    if (!data.tickets.length) tickets.appendChild(el("li", { className: "muted" }, t("No ticket came from this chat.")));
    // Every ticket of the customer, not only this chat's: the ticket list searches by customer id.
    const theirs = "/console/tickets?q=" + encodeURIComponent(data.customer.id);
    tickets.appendChild(el("li", {}, el("a", { href: theirs, id: "customer-tickets" }, t("All tickets of this customer"))));
    $("body").hidden = false;
  }

  async function load() {
    try {
      data = await api("GET", "/api/v1/staff/conversations/" + encodeURIComponent(conversationId));
      flash($("flash"), "");
      render();
    } catch (e) {
      flash($("flash"), e.status === 404 ? t("No conversation {id}.", { id: conversationId }) : e.message);
    }
  }

  document.addEventListener("fd:language", render);
  window.fdI18n.ready.then(load);
})();
