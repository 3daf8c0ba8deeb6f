/* The 403 page of a staff page: says which role the page needs (the server fills body[data-role]). */
(function () {
  "use strict";
  var role = document.body.dataset.role;
  Array.prototype.forEach.call(document.querySelectorAll("[data-needs]"), function (line) {
    line.hidden = line.dataset.needs !== role;
  });
})();
