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
    // Not left on the button: Enter would then send what was just called off.
    if (reasonForm.contains(document.activeElement)) document.activeElement.blur();
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
    // The number only picks: sending (and the owner's e-mail, which cannot be taken back)
    // waits for Enter on the focused button, or a click on it. Another number picks again.
    pending.focus();
    announce(`${choice.textContent} ${reasonForm.dataset.confirm}`);
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

  // Faces and plates: the regions drawn over the player as it plays, and a box drawn on a
  // paused frame to add one (the form below the list takes it; typing it works as well).
  const svg = review.querySelector("[data-review-regions]");
  const regionData = document.getElementById("clip-regions");
  const regionSet = regionData ? JSON.parse(regionData.textContent) : null;
  const addForm = document.getElementById("region-add");
  const SVG = "http://www.w3.org/2000/svg";
  const GAP = 0.3; // keys further apart: the thing was not there in between (gallery/regions.py)
  const boxAt = (track, t, frame = 1 / 24) => {
    const keys = track.keys || [];
    if (!keys.length || t < keys[0][0] - frame / 2 || t > keys[keys.length - 1][0] + frame / 2) return null;
    let i = keys.findIndex((key) => key[0] > t);
    if (i === -1) return keys[keys.length - 1].slice(1);
    if (i === 0) return keys[0].slice(1);
    const [before, after] = [keys[i - 1], keys[i]];
    if (after[0] - before[0] > GAP) {
      const near = t - before[0] <= after[0] - t ? before : after;
      return Math.abs(t - near[0]) <= frame / 2 ? near.slice(1) : null;
    }
    const f = (t - before[0]) / (after[0] - before[0]);
    return before.slice(1).map((v, k) => v + (after[k + 1] - v) * f);
  };
  const rect = (box, className, track) => {
    const r = document.createElementNS(SVG, "rect");
    r.setAttribute("x", box[0]);
    r.setAttribute("y", box[1]);
    r.setAttribute("width", Math.max(1, box[2] - box[0]));
    r.setAttribute("height", Math.max(1, box[3] - box[1]));
    r.setAttribute("class", className);
    if (track !== undefined) r.dataset.track = track;
    return r;
  };
  let drawn = null; // the box being drawn, in source pixels
  const drawRegions = () => {
    if (!svg || !regionSet || !video) return;
    const t = video.currentTime;
    const shapes = [];
    for (const track of regionSet.tracks || []) {
      const box = boxAt(track, t);
      if (!box) continue;
      const kind = track.removed ? "removed" : track.kind;
      shapes.push(rect(box, `review-regions__box review-regions__box--${kind}`, track.id));
    }
    if (drawn) shapes.push(rect(drawn, "review-regions__box review-regions__box--new"));
    svg.replaceChildren(...shapes);
  };
  if (svg && video) {
    ["timeupdate", "seeked", "loadedmetadata", "pause"].forEach((name) => video.addEventListener(name, drawRegions));
    const follow = () => {
      drawRegions();
      if (!video.paused && !video.ended) window.requestAnimationFrame(follow);
    };
    video.addEventListener("play", () => window.requestAnimationFrame(follow));
    drawRegions();
  }
  const field = (name) => addForm && addForm.querySelector(`[name=${name}]`);
  const startDrawing = () => {
    if (!addForm) return;
    if (video) video.pause();
    if (svg) svg.classList.add("is-drawing");
    field("time").value = video ? video.currentTime.toFixed(2) : 0;
    // The picture stays in view to draw on; the fields take the keys to type the box.
    field("time").focus({preventScroll: true});
    (svg || addForm).scrollIntoView({block: "nearest"});
    announce(addForm.dataset.drawing);
  };
  if (svg && addForm) {
    const point = (event) => {
      const p = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
      return [Math.max(0, Math.min(regionSet.width, p.x)), Math.max(0, Math.min(regionSet.height, p.y))];
    };
    let from = null;
    svg.addEventListener("pointerdown", (event) => {
      if (!svg.classList.contains("is-drawing")) return;
      event.preventDefault();
      svg.setPointerCapture(event.pointerId);
      from = point(event);
    });
    svg.addEventListener("pointermove", (event) => {
      if (!from) return;
      const to = point(event);
      drawn = [Math.min(from[0], to[0]), Math.min(from[1], to[1]), Math.max(from[0], to[0]), Math.max(from[1], to[1])];
      drawRegions();
    });
    svg.addEventListener("pointerup", () => {
      if (!from || !drawn) return;
      from = null;
      ["x1", "y1", "x2", "y2"].forEach((name, k) => { field(name).value = Math.round(drawn[k]); });
      field("time").value = video.currentTime.toFixed(2);
      svg.classList.remove("is-drawing");
      addForm.querySelector("button[name=action]").focus();
      announce(addForm.dataset.drawn);
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
      b: startDrawing,
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
