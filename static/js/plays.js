// Counts a play once the video has really played for a few seconds (seeking does not count),
// with one anonymous request: no cookie, no identifier. The server keeps a daily total only.
(function () {
  "use strict";
  var SECONDS = 3;
  document.querySelectorAll("video[data-play-url]").forEach(function (video) {
    var played = 0;
    var last = null;
    var sent = false;

    function send() {
      sent = true;
      var url = video.getAttribute("data-play-url");
      if (window.fetch) {
        fetch(url, { method: "POST", credentials: "omit", keepalive: true, cache: "no-store" })
          .catch(function () { /* a lost count is not worth a retry */ });
      } else if (navigator.sendBeacon) {
        navigator.sendBeacon(url);
      }
    }

    video.addEventListener("timeupdate", function () {
      if (sent || video.paused || video.seeking) return;
      var now = video.currentTime;
      // Only steady progress counts: a jump is a seek, not watching.
      if (last !== null && now > last && now - last < 1.5) played += now - last;
      last = now;
      // A clip shorter than that counts once most of it was watched.
      var needed = Math.min(SECONDS, (video.duration || SECONDS) * 0.8);
      if (played >= needed) send();
    });
    // Progress events come a few times a second: at the end of a short clip, most of it watched
    // steadily is a play.
    video.addEventListener("ended", function () {
      if (!sent && played >= Math.min(SECONDS, video.duration || SECONDS) * 0.6) send();
    });
    ["seeking", "pause", "emptied"].forEach(function (name) {
      video.addEventListener(name, function () { last = null; });
    });
  });
})();
