// Small behaviours shared by every page. No inline scripts: the Content-Security-Policy forbids them.
(function () {
  "use strict";
  // The language switcher submits itself when a language is picked; its button stays for no-JS.
  document.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
    var select = form.querySelector("select");
    var button = form.querySelector("button");
    if (button) { button.hidden = true; }
    if (select) { select.addEventListener("change", function () { form.submit(); }); }
  });
})();
