// What the ticket pages (tickets.js, ticket.js, teams.js, transcript.js) share beyond the shell's helpers (shell.js:
// fdApi, fdEl, fdClear, fdTime): SLA clocks and the flash lines. Load after i18n.js and shell.js.
(function () {
  "use strict";
  const t = window.fdI18n.t;


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

  window.fdWorkspace = { clockText, nextClock, flash };
})();
