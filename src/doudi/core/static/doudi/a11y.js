// Accessibility helpers on every page (no inline scripts: the CSP forbids them).
(function () {
  "use strict";

  // A table wider than the screen scrolls inside its .table-responsive wrapper; keyboard users reach the
  // hidden columns only if the wrapper itself can take focus (WCAG 2.1.1). Named for screen readers by
  // the nearest heading, else by the page's generic label (body[data-scroll-label], translated).
  function labelFor(box) {
    var section = box.closest("section, .card, article");
    var heading = section && section.querySelector("h1, h2, h3, h4, .card-header");
    return (heading && heading.textContent.trim()) || document.body.getAttribute("data-scroll-label") || "";
  }

  function markScrollRegions() {
    document.querySelectorAll(".table-responsive").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) { box.setAttribute("aria-label", labelFor(box)); }
      } else if (box.getAttribute("role") === "region") {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
      }
    });
  }

  // After a failed submission the page comes back with the errors: put the cursor on the first field
  // in error (Django marks it aria-invalid), else on the error summary, so nobody hunts for it.
  function focusFirstError() {
    var first = document.querySelector("[aria-invalid='true'], input.is-invalid, select.is-invalid, textarea.is-invalid, .invalid-feedback.d-block");
    if (first && first.classList.contains("invalid-feedback")) {
      var holder = first.closest("fieldset, .mb-3, .mb-2, .mb-1, .form-check, [data-field]");
      first = holder && holder.querySelector("input:not([type=hidden]), select, textarea");
    }
    if (!first) {
      first = document.querySelector("[data-error-summary]");
      if (first) { first.setAttribute("tabindex", "-1"); }
    }
    if (first) { first.focus(); }
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(markScrollRegions, 150);
  });
  document.addEventListener("htmx:afterSettle", markScrollRegions);
  document.addEventListener("DOMContentLoaded", function () {
    markScrollRegions();
    focusFirstError();
  });
})();
