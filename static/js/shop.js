// Progressive enhancement for the shop page: a running total and a Buy button that is
// enabled only when something is chosen and cannot be pressed twice. The form works
// without this file; the server prices every cart, these numbers are display only.
(function () {
    "use strict";
    var form = document.querySelector("[data-buy-form]");
    if (!form) {
        return;
    }
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[data-unit-amount]"));
    var totalOutput = form.querySelector("[data-cart-total]");
    var button = form.querySelector("[data-buy-button]");
    var formatters = {};

    function formatMoney(minorUnits, currency) {
        var code = currency.toUpperCase();
        if (!formatters[code]) {
            formatters[code] = new Intl.NumberFormat("en-US", { style: "currency", currency: code });
        }
        var digits = formatters[code].resolvedOptions().maximumFractionDigits;
        return formatters[code].format(minorUnits / Math.pow(10, digits));
    }

    function quantityOf(input) {
        var value = Number(input.value);
        if (!Number.isInteger(value) || value < 0) {
            return 0;
        }
        return Math.min(value, Number(input.max) || value);
    }

    function update() {
        var total = 0;
        var items = 0;
        var currency = inputs.length ? inputs[0].dataset.currency : "usd";
        inputs.forEach(function (input) {
            var quantity = quantityOf(input);
            items += quantity;
            total += quantity * Number(input.dataset.unitAmount);
        });
        totalOutput.textContent = items ? formatMoney(total, currency) : formatMoney(0, currency);
        if (!form.dataset.submitting) {
            button.disabled = items === 0;
        }
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) {
        if (form.dataset.submitting) {
            event.preventDefault();
            return;
        }
        form.dataset.submitting = "1";
        // Disable after the browser has captured the form data, so the button's own
        // submission still goes through exactly once.
        window.setTimeout(function () {
            button.disabled = true;
            button.textContent = "Taking you to payment…";
            button.setAttribute("aria-busy", "true");
        }, 0);
    });
    // Coming back with the browser's back button restores the page from cache: allow Buy again.
    // A page reloaded instead gets the browser's restored quantities only after this script
    // first ran, so count them again here.
    window.addEventListener("pageshow", function (event) {
        if (event.persisted) {
            delete form.dataset.submitting;
            button.removeAttribute("aria-busy");
            button.textContent = "Buy";
        }
        update();
    });
    update();
})();

// Orders awaiting payment confirmation: ask for their status now and then and update the
// entry in place, without reloading the catalogue.
(function () {
    "use strict";
    var entries = Array.prototype.slice.call(document.querySelectorAll("[data-poll-url]"));
    var delays = [2000, 3000, 5000, 8000, 13000, 21000, 34000];

    function poll(entry, attempt) {
        if (attempt >= delays.length) {
            return;
        }
        window.setTimeout(function () {
            fetch(entry.dataset.pollUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
                .then(function (response) { return response.ok ? response.json() : null; })
                .then(function (data) {
                    if (data && data.status !== "pending") {
                        var badge = entry.querySelector("[data-order-status]");
                        badge.textContent = data.label;
                        badge.dataset.orderStatus = data.status;
                        badge.className = "status status--" + data.status;
                        var note = entry.querySelector("[data-poll-note]");
                        if (note) {
                            note.remove();
                        }
                        return;
                    }
                    poll(entry, attempt + 1);
                })
                .catch(function () { poll(entry, attempt + 1); });
        }, delays[attempt]);
    }

    entries.forEach(function (entry) { poll(entry, 0); });
})();
