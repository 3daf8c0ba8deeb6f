// The staff page shell: one navigation bar on every staff page, drawn from /api/v1/staff/me so a member sees
// only the pages their roles open (staff/shell.py owns that list). Every text is set with textContent.
(function () {
  "use strict";

  function t(text) {
    // The message catalogue (i18n.js), when the page loaded it; English otherwise.
    return window.fdI18n && typeof window.fdI18n.t === "function" ? window.fdI18n.t(text) : text;
  }

  // Codes the server sends (presence, priority, ownership state; a ticket's status, category, channel, SLA clock)
  // shown as words in the page's language. Each is a literal t() call so the catalogue's extraction sees it; an
  // unknown code is shown as it is.
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
      web: t("web chat"), wechat: t("WeChat"),
      first_response: t("first response"), next_reply: t("next reply"), resolution: t("resolution"),
    };
    return Object.prototype.hasOwnProperty.call(labels, code) ? labels[code] : code;
  }
  window.fdLabel = label;

  // A length of time as m:ss under an hour and h:mm:ss beyond (SLA deadlines run to days), sign dropped.
  function duration(seconds) {
    const s = Math.round(Math.abs(seconds));
    const ss = String(s % 60).padStart(2, "0");
    return s >= 3600 ? `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${ss}` : `${Math.floor(s / 60)}:${ss}`;
  }
  window.fdDuration = duration;

  function link(page) {
    const a = document.createElement("a");
    a.href = page.path;
    a.textContent = t(page.label);
    a.dataset.i18n = page.label;
    if (window.location.pathname === page.path) a.setAttribute("aria-current", "page");
    return a;
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
    const who = document.createElement("span");
    who.className = "fd-shell-me";
    who.id = "fd-shell-me";
    who.textContent = me.display_name || me.username;
    bar.appendChild(who);
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
    fetch("/api/v1/staff/me", { credentials: "same-origin" })
      .then((r) => {
        if (r.status === 401) {
          window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then((me) => { if (me) draw(me); })
      .catch(() => {});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
