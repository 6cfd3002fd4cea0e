// 自评表复核站: keyboard moves between the flagged items of a form page.
// j / ↓: next flagged item; k / ↑: previous; the focus lands in the item's value field. Inside a value or
// reason field j and k are typed as letters, while ↓ / ↑ still move; Esc leaves the field.
(function () {
  "use strict";
  // A Word form's page image comes apart from the page (LibreOffice converts the file); when there is none, say why.
  Array.prototype.forEach.call(document.querySelectorAll("img.page-image"), function (img) {
    function missing() {
      var p = document.createElement("p");
      p.className = "note";
      p.textContent = img.getAttribute("data-missing");
      img.replaceWith(p);
    }
    // it may have failed before this script ran
    if (img.complete && img.naturalWidth === 0 && img.currentSrc) missing();
    else img.addEventListener("error", missing);
  });
  var cards = Array.prototype.slice.call(document.querySelectorAll(".flagged-item"));
  if (!cards.length) return;
  var current = -1;

  function show(i) {
    current = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach(function (c) { c.classList.remove("current"); });
    var card = cards[current];
    card.classList.add("current");
    card.scrollIntoView({ block: "start" });
    var field = card.querySelector("input.value");
    if (field) field.focus({ preventScroll: true });
    if (history.replaceState) history.replaceState(null, "", "#" + card.id);
  }

  function cardOf(el) {
    while (el && el !== document.body) {
      if (el.classList && el.classList.contains("flagged-item")) return cards.indexOf(el);
      el = el.parentNode;
    }
    return -1;
  }

  // After a correction the page opens at the item's anchor: j goes on from there.
  // A hand-made link may carry an anchor that is no valid percent-encoding ("#%E0"): then it names no card.
  var here = null;
  try { here = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null; }
  catch (err) { here = null; }
  if (here && cardOf(here) >= 0) { current = cardOf(here); cards[current].classList.add("current"); }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    var t = e.target, tag = t && t.tagName;
    var typing = tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && t.type !== "checkbox" && t.type !== "submit" && t.type !== "button");
    var inField = typing && tag === "INPUT" && (t.classList.contains("value") || t.classList.contains("why"));
    if (e.key === "Escape" && typing) { t.blur(); return; }
    var step = 0;
    if (!typing && (e.key === "j" || e.key === "J")) step = 1;
    else if (!typing && (e.key === "k" || e.key === "K")) step = -1;
    else if (e.key === "ArrowDown" && (!typing || inField)) step = 1;
    else if (e.key === "ArrowUp" && (!typing || inField)) step = -1;
    if (!step) return;
    e.preventDefault();
    var at = cardOf(document.activeElement);
    if (at < 0) at = current;
    show(at < 0 ? (step > 0 ? 0 : cards.length - 1) : at + step);
  });
})();
