// Demo chat page: talks to the front door's chat API over a WebSocket. Every text is set with textContent,
// never innerHTML, so whatever a customer or agent typed renders inert.
(function () {
  "use strict";
  const zh = (navigator.language || "").toLowerCase().startsWith("zh");
  const lang = zh ? "zh" : "en";
  // Texts come from the `widget` message catalogue (English ids), loaded before the page starts.
  let catalogue = {};
  const t = (msgid) => catalogue[msgid] || msgid;
  const $ = (id) => document.getElementById(id);
  document.documentElement.lang = lang;
  const store = window.localStorage;
  let ws = null, lastSeq = 0, backoff = 500;
  const seen = new Set();

  async function ensureConversation() {
    if (store.getItem("fd_conversation") && store.getItem("fd_token")) return;
    const response = await fetch("/api/v1/conversations", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ visitor_token: store.getItem("fd_visitor") || undefined, language: lang }),
    });
    const body = await response.json();
    store.setItem("fd_conversation", body.conversation_id);
    store.setItem("fd_token", body.customer_token);
    store.setItem("fd_visitor", body.visitor_token);
  }

  function render(message) {
    if (seen.has(message.seq)) return;
    seen.add(message.seq); lastSeq = Math.max(lastSeq, message.seq);
    // As in the widget: once the customer has written again, earlier choices stay visible, not clickable.
    if (message.sender === "customer") $("log").querySelectorAll(".buttons button").forEach((b) => { b.disabled = true; });
    const item = document.createElement("li");
    item.className = message.sender;
    item.dataset.seq = message.seq;
    if (message.sender !== "system") {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = { customer: t("You"), bot: t("Assistant"), agent: t("Agent") }[message.sender] || "";
      item.appendChild(who);
    }
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    if (message.sender === "bot" && typeof message.html === "string" && message.html) {
      // The bot's Markdown answer as the front door sanitised it, rebuilt inertly (rich.js); all else as typed.
      bubble.classList.add("rich");
      bubble.appendChild(window.fdRichText(message.html));
    } else {
      bubble.textContent = message.text;
    }
    item.appendChild(bubble);
    if (message.buttons && message.buttons.length) {
      const row = document.createElement("div");
      row.className = "buttons";
      for (const b of message.buttons) {
        const button = document.createElement("button");
        button.type = "button"; button.textContent = b.title;
        button.addEventListener("click", () => send(b.title, b.payload));
        row.appendChild(button);
      }
      item.appendChild(row);
    }
    $("log").appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  // A new or empty conversation opens with a greeting and a few common questions (GET /api/v1/faq/starters). The
  // greeting is the page's own line, never stored or sent; a question button sends its text as the customer's.
  let greeted = false;
  async function greet() {
    if (greeted) return;
    greeted = true;
    const item = document.createElement("li");
    item.className = "bot greeting";
    const who = document.createElement("span");
    who.className = "who"; who.textContent = t("Assistant");
    const bubble = document.createElement("div");
    bubble.className = "bubble"; bubble.textContent = t("Hi! How can we help you today?");
    item.append(who, bubble);
    $("log").prepend(item);
    let questions = [];
    try {
      const response = await fetch(`/api/v1/faq/starters?language=${lang}`);
      if (response.ok) questions = (await response.json()).questions || [];
    } catch (e) { /* no buttons: the customer can still type */ }
    if (!questions.length) return;
    const row = document.createElement("div");
    row.className = "buttons starters";
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", t("Common questions"));
    for (const question of questions) {
      const button = document.createElement("button");
      button.type = "button"; button.textContent = question;
      button.addEventListener("click", () => {
        if (!send(question)) return;
        row.querySelectorAll("button").forEach((b) => { b.disabled = true; });
        button.setAttribute("aria-pressed", "true");
      });
      row.appendChild(button);
    }
    item.appendChild(row);
  }

  function send(text, payload) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify({ type: "message", text: text, payload: payload }));
    return true;
  }

  async function connect() {
    await ensureConversation();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}/api/v1/conversations/${store.getItem("fd_conversation")}/ws`);
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: store.getItem("fd_token"), after: lastSeq }));
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "ready") {
        $("status").textContent = t("Connected"); backoff = 500; data.messages.forEach(render);
        if (!seen.size) greet();
      }
      else if (data.type === "message") { $("typing").hidden = true; render(data.message); }
      else if (data.type === "typing") { $("typing").hidden = !data.on; }
      else if (data.type === "error" && data.error.code === "unauthorised") {
        store.removeItem("fd_conversation"); store.removeItem("fd_token");
      }
    };
    ws.onclose = () => {
      $("status").textContent = t("Reconnecting…");
      setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000);
    };
  }

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (text) { send(text); $("text").value = ""; }
  });
  $("restart").addEventListener("click", (event) => {
    event.preventDefault();
    store.removeItem("fd_conversation"); store.removeItem("fd_token");
    location.reload();
  });
  function start() {
    $("title").textContent = t("Customer service");
    $("text").placeholder = t("Type a message…");
    $("send").textContent = t("Send");
    $("restart").textContent = t("Start a new conversation");
    document.querySelector("label[for=text]").textContent = t("Message");
    connect();
  }

  fetch(`/i18n/widget/${lang}.json`)
    .then((response) => (response.ok ? response.json() : {}))
    .catch(() => ({}))
    .then((loaded) => { catalogue = loaded; start(); });
})();
