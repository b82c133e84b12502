/* Values judged as they are typed: green, amber or red by the pinned limit, as the server will judge them.
 *
 * A step form carrying data-judge (the server's judging address) sends each value field's text there a moment
 * after typing stops and shows the answer under the field: the same reading of the value, the same limits and
 * the same words as the check shown on the lot page once the step is saved. Nothing is decided here.
 */
(function () {
  "use strict";
  var form = document.querySelector("form[data-judge]");
  if (!form) { return; }
  var url = form.getAttribute("data-judge");
  var timers = {};

  function show(field, answer) {
    var note = window.fieldNote(field, "judged");  /* scan.js, loaded on every page */
    note.textContent = answer.message || "";
    note.className = "judged" + (answer.tone ? " judged-" + answer.tone : "");
    ["green", "amber", "red"].forEach(function (tone) {
      field.classList.toggle("judged-" + tone, answer.tone === tone);
    });
  }

  function ask(field) {
    var key = field.name.slice(2);
    var query = "?field=" + encodeURIComponent(key) + "&value=" + encodeURIComponent(field.value);
    fetch(url + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) { if (answer) { show(field, answer); } })
      .catch(function () { /* judged again on saving */ });
  }

  form.addEventListener("input", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLInputElement) || field.name.indexOf("v_") !== 0) { return; }
    clearTimeout(timers[field.name]);
    timers[field.name] = setTimeout(function () { ask(field); }, 350);
  });
}());
