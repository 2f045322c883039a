// The player starts as its poster with one big start button (a link to the video file, for
// browsers without this script). Starting gives the video its controls, plays it and hands
// it the keyboard focus.
(function () {
  "use strict";
  document.querySelectorAll("[data-player-start]").forEach(function (start) {
    var video = start.parentNode.querySelector("[data-player-video]");
    if (!video) return;
    start.addEventListener("click", function (event) {
      event.preventDefault();
      video.controls = true;
      start.remove();
      video.focus();
      var playing = video.play();
      if (playing) playing.catch(function () { /* refused or interrupted: the controls remain */ });
    });
  });
})();

// A dashcam event's angles: without this script each is a link to the page on that angle;
// with it, a button that swaps the playing video at the same moment (time and play state
// kept). The arrow keys move between them, as in any group of toggles.
(function () {
  "use strict";
  document.querySelectorAll("[data-angles]").forEach(function (group) {
    var article = group.closest("article") || document;
    var video = article.querySelector("[data-player-video]");
    if (!video) return;
    var start = article.querySelector("[data-player-start]");
    var choices = Array.prototype.slice.call(group.querySelectorAll("[data-angle]"));
    var current = group.querySelector("[aria-current]") || choices[0];

    function show(choice) {
      choices.forEach(function (each) {
        var on = each === choice;
        each.setAttribute("aria-pressed", on ? "true" : "false");
        each.tabIndex = on ? 0 : -1;
      });
    }

    function switchTo(choice) {
      var src = choice.getAttribute("data-src");
      if (!src || choice.getAttribute("aria-pressed") === "true") return;
      var moment = video.currentTime;
      var wasPlaying = !video.paused && !video.ended;
      var rate = video.playbackRate;
      show(choice);
      // The address follows (a reload or a bookmark opens the same camera), not the history.
      if (window.history && history.replaceState && choice.href) {
        history.replaceState(history.state, "", choice.href);
      }
      video.setAttribute("data-angle", choice.getAttribute("data-angle"));
      if (start) start.href = src;
      video.src = src;  // overrides the <source> children
      video.load();
      video.addEventListener("loadedmetadata", function restore() {
        video.removeEventListener("loadedmetadata", restore);
        video.currentTime = Math.min(moment, video.duration || moment);
        video.playbackRate = rate;
        if (wasPlaying) {
          var playing = video.play();
          if (playing) playing.catch(function () { /* refused: the controls remain */ });
        }
      });
      if (wasPlaying || moment > 0) video.preload = "auto";
    }

    choices.forEach(function (choice, index) {
      choice.setAttribute("role", "button");
      choice.removeAttribute("aria-current");
      choice.addEventListener("click", function (event) {
        event.preventDefault();
        switchTo(choice);
      });
      choice.addEventListener("keydown", function (event) {
        var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
        var target = null;
        if (step) target = choices[(index + step + choices.length) % choices.length];
        else if (event.key === "Home") target = choices[0];
        else if (event.key === "End") target = choices[choices.length - 1];
        else if (event.key === " ") target = choice;  // a link's own key is Enter only
        if (!target) return;
        event.preventDefault();
        target.focus();
        switchTo(target);
      });
    });
    show(current);
  });
})();
