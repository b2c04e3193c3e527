// Keyboard shortcuts and the selected card on the task page; the votes themselves are htmx forms.
(() => {
  "use strict";

  let selectedNumber = 0; // 1-based; 0 while no card is selected

  const cards = () => Array.from(document.querySelectorAll("#candidates .candidate"));
  const selectedCard = () => cards()[selectedNumber - 1] || null;
  const status = (text) => {
    const region = document.getElementById("vote-status");
    if (region) region.textContent = text;
  };

  function select(number, { focus = true } = {}) {
    const all = cards();
    if (number < 1 || number > all.length) return;
    selectedNumber = number;
    all.forEach((card, index) => {
      const isSelected = index === number - 1;
      card.classList.toggle("selected", isSelected);
      card.setAttribute("aria-current", isSelected ? "true" : "false");
    });
    if (focus) all[number - 1].focus();
  }

  function pressInSelectedCard(selector) {
    if (!selectedCard()) select(1);
    const button = selectedCard() && selectedCard().querySelector(selector);
    if (button) button.click();
  }

  function press(selector) {
    const button = document.querySelector(selector);
    if (button) button.click();
  }

  function toggleShortcuts() {
    const dialog = document.getElementById("shortcuts");
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  function goToNextTask() {
    const form = document.getElementById("next-form");
    if (form) form.requestSubmit();
  }

  const KEYS = {
    u: () => pressInSelectedCard(".vote-up"),
    d: () => pressInSelectedCard(".vote-down"),
    b: () => pressInSelectedCard(".choose-best"),
    t: () => press("#choose-tie"),
    x: () => press("#choose-all-bad"),
    s: () => press("#skip-button"),
    n: goToNextTask,
    "?": toggleShortcuts,
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const target = event.target instanceof Element ? event.target : document.body;
    if (target.closest("input, textarea, select, [contenteditable]")) return;
    const dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) {
      if (event.key === "?") { toggleShortcuts(); event.preventDefault(); }
      return;
    }
    if (/^[1-9]$/.test(event.key)) {
      select(Number(event.key));
    } else if (event.key === "Enter") {
      // Enter on a button or link keeps its own meaning.
      if (target.closest("button, a, summary")) return;
      goToNextTask();
    } else if (Object.hasOwn(KEYS, event.key)) {
      KEYS[event.key]();
    } else {
      return;
    }
    event.preventDefault();
  });

  // Clicking or tabbing into a card selects it.
  document.addEventListener("focusin", (event) => {
    const card = event.target instanceof Element && event.target.closest("#candidates .candidate");
    if (card) select(cards().indexOf(card) + 1, { focus: false });
  });
  document.addEventListener("click", (event) => {
    const card = event.target instanceof Element && event.target.closest("#candidates .candidate");
    if (card) select(cards().indexOf(card) + 1, { focus: !event.target.closest("button") });
  });

  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("shortcuts-button");
    if (button) button.addEventListener("click", toggleShortcuts);
  });

  // A swap replaces the buttons (a vote) or the whole grid (a pick, finished generation):
  // keep the selection, and keep the keyboard focus on the page rather than losing it to <body>.
  // Once every candidate has a vote, the way on is highlighted.
  function markWhenJudged() {
    const next = document.getElementById("next-button");
    const all = cards();
    const judged = all.length > 0 && all.every((card) => card.querySelector('.vote [aria-pressed="true"]'));
    if (next) next.classList.toggle("judged", judged);
  }

  document.addEventListener("DOMContentLoaded", markWhenJudged);
  document.addEventListener("htmx:afterSettle", () => {
    status("");
    markWhenJudged();
    if (!selectedNumber) return;
    const focusLost = document.activeElement === document.body || !document.activeElement;
    select(selectedNumber, { focus: focusLost });
  });

  document.addEventListener("htmx:responseError", (event) => {
    const text = event.detail.xhr.responseText || "";
    const isMessage = (event.detail.xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain");
    status(isMessage && text ? text : `Not recorded (error ${event.detail.xhr.status}). Please try again.`);
  });
  document.addEventListener("htmx:sendError", () => status("Not recorded: the server cannot be reached. Please try again."));
})();
