// The new-property form: when it is first shown, choose the browser's own timezone in its list.
// Without JavaScript, or for a zone the list does not have, the server's default (UTC) stays.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.querySelector("form[data-timezone-from-browser] select[name=timezone]");
    if (!select || typeof Intl === "undefined") return;
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return;
    }
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) {
        select.value = zone;
        return;
      }
    }
  });
})();
