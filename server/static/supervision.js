// The supervision reports' print button (no inline handlers: the pages run under a strict CSP).
"use strict";
document.querySelectorAll("[data-print]").forEach((button) => {
  button.addEventListener("click", () => window.print());
});
