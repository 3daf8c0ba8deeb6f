// Supervisor view: re-reads the snapshot whenever handoff events arrive; text goes in with textContent only.
(function () {
  "use strict";
  var t = window.fdI18n.t;
  var snapshot = null;
  var timer = null;
  function $(id) { return document.getElementById(id); }
  var connLive = null; // null until the socket first opens or closes: the page's own "connecting…" stays
  function showConn(live) {
    connLive = live;
    if (live !== null) $("conn").textContent = live ? t("live") : t("reconnecting…");
  }
  var clear = window.fdClear; // shell.js
  function row(cells, cls) {
    var tr = document.createElement("tr");
    if (cls) tr.className = cls;
    cells.forEach(function (c) { var td = document.createElement("td"); td.textContent = c === null || c === undefined ? "–" : String(c); tr.appendChild(td); });
    return tr;
  }
  function mmss(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    return (seconds < 0 ? "-" : "") + window.fdDuration(seconds);
  }
  function render() {
    if (!snapshot) return;
    var now = Date.now() / 1000;
    var q = $("queues"); clear(q);
    snapshot.queues.forEach(function (x) {
      q.appendChild(row([window.fdQueue(x.skill), x.length, mmss(x.oldest_wait_s === null ? null : x.oldest_wait_s + (now - snapshot.at)), x.agents_online, x.agents_available, mmss(x.eta_s)]));
    });
    var a = $("agents"); clear(a);
    snapshot.agents.forEach(function (x) {
      // Within her presence grace period: online as she set it, but routing gives her nothing until a console reopens.
      var presence = window.fdLabel(x.presence) + (x.disconnected_at ? " · " + t("no console open") : "");
      a.appendChild(row([x.display_name + " (" + x.agent_id + ")", presence, x.load + "/" + x.capacity, x.languages.map(window.fdLabel).join(", "), x.skills.map(window.fdLabel).join(", ") || t("general"),
        window.fdTime(x.last_assigned_at)]));
    });
    var w = $("waiting"); clear(w);
    var risk = {}; snapshot.at_risk.forEach(function (c) { risk[c] = true; });
    var items = snapshot.waiting.map(function (x) { return [x.conversation_id, window.fdQueue(x.skill), window.fdLabel(x.priority), window.fdLabel(x.reason), x.sla.deadline]; });
    snapshot.assigned.forEach(function (r) {
      if (r.state === "assigned" && !r.last_agent_reply_at) items.push([r.conversation_id, t("agent {agent}", { agent: r.agent_id }), window.fdLabel(r.priority), window.fdLabel(r.reason), snapshot.deadlines[r.conversation_id]]);
    });
    items.sort(function (x, y) { return (x[4] || 0) - (y[4] || 0); });
    items.forEach(function (x) {
      var left = x[4] ? x[4] - now : null;
      w.appendChild(row([x[0], x[1], x[2], x[3] || "–", left === null ? "–" : left < 0 ? t("{time} overdue", { time: window.fdDuration(left) }) : t("{time} left", { time: mmss(left) })], risk[x[0]] || (left !== null && left < 0) ? "risk" : ""));
    });
  }
  // shell.js fdApi: a 401 goes to the login page; any other failure keeps the last snapshot until the next try.
  async function load() {
    try { snapshot = await window.fdApi("GET", "/api/v1/console/supervisor"); } catch (e) { return; }
    render();
  }
  function schedule() { if (!timer) timer = setTimeout(function () { timer = null; load(); }, 200); }
  // The shell's console socket (shell.js; this page asks for it with <body data-console-socket>).
  document.addEventListener("fd:console-socket", function (e) {
    if ("open" in e.detail) {
      showConn(e.detail.open);
      if (e.detail.open) schedule();
    } else if (e.detail.frame.type === "event" && e.detail.frame.topic === "handoff") schedule();
  });
  document.addEventListener("fd:language", function () { showConn(connLive); render(); });
  window.fdI18n.ready.then(function () {
    showConn(connLive); // the socket may have opened before the catalogue came
    setInterval(render, 1000);
    setInterval(load, 15000);
    load();
  });
})();
