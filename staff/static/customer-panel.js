/*
 * The customer panel: one customer record (GET /api/v1/customers/{id}, staff/customer_panel.py) drawn into a
 * container, with the agent's edits (name, tier, tags) and a merge of another record into this one. The console's
 * case card and the ticket page use it:
 *   window.fdCustomerPanel.show(container, customerId)   draws it (again); resolves with the panel's JSON
 * Load it after i18n.js and shell.js. Everything the customer or an agent typed is set with textContent only.
 */
(function () {
  "use strict";
  var API = "/api/v1/customers";
  var t = function (text, params) { return window.fdI18n.t(text, params); };
  var shown = null; // {container, customerId}: redrawn on a language switch

  var el = window.fdEl, when = window.fdTime; // shell.js
  var day = window.fdDate;
  // The customers API (shell.js fdApi: a 401 goes to the login page; a failure throws with the server's message).
  function call(method, path, body) { return window.fdApi(method, API + path, body); }

  // Stable codes from the server, as words in the agent's language (each a literal t() for the extraction).
  function kindName(code) {
    var names = {
      web: t("web chat"), socketio: t("web chat (Socket.IO)"), wechat: t("WeChat OpenID"),
      wechat_union: t("WeChat UnionID"), email: t("email"), phone: t("phone"), shop: t("shop account"),
    };
    return names[code] || code;
  }
  function sourceName(code) {
    var names = { channel: t("first contact"), proof: t("proven with an order"), agent: t("added by an agent"), wechat: t("from WeChat") };
    return names[code] || code;
  }
  function reasonName(code) {
    var names = { agent: t("an agent's merge"), order_proof: t("the same order proof"), wechat_union: t("the same WeChat UnionID") };
    return names[code] || code;
  }
  function metricName(code) {
    // The shell's words (shell.js: fdLabel); a waiting chat's clock is its first response.
    return window.fdLabel(code === "chat_first_response" ? "first_response" : code);
  }
  function orderStatus(code) {
    var names = { placed: t("placed"), shipped: t("shipped"), delivered: t("delivered"), cancelled: t("cancelled"), returned: t("returned") };
    return names[code] || code;
  }

  function section(root, title, id) {
    root.appendChild(el("h3", {}, title));
    var list = el("ul", { id: id, class: "cp-list" });
    root.appendChild(list);
    return list;
  }
  function none(list) { if (!list.children.length) list.appendChild(el("li", { class: "cp-none" }, t("none"))); }

  function draw(container, panel) {
    window.fdClear(container);
    var c = panel.customer;
    var head = el("div", { class: "cp-head" });
    head.appendChild(el("strong", { id: "cp-name" }, c.display_name || t("(no name yet)")));
    head.appendChild(el("span", { id: "cp-tier", class: "badge tier-" + c.tier, "data-tier": c.tier }, window.fdLabel(c.tier)));
    container.appendChild(head);
    var tags = el("div", { id: "cp-tags", class: "cp-tags" });
    c.tags.forEach(function (tag) { tags.appendChild(el("span", { class: "cp-tag" }, tag)); });
    container.appendChild(tags);

    var facts = el("dl", { id: "cp-facts" });
    var prefs = Object.keys(c.preferences || {}).map(function (k) { return k + ": " + c.preferences[k]; }).join(", ");
    [[t("Email"), c.email], [t("Phone"), c.phone], [t("Language"), c.language ? window.fdLabel(c.language) : ""], [t("Preferences"), prefs],
     [t("Customer since"), day(c.created_at)], [t("Record"), c.id]].forEach(function (row) {
      facts.appendChild(el("dt", {}, row[0])); facts.appendChild(el("dd", {}, row[1] || "–"));
    });
    container.appendChild(facts);
    container.appendChild(editForm(container, panel));

    var clocks = section(container, t("Open SLA clocks"), "cp-clocks");
    panel.clocks.forEach(function (k) {
      // Named, not "this chat": the panel also lists the customer's other waiting chats, and shows on ticket pages.
      var what = k.ticket || t("chat {id}", { id: k.conversation_id });
      if (k.paused) { clocks.appendChild(el("li", { "data-ticket": k.ticket || "" }, t("{what}: paused, waiting for the customer", { what: what }))); return; }
      var left = Math.round(k.due - Date.now() / 1000);
      var li = el("li", { "data-ticket": k.ticket || "", "data-metric": k.metric },
        t("{what} · {metric} · due {due}", { what: what, metric: metricName(k.metric), due: when(k.due) }));
      if (left < 0) li.classList.add("late");
      else if (k.at_risk_at && k.at_risk_at * 1000 <= Date.now()) li.classList.add("risk");
      clocks.appendChild(li);
    });
    none(clocks);

    var ids = section(container, t("Identities"), "cp-identities");
    panel.identities.forEach(function (i) {
      ids.appendChild(el("li", { "data-kind": i.kind }, kindName(i.kind) + " " + i.display + " · " + sourceName(i.source)));
    });
    none(ids);

    var orders = section(container, t("Orders and purchase history"), "cp-orders");
    if (panel.orders.error) orders.appendChild(el("li", { class: "cp-error" }, t("The order system did not answer.")));
    else if (!panel.orders.available) orders.appendChild(el("li", { class: "cp-none" }, t("No order system is configured.")));
    panel.orders.items.forEach(function (o) {
      var items = o.items.map(function (i) { return (window.fdI18n.lang === "zh" && i.name_zh ? i.name_zh : i.name) + (i.quantity > 1 ? " ×" + i.quantity : ""); }).join(", ");
      orders.appendChild(el("li", { "data-order": o.number }, o.number + " · " + orderStatus(o.status) + " · " + day(o.placed_at) + " · " + items));
    });
    if (panel.orders.available && !panel.orders.error) none(orders);

    var past = section(container, t("Past conversations"), "cp-conversations");
    panel.past_conversations.forEach(function (p) {
      var li = el("li", { "data-cid": p.id });
      li.appendChild(el("span", { class: "cp-meta" }, when(p.created_at) + " · " + window.fdLabel(p.channel) + (p.ticket ? " · " + p.ticket : "")));
      li.appendChild(el("span", { class: "cp-summary" }, p.summary || t("(no words from the customer)")));
      past.appendChild(li);
    });
    none(past);

    var tickets = section(container, t("Tickets"), "cp-tickets");
    panel.tickets.forEach(function (tk) {
      tickets.appendChild(el("li", { "data-ticket": tk.number }, tk.number + " · " + window.fdLabel(tk.status) + " · " + window.fdLabel(tk.priority) + (tk.description ? " · " + tk.description : "")));
    });
    none(tickets);

    var csat = section(container, t("Satisfaction (CSAT)"), "cp-csat");
    if (panel.csat.count) csat.appendChild(el("li", { class: "cp-average" }, t("{average} / 5 from {count} ratings", { average: panel.csat.average, count: panel.csat.count })));
    panel.csat.ratings.forEach(function (r) {
      csat.appendChild(el("li", {}, "★".repeat(r.score) + " · " + (r.ticket || r.agent_id || "–") + " · " + day(r.rated_at) + (r.comment ? " · " + r.comment : "")));
    });
    none(csat);

    var merges = section(container, t("Merged records"), "cp-merges");
    panel.merges.forEach(function (m) {
      var why = m.detail.note || (m.detail.order_number ? t("order {number}", { number: m.detail.order_number }) : "");
      merges.appendChild(el("li", { "data-reason": m.reason },
        t("{source} merged by {actor} ({reason})", { source: m.source_id, actor: m.actor, reason: reasonName(m.reason) }) + (why ? " — " + why : "")));
    });
    none(merges);
    container.appendChild(mergeForm(container, panel));
  }

  function editForm(container, panel) {
    var c = panel.customer;
    var details = el("details", { class: "cp-edit" });
    details.appendChild(el("summary", {}, t("Edit")));
    var form = el("form", { id: "cp-edit-form" });
    var name = el("input", { id: "cp-edit-name", maxlength: "80" }); name.value = c.display_name;
    var tier = el("select", { id: "cp-edit-tier" });
    panel.tiers.forEach(function (code) { var o = el("option", { value: code }, window.fdLabel(code)); if (code === c.tier) o.selected = true; tier.appendChild(o); });
    var tags = el("input", { id: "cp-edit-tags", placeholder: t("comma-separated") }); tags.value = c.tags.join(", ");
    [[t("Name"), name], [t("Tier"), tier], [t("Tags"), tags]].forEach(function (row) {
      var label = el("label", {}); label.appendChild(el("span", {}, row[0])); label.appendChild(row[1]); form.appendChild(label);
    });
    form.appendChild(el("button", { type: "submit", id: "cp-save" }, t("Save")));
    var status = el("p", { class: "cp-status", role: "status" }); form.appendChild(status);
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      var body = { display_name: name.value, tier: tier.value, tags: tags.value.split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean) };
      try { await call("PATCH", "/" + encodeURIComponent(c.id), body); await show(container, c.id); }
      catch (e) { status.textContent = e.message; }
    });
    details.appendChild(form);
    return details;
  }

  function mergeForm(container, panel) {
    var details = el("details", { class: "cp-merge" });
    details.appendChild(el("summary", {}, t("Merge another record into this one")));
    var form = el("form", { id: "cp-merge-form" });
    var query = el("input", { id: "cp-merge-query", placeholder: t("name, email, phone or record id"), maxlength: "200" });
    var note = el("input", { id: "cp-merge-note", placeholder: t("why (kept with the merge)"), maxlength: "2000" });
    form.appendChild(query); form.appendChild(el("button", { type: "submit" }, t("Find")));
    var results = el("ul", { id: "cp-merge-results", class: "cp-list" });
    var status = el("p", { class: "cp-status", role: "status" });
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      window.fdClear(results);
      status.textContent = "";
      try {
        var found = await call("GET", "?q=" + encodeURIComponent(query.value.trim()));
        found.customers.filter(function (x) { return x.id !== panel.customer.id; }).forEach(function (other) {
          var li = el("li", { "data-id": other.id }, (other.display_name || t("(no name yet)")) + " · " + (other.email || other.phone || other.id) + " ");
          var button = el("button", { type: "button", class: "cp-merge-this" }, t("Merge into this record"));
          button.addEventListener("click", async function () {
            try {
              await call("POST", "/" + encodeURIComponent(other.id) + "/merge", { into: panel.customer.id, note: note.value });
              await show(container, panel.customer.id);
            } catch (e) { status.textContent = e.message; }
          });
          li.appendChild(button); results.appendChild(li);
        });
        if (!results.children.length) results.appendChild(el("li", { class: "cp-none" }, t("No other record matches.")));
      } catch (e) { status.textContent = e.message; }
    });
    details.appendChild(form); details.appendChild(note); details.appendChild(results); details.appendChild(status);
    return details;
  }

  async function show(container, customerId) {
    if (!shown || shown.container !== container || shown.customerId !== customerId) {
      // Another customer: say so at once rather than leave an empty section (or the last one's record) meanwhile.
      window.fdClear(container);
      container.appendChild(el("p", { id: "cp-loading" }, t("Loading…")));
    }
    shown = { container: container, customerId: customerId };
    var panel = await call("GET", "/" + encodeURIComponent(customerId));
    if (shown && shown.container === container && shown.customerId === customerId) draw(container, panel);
    return panel;
  }

  document.addEventListener("fd:language", function () {
    if (shown) show(shown.container, shown.customerId).catch(function () {});
  });
  window.fdCustomerPanel = { show: show };
})();
