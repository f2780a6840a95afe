// The words every script shows come from the page, translated: base.html
// renders them from giveaway/scripts.py into the JSON block #script-messages
// (the CSP allows a data block, not inline code). Loaded before any other
// script; each asks for its own group: pageMessages("copy").
(function () {
  "use strict";

  var all = null;

  window.pageMessages = function (group) {
    if (all === null) {
      var block = document.getElementById("script-messages");
      try {
        all = (block && JSON.parse(block.textContent)) || {};
      } catch (e) {
        all = {};
      }
    }
    return all[group] || {};
  };
})();
