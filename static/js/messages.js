/* A message said after an act on part of a page (a step verified, a label refused) is shown beside that part.
 *
 * The server answers an act by going back to the page at the part's anchor (#step-12, #doses); the messages of
 * the act are moved from the top of the page to the top of that part, which is opened if folded, so that the
 * person sees them where they are looking. Without JavaScript they stay at the top of the page.
 */
(function () {
  "use strict";
  var flashes = document.querySelector(".flashes");
  var id = decodeURIComponent(window.location.hash.slice(1));
  var part = id ? document.getElementById(id) : null;
  if (!flashes || !part || part.tagName !== "SECTION") { return; }  /* a part of the page, never a field */
  part.insertBefore(flashes, part.firstChild);
  flashes.classList.add("flashes-here");
  var folded = part.querySelector("details");
  if (folded) { folded.open = true; }
  part.scrollIntoView({ block: "start" });
}());
