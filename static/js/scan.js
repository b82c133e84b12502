/* Scan fields: a barcode scanner types the code and presses Enter.
 *
 * Enter in a form that still has empty required fields does not submit it. In a scan field the scan is checked
 * on the spot (data-scan="din" or "subject" asks the server, which reads it by the same rules as on saving):
 * a refused scan stays selected beside its reason, so that the next scan replaces it; an accepted one moves the
 * focus to the next empty scan field, else the next empty field. A scan field typed and left by touch is checked
 * as it is left. A form whose
 * required fields are all filled submits on Enter as usual, and always from its submit button.
 */
(function () {
  "use strict";

  var checkUrl = document.body.getAttribute("data-scan-check");

  function isEmpty(field) {
    if (field.type === "checkbox" || field.type === "radio") { return !field.checked; }
    return !String(field.value || "").trim();
  }

  function emptyRequired(form) {
    return Array.prototype.filter.call(form.querySelectorAll("[required]"), function (field) {
      return !field.disabled && field.type !== "hidden" && isEmpty(field);
    });
  }

  var FILLABLE = "input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=checkbox]):not([type=radio])," +
    "select,textarea";

  function nextField(form, from) {
    var scans = Array.prototype.slice.call(form.querySelectorAll("[data-scan]"));
    var after = scans.slice(scans.indexOf(from) + 1).filter(isEmpty);
    if (after.length) { return after[0]; }
    var fields = Array.prototype.slice.call(form.querySelectorAll(FILLABLE)).filter(function (field) {
      return !field.disabled && !field.readOnly;
    });
    var later = fields.slice(fields.indexOf(from) + 1).filter(isEmpty);
    return later.length ? later[0] : (emptyRequired(form)[0] || null);
  }

  /* The line under a field where the server's answer about it is shown (shared with judge.js). */
  function fieldNote(field, suffix) {
    var id = field.id + "-" + suffix;
    var shown = document.getElementById(id);
    if (!shown) {
      shown = document.createElement("p");
      shown.id = id;
      shown.setAttribute("role", "status");
      shown.setAttribute("aria-live", "polite");
      field.insertAdjacentElement("afterend", shown);
      field.setAttribute("aria-describedby", ((field.getAttribute("aria-describedby") || "") + " " + id).trim());
    }
    return shown;
  }
  window.fieldNote = fieldNote;

  function note(field) {
    var shown = fieldNote(field, "scan-note");
    shown.classList.add("scan-note");
    return shown;
  }

  /* Ask the server about a scan and show its answer by the field; resolves to false only for a refused scan. */
  function check(field) {
    var kind = field.getAttribute("data-scan");
    if (!checkUrl || !kind || isEmpty(field)) { return Promise.resolve(true); }
    var url = checkUrl + "?kind=" + encodeURIComponent(kind) + "&code=" + encodeURIComponent(field.value);
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (response.ok && json && !response.redirected) { return response.json(); }
        return { ok: true, message: "", unchecked: true };  /* a session ended, say: checked again on saving */
      })
      .then(function (answer) {
        if (answer && answer.unchecked) {
          note(field).textContent = "Not checked now (is the session still open?): the scan is checked on saving.";
          return true;
        }
        if (!answer || (!answer.message && answer.ok)) { return true; }
        var shown = note(field);
        shown.textContent = answer.ok ? "Read: " + answer.message : answer.message;
        shown.classList.toggle("scan-refused", !answer.ok);
        field.classList.toggle("field-refused", !answer.ok);
        field.setAttribute("aria-invalid", answer.ok ? "false" : "true");
        return answer.ok;
      })
      .catch(function () { return true; /* the server checks again on saving */ });
  }

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || event.isComposing || !(field instanceof HTMLInputElement) || !field.form) { return; }
    if (["submit", "button", "checkbox", "radio", "file"].indexOf(field.type) >= 0) { return; }
    var form = field.form;
    if (!emptyRequired(form).length) { return; }
    event.preventDefault();
    if (!field.hasAttribute("data-scan")) {
      var target = nextField(form, field);
      if (target) { target.focus(); }
      return;
    }
    field.dataset.checked = field.value;
    check(field).then(function (accepted) {
      if (document.activeElement !== field) { return; }  /* moved on meanwhile: the focus is not taken back */
      if (!accepted) { field.select(); return; }  /* a refused scan stays, selected: the next scan replaces it */
      var next = nextField(form, field);
      if (next) { next.focus(); }
    });
  });

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLInputElement && field.hasAttribute("data-scan") && field.dataset.checked !== field.value) {
      check(field);  /* typed, then left by touch */
    }
  });
}());
