// What the ticket pages (tickets.js, ticket.js, teams.js) share: element building, the JSON API call, times and SLA
// clocks. Load after i18n.js and shell.js. Every text goes in with textContent (el's children become text nodes):
// a customer's words are never parsed as HTML here.
(function () {
  "use strict";
  const t = window.fdI18n.t;

  // el("li", {className: "x", dataset: {seq: 1}, onclick: fn, title: "…"}, "text", childNode, …)
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

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // fetch JSON; a 401 sends the member to the login page, any other failure throws an Error with .status, .code.
  async function api(method, path, body) {
    const options = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    if (response.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      throw new Error(t("Log in first."));
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || response.statusText || "HTTP " + response.status);
      error.status = response.status;
      error.code = data.error ? data.error.code : "";
      throw error;
    }
    return data;
  }

  function fmtTime(epoch) { return epoch ? new Date(epoch * 1000).toLocaleString(window.fdI18n.lang === "zh" ? "zh-CN" : "en-GB") : "–"; }

  // One SLA clock as words: {text, cls} with cls "met", "paused", "late" (past due), "risk" (warning passed) or "".
  function clockText(clock, now) {
    if (clock.met_at) return { text: t("met"), cls: "met" };
    if (clock.paused) return { text: t("paused"), cls: "paused" };
    if (!clock.due) return { text: "–", cls: "" };
    const left = clock.due - now;
    if (left < 0) return { text: t("{time} overdue", { time: window.fdDuration(left) }), cls: "late" };
    const risk = clock.warning_at && now >= clock.warning_at;
    return { text: t("{time} left", { time: window.fdDuration(left) }), cls: risk ? "risk" : "" };
  }

  // The ticket's most pressing running clock (the list's "next deadline" column).
  function nextClock(ticket) {
    const clocks = ((ticket.sla && ticket.sla.clocks) || []).filter((c) => c.due && !c.met_at);
    if (!clocks.length) return null;
    return clocks.reduce((a, b) => (b.due < a.due ? b : a));
  }

  // A flash line (role=alert) for errors and a status line for what just happened.
  function flash(node, text, ok) {
    node.textContent = text || "";
    node.classList.toggle("ok", Boolean(ok));
  }

  window.fdWorkspace = { el, clear, api, fmtTime, clockText, nextClock, flash };
})();
