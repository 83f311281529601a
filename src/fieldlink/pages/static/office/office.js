// Office pages: progressive enhancement only; every page works without this file.
(function () {
  "use strict";
  // htmx requests carry the CSRF token in a header (pages/csrf.py).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
  });
  // "Select all on this page" checkbox of a list.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-select-all]")) { return; }
    var name = box.getAttribute("data-select-all");
    document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (item) {
      if (!item.disabled) { item.checked = box.checked; }
    });
  });
})();
