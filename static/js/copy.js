// Copy buttons: <button data-copy-target="ID"> copies the text of element ID.
// Falls back to selecting the text when the Clipboard API is unavailable.
(function () {
  "use strict";

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function announce(button, message) {
    var statusId = button.getAttribute("data-copy-status");
    var status = statusId ? document.getElementById(statusId) : null;
    if (status) {
      status.textContent = message;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) {
      return;
    }
    var text = target.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { announce(button, "Copied to the clipboard."); },
        function () { selectText(target); announce(button, "Selected: press Ctrl+C (or ⌘C) to copy."); }
      );
    } else {
      selectText(target);
      announce(button, "Selected: press Ctrl+C (or ⌘C) to copy.");
    }
  });

  // The button only makes sense with JavaScript: show it now.
  document.querySelectorAll("[data-copy-target][hidden]").forEach(function (button) {
    button.hidden = false;
  });
})();
