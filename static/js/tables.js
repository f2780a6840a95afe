// Wide tables: a table that cannot fit its region (a phone, many columns)
// scrolls inside it; this puts a visible line above it saying so, and keeps
// it in step with the window's width. Without JavaScript the region still
// scrolls (and keyboard users reach it: it has tabindex="0").
(function () {
  "use strict";

  // The words come from the page, translated (js/messages.js).
  var MESSAGES = window.pageMessages("tables");

  function cueFor(wrap) {
    var cue = wrap.previousElementSibling;
    if (cue && cue.classList.contains("scroll-cue")) {
      return cue;
    }
    cue = document.createElement("p");
    cue.className = "scroll-cue";
    cue.hidden = true;
    cue.textContent = MESSAGES.scrollCue || "";
    wrap.parentNode.insertBefore(cue, wrap);
    return cue;
  }

  function update() {
    var wraps = document.querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      var overflowing = wrap.scrollWidth > wrap.clientWidth + 1;
      cueFor(wrap).hidden = !overflowing;
      wrap.classList.toggle("is-overflowing", overflowing);
    }
  }

  var pending = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(update, 100);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", update);
  } else {
    update();
  }
})();
