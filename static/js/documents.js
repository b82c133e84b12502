// Documents take a moment to prepare: show that they are being prepared instead of a frozen page.
// Links and forms marked data-document are fetched in the background and saved when ready;
// without JavaScript they work as plain links and forms.
(function () {
  "use strict";
  var SLOW_MS = 300;

  function overlay(text) {
    var box = document.getElementById("document-overlay");
    if (!box) {
      box = document.createElement("div");
      box.id = "document-overlay";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    box.textContent = text;
    box.setAttribute("role", "status");
    box.classList.remove("refusal");
    box.hidden = false;
    return box;
  }

  function filenameOf(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : fallback;
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  // A refusal comes back as the page it was flashed on (already read: reloading would lose the message).
  // Put that page in place and show the refusal where the person is looking, until they touch the page.
  function showRefusal(html, url) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var main = page.querySelector("main"), here = document.querySelector("main");
    if (!main || !here) { window.location = url; return; }
    here.replaceWith(document.importNode(main, true));
    history.replaceState(null, "", url);
    var refusal = document.querySelector(".flashes .flash-error, .flashes .flash-warning");
    if (!refusal) { return; }
    var box = overlay(refusal.textContent.trim());
    box.setAttribute("role", "alert");
    box.classList.add("refusal");
    document.addEventListener("click", function hide() { box.hidden = true; box.classList.remove("refusal"); },
                              {once: true, capture: true});
  }

  function fetchDocument(url, options, label) {
    var box = null;
    var timer = setTimeout(function () { box = overlay("Preparing " + label + "…"); }, SLOW_MS);
    return fetch(url, options).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/pdf") !== 0) {
        return response.text().then(function (html) { showRefusal(html, response.url); });
      }
      return response.blob().then(function (blob) { save(blob, filenameOf(response, "document.pdf")); });
    }).catch(function () {
      overlay("The " + label + " could not be prepared. Try again.");
    }).finally(function () {
      clearTimeout(timer);
      if (box && !box.classList.contains("refusal")) { box.hidden = true; }
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-document]");
    if (!link) { return; }
    event.preventDefault();
    fetchDocument(link.href, {credentials: "same-origin"}, link.dataset.document);
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-print]")) { window.print(); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-document]");
    if (!form) { return; }
    event.preventDefault();
    fetchDocument(form.action, {method: "POST", body: new FormData(form), credentials: "same-origin"},
                  form.dataset.document);
  });
})();
