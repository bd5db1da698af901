// The receipt's Print button (a script file: the Content-Security-Policy allows no inline code).
document.querySelector("[data-receipt] [data-print]")?.addEventListener("click", () => window.print());
