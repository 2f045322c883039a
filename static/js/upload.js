// Upload first, details meanwhile: picking (or dropping) files starts sending them at once,
// each as its own resumable upload, while the owner fills in the form.
// - Local storage: the tus 1.0 protocol with tus-js-client (static/js/vendor/tus.min.js).
// - Object storage: S3 multipart upload, one presigned URL per part; the site completes it.
// Either way a finished upload gives a signed token that the form sends instead of the file.
// An upload cut by the network continues where it stopped; after a reload, picking the same
// file again continues it too (tus keeps its address in localStorage; for S3 we keep the
// signed session keyed by name, size and date). Without this script the plain form posts.
(function () {
  "use strict";
  var form = document.querySelector("[data-upload-form]");
  if (!form || !window.XMLHttpRequest || !window.FormData || !window.fetch) return;
  var direct = form.dataset.directUpload;
  var tusEndpoint = form.dataset.tus;
  if (!direct && !(tusEndpoint && window.tus && window.tus.isSupported)) return;

  var strings = document.getElementById("upload-strings").dataset;
  var checks = {};
  try { checks = JSON.parse(document.getElementById("form-checks").textContent); } catch (e) { /* none */ }
  var input = form.querySelector('input[type="file"]');
  var field = form.querySelector("[data-upload-field]");
  var zone = form.querySelector("[data-drop-zone]");
  var box = form.querySelector("[data-progress]");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var cancelButton = box.querySelector("[data-cancel]");
  var problem = form.querySelector("[data-upload-error]");
  var list = form.querySelector("[data-files]");
  var submit = form.querySelector("[data-submit]");
  var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  var chunkSize = Number(form.dataset.chunkSize) || 8 * 1024 * 1024;
  var retryDelays = [0, 1000, 2000, 3000, 5000];
  for (var i = 0; i < 60; i++) retryDelays.push(10000); // about ten minutes of trying
  var SESSION_HOURS = 23;

  var entries = []; // {file, total, loaded, base, done, failed, token, stop(terminate), item}
  var startedAt = 0;
  var sendWhenReady = false;

  function formatLeft(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "…";
    if (seconds < 60) return Math.ceil(seconds) + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + Math.round(seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function clock(seconds) {
    if (!isFinite(seconds)) return "";
    var s = Math.round(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  // A size as the server writes it (Django's filesizeformat): one decimal past the bytes, in
  // the page's language ("22,5 Ko" in French, "22.5 KB" in English).
  var lang = document.documentElement.lang || undefined;
  function number(value, decimals) {
    try {
      return new Intl.NumberFormat(lang, {
        minimumFractionDigits: decimals, maximumFractionDigits: decimals, useGrouping: false,
      }).format(value);
    } catch (e) { return value.toFixed(decimals); }
  }

  // "1 byte", "2 bytes" (and "0 octet" in French): the page language's plural rules.
  var plurals = null;
  try { plurals = new Intl.PluralRules(lang); } catch (e) { /* "one" for 1 alone */ }
  function bytesUnit(count) {
    var one = plurals ? plurals.select(count) === "one" : count === 1;
    return one ? strings.unitByte : strings.unitBytes;
  }

  function humanSize(bytes) {
    var units = [null, strings.unitKb, strings.unitMb, strings.unitGb];
    var n = bytes, u = 0;
    while (n >= 1024 && u < units.length - 1) { n /= 1024; u++; }
    return number(n, u ? 1 : 0) + "\u00a0" + (u ? units[u] : bytesUnit(n));
  }

  function tooLarge(file) {
    return (checks.too_large || "%(name)s: %(max)s").replace("%(name)s", file.name)
      .replace("%(max)s", humanSize(Number(input.dataset.maxBytes)));
  }

  function showProblem(message) {
    problem.hidden = !message;
    problem.textContent = message || "";
  }

  function active() {
    return entries.filter(function (e) { return !e.done && !e.failed; });
  }

  // One progress line for all the files: percent of the bytes, time left at the rate seen.
  function render() {
    var live = entries.filter(function (e) { return !e.failed; });
    if (!live.length) { box.hidden = true; return; }
    var total = 0, loaded = 0, sentNow = 0;
    live.forEach(function (e) {
      total += e.total; loaded += e.loaded;
      sentNow += Math.max(0, e.loaded - (e.base === null ? e.loaded : e.base));
    });
    var percent = total ? Math.floor((loaded / total) * 100) : 0;
    bar.value = percent;
    box.hidden = false;
    if (!active().length) {
      // All in: each file says "Received" in the list, with its own Remove; nothing to cancel.
      box.hidden = true;
      return;
    }
    bar.hidden = false;
    var rate = sentNow / Math.max((Date.now() - startedAt) / 1000, 0.001);
    text.textContent = (sendWhenReady ? strings.waiting + " " : "") + strings.uploading.replace("%(percent)s", percent)
      .replace("%(left)s", formatLeft(rate > 0 ? (total - loaded) / rate : Infinity));
  }

  function addToken(entry) {
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = "upload_ticket";
    hidden.value = entry.token;
    hidden.setAttribute("data-new-token", "");
    field.appendChild(hidden);
    entry.hidden = hidden;
  }

  function finished(entry) {
    entry.done = true;
    entry.loaded = entry.total;
    entry.state.textContent = strings.received;
    addToken(entry);
    render();
    if (!active().length && sendWhenReady) {
      sendWhenReady = false;
      if (form.requestSubmit) form.requestSubmit(submit); else form.submit();
    }
  }

  function failed(entry, message) {
    entry.failed = true;
    entry.state.textContent = "";
    sendWhenReady = false;
    submit.disabled = false;
    showProblem(message || strings.failed);
    render();
    if (!entries.some(function (e) { return e.done; })) box.hidden = true;
  }

  function progress(entry, loaded) {
    if (entry.base === null) entry.base = loaded; // what was there before this page sent
    entry.loaded = loaded;
    render();
  }

  // ---------------------------------------------------------------- tus (local storage)
  function startTus(entry) {
    var upload = new window.tus.Upload(entry.file, {
      endpoint: tusEndpoint,
      chunkSize: chunkSize,
      retryDelays: retryDelays,
      headers: { "X-CSRFToken": csrf },
      metadata: { filename: entry.file.name, filetype: entry.file.type || "" },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onShouldRetry: function (err) {
        var status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        return !(status >= 400 && status < 500 && status !== 409 && status !== 423);
      },
      onProgress: function (sent) { progress(entry, sent); },
      onAfterResponse: function (req, res) {
        var token = res.getHeader("Upload-Token");
        if (token) entry.token = token;
      },
      onSuccess: function () {
        if (entry.token) finished(entry); else failed(entry);
      },
      onError: function (err) {
        var status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        failed(entry, status === 413 ? tooLarge(entry.file) : strings.failed);
      },
    });
    entry.stop = function (terminate) { return upload.abort(terminate); };
    upload.findPreviousUploads().then(function (previous) {
      if (entry.cancelled) return;
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

  // ---------------------------------------------------------------- S3 multipart (bucket)
  function post(path, fields) {
    var data = new FormData();
    data.append("csrfmiddlewaretoken", csrf);
    Object.keys(fields).forEach(function (name) {
      [].concat(fields[name]).forEach(function (value) { data.append(name, value); });
    });
    return fetch(direct + path, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          body.status = response.status;
          return body;
        });
      });
  }

  function storageKey(file) {
    return "s3-upload:" + [file.name, file.size, file.lastModified].join(":");
  }

  function saved(file) {
    try {
      var value = JSON.parse(localStorage.getItem(storageKey(file)) || "null");
      if (value && Date.now() - value.at < SESSION_HOURS * 3600 * 1000) return value;
    } catch (e) { /* private mode: no resuming after a reload */ }
    return null;
  }

  function putPart(entry, url, number, blob) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      entry.xhr = xhr;
      xhr.open("PUT", url);
      xhr.upload.addEventListener("progress", function (e) {
        progress(entry, entry.doneBytes + e.loaded);
      });
      xhr.addEventListener("load", function () {
        entry.xhr = null;
        if (xhr.status >= 200 && xhr.status < 300) resolve(); else reject(xhr.status);
      });
      xhr.addEventListener("error", function () { entry.xhr = null; reject(0); });
      xhr.addEventListener("abort", function () { entry.xhr = null; reject("abort"); });
      xhr.send(blob);
    });
  }

  function startS3(entry) {
    var file = entry.file, attempt = 0, session = saved(file);
    entry.stop = function (terminate) {
      entry.cancelled = true;
      if (entry.xhr) entry.xhr.abort();
      if (terminate && session) {
        post("abort/", { session: session.session });
        try { localStorage.removeItem(storageKey(file)); } catch (e) { /* nothing kept */ }
      }
      return Promise.resolve();
    };

    function begin() {
      if (session) return Promise.resolve(session);
      return post("", { name: file.name, size: file.size, type: file.type || "" }).then(function (answer) {
        if (answer.status !== 200) throw { message: answer.error || strings.failed, final: true };
        session = { session: answer.session, partSize: answer.partSize, parts: answer.parts, at: Date.now() };
        try { localStorage.setItem(storageKey(file), JSON.stringify(session)); } catch (e) { /* no resuming */ }
        return session;
      });
    }

    function partBlob(number) {
      return file.slice((number - 1) * session.partSize, Math.min(file.size, number * session.partSize));
    }

    // Ask which parts the bucket has and URLs for the next ones; send them one by one.
    function round() {
      var wanted = [];
      for (var n = 1; n <= session.parts && wanted.length < 20; n++) {
        if (!entry.doneParts[n]) wanted.push(n);
      }
      return post("parts/", { session: session.session, part: wanted }).then(function (answer) {
        if (answer.status === 404) { session = null; throw { retryFresh: true }; }
        if (answer.status !== 200) throw { message: answer.error };
        answer.done.forEach(function (n) { entry.doneParts[n] = true; });
        entry.doneBytes = 0;
        for (var k = 1; k <= session.parts; k++) if (entry.doneParts[k]) entry.doneBytes += partBlob(k).size;
        progress(entry, entry.doneBytes);
        var chain = Promise.resolve();
        Object.keys(answer.urls).forEach(function (key) {
          var number = Number(key);
          if (entry.doneParts[number]) return;
          chain = chain.then(function () {
            if (entry.cancelled) throw "abort";
            var blob = partBlob(number);
            return putPart(entry, answer.urls[key], number, blob).then(function () {
              entry.doneParts[number] = true;
              entry.doneBytes += blob.size;
              attempt = 0;
              progress(entry, entry.doneBytes);
            });
          });
        });
        return chain.then(function () {
          for (var m = 1; m <= session.parts; m++) if (!entry.doneParts[m]) return round();
          return post("complete/", { session: session.session });
        });
      });
    }

    function run() {
      begin().then(function () { return round(); }).then(function (answer) {
        if (answer.status === 409) throw { retryFresh: true }; // a part is missing: ask again
        if (answer.status !== 200 || !answer.token) throw { message: answer.error || strings.failed, final: true };
        try { localStorage.removeItem(storageKey(file)); } catch (e) { /* nothing kept */ }
        entry.token = answer.token;
        finished(entry);
      }).catch(function (err) {
        if (entry.cancelled || err === "abort") return;
        if (err && err.final) { failed(entry, err.message); return; }
        if (err && err.retryFresh) { entry.doneParts = {}; }
        if (attempt >= retryDelays.length) { failed(entry); return; }
        text.textContent = strings.resuming;
        setTimeout(run, retryDelays[attempt++]);
      });
    }
    entry.doneParts = {};
    entry.doneBytes = 0;
    run();
  }

  // ---------------------------------------------------------------- the files
  function preview(file, item) {
    if (!window.URL || !URL.createObjectURL || !/^video\//.test(file.type)) return;
    var url = URL.createObjectURL(file);
    var video = document.createElement("video");
    var poster = item.querySelector("[data-poster]");
    var duration = item.querySelector("[data-clip-duration]");
    video.muted = true;
    video.preload = "metadata";
    video.addEventListener("loadedmetadata", function () {
      duration.textContent = strings.duration.replace("%(time)s", clock(video.duration));
      duration.dataset.seconds = video.duration;
      video.currentTime = Math.min(1, video.duration / 2);
    });
    video.addEventListener("seeked", function () {
      var canvas = document.createElement("canvas");
      canvas.width = 160;
      canvas.height = Math.round((160 * video.videoHeight) / (video.videoWidth || 1)) || 90;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      try { poster.src = canvas.toDataURL("image/jpeg", 0.7); poster.hidden = false; } catch (e) { /* no poster */ }
      URL.revokeObjectURL(url);
      video.removeAttribute("src");
    }, { once: true });
    video.addEventListener("error", function () { URL.revokeObjectURL(url); });
    video.src = url;
  }

  function listItem(file) {
    var item = document.createElement("li");
    item.className = "upload__file";
    var poster = document.createElement("img");
    poster.alt = "";
    poster.hidden = true;
    poster.width = 160;
    poster.setAttribute("data-poster", "");
    var about = document.createElement("span");
    about.className = "upload__about";
    var name = document.createElement("span");
    name.className = "upload__name";
    name.textContent = file.name + ", " + humanSize(file.size);
    var duration = document.createElement("span");
    duration.setAttribute("data-clip-duration", "");
    var state = document.createElement("span");
    state.className = "upload__state";
    state.setAttribute("role", "status");
    state.setAttribute("data-state", "");
    about.append(name, duration, state);
    item.append(poster, about);
    return item;
  }

  // A dashcam event: the car saves one file per camera, `YYYY-MM-DD_HH-MM-SS-<camera>.mp4`
  // (submissions/dashcam.py). Files of one moment make one clip: listed as one item.
  var DASHCAM = /^(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)-(front|back|left_repeater|right_repeater|left_pillar|right_pillar)\.mp4$/i;
  var CAMERAS = {
    front: "cameraFront", back: "cameraBack", left_repeater: "cameraLeft",
    right_repeater: "cameraRight", left_pillar: "cameraLeftPillar", right_pillar: "cameraRightPillar",
  };
  var CAMERA_ORDER = Object.keys(CAMERAS);

  // The picked files as the list shows them: [file] alone, or an event's files together.
  function groups(files) {
    var found = [], events = {};
    Array.prototype.forEach.call(files, function (file) {
      var match = DASHCAM.exec(file.name);
      if (!match) { found.push({ files: [file] }); return; }
      var group = events[match[1]];
      if (!group) { group = events[match[1]] = { files: [], cameras: [] }; found.push(group); }
      group.files.push(file);
      group.cameras.push(match[2].toLowerCase());
    });
    found.forEach(function (group) {
      if (!group.cameras) return;
      var order = group.files.map(function (file, k) { return k; }).sort(function (a, b) {
        return CAMERA_ORDER.indexOf(group.cameras[a]) - CAMERA_ORDER.indexOf(group.cameras[b]);
      });
      group.files = order.map(function (k) { return group.files[k]; });
      group.cameras = order.map(function (k) { return group.cameras[k]; });
      var distinct = group.cameras.filter(function (c, k) { return group.cameras.indexOf(c) === k; });
      if (distinct.length < 2) delete group.cameras; // one camera: a clip like any other
      else group.distinct = distinct;
    });
    return found.reduce(function (all, group) {
      if (group.cameras) return all.concat([group]);
      return all.concat(group.files.map(function (file) { return { files: [file] }; }));
    }, []);
  }

  function eventItem(group) {
    var item = listItem(group.files[0]);
    item.classList.add("upload__file--event");
    var name = item.querySelector(".upload__name");
    name.textContent = strings.event.replace("%(count)s", group.distinct.length)
      .replace("%(cameras)s", group.distinct.map(function (camera) {
        return strings[CAMERAS[camera]] || camera;
      }).join(", "));
    item.querySelector("[data-state]").remove();
    var parts = document.createElement("ul");
    parts.className = "upload__cameras";
    group.files.forEach(function (file) {
      var part = document.createElement("li");
      var label = document.createElement("span");
      label.textContent = file.name + ", " + humanSize(file.size);
      var state = document.createElement("span");
      state.className = "upload__state";
      state.setAttribute("role", "status");
      state.setAttribute("data-state", "");
      part.append(label, " ", state);
      parts.appendChild(part);
    });
    item.querySelector(".upload__about").appendChild(parts);
    return item;
  }

  // Each listed file (or event) has its own Remove: the others stay, sent or sending.
  function removeButton(item, name) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--quiet upload__remove";
    button.textContent = strings.remove;
    button.setAttribute("aria-label", strings.removeNamed.replace("%(name)s", name));
    button.setAttribute("data-remove", "");
    button.addEventListener("click", function () { remove(item, name); });
    return button;
  }

  function remove(item, name) {
    var next = item.nextElementSibling || item.previousElementSibling;
    entries.forEach(function (entry) {
      if (entry.item !== item) return;
      entry.cancelled = true;
      if (entry.stop) Promise.resolve(entry.stop(true)).catch(function () {});
      if (entry.hidden) entry.hidden.remove();
    });
    entries = entries.filter(function (entry) { return entry.item !== item; });
    item.remove();
    if (!entries.length) {
      clear(true);
      input.value = "";
      submit.disabled = false;
      sendWhenReady = false;
      showProblem(strings.removed);
      input.focus(); // nothing left to remove: the keyboard goes on from the file field
      return;
    }
    // The input keeps only the files still listed (sent again if the page is restored).
    try {
      var still = new DataTransfer();
      entries.forEach(function (entry) { still.items.add(entry.file); });
      input.files = still.files;
    } catch (e) { /* the tokens are what the form sends */ }
    showProblem(strings.removedNamed.replace("%(name)s", name));
    next.querySelector("[data-remove]").focus();
    render();
    if (sendWhenReady && !active().length) {
      sendWhenReady = false;
      if (form.requestSubmit) form.requestSubmit(submit); else form.submit();
    }
  }

  function clear(terminate) {
    entries.forEach(function (entry) {
      entry.cancelled = true;
      // A finished upload is removed too: its token leaves the form with it.
      if (entry.stop) Promise.resolve(entry.stop(terminate)).catch(function () {});
      if (entry.hidden) entry.hidden.remove();
    });
    entries = [];
    list.textContent = "";
    list.hidden = true;
    box.hidden = true;
  }

  // Is it a video at all? Its first bytes name its container (the name and the type the
  // system gives are only hints); the server checks every file again, far more closely.
  function ascii(bytes, from, to) {
    return String.fromCharCode.apply(null, Array.prototype.slice.call(bytes, from, to));
  }

  function looksLikeVideo(bytes) {
    var box = ascii(bytes, 4, 8);
    return ["ftyp", "moov", "mdat", "free", "wide", "skip", "pnot"].indexOf(box) >= 0 // MP4, MOV, 3GP
      || (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) // WebM, MKV
      || (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 12) === "AVI ")
      || (bytes[0] === 0x47 && (bytes.length < 189 || bytes[188] === 0x47)) // MPEG-TS
      || (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1 && (bytes[3] === 0xba || bytes[3] === 0xb3)) // MPEG-PS
      || ascii(bytes, 0, 3) === "FLV" || ascii(bytes, 0, 4) === "OggS"
      || (bytes[0] === 0x30 && bytes[1] === 0x26 && bytes[2] === 0xb2 && bytes[3] === 0x75) // WMV
      || ascii(bytes, 0, 4) === "PK\u0003\u0004"; // a zip: the car's event folder, or clips
  }

  function firstBytes(file) {
    var head = file.slice(0, 192);
    if (head.arrayBuffer) return head.arrayBuffer().then(function (b) { return new Uint8Array(b); });
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () { resolve(new Uint8Array(reader.result)); };
      reader.onerror = function () { resolve(null); };
      reader.readAsArrayBuffer(head);
    });
  }

  // The first picked file that is not a video (null: all are). A dashcam event's own files
  // (event.json, thumb.png) go with its videos: the server sets them aside.
  function notVideo(files) {
    var list = Array.prototype.slice.call(files);
    var event = list.some(function (file) { return DASHCAM.test(file.name); });
    return Promise.all(list.map(function (file) {
      if (event && /^(event\.json|thumb\.png)$/i.test(file.name)) return true;
      if (!file.size) return false;
      return firstBytes(file).then(function (bytes) { return !bytes || looksLikeVideo(bytes); },
        function () { return true; });
    })).then(function (good) {
      var k = good.indexOf(false);
      return k < 0 ? null : list[k];
    });
  }

  var picking = 0;
  function pick(files) {
    var turn = ++picking; // an earlier pick still being checked is dropped
    clear(true);
    showProblem("");
    submit.disabled = false;
    if (!files.length) return;
    // New files replace those kept from an earlier try.
    form.querySelectorAll("[data-kept-token]").forEach(function (box) { box.checked = false; });
    // A refused file leaves the input: else the form would send it all the same.
    var max = Number(input.dataset.maxBytes);
    for (var k = 0; k < files.length; k++) {
      if (max && files[k].size > max) {
        var refused = tooLarge(files[k]); // before the input is cleared: `files` may be its list
        input.value = "";
        showProblem(refused);
        return;
      }
    }
    files = Array.prototype.slice.call(files);
    notVideo(files).then(function (bad) {
      if (turn !== picking) return; // picked again meanwhile
      if (bad) {
        input.value = "";
        showProblem(strings.notVideo.replace("%(name)s", bad.name));
        return;
      }
      send(files);
    });
  }

  function send(files) {
    startedAt = Date.now();
    list.hidden = false;
    text.textContent = strings.starting;
    bar.value = 0;
    bar.hidden = false;
    box.hidden = false;
    groups(files).forEach(function (group) {
      var item = group.cameras ? eventItem(group) : listItem(group.files[0]);
      // An event is named by its moment, as the car names its folder.
      item.appendChild(removeButton(item, group.cameras ? DASHCAM.exec(group.files[0].name)[1] : group.files[0].name));
      list.appendChild(item);
      preview(group.files[0], item);
      var states = item.querySelectorAll("[data-state]");
      group.files.forEach(function (file, k) {
        var entry = {
          file: file, total: file.size, loaded: 0, base: null, done: false, failed: false,
          item: item, state: states[k],
        };
        entries.push(entry);
        if (direct) startS3(entry); else startTus(entry);
      });
    });
  }

  // Sending at once holds only here: the page says so now (the plain form does not).
  form.querySelectorAll("[data-upload-promise]").forEach(function (line) {
    line.hidden = false;
    // Heard where it is shown: right after the zone's instruction.
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    described.splice(1, 0, line.id);
    input.setAttribute("aria-describedby", described.join(" "));
  });

  input.addEventListener("change", function () { pick(input.files); });

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("upload__zone--over");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("upload__zone--over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    try { input.files = event.dataTransfer.files; } catch (e) { /* old browsers: still sent */ }
    pick(event.dataTransfer.files);
  });

  cancelButton.addEventListener("click", function () {
    var sending = active().length > 0;
    clear(true);
    input.value = "";
    submit.disabled = false;
    sendWhenReady = false;
    showProblem(sending ? strings.cancelled : strings.removed);
    input.focus(); // the button is gone: the keyboard goes on from the file field
  });

  form.addEventListener("submit", function (event) {
    if (active().length) {
      // Still sending: the form goes as soon as the files are in.
      event.preventDefault();
      sendWhenReady = true;
      submit.disabled = true;
      showProblem("");
      text.textContent = strings.waiting;
      return;
    }
    // The files are already on the server: send their tokens, not the files again.
    if (entries.length) input.disabled = true;
  });
  // Back from the page cache after sending: the file input must work again. Back to a page
  // loaded again, the browser may put the files picked before back in the input, without a
  // change event: list and send them as any pick (the site knows a file it already has).
  function restored() {
    if (input.files && input.files.length && !entries.length) pick(input.files);
  }
  window.addEventListener("pageshow", function () { input.disabled = false; restored(); });
  restored();
})();
