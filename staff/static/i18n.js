/*
 * Staff pages' language: English or Chinese, from the `fd_lang` cookie, else the browser's language.
 * Load it before the page's own script; it defines window.fdI18n:
 *   t(msgid, params)  the text for an English message id, {placeholders} filled from params
 *   ready             a Promise, resolved once the `staff` catalogue (GET /i18n/staff/{lang}.json) is loaded
 *   lang              "en" | "zh"
 *   apply(root)       translates root's elements marked data-i18n="English text" (their text) and
 *                     data-i18n-<attribute>="English text" (e.g. data-i18n-placeholder, data-i18n-title)
 *   setLanguage(lang) remembers the choice in the cookie, reloads the catalogue, re-applies it, then fires
 *                     "fd:language" on document so a page can re-render what it built in JS
 *   switcher()        a new language switch (EN / 中文): a self-contained element any page or shell can host;
 *                     every element marked data-i18n-switch is filled with one.
 * Texts are set with textContent, never innerHTML. Message ids are extracted by `make i18n` (marker: t("…")).
 */
(function () {
  "use strict";
  var COOKIE = "fd_lang";
  var LANGUAGES = [["en", "EN", "English"], ["zh", "中文", "中文（简体）"]];
  var ONE_YEAR_S = 365 * 24 * 3600;

  function supported(lang) { return lang === "en" || lang === "zh"; }
  function cookieLanguage() {
    var match = document.cookie.match(/(?:^|;\s*)fd_lang=([^;]*)/);
    return match && supported(match[1]) ? match[1] : null;
  }
  function browserLanguage() {
    var first = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
    return first.toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  }

  var i18n = { lang: cookieLanguage() || browserLanguage(), catalogue: {} };

  function t(msgid, params) {
    var text = i18n.catalogue[msgid] || msgid;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, function (whole, key) { return key in params ? String(params[key]) : whole; });
  }

  function apply(root) {
    var scope = root || document;
    var nodes = scope.querySelectorAll ? scope.querySelectorAll("*") : [];
    Array.prototype.forEach.call(nodes, function (node) {
      Array.prototype.forEach.call(node.attributes, function (attribute) {
        if (attribute.name === "data-i18n") node.textContent = t(attribute.value);
        else if (attribute.name.indexOf("data-i18n-") === 0 && attribute.name !== "data-i18n-switch") {
          node.setAttribute(attribute.name.slice("data-i18n-".length), t(attribute.value));
        }
      });
    });
  }

  function load(lang) {
    return fetch("/i18n/staff/" + lang + ".json", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .catch(function () { return {}; })
      .then(function (catalogue) {
        i18n.lang = lang; i18n.catalogue = catalogue;
        document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
        apply(document);
        refreshSwitchers();
      });
  }

  var switchers = [];
  function refreshSwitchers() {
    switchers.forEach(function (group) {
      Array.prototype.forEach.call(group.querySelectorAll("button"), function (button) {
        button.setAttribute("aria-pressed", String(button.value === i18n.lang));
      });
    });
  }

  function setLanguage(lang) {
    if (!supported(lang)) return Promise.resolve();
    var secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = COOKIE + "=" + lang + "; Path=/; Max-Age=" + ONE_YEAR_S + "; SameSite=Lax" + secure;
    return load(lang).then(function () {
      document.dispatchEvent(new CustomEvent("fd:language", { detail: { lang: lang } }));
    });
  }

  function switcher() {
    var group = document.createElement("span");
    group.className = "fd-lang-switch";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Language / 语言");
    LANGUAGES.forEach(function (language) {
      var button = document.createElement("button");
      button.type = "button";
      button.value = language[0];
      button.lang = language[0] === "zh" ? "zh-CN" : "en";
      button.title = language[2];
      button.textContent = language[1];
      button.setAttribute("aria-pressed", String(language[0] === i18n.lang));
      button.addEventListener("click", function () { setLanguage(language[0]); });
      group.appendChild(button);
    });
    switchers.push(group);
    return group;
  }

  window.fdI18n = {
    t: t,
    apply: apply,
    setLanguage: setLanguage,
    switcher: switcher,
    get lang() { return i18n.lang; },
    ready: null,
  };
  window.fdI18n.ready = load(i18n.lang);
  function mountSwitchers() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-switch]"), function (slot) {
      if (!slot.firstChild) slot.appendChild(switcher());
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountSwitchers);
  else mountSwitchers();
})();
