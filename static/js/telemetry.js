// The car's telemetry strip follows the video: speed, Autopilot, blinkers and brake at the
// current moment. Without this script the strip shows its summary only.
(function () {
  "use strict";
  var STORE = "drive-unit";

  function at(times, seconds) {
    // The last sample at or before `seconds` (binary search: the series is in time order).
    var low = 0, high = times.length - 1;
    if (high < 0 || seconds < times[0]) return 0;
    while (low < high) {
      var mid = (low + high + 1) >> 1;
      if (times[mid] <= seconds) low = mid; else high = mid - 1;
    }
    return low;
  }

  document.querySelectorAll("[data-drive]").forEach(function (strip) {
    var source = strip.querySelector('script[type="application/json"]');
    var video = strip.parentNode.querySelector("[data-player-video]") || strip.parentNode.querySelector("video");
    if (!source || !video) return;
    var data = JSON.parse(source.textContent);
    if (!data.t || !data.t.length) return;
    var live = strip.querySelector("[data-drive-live]");
    var speed = strip.querySelector("[data-drive-speed]");
    var unitButton = strip.querySelector("[data-drive-unit]");
    var autopilot = strip.querySelector("[data-drive-autopilot]");
    var left = strip.querySelector("[data-drive-left]");
    var right = strip.querySelector("[data-drive-right]");
    var brake = strip.querySelector("[data-drive-brake]");
    var unit = data.unit;
    try { unit = window.localStorage.getItem(STORE) || unit; } catch (e) { /* private mode */ }
    if (!data.factors[unit]) unit = data.unit;

    function show() {
      var i = at(data.t, video.currentTime || 0);
      speed.textContent = String(Math.round(data.speed[i] * data.factors[unit]));
      unitButton.textContent = strip.getAttribute(unit === "mph" ? "data-unit-mph" : "data-unit-kmh");
      var engaged = data.autopilot[i] > 0;
      autopilot.textContent = autopilot.getAttribute(engaged ? "data-on" : "data-off");
      autopilot.classList.toggle("is-on", engaged);
      left.hidden = !(data.blinker[i] & 1);
      right.hidden = !(data.blinker[i] & 2);
      brake.hidden = !data.brake[i];
      strip.setAttribute("data-drive-at", String(i));
    }

    unitButton.addEventListener("click", function () {
      unit = unit === "mph" ? "kmh" : "mph";
      try { window.localStorage.setItem(STORE, unit); } catch (e) { /* private mode */ }
      show();
    });
    ["timeupdate", "seeked", "loadedmetadata"].forEach(function (name) {
      video.addEventListener(name, show);
    });
    live.hidden = false;
    show();
  });
})();
