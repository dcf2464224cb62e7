// ingestry dashboard: the only script. Pages work without it; it adds "select all" on
// the quarantine page and a confirmation before destructive buttons.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("pick-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll('input[name="entry"]')) box.checked = all.checked;
    });
  }
  for (const button of document.querySelectorAll("button.danger")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.textContent.trim() + "?")) event.preventDefault();
    });
  }
});
