// The weekly report is written by the server in the member's language (staff/weekly_page.py); the shell's language
// switch (i18n.js) only re-translates what the browser drew, so the report is fetched again in the new language.
(function () {
  "use strict";
  document.addEventListener("fd:language", function () { window.location.reload(); });
})();
