// Copy buttons for the beacon snippet and new secrets: shown only when JavaScript and the clipboard
// are available; the text is selectable by hand either way.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      var label = button.textContent;
      button.hidden = false;
      button.setAttribute("aria-live", "polite");
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent).then(
          function () { button.textContent = "Copied"; },
          function () { button.textContent = "Copy failed: select the text instead"; }
        );
        setTimeout(function () { button.textContent = label; }, 3000);
      });
    });
  });
})();
