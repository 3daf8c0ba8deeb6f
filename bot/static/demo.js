// Demo chat page: talks to the front door's chat API over a WebSocket. Every text is set with textContent,
// never innerHTML, so whatever a customer or agent typed renders inert.
(function () {
  "use strict";
  const zh = (navigator.language || "").toLowerCase().startsWith("zh");
  const T = zh
    ? { title: "在线客服", placeholder: "请输入消息", send: "发送", online: "已连接", offline: "重新连接中…",
        bot: "助手", agent: "客服", you: "我", restart: "开始新的对话" }
    : { title: "Customer service", placeholder: "Type a message", send: "Send", online: "Connected",
        offline: "Reconnecting…", bot: "Assistant", agent: "Agent", you: "You", restart: "Start a new conversation" };
  const $ = (id) => document.getElementById(id);
  $("title").textContent = T.title; $("text").placeholder = T.placeholder; $("send").textContent = T.send;
  $("restart").textContent = T.restart;
  document.documentElement.lang = zh ? "zh" : "en";
  const store = window.localStorage;
  let ws = null, lastSeq = 0, backoff = 500;
  const seen = new Set();

  async function ensureConversation() {
    if (store.getItem("fd_conversation") && store.getItem("fd_token")) return;
    const response = await fetch("/api/v1/conversations", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ visitor_token: store.getItem("fd_visitor") || undefined, language: zh ? "zh" : "en" }),
    });
    const body = await response.json();
    store.setItem("fd_conversation", body.conversation_id);
    store.setItem("fd_token", body.customer_token);
    store.setItem("fd_visitor", body.visitor_token);
  }

  function render(message) {
    if (seen.has(message.seq)) return;
    seen.add(message.seq); lastSeq = Math.max(lastSeq, message.seq);
    const item = document.createElement("li");
    item.className = message.sender;
    item.dataset.seq = message.seq;
    if (message.sender !== "system") {
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = { customer: T.you, bot: T.bot, agent: T.agent }[message.sender] || "";
      item.appendChild(who);
    }
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = message.text;
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

  function send(text, payload) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: "message", text: text, payload: payload }));
  }

  async function connect() {
    await ensureConversation();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${scheme}://${location.host}/api/v1/conversations/${store.getItem("fd_conversation")}/ws`);
    ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token: store.getItem("fd_token"), after: lastSeq }));
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "ready") { $("status").textContent = T.online; backoff = 500; data.messages.forEach(render); }
      else if (data.type === "message") { $("typing").hidden = true; render(data.message); }
      else if (data.type === "typing") { $("typing").hidden = !data.on; }
      else if (data.type === "error" && data.error.code === "unauthorised") {
        store.removeItem("fd_conversation"); store.removeItem("fd_token");
      }
    };
    ws.onclose = () => {
      $("status").textContent = T.offline;
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
  connect();
})();
