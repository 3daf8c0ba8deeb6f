// The staff page shell: one navigation bar on every staff page, drawn from /api/v1/staff/me so a member sees
// only the pages their roles open (staff/shell.py owns that list), with the member's alerts bell
// (/api/v1/staff/alerts). Every text is set with textContent.
// It is also the one home of what every staff page script shares (each page loads shell.js before its own script):
// fdApi (the JSON API call), fdEl and fdClear (building elements), fdTime, fdDate, fdLabel, fdQueue and fdDuration
// (words for values).
(function () {
  "use strict";

  function t(text, params) {
    // The message catalogue (i18n.js), when the page loaded it; English otherwise. `params` fill {placeholders}.
    return window.fdI18n && typeof window.fdI18n.t === "function" ? window.fdI18n.t(text, params) : text;
  }

  // Codes the server sends (presence, priority, ownership state; a ticket's status, category, channel, SLA clock;
  // a customer's tier) shown as words in the page's language. Each is a literal t() call so the catalogue's
  // extraction sees it; an unknown code is shown as it is.
  function label(code) {
    const labels = {
      online: t("online"), away: t("away"), offline: t("offline"),
      urgent: t("urgent"), high: t("high"), normal: t("normal"), low: t("low"),
      bot: t("bot"), queued: t("queued"), assigned: t("assigned"), wrap_up: t("wrap-up"), abandoned: t("abandoned"),
      // tickets: status, category, channel and SLA clock
      new: t("new"), open: t("open"), pending_customer: t("pending customer"), pending_internal: t("pending internal"),
      resolved: t("resolved"), closed: t("closed"),
      product_fault: t("product fault"), delivery: t("delivery"), refund_return: t("refund or return"),
      billing: t("billing"), service_complaint: t("service complaint"), suggestion: t("suggestion"), general: t("general"),
      web: t("web chat"), wechat: t("WeChat"), socketio: t("webchat (Socket.IO)"),
      // the routes a ticket's news takes besides the chat (intake/deliveries.py)
      email: t("email"), wechat_template: t("WeChat template message"),
      first_response: t("first response"), next_reply: t("next reply"), resolution: t("resolution"),
      // FAQ entries' status and what a revision did (kb/store.py: EntryStatus, RevisionAction)
      draft: t("draft"), published: t("published"), archived: t("archived"),
      created: t("created"), edited: t("edited"), unpublished: t("unpublished"), restored: t("restored"),
      imported: t("imported"),
      // customers: tier (conversations/models.py: Tier)
      standard: t("standard"), silver: t("silver"), gold: t("gold"), vip: t("VIP"),
      // languages (of a conversation, a customer, a queue)
      en: t("English"), zh: t("Chinese"),
      // why the bot handed a chat to a person (handoff/triggers.py: ReasonCode; asked_for_human in older records)
      customer_request: t("customer asked for a person"), asked_for_human: t("customer asked for a person"),
      kb_not_found: t("no answer in the FAQ"), low_confidence: t("unsure answer"),
      repeated_not_found: t("repeatedly no answer"), unhelpful_answer: t("answer not helpful"),
      form_stuck: t("stuck in a form"), urgent_category: t("urgent category"), complaint: t("complaint"),
      bot_error: t("bot error"),
      // the scores behind a handoff (handoff/triggers.py: _scores) and the fields the bot's form collected
      intent_confidence: t("intent confidence"), kb_confidence: t("FAQ confidence"),
      consecutive_not_found: t("unanswered in a row"),
      order_number: t("order number"), product: t("product"), category: t("category"), description: t("description"),
      urgency: t("urgency"), contact: t("contact"),
    };
    return Object.prototype.hasOwnProperty.call(labels, code) ? labels[code] : code;
  }
  window.fdLabel = label;

  // A queue (a skill, language first: "en:general", handoff/queue.py) as words: "English · general".
  function queue(code) {
    const parts = String(code || "").split(":");
    if (parts.length !== 2) return label(code);
    return `${label(parts[0])} · ${label(parts[1])}`;
  }
  window.fdQueue = queue;

  // A length of time as m:ss under an hour and h:mm:ss beyond (SLA deadlines run to days), sign dropped.
  function duration(seconds) {
    const s = Math.round(Math.abs(seconds));
    const ss = String(s % 60).padStart(2, "0");
    return s >= 3600 ? `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
  }
  window.fdDuration = duration;

  // Times and dates (epoch seconds) the same way on every staff page: in the page's language (day before month in
  // English, so "03/04" is never read two ways), the browser's time zone; "–" when there is none.
  function pageLocale() { return window.fdI18n && window.fdI18n.lang === "zh" ? "zh-CN" : "en-GB"; }
  function time(epoch) {
    return epoch ? new Date(epoch * 1000).toLocaleString(pageLocale(), { dateStyle: "medium", timeStyle: "short" }) : "–";
  }
  function date(epoch) { return epoch ? new Date(epoch * 1000).toLocaleDateString(pageLocale(), { dateStyle: "medium" }) : "–"; }
  window.fdTime = time;
  window.fdDate = date;

  // el("li", {className: "x", dataset: {seq: 1}, onclick: fn, title: "…", "data-cid": id}, "text", childNode, …):
  // every child that is not a node goes in as a text node (never parsed as HTML); an attribute that is undefined,
  // null or false is left out, one that is true is set empty.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.entries(props || {}).forEach(([key, value]) => {
      if (value === undefined || value === null || value === false) return;
      if (key === "className") node.className = value;
      else if (key === "dataset") Object.entries(value).forEach(([k, v]) => { node.dataset[k] = String(v); });
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    children.flat().forEach((child) => {
      if (child === null || child === undefined) return;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    });
    return node;
  }
  window.fdEl = el;

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  window.fdClear = clear;

  // The staff JSON API, in two forms.
  // fdApi.request(method, path, body, options) resolves with {status, ok, statusText, data} whatever the status
  // (data: the JSON body, null when there is none) and rejects only when the request did not get through.
  // fdApi(method, path, body, options) resolves with the JSON body ({} when there is none) of a 2xx answer. Any other
  // answer throws an Error with the server's message (error.message in the body; else the status text, else
  // "HTTP <status>") and .status, .code (the body's error code, "" without one) and .data (the body, {} without
  // one); a 401 first sends the member to log in and back to this page (/login?next=<path and query>).
  // The body goes as JSON when given; with options.contentType it goes as it is, with that Content-Type (an upload).
  // A state change carries the session's CSRF token (the fd_csrf cookie, set at login and by every staff page) in
  // X-CSRF-Token: the server refuses it without (403 csrf), so a cookie alone never changes anything.
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)fd_csrf=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function request(method, path, body, options) {
    const init = { method, headers: {}, credentials: "same-origin" };
    if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrfToken();
    if (body !== undefined) {
      const contentType = options && options.contentType;
      init.headers["Content-Type"] = contentType || "application/json";
      init.body = contentType ? body : JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const data = await response.json().catch(() => null);
    return { status: response.status, ok: response.ok, statusText: response.statusText, data };
  }

  function toLogin() {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  async function api(method, path, body, options) {
    const response = await request(method, path, body, options);
    if (response.status === 401) toLogin();
    if (response.ok) return response.data === null ? {} : response.data;
    const failure = response.data && response.data.error;
    const message = response.status === 401
      ? t("Log in first.")
      : (failure && failure.message) || response.statusText || "HTTP " + response.status;
    const error = new Error(message);
    error.status = response.status;
    error.code = (failure && failure.code) || "";
    error.data = response.data || {};
    throw error;
  }
  api.request = request;
  window.fdApi = api;

  function link(page) {
    const a = document.createElement("a");
    a.href = page.path;
    a.textContent = t(page.label);
    a.dataset.i18n = page.label;
    if (window.location.pathname === page.path) a.setAttribute("aria-current", "page");
    return a;
  }

  // The alerts bell: the member's unread count on every staff page, and on a click their latest alerts. Polled
  // (ALERTS_POLL_MS) rather than pushed, since the shell also runs on pages without the console's socket. Opening
  // the list marks what it shows read. Titles arrive translated into every language (`titles`), so a language switch
  // redraws without asking the server again. window.fdAlerts.refresh() asks at once (a page that knows more is due).
  const ALERTS_POLL_MS = 20000;
  const ALERTS_SHOWN = 50;

  function sameSitePath(link) {
    return typeof link === "string" && link.charAt(0) === "/" && link.charAt(1) !== "/" && link.indexOf("\\") < 0;
  }

  // Drawn, not an emoji: a machine without an emoji font would show an empty box.
  function bellIcon() {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "fd-alerts-icon");
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M8 1.5a1 1 0 0 1 1 1v.6a4.5 4.5 0 0 1 3.5 4.4v3l1.5 2H2l1.5-2v-3A4.5 4.5 0 0 1 7 3.1v-.6a1 1 0 0 1 1-1zM6.2 13.5h3.6a1.8 1.8 0 0 1-3.6 0z");
    svg.appendChild(path);
    return svg;
  }

  function alertsBell() {
    const state = { alerts: [], unread: 0, open: false, timer: null };
    const fresh = new Set(); // read while this opening of the list showed them: still highlighted until it closes
    const root = el("span", { className: "fd-alerts" });
    const button = el("button", { className: "fd-alerts-bell" });
    button.type = "button";
    button.id = "fd-alerts-bell";
    button.setAttribute("aria-haspopup", "true");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "fd-alerts-panel");
    const icon = bellIcon();
    const count = el("span", { className: "fd-alerts-count" });
    count.id = "fd-alerts-count";
    count.hidden = true;
    button.append(icon, count);
    const panel = el("div", { className: "fd-alerts-panel" });
    panel.id = "fd-alerts-panel";
    panel.hidden = true;
    const head = el("div", { className: "fd-alerts-head" });
    const heading = el("span", {}, t("Alerts"));
    heading.dataset.i18n = "Alerts";
    const readAll = el("button", { className: "fd-alerts-readall" }, t("Mark all read"));
    readAll.type = "button";
    readAll.dataset.i18n = "Mark all read";
    head.append(heading, readAll);
    const list = el("ul", { className: "fd-alerts-list" });
    const empty = el("p", { className: "fd-alerts-empty" }, t("No alerts"));
    empty.dataset.i18n = "No alerts";
    panel.append(head, list, empty);
    root.append(button, panel);

    function drawCount() {
      count.hidden = state.unread === 0;
      count.textContent = state.unread > 99 ? "99+" : String(state.unread);
      const label = state.unread ? t("Alerts: {count} unread", { count: state.unread }) : t("Alerts");
      button.setAttribute("aria-label", label);
      button.title = label;
      readAll.hidden = state.unread === 0;
    }

    function drawList() {
      const lang = window.fdI18n ? window.fdI18n.lang : "en";
      list.textContent = "";
      state.alerts.forEach((alert) => {
        const item = el("li", { className: alert.read && !fresh.has(alert.id) ? "fd-alert" : "fd-alert fd-alert-unread" });
        item.dataset.id = String(alert.id);
        const body = el(sameSitePath(alert.link) ? "a" : "div", { className: "fd-alert-body" });
        if (body.tagName === "A") body.href = alert.link;
        body.appendChild(el("span", { className: "fd-alert-title" }, (alert.titles && alert.titles[lang]) || alert.title));
        const stamp = el("time", { className: "fd-alert-time" }, time(alert.created_at));
        stamp.dateTime = new Date(alert.created_at * 1000).toISOString();
        body.appendChild(stamp);
        item.appendChild(body);
        list.appendChild(item);
      });
      empty.hidden = state.alerts.length > 0;
    }

    function markRead(ids) {
      return request("POST", "/api/v1/staff/alerts/read", ids ? { ids: ids } : {})
        .then((r) => (r.ok ? r.data : null))
        .then((result) => {
          if (!result) return;
          state.alerts.forEach((alert) => {
            if (!alert.read && (!ids || ids.indexOf(alert.id) >= 0)) {
              alert.read = true;
              if (state.open) fresh.add(alert.id);
            }
          });
          state.unread = result.unread;
          drawCount();
          drawList();
        })
        .catch(() => {});
    }

    function markShown() {
      const ids = state.alerts.filter((alert) => !alert.read).map((alert) => alert.id);
      return ids.length ? markRead(ids) : Promise.resolve();
    }

    function refresh() {
      // Not fdApi: a session that ends while the page is open stops the polling, it does not leave the page.
      return request("GET", "/api/v1/staff/alerts?limit=" + ALERTS_SHOWN)
        .then((r) => {
          if (r.status === 401) stop();
          return r.ok ? r.data : null;
        })
        .then((data) => {
          if (!data) return null;
          state.alerts = data.alerts;
          state.unread = data.unread;
          drawCount();
          drawList();
          return state.open ? markShown() : null;
        })
        .catch(() => {});
    }

    function schedule() {
      state.timer = window.setTimeout(() => {
        (document.hidden ? Promise.resolve() : refresh()).then(() => { if (state.timer !== null) schedule(); });
      }, ALERTS_POLL_MS);
    }

    function stop() {
      window.clearTimeout(state.timer);
      state.timer = null;
    }

    function open() {
      state.open = true;
      panel.hidden = false;
      button.setAttribute("aria-expanded", "true");
      drawList();
      refresh();
    }

    function close() {
      state.open = false;
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      fresh.clear();
      drawList();
    }

    button.addEventListener("click", () => (state.open ? close() : open()));
    readAll.addEventListener("click", () => markRead(null));
    document.addEventListener("click", (event) => { if (state.open && !root.contains(event.target)) close(); });
    document.addEventListener("keydown", (event) => {
      if (state.open && event.key === "Escape") { close(); button.focus(); }
    });
    document.addEventListener("visibilitychange", () => { if (!document.hidden && state.timer !== null) refresh(); });
    document.addEventListener("fd:language", () => { drawCount(); drawList(); });
    if (window.fdI18n) window.fdI18n.ready.then(() => { drawCount(); drawList(); });
    window.fdAlerts = { refresh: refresh };
    drawCount();
    drawList();
    refresh();
    schedule();
    return root;
  }

  // The staff console socket, one per page: the chats badge follows it, and so do the page's own scripts where the
  // page asks for it (<body data-console-socket>, console-supervisor.html), whether or not the bar could be drawn.
  // Each frame, opening and closing comes as an "fd:console-socket" event ({frame} or {open}).
  let socketStarted = false;
  function consoleSocket() {
    if (socketStarted) return;
    socketStarted = true;
    const announce = (detail) => document.dispatchEvent(new CustomEvent("fd:console-socket", { detail }));
    let backoffMs = 500;
    function connect() {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/console/ws");
      ws.onopen = () => { backoffMs = 500; announce({ open: true }); };
      ws.onclose = () => {
        announce({ open: false });
        window.setTimeout(connect, backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10000);
      };
      ws.onmessage = (frame) => {
        let data;
        try { data = JSON.parse(frame.data); } catch (e) { return; }
        announce({ frame: data });
      };
    }
    connect();
  }

  // An agent on another staff page (Tickets, a ticket, Teams, Analytics) keeps a console socket open from here, so
  // she stays present and her chats stay hers however long she works there (the console's presence grace only covers
  // the moment between two pages). Routing goes on offering her chats as on the console; the badge counts her chats
  // and says, in the title too, when one needs her (newly assigned, or the customer wrote), linking to the console.
  function chatsBadge() {
    const badge = el("a", { className: "fd-shell-chats", id: "fd-shell-chats", href: "/console" });
    badge.setAttribute("aria-live", "polite");
    const title = document.title;
    const chats = new Set();
    const needing = new Set(); // her chats with news since this page opened
    function drawBadge() {
      badge.textContent = needing.size
        ? t("{count} chat(s) need you", { count: needing.size })
        : t("My chats: {count}", { count: chats.size });
      badge.classList.toggle("fd-shell-chats-new", needing.size > 0);
      document.title = (needing.size ? `(${needing.size}) ` : "") + title;
    }
    function onFrame(data) {
      if (data.type === "ready") {
        chats.clear();
        data.state.inbox.forEach((record) => chats.add(record.conversation_id));
        [...needing].filter((cid) => !chats.has(cid)).forEach((cid) => needing.delete(cid));
      } else if (data.type === "event" && String(data.topic).indexOf("agent:") === 0) {
        const cid = data.event.conversation_id;
        if (data.event.type === "assigned") { chats.add(cid); needing.add(cid); }
        if (data.event.type === "unassigned") { chats.delete(cid); needing.delete(cid); }
        if (data.event.type === "customer_message" && chats.has(cid)) needing.add(cid);
      } else return;
      drawBadge();
    }
    document.addEventListener("fd:console-socket", (e) => { if (e.detail.frame) onFrame(e.detail.frame); });
    consoleSocket();
    document.addEventListener("fd:language", drawBadge);
    if (window.fdI18n) window.fdI18n.ready.then(drawBadge);
    drawBadge();
    return badge;
  }

  function draw(me) {
    const bar = document.createElement("nav");
    bar.className = "fd-shell";
    bar.setAttribute("aria-label", t("Staff pages"));
    bar.dataset.i18nAriaLabel = "Staff pages";
    const brand = document.createElement("a");
    brand.className = "fd-shell-brand";
    brand.href = me.home || "/staff";
    brand.textContent = "frontdoor";
    bar.appendChild(brand);
    const pages = document.createElement("span");
    pages.className = "fd-shell-pages";
    me.pages.forEach((page) => pages.appendChild(link(page)));
    bar.appendChild(pages);
    // The console page holds its own socket.
    if (me.pages.some((page) => page.key === "console") && window.location.pathname !== "/console") {
      bar.appendChild(chatsBadge());
    }
    const who = document.createElement("span");
    who.className = "fd-shell-me";
    who.id = "fd-shell-me";
    who.textContent = me.display_name || me.username;
    bar.appendChild(who);
    bar.appendChild(alertsBell());
    const lang = document.createElement("span");
    lang.className = "fd-shell-lang";
    lang.id = "fd-shell-lang";
    if (window.fdI18n) lang.appendChild(window.fdI18n.switcher());
    bar.appendChild(lang);
    const logout = document.createElement("form");
    logout.method = "post";
    logout.action = "/logout";
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "fd-shell-logout";
    button.textContent = t("Log out");
    button.dataset.i18n = "Log out";
    logout.appendChild(button);
    bar.appendChild(logout);
    document.body.insertBefore(bar, document.body.firstChild);
    // The catalogue may arrive after the bar is drawn: translate it then (a later switch re-translates the page).
    if (window.fdI18n) window.fdI18n.ready.then(() => window.fdI18n.apply(bar));
    document.dispatchEvent(new CustomEvent("fd-shell-ready", { detail: me }));
  }

  function start() {
    if ("consoleSocket" in document.body.dataset) consoleSocket();
    // A 401 sends the member to log in (fdApi); any other failure leaves the page without the bar.
    api("GET", "/api/v1/staff/me")
      .then(draw)
      .catch(() => {});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
