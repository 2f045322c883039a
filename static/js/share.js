// Progressive enhancement of the share box: without this script it offers the link to select
// and plain share links; with it, a copy button (Clipboard API) and the system share sheet
// (Web Share API) where the browser has them.
(function () {
  "use strict";
  var box = document.querySelector("[data-share]");
  if (!box) return;
  var field = box.querySelector("[data-share-url]");
  var status = box.querySelector("[data-share-status]");
  var copy = box.querySelector("[data-copy]");
  var nativeItem = box.querySelector("[data-native-share-item]");

  function say(message) {
    status.textContent = "";
    // A fresh text node so that screen readers announce a repeated message too.
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  if (navigator.clipboard && window.isSecureContext) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () { say(box.dataset.copied); },
        function () {
          field.select();
          say(box.dataset.copyFailed);
        }
      );
    });
  }

  if (navigator.share) {
    nativeItem.hidden = false;
    nativeItem.querySelector("[data-native-share]").addEventListener("click", function () {
      navigator.share({ title: box.dataset.title, url: field.value }).catch(function () {
        // Closed by the visitor, or refused: nothing to say.
      });
    });
  }

  field.addEventListener("focus", function () { field.select(); });
})();
