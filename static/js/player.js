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
