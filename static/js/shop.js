// Progressive enhancement for the shop page: a running total and a Buy button that is
// enabled only when something is chosen and cannot be pressed twice. The form works
// without this file; the server prices every cart, these numbers are display only.
(function () {
    "use strict";
    var form = document.querySelector("[data-buy-form]");
    if (!form) {
        return;
    }
    // A sold-out product's input is disabled: nothing to count or check.
    var inputs = Array.prototype.slice.call(
        form.querySelectorAll("input[data-unit-amount]:not(:disabled)")
    );
    var totalOutput = form.querySelector("[data-cart-total]");
    var button = form.querySelector("[data-buy-button]");
    var formatters = {};
    // The promotion code the server accepted (Apply), while the field still says it.
    var promotion = form.querySelector("[data-promotion]");
    var promotionInput = form.querySelector("[data-promotion-input]");
    var applyButton = form.querySelector("[data-promotion-apply]");
    var discountRow = form.querySelector("[data-discount-row]");
    var discountOutput = form.querySelector("[data-cart-discount]");

    // What the applied code takes off ``subtotal`` (as the server rounds it), or 0.
    function discountOn(subtotal) {
        if (!promotion || !promotion.dataset.appliedCode || !promotionInput) {
            return 0;
        }
        if (promotionInput.value.trim().toUpperCase() !== promotion.dataset.appliedCode) {
            return 0;
        }
        if (promotion.dataset.minimum && subtotal < Number(promotion.dataset.minimum)) {
            return 0;
        }
        if (promotion.dataset.percentOff) {
            return Math.min(subtotal, Math.floor((subtotal * Number(promotion.dataset.percentOff) * 2 + 100) / 200));
        }
        return Math.min(subtotal, Number(promotion.dataset.amountOff || 0));
    }

    if (promotionInput && applyButton) {
        // Enter in the code field applies it rather than buying.
        promotionInput.addEventListener("keydown", function (event) {
            if (event.key === "Enter") {
                event.preventDefault();
                applyButton.click();
            }
        });
    }

    function formatMoney(minorUnits, currency) {
        var code = currency.toUpperCase();
        if (!formatters[code]) {
            formatters[code] = new Intl.NumberFormat("en-US", { style: "currency", currency: code });
        }
        var digits = formatters[code].resolvedOptions().maximumFractionDigits;
        return formatters[code].format(minorUnits / Math.pow(10, digits));
    }

    // The quantity typed, or null when it is not one the shop takes (the message says why).
    function quantityOf(input) {
        var text = input.value.trim();
        var max = Number(input.max);
        if (text === "") {
            return input.validity.badInput ? null : 0;
        }
        var value = Number(text);
        if (!Number.isInteger(value) || value < 0) {
            return null;
        }
        return max && value > max ? null : value;
    }

    function problemWith(input) {
        var value = Number(input.value.trim());
        if (Number.isInteger(value) && value > Number(input.max)) {
            if ("stockLimited" in input.dataset) {
                return "Only " + input.max + " left: you can buy at most " + input.max + ".";
            }
            return "You can buy at most " + input.max + " of each product.";
        }
        return "Enter a whole number from 0 to " + input.max + ".";
    }

    function showProblem(input, problem) {
        var message = document.getElementById(input.id + "-message");
        if (problem) {
            input.setAttribute("aria-invalid", "true");
        } else {
            input.removeAttribute("aria-invalid");
        }
        if (message && message.textContent !== problem) {
            message.textContent = problem;
        }
    }

    function update() {
        var total = 0;
        var items = 0;
        var invalid = 0;
        var currency = inputs.length ? inputs[0].dataset.currency : "usd";
        inputs.forEach(function (input) {
            var quantity = quantityOf(input);
            if (quantity === null) {
                invalid += 1;
                showProblem(input, problemWith(input));
                return;
            }
            showProblem(input, "");
            items += quantity;
            total += quantity * Number(input.dataset.unitAmount);
        });
        var discount = invalid ? 0 : discountOn(total);
        if (discountRow) {
            discountRow.hidden = !discount;
            discountOutput.textContent = discount ? "−" + formatMoney(discount, currency) : "";
        }
        // Never a total for quantities we would not sell: the shopper fixes the field first.
        totalOutput.textContent = invalid ? "—" : formatMoney(total - discount, currency);
        if (!form.dataset.submitting) {
            button.disabled = invalid > 0 || items === 0;
        }
    }

    // What the server rendered into the inputs (0, or the shopper's own choice on a page
    // that refused their cart); the browser's restored values are put back to it.
    function resetQuantities() {
        inputs.forEach(function (input) {
            input.value = input.defaultValue;
        });
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (event) {
        if (event.submitter && event.submitter === applyButton) {
            return;  // back to this page with the code applied: nothing to guard
        }
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
    // Shown again from history (Back after paying, say), whether from the back/forward
    // cache or with the browser restoring the form: the quantities go back to what the
    // server rendered, so a second Buy is a new choice, never the paid cart by accident.
    function fromHistory() {
        var navigation = window.performance && performance.getEntriesByType
            ? performance.getEntriesByType("navigation")[0]
            : null;
        return Boolean(navigation && navigation.type === "back_forward");
    }

    window.addEventListener("pageshow", function (event) {
        if (event.persisted) {
            delete form.dataset.submitting;
            button.removeAttribute("aria-busy");
            button.textContent = "Buy";
        }
        if (event.persisted || fromHistory()) {
            resetQuantities();
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
