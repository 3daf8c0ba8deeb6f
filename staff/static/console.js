// Agent console. Everything a customer typed is set with textContent: nothing here ever parses text as HTML.
(function () {
  "use strict";
  var t = window.fdI18n.t;
  var API = "/api/v1/console";
  var state = null;
  var selected = null; // conversation id shown in the case pane
  var card = null;
  var seen = {};
  var unread = {};
  var ws = null;
  var backoffMs = 500;
  var refreshTimer = null;
  var typingOn = false;
  var typingTimer = null;
  var customerTypingTimer = null;

  function $(id) { return document.getElementById(id); }
  var connLive = null; // null until the socket first opens or closes: the page's own "connecting…" stays
  function showConn(live) {
    connLive = live;
    if (live !== null) $("conn").textContent = live ? t("live") : t("reconnecting…");
  }
  var el = window.fdEl, clear = window.fdClear, fmtTime = window.fdTime; // shell.js
  function flash(text) { $("flash").textContent = text || ""; }
  // The console's API (shell.js fdApi: a 401 goes to the login page; a failure throws with the server's message).
  function call(method, path, body) { return window.fdApi(method, API + path, body); }

  // ---- lists ----
  function renderState(next) {
    state = next;
    var me = state.me;
    $("me").textContent = me.display_name + (me.agent ? " · " + me.agent.load + "/" + me.agent.capacity : "");
    if (me.agent) $("presence").value = me.agent.presence;
    var queue = $("queue"); clear(queue);
    state.queue.forEach(function (item) {
      var li = el("li", { "data-cid": item.conversation_id, "data-priority": item.priority });
      li.appendChild(el("strong", {}, "#" + item.position + " " + window.fdQueue(item.skill)));
      li.appendChild(el("span", { class: "badge " + item.priority }, window.fdLabel(item.priority)));
      // The customer's tier moves them up the queue (handoff/routing.py): agents see why.
      if (item.tier && item.tier !== "standard") li.appendChild(el("span", { class: "badge tier-" + item.tier, "data-tier": item.tier }, window.fdLabel(item.tier)));
      var reason = item.reason ? window.fdLabel(item.reason) : t("request");
      li.appendChild(el("div", {}, t("{reason} · waiting since {time}", { reason: reason, time: fmtTime(item.enqueued_at) })));
      if (!item.eligible) li.appendChild(el("div", { class: "badge" }, t("not your queue")));
      li.addEventListener("click", function () { select(item.conversation_id); });
      if (item.conversation_id === selected) li.classList.add("selected");
      queue.appendChild(li);
    });
    $("queue-count").textContent = String(state.queue.length);
    var inbox = $("inbox"); clear(inbox);
    state.inbox.forEach(function (record) {
      var li = el("li", { "data-cid": record.conversation_id, "data-state": record.state });
      li.appendChild(el("strong", {}, record.conversation_id));
      li.appendChild(el("span", { class: "badge" }, window.fdLabel(record.state)));
      li.appendChild(el("div", {}, window.fdQueue(record.skill) + " · " + (record.reason ? window.fdLabel(record.reason) : "")));
      if (record.note) li.appendChild(el("div", { class: "note" }, t("Note: {note}", { note: record.note })));
      if (unread[record.conversation_id]) li.classList.add("unread");
      if (record.conversation_id === selected) li.classList.add("selected");
      li.addEventListener("click", function () { select(record.conversation_id); });
      inbox.appendChild(li);
    });
    $("inbox-count").textContent = String(state.inbox.length);
    var canned = $("canned");
    while (canned.options.length > 1) canned.remove(1);
    state.canned.forEach(function (c) {
      canned.appendChild(el("option", { value: c.id }, (c.titles && c.titles[window.fdI18n.lang]) || c.title));
    });
    if (!selected && state.inbox.length) select(state.inbox[0].conversation_id);
  }

  function lastTransferNote(events) {
    for (var i = events.length - 1; i >= 0; i--) if (events[i].kind === "transfer") return events[i].text;
    return "";
  }

  // One line per ownership event, oldest first; codes, not prose, come from the server (see handoff/ownership.py).
  function eventLine(e) {
    var d = e.data || {};
    var said = e.text ? " — " + e.text : "";
    if (e.kind === "trigger") return t("Handed off: {reason}", { reason: d.reason ? window.fdLabel(d.reason) : t("request") }) + said;
    if (e.kind === "transfer") {
      var target = d.to_agent || t("queue {queue}", { queue: d.to_queue });
      return t("Transferred by {actor} to {target}", { actor: e.actor, target: target }) + said;
    }
    if (e.kind === "resolution") return t("Closed by {actor}", { actor: e.actor }) + said;
    if (e.kind === "abandon") return t("Customer left the queue ({cause})", { cause: d.cause || "left" });
    if (e.kind === "note") {
      var who = d.agent_id ? " (" + d.agent_id + ")" : "";
      return t("Back to the queue: {cause}", { cause: d.cause || "" }) + who + said;
    }
    return e.kind + (e.text ? ": " + e.text : "");
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(async function () {
      refreshTimer = null;
      try { renderState(await call("GET", "/state")); } catch (e) { flash(e.message); }
    }, 150);
  }

  // ---- case card ----
  async function select(cid) {
    if (selected !== cid) clear($("ticket-made"));
    selected = cid;
    delete unread[cid];
    seen = {};
    try { card = await call("GET", "/conversations/" + encodeURIComponent(cid)); }
    catch (e) { flash(e.message); card = null; $("case").hidden = true; return; }
    flash("");
    renderCard();
    if (state) renderState(state);
  }

  function renderCard() {
    $("case").hidden = false;
    $("case-id").textContent = card.conversation.id;
    $("case-state").textContent = window.fdLabel(card.handoff.state);
    $("case-priority").textContent = window.fdLabel(card.priority);
    $("case-priority").className = "badge " + card.priority;
    $("case-reason").textContent = card.reason ? window.fdLabel(card.reason) : "–";
    $("claim").hidden = card.handoff.state !== "queued";
    // What was seen goes with what is cleared: two selects racing (a pull and its "assigned" event) would otherwise
    // leave the second render skipping every line the first one drew.
    clear($("transcript"));
    seen = {};
    card.transcript.forEach(addMessage);
    var customer = $("customer"); clear(customer);
    [[t("Language"), window.fdLabel(card.conversation.language)], [t("Channel"), window.fdLabel(card.conversation.channel)],
     [t("Started"), fmtTime(card.conversation.created_at)], [t("Ticket"), card.handoff_ticket || "–"]].forEach(function (row) {
      customer.appendChild(el("dt", {}, row[0])); customer.appendChild(el("dd", {}, row[1] || "–"));
    });
    // The customer's record across channels (customer-panel.js): identities, orders, history, tier and tags.
    window.fdCustomerPanel.show($("customer-panel"), card.customer.id).catch(function (e) { flash(e.message); });
    var fields = $("fields"); clear(fields);
    Object.keys(card.fields).forEach(function (k) {
      fields.appendChild(el("dt", {}, window.fdLabel(k))); fields.appendChild(el("dd", {}, fieldText(card.fields[k])));
    });
    var history = $("handoff-events"); clear(history);
    (card.handoff.events || []).forEach(function (e) {
      history.appendChild(el("li", { "data-kind": e.kind }, fmtTime(e.at) + " · " + eventLine(e)));
    });
    if (!history.children.length) history.appendChild(el("li", {}, t("none")));
    var conf = card.nlu.confidence;
    $("nlu").textContent = (card.nlu.intent || t("(intent unknown)")) + (conf === null || conf === undefined ? "" : " · " + Number(conf).toFixed(2));
    var kb = $("kb"); clear(kb);
    card.kb_attempts.forEach(function (a) {
      var li = el("li", {}, "“" + a.query + "” → " + a.decision + " (" + Number(a.confidence || 0).toFixed(2) + ")");
      var ul = el("ul");
      a.candidates.forEach(function (c) { ul.appendChild(el("li", {}, c.question + " · " + Number(c.confidence || 0).toFixed(2))); });
      li.appendChild(ul); kb.appendChild(li);
    });
    if (!card.kb_attempts.length) kb.appendChild(el("li", {}, t("none")));
    $("suggest").hidden = !card.kb_available;
    clear($("suggestions"));
    tickSla();
  }

  // A collected field's value as words: codes (a category, an urgency) through fdLabel, text as the customer wrote it.
  function fieldText(value) {
    if (value === null || value === undefined || value === "") return "–";
    return typeof value === "string" ? window.fdLabel(value) : String(value);
  }
  // The scores behind a handoff, each "name 0.42" (counts whole).
  function scoreTexts(scores) {
    return Object.keys(scores).map(function (k) {
      var v = Number(scores[k]);
      return window.fdLabel(k) + " " + (Number.isInteger(v) ? String(v) : v.toFixed(2));
    });
  }

  function who(sender) {
    var names = { customer: t("Customer"), bot: t("Bot"), agent: t("Agent"), system: t("System"), event: t("Event") };
    return names[sender] || sender;
  }
  // A machine event in the transcript, as one short line: a payload this page knows is told in words, any other is
  // named by its kind only (the payload itself can be kilobytes of JSON: never shown).
  function eventKind(c) { return Object.keys(c).slice(0, 3).join(", ") || "event"; }
  function eventText(c) {
    if (c.handoff) {
      var why = t("handoff requested: {reason}", { reason: c.handoff.reason ? window.fdLabel(c.handoff.reason) : "" });
      return [why].concat(scoreTexts(c.handoff.scores || {})).join(" · ");
    }
    if (c.kb) {
      var best = (c.kb.candidates || [])[0];
      return "KB: " + c.kb.decision + " (" + Number(c.kb.confidence || 0).toFixed(2) + ")" + (best ? " · " + best.question : "");
    }
    if (c.ticket && c.ticket.number) return ticketLine(c.ticket);
    if (c.delivery_failed) return t("{count} message(s) could not be delivered", { count: (c.delivery_failed || []).length || 1 });
    return t("Event: {kind}", { kind: eventKind(c) });
  }
  // "Ticket FD-000001 created — product fault, priority high", the number a link to the ticket page.
  function ticketLine(ticket) {
    var label = window.fdLabel;
    var params = { number: "\u0000", priority: label(ticket.priority || "normal") };
    var line = ticket.category
      ? t("Ticket {number} created — {category}, priority {priority}", Object.assign({ category: label(ticket.category) }, params))
      : t("Ticket {number} created — priority {priority}", params);
    var parts = line.split("\u0000");
    var link = el("a", { href: "/console/tickets/" + encodeURIComponent(ticket.number), target: "_blank", rel: "noopener", class: "ticket-link" }, String(ticket.number));
    return el("span", { class: "ticket-created" }, parts[0], link, parts.slice(1).join(""));
  }
  // The agent's verdict on a KB decision (the calibration report's strongest evidence): was the bot's best entry
  // the answer? The last click counts; the server keeps each one in the service record.
  function kbLabels(m) {
    var current = (card && card.kb_labels && card.kb_labels[String(m.seq)]) || "";
    var choices = [["right", t("Right")], ["wrong", t("Wrong")], ["handoff", t("Should have handed off")]];
    var box = el("span", { class: "kb-labels", role: "group", "aria-label": t("Was the bot right?") });
    var cid = card.conversation.id;
    function show(chosen) {
      Array.prototype.forEach.call(box.querySelectorAll("button"), function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-label") === chosen));
      });
    }
    choices.forEach(function (choice) {
      box.appendChild(el("button", {
        type: "button", "data-label": choice[0], "aria-pressed": String(current === choice[0]),
        onclick: function () {
          call("POST", "/conversations/" + encodeURIComponent(cid) + "/kb-labels", { seq: m.seq, label: choice[0] })
            .then(function (saved) {
              if (card && card.conversation.id === cid) card.kb_labels[String(saved.seq)] = saved.label;
              show(saved.label);
            })
            .catch(function (e) { flash(e.message); });
        },
      }, choice[1]));
    });
    return box;
  }
  function addMessage(m) {
    if (seen[m.seq]) return;
    seen[m.seq] = true;
    var text = m.sender === "event" ? eventText(m.custom || {}) : m.text;
    var li = el("li", { class: m.sender, "data-seq": String(m.seq), "data-sender": m.sender });
    if (m.sender === "event") li.setAttribute("data-event", eventKind(m.custom || {}));
    li.appendChild(el("span", { class: "who" }, who(m.sender) + (m.sender_id && m.sender === "agent" ? " " + m.sender_id : "") + " · " + fmtTime(m.created_at)));
    li.appendChild(el("span", { class: "text" }, text));
    if (card && m.sender === "event" && m.custom && m.custom.kb) li.appendChild(kbLabels(m));
    var log = $("transcript");
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function tickSla() {
    var node = $("case-sla");
    if (!card || !card.sla || !card.sla.deadline) { node.textContent = ""; return; }
    if (card.sla.met_at || card.handoff.last_agent_reply_at) { node.textContent = t("SLA met"); node.classList.remove("late"); return; }
    var left = Math.round(card.sla.deadline - Date.now() / 1000);
    var text = window.fdDuration(left);
    node.textContent = left >= 0 ? t("SLA {time} left", { time: text }) : t("SLA overdue by {time}", { time: text });
    node.classList.toggle("late", left < 0);
  }
  setInterval(tickSla, 1000);

  // WeChat lets agents write for 48 hours after the customer's last message; show what is left of it.
  function tickReplyWindow() {
    var node = $("case-window");
    var win = card && card.reply_window;
    if (!win) { node.textContent = ""; return; }
    if (!win.closes_at) { node.textContent = t("WeChat reply window: waiting for the customer"); return; }
    var left = Math.round(win.closes_at - Date.now() / 1000);
    if (left <= 0) { node.textContent = t("WeChat reply window closed"); node.classList.add("late"); return; }
    node.textContent = t("WeChat reply window: {hours} h {minutes} min left", { hours: Math.floor(left / 3600), minutes: Math.floor((left % 3600) / 60) });
    node.classList.remove("late");
  }
  setInterval(tickReplyWindow, 1000);

  // ---- socket ----
  function connect() {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + API + "/ws";
    ws = new WebSocket(url);
    ws.onopen = function () { backoffMs = 500; showConn(true); };
    ws.onclose = function () {
      showConn(false);
      setTimeout(connect, backoffMs); backoffMs = Math.min(backoffMs * 2, 10000);
    };
    ws.onmessage = function (frame) {
      var data; try { data = JSON.parse(frame.data); } catch (e) { return; }
      if (data.type === "ready") {
        renderState(data.state);
        if (!data.state.me.agent || data.state.me.agent.presence === "offline") send({ type: "presence", presence: $("presence").value === "offline" ? "online" : $("presence").value });
      } else if (data.type === "presence") { scheduleRefresh(); }
      else if (data.type === "event") onEvent(data.topic, data.event);
      else if (data.type === "error") flash(data.error.message);
    };
  }
  function send(frame) { if (ws && ws.readyState === 1) ws.send(JSON.stringify(frame)); }

  function onEvent(topic, event) {
    var cid = event.conversation_id;
    if (topic === "handoff") { scheduleRefresh(); return; }
    if (topic.indexOf("agent:") === 0) {
      if (event.type === "customer_message" && cid !== selected) unread[cid] = true;
      scheduleRefresh();
      // A new assignment opens at once unless the agent is in the middle of another live conversation.
      if (event.type === "assigned" && (!card || card.conversation.id === cid || card.handoff.state !== "assigned")) select(cid);
      if (event.type === "unassigned" && cid === selected) select(cid);
      return;
    }
    if (event.type === "message") {
      if (cid === selected || event.message.conversation_id === selected) addMessage(event.message);
      else { unread[event.message.conversation_id] = true; scheduleRefresh(); }
      if (event.message.sender === "customer") $("customer-typing").hidden = true;
    } else if (event.type === "typing" && event.who === "customer") {
      var target = topic.slice("conv:".length);
      if (target === selected) {
        $("customer-typing").hidden = !event.on;
        clearTimeout(customerTypingTimer);
        customerTypingTimer = setTimeout(function () { $("customer-typing").hidden = true; }, 8000);
      }
    }
  }

  // ---- actions ----
  $("presence").addEventListener("change", function () { send({ type: "presence", presence: $("presence").value }); });
  $("pull-next").addEventListener("click", async function () {
    try {
      var result = await call("POST", "/next");
      if (result.record) select(result.record.conversation_id); else flash(t("Nothing waiting for you."));
    } catch (e) { flash(e.message); }
  });
  $("claim").addEventListener("click", async function () {
    try { await call("POST", "/conversations/" + encodeURIComponent(selected) + "/claim"); select(selected); scheduleRefresh(); }
    catch (e) { flash(e.status === 409 ? t("Someone else took this conversation.") : e.message); scheduleRefresh(); }
  });
  $("reply-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var text = $("reply").value.trim();
    if (!text || !selected) return;
    try {
      var result = await call("POST", "/conversations/" + encodeURIComponent(selected) + "/messages", { text: text });
      $("reply").value = ""; stopTyping(); addMessage(result.message); card.handoff.last_agent_reply_at = result.message.created_at;
    } catch (e) { flash(e.message); }
  });
  $("canned").addEventListener("change", async function () {
    var id = $("canned").value; $("canned").value = "";
    if (!id || !selected) return;
    try { var result = await call("POST", "/conversations/" + encodeURIComponent(selected) + "/messages", { canned_id: id }); addMessage(result.message); }
    catch (e) { flash(e.message); }
  });
  $("suggest").addEventListener("click", async function () {
    var list = $("suggestions"); clear(list);
    try {
      var result = await call("GET", "/conversations/" + encodeURIComponent(selected) + "/suggestion");
      result.candidates.forEach(function (c) {
        var li = el("li", {}, c.question + " (" + Number(c.confidence).toFixed(2) + ")");
        li.addEventListener("click", function () { $("reply").value = c.answer; });
        list.appendChild(li);
      });
      if (!result.candidates.length) list.appendChild(el("li", {}, t("No suggestion.")));
    } catch (e) { flash(e.message); }
  });
  function stopTyping() {
    if (typingOn && selected) send({ type: "typing", conversation_id: selected, on: false });
    typingOn = false;
  }
  $("reply").addEventListener("input", function () {
    if (!selected || !card || card.handoff.state !== "assigned") return;
    if (!typingOn) { typingOn = true; send({ type: "typing", conversation_id: selected, on: true }); }
    clearTimeout(typingTimer); typingTimer = setTimeout(stopTyping, 3000);
  });
  $("transfer-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var body = { note: $("transfer-note").value };
    if ($("transfer-agent").value.trim()) body.to_agent = $("transfer-agent").value.trim();
    else body.to_queue = $("transfer-queue").value.trim();
    try { await call("POST", "/conversations/" + encodeURIComponent(selected) + "/transfer", body); selected = null; $("case").hidden = true; scheduleRefresh(); }
    catch (e) { flash(e.message); }
  });
  $("close-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var body = { resolution: $("close-note").value };
    if ($("faq-save").checked) body.faq_draft = { question: $("faq-question").value || (card && card.last_question) || "", answer: $("faq-answer").value };
    try {
      var result = await call("POST", "/conversations/" + encodeURIComponent(selected) + "/close", body);
      if (body.faq_draft && result.faq_draft && !result.faq_draft.available) flash(t("FAQ drafts are not available here."));
      selected = null; card = null; $("case").hidden = true; scheduleRefresh();
    } catch (e) { flash(e.message); }
  });

  // A ticket from this chat: the server links the transcript, and the new ticket opens in the ticket workspace.
  $("ticket-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    if (!selected) return;
    var body = {};
    if ($("ticket-category").value) body.category = $("ticket-category").value;
    if ($("ticket-priority").value) body.priority = $("ticket-priority").value;
    if ($("ticket-description").value.trim()) body.description = $("ticket-description").value.trim();
    try {
      var result = await call("POST", "/conversations/" + encodeURIComponent(selected) + "/ticket", body);
      var made = $("ticket-made"); clear(made);
      var link = el("a", { href: "/console/tickets/" + encodeURIComponent(result.ticket.number), target: "_blank", rel: "noopener" }, result.ticket.number);
      made.appendChild(document.createTextNode(t("Ticket created:") + " "));
      made.appendChild(link);
      $("ticket-description").value = "";
      flash("");
    } catch (e) { flash(e.message); }
  });

  // A language switch re-renders what this script built; the marked static texts are re-translated by i18n.js.
  document.addEventListener("fd:language", function () {
    showConn(connLive);
    if (state) renderState(state);
    if (card) { seen = {}; renderCard(); }
  });
  window.fdI18n.ready.then(connect);
})();
