// Keyboard for the review page: a accept, e edit, r reject, Ctrl+Enter save, n next, Escape closes the editor.
(function () {
  "use strict";
  const form = document.getElementById("review-form");

  function open(areaId, focusId) {
    document.querySelectorAll(".review-area").forEach((area) => area.classList.toggle("open", area.id === areaId));
    const field = document.getElementById(focusId);
    field.focus();
    if (field.setSelectionRange) field.setSelectionRange(field.value.length, field.value.length);
  }

  if (form) {
    document.getElementById("edit").addEventListener("click", () => open("edit-area", "corrected-text"));
    document.getElementById("reject").addEventListener("click", () => open("reject-area", "reject-reason"));
  }

  document.addEventListener("keydown", (event) => {
    const inField = event.target.matches("textarea, input, select");
    if (form && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const area = event.target.closest(".review-area");
      const button = area && area.querySelector("button[type=submit]");
      if (button) {
        event.preventDefault();
        button.click();
      }
      return;
    }
    if (event.key === "Escape" && inField) {
      event.target.blur();
      document.querySelectorAll(".review-area").forEach((area) => area.classList.remove("open"));
      return;
    }
    if (inField || event.ctrlKey || event.metaKey || event.altKey) return;
    if (form && event.key === "a") {
      event.preventDefault();
      document.getElementById("accept").click();
    } else if (form && event.key === "e") {
      event.preventDefault();
      open("edit-area", "corrected-text");
    } else if (form && event.key === "r") {
      event.preventDefault();
      open("reject-area", "reject-reason");
    } else if (event.key === "n") {
      const next = document.querySelector("[data-key=n]");
      if (next) {
        event.preventDefault();
        next.click();
      }
    }
  });
})();
