(function () {
  "use strict";
  const params = new URLSearchParams(location.search);
  const next = params.get("next");
  if (next && next.startsWith("/") && !next.startsWith("//")) document.getElementById("next").value = next;
  if (params.get("error")) document.getElementById("error").textContent = "Wrong username or password.";
})();
