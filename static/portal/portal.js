/* The portal's small behaviours; each works on its own and the pages work without them.
 *
 * - the viewer's time zone: remembered in the `portal_tz` cookie, so that the server
 *   shows dates in it (portal/timezones.py);
 * - on a phone (up to 767 px): the menu folds behind its button, and the DIDs list's
 *   filter panel (shown above the list there) folds behind its heading;
 * - the account form shows only the fields that apply to the chosen role
 *   (inputs marked data-for-roles="user accountant").
 */
(function () {
  "use strict";

  var PHONE = window.matchMedia("(max-width: 767px)");

  function rememberTimeZone() {
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (error) {
      return;
    }
    // IANA names are letters, digits and / _ + - : safe in a cookie as they are.
    if (!zone || !/^[A-Za-z0-9\/_+-]+$/.test(zone)) { return; }
    var value = zone;
    if (document.cookie.split("; ").indexOf("portal_tz=" + value) !== -1) { return; }
    document.cookie = "portal_tz=" + value + "; path=/; max-age=31536000; samesite=lax" +
      (location.protocol === "https:" ? "; secure" : "");
  }

  // A button that shows and hides `target`; folded only on a phone.
  function foldable(button, target, foldedByDefault) {
    function set(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      target.classList.toggle("folded", !open);
    }
    function apply() {
      button.hidden = !PHONE.matches;
      set(!PHONE.matches || !foldedByDefault());
    }
    button.addEventListener("click", function () {
      set(button.getAttribute("aria-expanded") !== "true");
    });
    PHONE.addEventListener("change", apply);
    apply();
  }

  function menu() {
    var button = document.getElementById("menu-toggle");
    var nav = document.getElementById("portal-nav");
    if (button && nav) { foldable(button, nav, function () { return true; }); }
  }

  function filterPanel() {
    var panel = document.getElementById("changelist-filter");
    var heading = document.getElementById("changelist-filter-header");
    var form = panel && panel.querySelector("form");
    if (!panel || !heading || !form) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.id = "filter-toggle";
    button.className = "filter-toggle";
    button.textContent = "Show or hide the filters";
    button.setAttribute("aria-controls", form.id || "");
    heading.appendChild(button);
    // Open when the filters have an error, so that the person sees it.
    foldable(button, form, function () { return !panel.querySelector(".errorlist"); });
  }

  // A field with an error always shows; hidden fields are emptied when the form is sent.
  function roleFields() {
    var role = document.querySelector("form select[name=role]");
    if (!role) { return; }
    var inputs = role.form.querySelectorAll("[data-for-roles]");
    function applies(input) {
      return input.getAttribute("data-for-roles").split(" ").indexOf(role.value) !== -1;
    }
    function apply() {
      inputs.forEach(function (input) {
        var row = input.closest(".form-row") || input;
        row.hidden = !applies(input) && !row.classList.contains("errors");
      });
    }
    role.addEventListener("change", apply);
    role.form.addEventListener("submit", function () {
      inputs.forEach(function (input) {
        if (applies(input)) { return; }
        if (input.type === "checkbox") { input.checked = false; } else { input.value = ""; }
      });
    });
    apply();
  }

  function init() {
    rememberTimeZone();
    menu();
    filterPanel();
    roleFields();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
