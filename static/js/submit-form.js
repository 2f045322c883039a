// The submission form's checks in the browser: before anything is sent, the required fields,
// the e-mail's shape and the consent, with the server's own messages (in the page's language).
// Problems show as the server shows them: beside each field, and in a summary at the top that
// takes the focus. The server checks everything again; without this script the form still
// posts and the server's summary is focused through its autofocus attribute.
(function () {
  "use strict";
  var source = document.getElementById("form-checks");
  if (!source || !window.JSON || !document.querySelector) return;
  var checks = JSON.parse(source.textContent);
  var EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  function fileGiven(form) {
    var input = form.querySelector('input[type="file"]');
    if (!input) return true;
    if (input.files && input.files.length) return true;
    // A file already on its way or kept from an earlier try (the upload script's business).
    var ticket = form.querySelector('input[name="upload_ticket"]');
    return Boolean((ticket && ticket.value) || form.querySelector("[data-file-kept]"));
  }

  // What the upload script said of the file it refused (not a video, too large), on show
  // beside the file; null when it said nothing.
  function uploadRefusal(form) {
    var said = form.querySelector("[data-upload-error]");
    return said && !said.hidden && said.textContent.trim() ? said : null;
  }

  function problems(form) {
    var found = [];
    Object.keys(checks.required).forEach(function (name) {
      var inputs = form.querySelectorAll('[name="' + name + '"]');
      if (!inputs.length || inputs[0].type === "hidden") return;
      var first = inputs[0];
      var value = first.type === "checkbox"
        ? Array.prototype.some.call(inputs, function (input) { return input.checked; })
        : first.value.trim();
      if (!value) {
        found.push({ name: name, input: first, message: checks.required[name] });
      } else if (first.type === "email" && !EMAIL.test(value)) {
        found.push({ name: name, input: first, message: checks.email });
      }
    });
    each(form.querySelectorAll("[data-max-length]"), function (input) {
      var message = tooLong(input);
      if (message) found.push({ name: input.name, input: input, message: message });
    });
    var file = form.querySelector('input[type="file"]');
    if (file && !fileGiven(form)) {
      // The file was refused when picked: the summary names why, as the field does.
      var refused = uploadRefusal(form);
      found.push({ name: file.name, input: file, message: refused ? refused.textContent : checks.file });
    }
    found.sort(function (a, b) {
      return a.input.compareDocumentPosition(b.input) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
    });
    return found;
  }

  function format(template, values) {
    return template.replace(/%\((\w+)\)[sd]/g, function (all, key) {
      return key in values ? values[key] : all;
    });
  }

  // Characters as the server counts them: code points, the text trimmed, a line break sent
  // as two (CR LF).
  function length(input) {
    var value = input.value.trim().replace(/\r?\n/g, "\r\n");
    return Array.from ? Array.from(value).length : value.length;
  }

  function tooLong(input) {
    var max = parseInt(input.getAttribute("data-max-length"), 10);
    var count = length(input);
    return max && count > max && checks.too_long
      ? format(checks.too_long, { limit_value: max, show_value: count }) : "";
  }

  function describedBy(input, id, add) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (one) {
      return one && one !== id;
    });
    if (add) ids.push(id);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  // One field's error, placed and linked as the server's template does it.
  function showError(form, name, message) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    var first = inputs[0];
    var field = first.closest(".field");
    var errorId = "id_" + name + "_error";
    var group = first.type === "checkbox" && inputs.length > 1 ? first.closest("fieldset") : null;
    clearError(form, name);
    // The upload script's own message, said again here: once is enough.
    var refused = uploadRefusal(form);
    if (message && refused && refused.textContent === message) refused.hidden = true;
    if (message) {
      var list = document.createElement("ul");
      list.className = "errorlist";
      list.id = errorId;
      var item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
      var before = group ? group.querySelector(".chips") || first : first;
      before.parentNode.insertBefore(list, before);
    }
    if (field) field.classList.toggle("field--error", Boolean(message));
    each(inputs, function (input) {
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      if (!group) describedBy(input, errorId, Boolean(message));
    });
    if (group) describedBy(group, errorId, Boolean(message));
  }

  function clearError(form, name) {
    var old = form.querySelector("#id_" + name + "_error");
    if (old) old.remove();
  }

  function showSummary(form, found) {
    var summary = form.querySelector("[data-error-summary]");
    var list = summary.querySelector("[data-error-list]");
    list.textContent = "";
    found.forEach(function (problem) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + problem.input.id;
      link.textContent = problem.message;
      item.appendChild(link);
      list.appendChild(item);
    });
    summary.hidden = !found.length;
    if (found.length) focusSummary(summary);
  }

  function focusSummary(summary) {
    summary.focus();
    summary.scrollIntoView({ block: "start" });
  }

  // Before the upload script sees the submit (capture, on the document): stop it when needed.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-checked-form]")) return;
    var found = problems(form);
    var checked = Object.keys(checks.required);
    each(form.querySelectorAll("[data-max-length]"), function (input) { checked.push(input.name); });
    var file = form.querySelector('input[type="file"]');
    if (file) checked.push(file.name);
    checked.forEach(function (name) {
      var problem = found.filter(function (one) { return one.name === name; })[0];
      if (form.querySelector('[name="' + name + '"]:not([type="hidden"])')) {
        showError(form, name, problem && problem.message);
      }
    });
    showSummary(form, found);
    if (found.length) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // A link in the summary puts the focus in its field, with the field's label in view.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-error-summary] a[href^='#']");
    if (!link) return;
    var input = document.getElementById(link.getAttribute("href").slice(1));
    if (!input) return;
    event.preventDefault();
    var field = input.closest(".field") || input;
    field.scrollIntoView({ block: "start" });
    input.focus({ preventScroll: true });
  });

  // Once a field is put right, its message goes.
  function recheck(event) {
    var input = event.target;
    var form = input.form;
    if (!form || !form.matches("[data-checked-form]") || !input.name) return;
    if (!form.querySelector("#id_" + input.name + "_error")) return;
    var still = problems(form).filter(function (one) { return one.name === input.name; })[0];
    if (!still) showError(form, input.name, "");
  }
  document.addEventListener("input", recheck);
  document.addEventListener("change", recheck);

  // A text with a limit (the server leaves out `maxlength`, which cuts a pasted text without
  // a word): a count under it as the owner types, and the message at once when it is over.
  var counters = [];
  each(document.querySelectorAll("[data-checked-form] [data-max-length]"), function (input) {
    if (!checks.count) return;
    var counter = document.createElement("p");
    counter.className = "field__count";
    counter.id = input.id + "_count";
    input.parentNode.insertBefore(counter, input.nextSibling);
    describedBy(input, counter.id, true);
    var wasOver = false;
    function update() {
      var max = parseInt(input.getAttribute("data-max-length"), 10);
      var count = length(input);
      counter.textContent = format(checks.count, { count: count, max: max });
      var message = tooLong(input);
      counter.classList.toggle("field__count--over", Boolean(message));
      if (message) showError(input.form, input.name, message);
      else if (wasOver) {
        var still = problems(input.form).filter(function (one) { return one.name === input.name; })[0];
        showError(input.form, input.name, still ? still.message : "");
      }
      wasOver = Boolean(message);
    }
    input.addEventListener("input", update);
    counters.push(update);
    update();
  });
  // Back to the form: the browser puts the texts back after this ran (a reload from history)
  // or shows the page as it was (the back-forward cache); count what is there now.
  function recount() { counters.forEach(function (update) { update(); }); }
  window.addEventListener("pageshow", recount);
  window.addEventListener("load", recount);

  // The server's summary: on the page as it loads, or in a form the upload script put back.
  function focusServerSummary(root) {
    var summary = root.matches && root.matches("[data-error-summary]") ? root
      : root.querySelector("[data-error-summary]");
    if (summary && !summary.hidden && summary.querySelector("li")) focusSummary(summary);
  }
  focusServerSummary(document);
  if (window.MutationObserver) {
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        each(change.addedNodes, function (node) {
          if (node.nodeType === 1) focusServerSummary(node);
        });
      });
    }).observe(document.body, { childList: true, subtree: true });
  }
})();
