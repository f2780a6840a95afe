// Copy buttons: <button data-copy-target="ID"> copies the text of element ID.
// Print buttons: <button data-print> opens the browser's print dialog.
// Falls back to selecting the text when the Clipboard API is unavailable.
(function () {
  "use strict";

  // The words come from the page, translated (js/messages.js).
  var MESSAGES = window.pageMessages("copy");

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
    // A list marked data-copy-lines is copied one item per line (the recovery codes).
    var text = target.hasAttribute("data-copy-lines")
      ? Array.prototype.map.call(target.querySelectorAll("li"), function (li) {
          return li.textContent.trim();
        }).join("\n")
      : target.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { announce(button, MESSAGES.copied); },
        function () { selectText(target); announce(button, MESSAGES.selected); }
      );
    } else {
      selectText(target);
      announce(button, MESSAGES.selected);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) {
      window.print();
    }
  });

  // The buttons only make sense with JavaScript: show them now.
  document.querySelectorAll("[data-copy-target][hidden], [data-print][hidden]").forEach(function (button) {
    button.hidden = false;
  });
})();
