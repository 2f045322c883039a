// Progressive enhancement: the theme form works as a plain GET form; with this script the
// results update in place and the address follows, so filtered views stay shareable.
(function () {
  "use strict";
  var form = document.querySelector("[data-filter-form]");
  if (!form || !window.fetch || !window.history) return;
  var pending;

  function urlFor(formElement) {
    var params = new URLSearchParams(new FormData(formElement));
    var query = params.toString();
    return formElement.action.split("?")[0] + (query ? "?" + query : "");
  }

  function syncForm(url) {
    var wanted = new URL(url, location.href).searchParams.getAll("theme");
    form.querySelectorAll('input[name="theme"]').forEach(function (box) {
      box.checked = wanted.indexOf(box.value) !== -1;
    });
    // The order is a link, not a field: the form carries it while it is not the default.
    var popular = new URL(url, location.href).searchParams.get("order") === "popular";
    var order = form.querySelector("[data-order-input]");
    if (popular && !order) {
      order = document.createElement("input");
      order.type = "hidden";
      order.name = "order";
      order.value = "popular";
      order.setAttribute("data-order-input", "");
      form.appendChild(order);
    } else if (!popular && order) {
      order.remove();
    }
  }

  // The language links keep the filter: follow the address as it changes.
  function syncLanguageLinks() {
    document.querySelectorAll(".lang-switch a[hreflang]").forEach(function (link) {
      var target = new URL(link.href, location.href);
      target.search = location.search;
      link.href = target.pathname + target.search;
    });
  }

  function load(url, push) {
    if (pending) pending.abort();
    pending = new AbortController();
    var results = document.querySelector("[data-results]");
    results.setAttribute("aria-busy", "true");
    return fetch(url, { headers: { "X-Partial": "results" }, signal: pending.signal })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.text();
      })
      .then(function (html) {
        results.outerHTML = html;
        if (push) history.pushState({ gallery: true }, "", url);
        syncLanguageLinks();
      })
      .catch(function (error) {
        if (error.name !== "AbortError") location.href = url;
      });
  }

  form.addEventListener("change", function () {
    load(urlFor(form), true);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    load(urlFor(form), true);
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest(".pager a, .empty a, .filters a, .order a");
    if (!link || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    syncForm(link.href);
    load(link.href, true).then(function () {
      document.getElementById("results").scrollIntoView({ block: "start" });
    });
  });
  window.addEventListener("popstate", function () {
    syncForm(location.href);
    load(location.href, false);
  });
})();
