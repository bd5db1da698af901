// The packing slip's Print button (a script file: the Content-Security-Policy allows no inline code).
document.querySelector("[data-print]")?.addEventListener("click", () => window.print());
