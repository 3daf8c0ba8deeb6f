/*
 * frontdoor chat widget. Embed on any page with one tag:
 *   <script src="https://frontdoor.example/widget.js" data-title="Acme help" data-color="#0a7"
 *           data-greeting="Hi! Ask us anything."></script>
 * Optional: data-text-color (text on the accent colour), data-lang ("en" | "zh"; default: the browser's language),
 * data-position ("left" | "right").
 *
 * It renders inside a Shadow DOM (the host page's CSS cannot reach it) and sets every text with textContent, never
 * innerHTML, so whatever a customer, agent or site owner typed stays inert. The bot's answers (Markdown) arrive also
 * as `html` the front door has sanitised (bot/channels/formats.py); the widget still parses it inertly and rebuilds
 * only the same allowed elements and safe links itself (richText: rich.js, inlined where this file says
 * so), so a fault on either side alone shows no script. The conversation (customer token and
 * visitor token) is kept in localStorage under a key naming the front door's origin, so it survives reloads and is
 * shared by the site's tabs. Plain ES2017, no build step.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var FRONTDOOR = new URL(".", script.src); // the front door's base URL (the folder widget.js is served from)
  var ORIGIN = FRONTDOOR.origin;
  var registry = (window.__frontdoorWidgets = window.__frontdoorWidgets || {});
  if (registry[ORIGIN]) return; // the tag was included twice
  registry[ORIGIN] = true;

  var data = script.dataset;
  var browserLanguage = ((navigator.languages && navigator.languages[0]) || navigator.language || "en").toLowerCase();
  var LANG = data.lang === "zh" || data.lang === "en" ? data.lang : browserLanguage.indexOf("zh") === 0 ? "zh" : "en";
  // Texts come from the `widget` message catalogue (i18n/locale/*/LC_MESSAGES/widget.po; the English text is the
  // id). The front door fills CATALOGUES in when it serves this file (bot/widget.py), so no second request is needed.
  var CATALOGUES = /*@catalogues@*/{};
  var CATALOGUE = CATALOGUES[LANG] || {};
  function t(msgid, values) {
    var text = CATALOGUE[msgid] || msgid;
    if (!values) return text;
    return text.replace(/\{(\w+)\}/g, function (_, key) { return String(values[key]); });
  }

  // ---- storage: localStorage (shared by tabs), keyed by the front door's origin; memory if storage is blocked ----
  var KEY = "frontdoor:" + ORIGIN + ":";
  var memory = {};
  function load(name) {
    try { return window.localStorage.getItem(KEY + name); } catch (e) { return memory[name] || null; }
  }
  function save(name, value) {
    try {
      if (value === null) window.localStorage.removeItem(KEY + name); else window.localStorage.setItem(KEY + name, value);
    } catch (e) { memory[name] = value; }
  }
  function loadSession(name) { try { return window.sessionStorage.getItem(KEY + name); } catch (e) { return null; } }
  function saveSession(name, value) { try { window.sessionStorage.setItem(KEY + name, value); } catch (e) { /* ok */ } }

  // ---- DOM ----
  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  var STYLE = [
    ":host{all:initial !important;display:block !important;position:fixed !important;z-index:2147483000 !important;",
    "bottom:0 !important;right:0 !important;left:auto !important;top:auto !important;width:0 !important;height:0 !important;}",
    ":host([data-position=left]){left:0 !important;right:auto !important;}",
    ".root{--fd-accent:#1f6feb;--fd-on-accent:#fff;font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'PingFang SC','Microsoft YaHei',sans-serif;",
    "color:#1b1f24;letter-spacing:normal;text-align:left;}",
    ".root *{box-sizing:border-box;font:inherit;letter-spacing:inherit;}",
    ".launcher{position:fixed;bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;",
    "background:var(--fd-accent);color:var(--fd-on-accent);box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;",
    "align-items:center;justify-content:center;padding:0;}",
    ":host([data-position=left]) .launcher{left:20px;right:auto;}",
    ".launcher svg{width:28px;height:28px;fill:currentColor;}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#d1242f;",
    "color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px;}",
    ".panel{position:fixed;bottom:88px;right:20px;width:370px;height:min(600px,calc(100vh - 110px));display:flex;",
    "flex-direction:column;background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;}",
    ":host([data-position=left]) .panel{left:20px;right:auto;}",
    ".panel[hidden],.badge[hidden],.typing[hidden],.status-line[hidden]{display:none;}",
    "header{display:flex;align-items:center;gap:8px;padding:12px 14px;background:var(--fd-accent);color:var(--fd-on-accent);}",
    "header h2{flex:1;margin:0;font-size:16px;font-weight:600;}",
    ".state{font-size:12px;opacity:.85;}",
    ".icon{background:transparent;border:0;color:inherit;cursor:pointer;width:32px;height:32px;border-radius:6px;",
    "font-size:18px;line-height:1;padding:0;}",
    ".icon:hover{background:rgba(255,255,255,.2);}",
    "button:focus-visible,input:focus-visible{outline:3px solid #f0b400;outline-offset:2px;}",
    ".log{flex:1;overflow-y:auto;margin:0;padding:12px;list-style:none;background:#f6f8fa;}",
    ".log li{margin:0 0 10px;display:flex;flex-direction:column;align-items:flex-start;}",
    ".log li.customer{align-items:flex-end;}",
    ".who{font-size:11px;color:#57606a;margin:0 4px 2px;}",
    ".bubble{max-width:85%;padding:8px 12px;border-radius:14px;background:#fff;border:1px solid #d0d7de;",
    "white-space:pre-wrap;overflow-wrap:anywhere;}",
    ".bubble.rich{white-space:normal;}",
    ".rich>:first-child{margin-top:0;}.rich>:last-child{margin-bottom:0;}",
    ".rich p,.rich ul,.rich ol,.rich pre,.rich blockquote,.rich table{margin:0 0 8px;}",
    ".rich ul,.rich ol{padding-left:20px;}.log .rich li{display:list-item;margin:0 0 2px;}.rich h1,.rich h2,.rich h3,.rich h4,.rich h5,.rich h6{margin:0 0 6px;font-weight:600;}",
    ".rich a{color:#0550ae;text-decoration:underline;}.rich strong{font-weight:700;}.rich em{font-style:italic;}",
    ".rich code{font-family:ui-monospace,monospace;background:#eff1f3;border-radius:4px;padding:0 3px;}",
    ".rich pre{white-space:pre-wrap;background:#eff1f3;padding:6px 8px;border-radius:6px;}",
    ".rich blockquote{border-left:3px solid #d0d7de;padding-left:8px;color:#57606a;}",
    ".rich table{border-collapse:collapse;}.rich th,.rich td{border:1px solid #d0d7de;padding:2px 6px;}",
    ".customer .bubble{background:var(--fd-accent);color:var(--fd-on-accent);border-color:transparent;}",
    ".agent .bubble{border-color:var(--fd-accent);}",
    ".log li.system,.log li.notice{align-items:center;}",
    ".system .bubble,.notice .bubble{background:transparent;border:0;color:#57606a;font-size:13px;text-align:center;padding:2px 8px;}",
    ".buttons{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px;max-width:100%;}",
    ".buttons button{border:1px solid var(--fd-accent);background:#fff;color:#1b1f24;border-radius:16px;",
    "padding:5px 12px;cursor:pointer;}",
    ".buttons button:hover:not(:disabled){background:#eef4ff;}",
    ".buttons button:disabled{opacity:.55;cursor:default;}",
    ".buttons button[aria-pressed=true]{opacity:1;background:var(--fd-accent);color:var(--fd-on-accent);}",
    ".rating button{min-width:40px;}",
    ".typing{padding:0 14px 6px;font-size:12px;color:#57606a;background:#f6f8fa;}",
    ".status-line{padding:6px 14px;font-size:12px;color:#57606a;background:#fff8c5;border-top:1px solid #eee;}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #d0d7de;background:#fff;margin:0;}",
    "form input{flex:1;min-width:0;border:1px solid #d0d7de;border-radius:8px;padding:9px 10px;color:#1b1f24;background:#fff;}",
    "form button{border:0;border-radius:8px;padding:0 14px;background:var(--fd-accent);color:var(--fd-on-accent);cursor:pointer;}",
    ".vh{position:absolute !important;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);border:0;white-space:nowrap;}",
    "@media (max-width:520px){.panel{inset:0;width:100vw;height:100vh;height:100dvh;border-radius:0;}",
    ".root.open .launcher{display:none;}}",
    "@media (prefers-reduced-motion:no-preference){.panel{transition:opacity .15s;}}",
  ].join("\n");

  var host = document.createElement("frontdoor-widget");
  if (data.position === "left") host.setAttribute("data-position", "left");
  var shadow = host.attachShadow({ mode: "open" });
  try {
    // A constructed sheet is not an inline <style>, so a host page's strict CSP does not block it.
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
    shadow.adoptedStyleSheets = [sheet];
  } catch (e) {
    shadow.appendChild(el("style", {}, STYLE));
  }
  var root = el("div", { class: "root", lang: LANG });
  // Only values the browser parses as colours get through; anything else keeps the default.
  function isColour(value) { return !!value && !!window.CSS && window.CSS.supports("color", value); }
  if (isColour(data.color)) root.style.setProperty("--fd-accent", data.color);
  if (isColour(data.textColor)) root.style.setProperty("--fd-on-accent", data.textColor);

  var launcher = el("button", { type: "button", class: "launcher", "aria-expanded": "false",
    "aria-controls": "fd-panel", "aria-label": t("Open chat") });
  var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false");
  var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
  svg.appendChild(path); launcher.appendChild(svg);
  var badge = el("span", { class: "badge", "aria-hidden": "true" }); badge.hidden = true;
  launcher.appendChild(badge);

  var title = data.title || t("Customer service");
  var panel = el("section", { class: "panel", id: "fd-panel", role: "dialog", "aria-modal": "false",
    "aria-labelledby": "fd-title" });
  panel.hidden = true;
  var header = el("header");
  var heading = el("h2", { id: "fd-title" }, title);
  var state = el("span", { class: "state", role: "status", "aria-live": "polite" }, "");
  var restart = el("button", { type: "button", class: "icon", "aria-label": t("Start a new conversation"), title: t("Start a new conversation") }, "⟲");
  var closeButton = el("button", { type: "button", class: "icon close", "aria-label": t("Close chat"), title: t("Close chat") }, "×");
  header.appendChild(heading); header.appendChild(state); header.appendChild(restart); header.appendChild(closeButton);
  var log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": t("Conversation"), tabindex: "0" });
  var typing = el("div", { class: "typing", "aria-live": "polite" }); typing.hidden = true;
  var statusLine = el("div", { class: "status-line", role: "status", "aria-live": "polite" }); statusLine.hidden = true;
  var form = el("form", { class: "composer", autocomplete: "off" });
  var label = el("label", { for: "fd-text", class: "vh" }, t("Message"));
  var input = el("input", { id: "fd-text", name: "text", type: "text", maxlength: "2000", placeholder: t("Type a message…"),
    autocomplete: "off", enterkeyhint: "send" });
  var sendButton = el("button", { type: "submit", class: "send" }, t("Send"));
  form.appendChild(label); form.appendChild(input); form.appendChild(sendButton);
  panel.appendChild(header); panel.appendChild(log); panel.appendChild(typing); panel.appendChild(statusLine);
  panel.appendChild(form);
  root.appendChild(panel); root.appendChild(launcher);
  shadow.appendChild(root);

  // ---- rendering ----
  var seen = {};
  var lastSeq = 0;
  var unread = 0;
  var queueItem = null;
  var WHO = { customer: t("You"), bot: t("Assistant"), agent: t("Agent"), system: t("Notice") };

  function addGreeting() {
    var item = el("li", { class: "bot greeting" });
    item.appendChild(el("span", { class: "who" }, WHO.bot));
    item.appendChild(el("div", { class: "bubble" }, data.greeting || t("Hi! How can we help you today?")));
    log.appendChild(item);
    greetingItem = item; startersAsked = false;
    if (!panel.hidden) askStarters();
  }

  // A few common questions under the greeting (GET /api/v1/faq/starters), while the conversation is empty: a click
  // sends the question as the customer's message; the first message of any other kind takes the unused ones away.
  var greetingItem = null, startersAsked = false, starterRow = null;
  // Asked once the panel is open, so a page view that never opens the chat costs the front door nothing.
  function askStarters() {
    if (startersAsked || !greetingItem) return;
    startersAsked = true;
    var item = greetingItem;
    var url = new URL("api/v1/faq/starters?language=" + LANG, FRONTDOOR).href;
    fetch(url, { credentials: "omit", mode: "cors" })
      .then(function (response) { return response.ok ? response.json() : { questions: [] }; })
      .then(function (body) {
        var questions = Array.isArray(body.questions) ? body.questions : [];
        if (lastSeq > 0 || !item.isConnected || !questions.length) return;
        renderButtons(item, questions.map(function (question) { return { title: String(question) }; }));
        starterRow = item.lastChild;
        starterRow.classList.add("starters");
        starterRow.setAttribute("aria-label", t("Common questions"));
      })
      .catch(function () { /* no buttons: the customer can still type */ });
  }
  function dropUnusedStarters() {
    if (starterRow && !starterRow.querySelector("[aria-pressed=true]")) starterRow.remove();
    starterRow = null;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  /*@rich@*/
  var richText = fdRichText;

  function looksLikeRating(buttons) {
    return buttons.every(function (b) {
      return /^\s*([1-5]|★+|⭐+)\s*$/.test(b.title) || /rat(e|ing)|csat|satisf/i.test(b.payload || "");
    });
  }

  function renderButtons(item, buttons) {
    var rating = looksLikeRating(buttons);
    var row = el("div", { class: rating ? "buttons rating" : "buttons", role: "group",
      "aria-label": rating ? t("Rate this conversation") : t("Suggested replies") });
    buttons.forEach(function (b) {
      var button = el("button", { type: "button", "aria-pressed": "false" }, b.title);
      button.addEventListener("click", function () {
        if (!send(b.title, b.payload)) return;
        Array.prototype.forEach.call(row.querySelectorAll("button"), function (other) { other.disabled = true; });
        button.setAttribute("aria-pressed", "true");
        input.focus();
      });
      row.appendChild(button);
    });
    item.appendChild(row);
  }

  // The last message the customer has had in front of them (kept with the conversation, so a later visit knows what
  // arrived while they were away); null before this browser has shown any.
  function seenSeq() {
    var stored = parseInt(load("seen") || "", 10);
    return isNaN(stored) ? null : stored;
  }
  function markSeen() {
    var before = seenSeq();
    if (!panel.hidden && (before === null || lastSeq > before)) save("seen", String(lastSeq));
  }

  // `quiet`: history shown on page load. What came after the customer last looked (a ticket's news while they were
  // offline) still counts as unread.
  function render(message, quiet) {
    if (typeof message.seq !== "number" || seen[message.seq]) return;
    seen[message.seq] = true;
    lastSeq = Math.max(lastSeq, message.seq);
    dropUnusedStarters();
    if (message.client_message_id) {
      unconfirmed = unconfirmed.filter(function (m) { return m.client_message_id !== message.client_message_id; });
    }
    var sender = WHO[message.sender] ? message.sender : "system";
    // Once the customer has written again, earlier choices are answered or passed over: they stay visible, not
    // clickable (a tap on a stale "Yes" would answer a question the conversation has left behind).
    if (sender === "customer") {
      Array.prototype.forEach.call(log.querySelectorAll(".buttons button"), function (b) { b.disabled = true; });
    }
    var item = el("li", { class: sender, "data-seq": String(message.seq) });
    if (sender !== "system") item.appendChild(el("span", { class: "who" }, WHO[sender]));
    else item.appendChild(el("span", { class: "vh" }, WHO.system + ": "));
    if (sender === "bot" && typeof message.html === "string" && message.html) {
      var bubble = el("div", { class: "bubble rich" });
      bubble.appendChild(richText(message.html));
      item.appendChild(bubble);
    } else if (message.text) item.appendChild(el("div", { class: "bubble" }, message.text));
    if (message.buttons && message.buttons.length) renderButtons(item, message.buttons);
    log.appendChild(item);
    scrollDown();
    var before = seenSeq();
    if (sender !== "customer") {
      typing.hidden = true;
      if (!quiet || (before !== null && message.seq > before)) noteUnread();
    }
    markSeen();
  }

  function noticeText(event) {
    var kind = event.type === "notice" ? event.notice || event.kind || "" : event.type;
    if (typeof event.text === "string" && event.text) return { kind: kind, text: event.text };
    if (kind === "queue_position" && typeof event.position === "number") {
      var text = event.position <= 1 ? t("You are next in the queue.") : t("You are number {position} in the queue.", { position: event.position });
      if (typeof event.eta_s === "number" && event.eta_s > 0) text += t(" Estimated wait: about {minutes} min.", { minutes: Math.max(1, Math.round(event.eta_s / 60)) });
      return { kind: kind, text: text };
    }
    var fixed = { agent_left: t("The agent left the chat."), bot_back: t("The assistant is back."), closed: t("This conversation has ended."), closed_hours: t("Our team is offline right now; we will answer when we are back.") };
    if (kind === "agent_joined") {
      var name = event.display_name || t("An agent");
      return { kind: kind, text: t("{name} joined the chat.", { name: name }) };
    }
    return fixed[kind] ? { kind: kind, text: fixed[kind] } : null;
  }

  function renderNotice(event) {
    var notice = noticeText(event);
    if (!notice) return;
    if (notice.kind === "queue_position") {
      // One line that updates in place, rather than a new line every time the queue moves.
      statusLine.textContent = notice.text; statusLine.hidden = false;
      if (queueItem) { queueItem.querySelector(".bubble").textContent = notice.text; return; }
    } else if (notice.kind === "agent_joined" || notice.kind === "bot_back" || notice.kind === "closed") {
      statusLine.hidden = true; queueItem = null;
    }
    var item = el("li", { class: "notice", "data-notice": notice.kind });
    item.appendChild(el("div", { class: "bubble" }, notice.text));
    log.appendChild(item);
    if (notice.kind === "queue_position") queueItem = item;
    scrollDown();
    noteUnread();
  }

  function noteUnread() {
    if (!panel.hidden) return;
    unread += 1;
    badge.textContent = String(unread); badge.hidden = false;
    launcher.setAttribute("aria-label", t("Open chat") + " (" + t("{count} new", { count: unread }) + ")");
  }

  function setState(text) { state.textContent = text; }

  // ---- connection ----
  var API = new URL("api/v1/conversations", FRONTDOOR).href;
  var ws = null;
  var ready = false;
  var historyShown = false;
  var backoffMs = 500;
  var reconnectTimer = null;
  var connecting = false;
  var outbox = [];
  // Messages sent on a socket that the server has not echoed back yet: re-sent after a reconnect with the same
  // client_message_id, which the server stores once (a socket can die after sending, before or after the store).
  var unconfirmed = [];
  var typingSent = false;
  var typingTimer = null;

  async function createConversation() {
    var response = await fetch(API, {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit", mode: "cors",
      body: JSON.stringify({ visitor_token: load("visitor") || undefined, language: LANG }),
    });
    if (!response.ok) throw new Error("start failed: " + response.status);
    var body = await response.json();
    save("conversation", body.conversation_id);
    save("token", body.customer_token);
    save("visitor", body.visitor_token);
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    var delay = backoffMs * (0.75 + Math.random() * 0.5); // jitter keeps many pages from retrying in step
    backoffMs = Math.min(backoffMs * 2, 15000);
    reconnectTimer = setTimeout(function () { reconnectTimer = null; connect(); }, delay);
  }

  async function connect() {
    if (connecting || (ws && ws.readyState <= 1)) return;
    connecting = true;
    setState(t("Connecting…"));
    try {
      if (!load("conversation") || !load("token")) await createConversation();
    } catch (e) {
      connecting = false;
      setState(t("Reconnecting…"));
      scheduleReconnect();
      return;
    }
    connecting = false;
    var conversation = load("conversation");
    var url = new URL("api/v1/conversations/" + encodeURIComponent(conversation) + "/ws", FRONTDOOR);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(url.href);
    ws = socket;
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "hello", token: load("token"), after: lastSeq }));
    };
    socket.onmessage = function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "ready") {
        ready = true; backoffMs = 500; setState(t("Online"));
        // The first backlog after a page load is history, not news; later backlogs were missed while offline.
        var quiet = !historyShown; historyShown = true;
        (message.messages || []).forEach(function (m) { render(m, quiet); });
        var resend = unconfirmed; unconfirmed = [];
        outbox = resend.concat(outbox);
        flush();
      } else if (message.type === "message" && message.message) {
        render(message.message);
      } else if (message.type === "typing") {
        if (message.who !== "customer") {
          typing.textContent = t("{who} is typing…", { who: WHO[message.who === "agent" ? "agent" : "bot"] });
          typing.hidden = !message.on;
        }
      } else if (message.type === "error" && message.error) {
        if (message.error.code === "unauthorised" || message.error.code === "not_found") {
          // The stored conversation is gone or not ours: start afresh on the next connect.
          forgetConversation();
        }
      } else if (message.type) {
        renderNotice(message);
      }
    };
    socket.onclose = function () {
      if (ws !== socket) return;
      ws = null; ready = false; typing.hidden = true;
      setState(t("Reconnecting…"));
      scheduleReconnect();
    };
  }

  function frame(value) {
    if (ws && ready && ws.readyState === 1) {
      ws.send(JSON.stringify(value));
      if (value.client_message_id) unconfirmed.push(value);
      return true;
    }
    return false;
  }

  function flush() {
    while (outbox.length && frame(outbox[0])) outbox.shift();
  }

  // A fresh id per message (crypto.randomUUID needs a secure context; the fallback is unique enough per browser).
  function messageId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }

  function send(text, payload) {
    text = (text || "").trim();
    if (!text && !payload) return false;
    var message = { type: "message", text: text, client_message_id: messageId() };
    if (payload) message.payload = payload;
    stopTyping();
    if (!frame(message)) { outbox.push(message); connect(); }
    return true;
  }

  function stopTyping() {
    clearTimeout(typingTimer);
    if (typingSent) { typingSent = false; frame({ type: "typing", on: false }); }
  }

  input.addEventListener("input", function () {
    if (!input.value) { stopTyping(); return; }
    if (!typingSent) typingSent = frame({ type: "typing", on: true });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3000);
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (send(input.value)) input.value = "";
    input.focus();
  });

  // ---- open / close ----
  function open() {
    panel.hidden = false; root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    unread = 0; badge.hidden = true; launcher.setAttribute("aria-label", t("Open chat"));
    saveSession("open", "1");
    markSeen();
    askStarters();
    connect();
    scrollDown();
    input.focus();
  }

  function close() {
    panel.hidden = true; root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    saveSession("open", "0");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeButton.addEventListener("click", close);
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) { event.stopPropagation(); close(); }
  });
  function forgetConversation() {
    save("conversation", null); save("token", null); save("seen", null);
    seen = {}; lastSeq = 0; queueItem = null; statusLine.hidden = true; starterRow = null;
    log.textContent = ""; addGreeting();
  }
  // Leaving a conversation for a new one tells the server, so a customer waiting for a human leaves the queue.
  function closeConversation() {
    var conversation = load("conversation"), token = load("token");
    if (!conversation || !token) return;
    var url = new URL("api/v1/conversations/" + encodeURIComponent(conversation) + "/close", FRONTDOOR);
    fetch(url.href, {
      method: "POST", headers: { Authorization: "Bearer " + token }, credentials: "omit", mode: "cors", keepalive: true,
    }).catch(function () { /* the silence sweep catches what this misses */ });
  }
  restart.addEventListener("click", function () {
    closeConversation();
    forgetConversation();
    outbox = []; unconfirmed = [];
    var old = ws; ws = null; ready = false;
    if (old) old.close();
    connect();
    input.focus();
  });
  window.addEventListener("online", function () {
    if (!ws && load("conversation")) { clearTimeout(reconnectTimer); reconnectTimer = null; backoffMs = 500; connect(); }
  });

  addGreeting();
  function mount() {
    document.body.appendChild(host);
    // A stored conversation reconnects at once (history, unread count); a new visitor's starts when they open.
    if (loadSession("open") === "1") open();
    else if (load("conversation")) connect();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
