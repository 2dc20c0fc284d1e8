// The review grid: keyboard-first grading, written for this workspace (no library).
// Each grade is saved by its own request; a refusal (someone graded the picture
// meanwhile) is shown and nothing is overwritten.
"use strict";
(function () {
  const grid = document.getElementById("grid");
  if (!grid) return;
  const status = document.getElementById("status");
  const scheme = grid.dataset.scheme;
  const confirming = grid.dataset.mode === "confirm";  // a supervisor's second opinions
  const keys = scheme === "uk"
    ? { a: "A", b: "B", c: "C", n: "NP" }
    : { 1: "1", 2: "2", 3: "3", 4: "4", 0: "0" };
  const cards = Array.from(grid.querySelectorAll(".card"));
  const done = [];  // action ids, newest last, for undo
  let current = 0;

  function settings() {
    const root = document.documentElement.style;
    root.setProperty("--blur", document.getElementById("blur").value + "px");
    root.setProperty("--grey", document.getElementById("grey").checked ? "1" : "0");
    root.setProperty("--side", document.getElementById("side").value + "px");
  }
  ["blur", "grey", "side"].forEach((id) => document.getElementById(id).addEventListener("input", settings));
  settings();

  function focus(index) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(cards.length - 1, index));
    cards[current].focus();
  }

  async function post(path, body) {
    const answer = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": grid.dataset.csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const payload = await answer.json();
    if (!answer.ok) throw new Error(payload.detail || answer.statusText);
    return payload;
  }

  function show(card, text, version) {
    card.dataset.version = version;
    card.classList.toggle("graded", Boolean(text));
    card.querySelector(".grade").textContent = text;
  }

  function flags() {
    const victim = document.getElementById("victim").value;
    return {
      series: document.getElementById("series").value.trim() || null,
      victim_identified: victim === "" ? null : victim === "yes",
      second_opinion: document.getElementById("second-opinion").checked,
      notes: document.getElementById("notes").value.trim() || null,
    };
  }

  async function grade(card, category, family) {
    try {
      const result = await post("/api/grade", {
        case: grid.dataset.case, exhibit: grid.dataset.exhibit, seq: Number(card.dataset.seq),
        scheme: scheme, category: category, family: family,
        seen_version: Number(card.dataset.version), flags: flags(),
      });
      done.push({ action: result.action_id, card: card, before: card.dataset.version });
      show(card, "graded " + category + (family ? " (family)" : ""), result.version);
      status.textContent = "Saved: " + result.changed.length + " picture(s) graded " + category;
      focus(current + 1);
    } catch (error) {
      status.textContent = "Not saved: " + error.message;
    }
  }

  async function confirm(card, category) {
    try {
      const result = await post("/api/confirm", {
        case: grid.dataset.case, exhibit: grid.dataset.exhibit, seq: Number(card.dataset.seq),
        seen_version: Number(card.dataset.version), category: category,
      });
      show(card, category ? "changed to " + category : "confirmed", result.version);
      status.textContent = category ? "Changed to " + category : "Confirmed";
      focus(current + 1);
    } catch (error) {
      status.textContent = "Not saved: " + error.message;
    }
  }

  async function undo() {
    const last = done.pop();
    if (!last) return;
    try {
      await post("/api/undo", { action_id: last.action });
      show(last.card, "", Number(last.before));
      status.textContent = "Undone";
      focus(cards.indexOf(last.card));
    } catch (error) {
      status.textContent = "Not undone: " + error.message;
    }
  }

  // One picture revealed at a time, deliberately: the server records it before it is
  // sent; this page takes it away after the set seconds, on Esc, or when focus moves,
  // and says how long it was on screen.
  const overlay = document.getElementById("reveal");
  const revealed = document.getElementById("reveal-img");
  const revealLeft = document.getElementById("reveal-left");
  let showing = null;  // {reveal, since, timer}

  function blurAgain(why) {
    if (!showing) return;
    const shown = showing;
    showing = null;
    clearInterval(shown.timer);
    revealed.removeAttribute("src");
    overlay.hidden = true;
    const seconds = shown.since ? (performance.now() - shown.since) / 1000 : 0;
    post("/api/reveal/end", { reveal: shown.reveal, seconds: seconds, why: why })
      .catch((error) => { status.textContent = "Reveal end not recorded: " + error.message; });
    focus(current);
  }

  async function reveal(card) {
    if (showing) return;
    try {
      const answer = await post("/api/reveal", {
        case: grid.dataset.case, exhibit: grid.dataset.exhibit, seq: Number(card.dataset.seq),
      });
      showing = { reveal: answer.reveal, since: 0, timer: 0 };
      const shown = showing;
      let left = answer.seconds;
      revealLeft.textContent = "Blurs again in " + left + " s";
      revealed.onload = () => { if (showing === shown && !shown.since) shown.since = performance.now(); };
      revealed.src = answer.url;
      overlay.hidden = false;
      document.getElementById("reveal-close").focus();
      shown.timer = setInterval(() => {
        left -= 1;
        revealLeft.textContent = "Blurs again in " + left + " s";
        if (left <= 0) blurAgain("timer");
      }, 1000);
      status.textContent = "Revealed (recorded)";
    } catch (error) {
      status.textContent = "Not revealed: " + error.message;
    }
  }
  if (overlay) {
    document.getElementById("reveal-close").addEventListener("click", () => blurAgain("closed"));
    window.addEventListener("blur", () => blurAgain("focus"));
    document.addEventListener("visibilitychange", () => { if (document.hidden) blurAgain("focus"); });
  }

  document.addEventListener("keydown", (event) => {
    if (showing) {
      event.preventDefault();
      blurAgain("closed");
      return;
    }
    if (["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName)) return;
    // Digits by their physical key: with Shift held, event.key is "!" on many layouts.
    const key = event.code.startsWith("Digit") ? event.code.slice(5) : event.key.toLowerCase();
    if (confirming && key === "y") {
      confirm(cards[current], null);
    } else if (key in keys) {
      event.preventDefault();
      if (confirming) confirm(cards[current], keys[key]);
      else grade(cards[current], keys[key], event.shiftKey);
    } else if (key === "v" && overlay) {
      reveal(cards[current]);
    } else if (key === "u" && !confirming) {
      undo();
    } else if (key === "s" || key === "arrowright" || key === "j") {
      focus(current + 1);
    } else if (key === "arrowleft" || key === "k") {
      focus(current - 1);
    }
  });
  cards.forEach((card, index) => card.addEventListener("click", () => focus(index)));

  // The same actions for a mouse, on the selected picture.
  document.querySelectorAll("#toolbar [data-grade]").forEach((button) => {
    button.addEventListener("click", () => {
      const card = cards[current];
      if (!card) return;
      if (confirming) confirm(card, button.dataset.grade);
      else grade(card, button.dataset.grade, document.getElementById("whole-family").checked);
    });
  });
  const clicked = (id, action) => {
    const button = document.getElementById(id);
    if (button) button.addEventListener("click", action);
  };
  clicked("confirm-button", () => cards[current] && confirm(cards[current], null));
  clicked("undo-button", undo);
  clicked("reveal-button", () => cards[current] && reveal(cards[current]));
  focus(0);

  // A break reminder after so many minutes of active review (idle time does not count).
  const breakAfter = Number(grid.dataset.breakMinutes) * 60;
  let lastActive = Date.now();
  let activeSeconds = 0;
  ["keydown", "click"].forEach((kind) => document.addEventListener(kind, () => {
    lastActive = Date.now();
  }));
  setInterval(() => {
    if (Date.now() - lastActive < 120000) activeSeconds += 15;
    if (breakAfter > 0 && activeSeconds >= breakAfter) {
      document.getElementById("break").hidden = false;
    }
  }, 15000);
})();
