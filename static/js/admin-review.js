// The clip review page, worked from the keyboard. Every key presses a button or follows a
// link that is on the page anyway (the page works without this script); the keys are
// listed in its "Keyboard keys" box, which `?` opens.
(() => {
  "use strict";
  const review = document.querySelector("[data-review]");
  if (!review) return;
  const video = review.querySelector("[data-review-video]");
  const status = document.getElementById("review-status");
  const help = document.querySelector("[data-review-help]");
  const reasonForm = document.getElementById("decision-reason");
  const reasonSelect = reasonForm && reasonForm.querySelector("select[name=reason_code]");
  const message = reasonForm && reasonForm.querySelector("textarea[name=reason]");
  let pending = null; // the reason-needing button chosen with its key, waiting for a reason

  const announce = (text) => {
    // Emptied first, so the same words said twice are announced twice.
    status.textContent = "";
    window.setTimeout(() => { status.textContent = text; }, 50);
  };

  // The outcome of the last decision (the admin's message) is said when the next clip opens.
  const said = document.querySelector(".messagelist");
  if (said) announce(said.textContent.trim().replace(/\s+/g, " "));

  const keyed = (key) => review.querySelector(`[data-review-key="${key}"]`);
  const typing = (el) => el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  const seek = (by) => {
    if (!video) return;
    const end = Number.isFinite(video.duration) ? video.duration : Infinity;
    video.currentTime = Math.min(Math.max(0, video.currentTime + by), end);
  };
  const toggle = () => { if (video) (video.paused ? video.play() : video.pause()); };

  const choices = reasonSelect
    ? Array.from(reasonSelect.options).filter((option) => option.value)
    : [];
  const other = reasonForm && reasonForm.dataset.otherReason;

  const askReason = (button) => {
    pending = button;
    reasonForm.classList.add("is-asking");
    reasonForm.scrollIntoView({block: "nearest"});
    reasonSelect.focus();
    announce(reasonForm.dataset.askReason);
  };
  const leaveReason = () => {
    pending = null;
    reasonForm.classList.remove("is-asking");
    announce(reasonForm.dataset.leftReason);
  };
  const pickReason = (number) => {
    const choice = choices[number - 1];
    if (!choice) return;
    reasonSelect.value = choice.value;
    if (choice.value === other && !message.value.trim()) {
      message.focus();
      announce(`${choice.textContent} ${reasonForm.dataset.askMessage}`);
      return;
    }
    pending.click();
  };

  if (reasonForm && reasonSelect) {
    // A reason picked by number while the list has focus, or Ctrl+Enter in the message.
    reasonForm.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && pending) {
        event.preventDefault();
        leaveReason();
        return;
      }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target === message) {
        event.preventDefault();
        (pending || reasonForm.querySelector("button[name=decision]")).click();
        return;
      }
      if (pending && event.target === reasonSelect && /^[1-9]$/.test(event.key)) {
        event.preventDefault();
        pickReason(Number(event.key));
      }
    });
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (typing(target)) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const key = event.key;
    const onControl = target && /^(BUTTON|A|SUMMARY|VIDEO)$/.test(target.tagName);
    if (key === "?") {
      event.preventDefault();
      help.open = !help.open;
      if (help.open) help.querySelector("summary").focus();
      return;
    }
    if (pending && /^[1-9]$/.test(key)) {
      event.preventDefault();
      pickReason(Number(key));
      return;
    }
    if (key === "Escape" && pending) {
      leaveReason();
      return;
    }
    if (key === " " && !onControl) {
      event.preventDefault();
      toggle();
      return;
    }
    const lower = key.length === 1 ? key.toLowerCase() : key;
    const actions = {
      k: toggle,
      j: () => seek(-10),
      l: () => seek(10),
      ArrowLeft: () => seek(-5),
      ArrowRight: () => seek(5),
      m: () => { if (video) video.muted = !video.muted; },
      e: () => {
        const title = document.getElementById("id_title");
        if (title) { title.focus(); title.select(); }
      },
    };
    if (video && target === video && (key === "ArrowLeft" || key === "ArrowRight")) return;
    if (actions[lower]) {
      event.preventDefault();
      actions[lower]();
      return;
    }
    const control = key.length === 1 && keyed(lower);
    if (!control) return;
    event.preventDefault();
    if (reasonForm && reasonForm.contains(control)) {
      askReason(control);
    } else {
      control.click();
    }
  });
})();
