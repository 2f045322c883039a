// Progressive enhancement of the submission form: send with XMLHttpRequest to show progress,
// time left and a cancel button. With object storage the file goes straight to the bucket
// (a presigned POST), and the form then names it. Without this script the plain form posts.
(function () {
  "use strict";
  var first = document.querySelector("[data-upload-form]");
  if (!first || !window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
  enhance(first);

  function formatLeft(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "…";
    if (seconds < 60) return Math.ceil(seconds) + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + Math.round(seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function enhance(form) {
    var strings = document.getElementById("upload-strings").dataset;
    var box = form.querySelector("[data-progress]");
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-progress-text]");
    var cancel = box.querySelector("[data-cancel]");
    var submit = form.querySelector("[data-submit]");
    var problem = form.querySelector("[data-upload-error]");
    var fileInput = form.querySelector('input[type="file"]');
    var ticket = form.querySelector('input[name="upload_ticket"]');
    var xhr = null;

    function reset(message) {
      box.hidden = true;
      submit.disabled = false;
      problem.hidden = !message;
      problem.textContent = message || "";
      xhr = null;
    }

    function showProgress(started) {
      return function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.floor((e.loaded / e.total) * 100);
        var rate = e.loaded / Math.max((Date.now() - started) / 1000, 0.001);
        bar.value = percent;
        text.textContent = percent >= 100 ? strings.processing
          : strings.uploading.replace("%(percent)s", percent).replace("%(left)s", formatLeft((e.total - e.loaded) / rate));
      };
    }

    function send(method, url, body, onload, withProgress) {
      xhr = new XMLHttpRequest();
      xhr.open(method, url);
      if (withProgress) xhr.upload.addEventListener("progress", showProgress(Date.now()));
      xhr.addEventListener("load", function () { onload(xhr); });
      xhr.addEventListener("error", function () { reset(strings.failed); });
      xhr.addEventListener("abort", function () { reset(strings.cancelled); });
      xhr.send(body);
    }

    // The form itself, with the file (plain mode) or with the ticket naming it (direct mode).
    function postForm(withFile) {
      var data = new FormData(form);
      if (!withFile) data.delete(fileInput.name);
      send("POST", form.action || location.href, data, function (request) {
        var landed = request.responseURL || location.href;
        if (request.status >= 200 && request.status < 300 && landed.split("?")[0] !== location.href.split("?")[0]) {
          location.assign(landed);
          return;
        }
        // The server answered with the form and its errors: show them in place.
        var answer = new DOMParser().parseFromString(request.responseText, "text/html");
        var fresh = answer.querySelector("[data-upload-form]");
        if (!fresh) { reset(strings.failed); return; }
        form.replaceWith(fresh);
        enhance(fresh);
        var firstError = fresh.querySelector(".errorlist");
        if (firstError) firstError.scrollIntoView({ block: "center" });
      }, withFile);
    }

    function directUpload(file) {
      var ask = new FormData();
      ask.append("csrfmiddlewaretoken", form.querySelector('input[name="csrfmiddlewaretoken"]').value);
      ask.append("name", file.name);
      ask.append("size", file.size);
      ask.append("type", file.type || "video/mp4");
      send("POST", form.dataset.directUpload, ask, function (request) {
        var answer;
        try { answer = JSON.parse(request.responseText); } catch (e) { reset(strings.failed); return; }
        if (request.status !== 200) { reset(answer.error || strings.failed); return; }
        var upload = new FormData();
        Object.keys(answer.fields).forEach(function (name) { upload.append(name, answer.fields[name]); });
        upload.append("file", file);
        send("POST", answer.url, upload, function (stored) {
          if (stored.status < 200 || stored.status >= 300) {
            reset(/EntityTooLarge/.test(stored.responseText) ? strings.tooLarge : strings.failed);
            return;
          }
          ticket.value = answer.ticket;
          postForm(false);
        }, true);
      }, false);
    }

    fileInput && fileInput.addEventListener("change", function () {
      var max = Number(fileInput.dataset.maxBytes);
      var file = fileInput.files[0];
      reset(file && max && file.size > max ? strings.tooLarge : "");
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      box.hidden = false;
      problem.hidden = true;
      submit.disabled = true;
      bar.value = 0;
      text.textContent = strings.starting;
      var file = fileInput && fileInput.files[0];
      if (form.dataset.directUpload && file) {
        directUpload(file);
      } else {
        postForm(true);
      }
      cancel.focus();
    });

    cancel.addEventListener("click", function () {
      if (xhr) xhr.abort();
    });
  }
})();
