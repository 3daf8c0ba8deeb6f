(function () {
  "use strict";
  var t = window.fdI18n.t;
  const params = new URLSearchParams(location.search);
  const next = params.get("next");
  if (next && next.startsWith("/") && !next.startsWith("//")) document.getElementById("next").value = next;
  // A 429 answer to a login (too many failures) is this page with the wait in seconds (staff/pages.py).
  const retryAfter = Number(document.getElementById("login-main").dataset.retryAfter || 0);
  function showError() {
    const error = document.getElementById("error");
    if (retryAfter > 0) {
      const minutes = Math.ceil(retryAfter / 60);
      error.textContent = t("Too many failed logins. Try again in {minutes} min.", { minutes: minutes });
    } else if (params.get("error")) {
      error.textContent = t("Wrong username or password.");
    }
  }
  window.fdI18n.ready.then(showError);
  document.addEventListener("fd:language", showError);
})();
