(function () {
  "use strict";
  var t = window.fdI18n.t;
  const params = new URLSearchParams(location.search);
  const next = params.get("next");
  if (next && next.startsWith("/") && !next.startsWith("//")) document.getElementById("next").value = next;
  function showError() {
    if (params.get("error")) document.getElementById("error").textContent = t("Wrong username or password.");
  }
  window.fdI18n.ready.then(showError);
  document.addEventListener("fd:language", showError);
})();
