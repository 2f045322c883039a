// Progressive enhancement of the submission form: send with XMLHttpRequest to show progress,
// time left and a cancel button. Without this script the plain form posts as usual.
(function () {
  "use strict";
  var first = document.querySelector("[data-upload-form]");
  if (!first || !window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
  enhance(first);

  function enhance(form) {
  var strings = document.getElementById("upload-strings").dataset;
  var box = form.querySelector("[data-progress]");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var cancel = box.querySelector("[data-cancel]");
  var submit = form.querySelector("[data-submit]");
  var problem = form.querySelector("[data-upload-error]");
  var fileInput = form.querySelector('input[type="file"]');
  var xhr = null;

  function formatLeft(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "…";
    if (seconds < 60) return Math.ceil(seconds) + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + Math.round(seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function reset(message) {
    box.hidden = true;
    submit.disabled = false;
    problem.hidden = !message;
    problem.textContent = message || "";
    xhr = null;
  }

  fileInput && fileInput.addEventListener("change", function () {
    var max = Number(fileInput.dataset.maxBytes);
    var file = fileInput.files[0];
    reset(file && max && file.size > max ? strings.tooLarge : "");
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var started = Date.now();
    xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.floor((e.loaded / e.total) * 100);
      var elapsed = (Date.now() - started) / 1000;
      var rate = e.loaded / Math.max(elapsed, 0.001);
      bar.value = percent;
      text.textContent = percent >= 100 ? strings.processing
        : strings.uploading.replace("%(percent)s", percent).replace("%(left)s", formatLeft((e.total - e.loaded) / rate));
    });
    xhr.addEventListener("load", function () {
      var landed = xhr.responseURL || location.href;
      if (xhr.status >= 200 && xhr.status < 300 && landed.split("?")[0] !== location.href.split("?")[0]) {
        location.assign(landed);
        return;
      }
      // The server answered with the form and its errors: show them in place.
      var answer = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = answer.querySelector("[data-upload-form]");
      if (!fresh) { reset(strings.failed); return; }
      form.replaceWith(fresh);
      enhance(fresh);
      var firstError = fresh.querySelector(".errorlist");
      if (firstError) firstError.scrollIntoView({ block: "center" });
    });
    xhr.addEventListener("error", function () { reset(strings.failed); });
    xhr.addEventListener("abort", function () { reset(strings.cancelled); });
    box.hidden = false;
    problem.hidden = true;
    submit.disabled = true;
    bar.value = 0;
    text.textContent = strings.starting;
    xhr.send(new FormData(form));
    cancel.focus();
  });

  cancel.addEventListener("click", function () {
    if (xhr) xhr.abort();
  });
  }
})();
