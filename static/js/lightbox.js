// The gallery's lightbox: a headshot full size, previous/next (buttons, arrow keys, a swipe),
// favourite and download, in a modal <dialog> that hands focus back to the photo it came from.
// Without JavaScript each thumbnail still opens its image in a new tab.
(function () {
  "use strict";
  var box = document.getElementById("lightbox");
  if (!box || typeof box.showModal !== "function") { return; }
  var image = document.getElementById("lightbox-image");
  var caption = document.getElementById("lightbox-caption");
  var favourite = document.getElementById("lightbox-favourite");
  var download = document.getElementById("lightbox-download");
  var links = [];
  var index = 0;
  var opener = null;
  var SELECTOR = "#order-live .gallery a[data-lightbox]";

  function show(position) {
    index = (position + links.length) % links.length;
    var link = links[index];
    var thumbnail = link.querySelector("img");
    image.src = link.href;
    image.alt = thumbnail.alt;
    caption.textContent = thumbnail.alt + " · " + (index + 1) + " / " + links.length;
    download.href = link.dataset.download;
    syncFavourite();
  }

  // The gallery's own favourite button does the work (htmx); this one mirrors it.
  function galleryFavourite() {
    return document.querySelector("#favourite-" + links[index].dataset.headshot + " button");
  }

  function syncFavourite() {
    var source = galleryFavourite();
    favourite.hidden = !source;
    if (!source) { return; }
    favourite.textContent = source.textContent.trim();
    favourite.setAttribute("aria-pressed", source.getAttribute("aria-pressed"));
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest(SELECTOR);
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
    event.preventDefault();
    links = Array.prototype.slice.call(document.querySelectorAll(SELECTOR));
    opener = link;
    box.showModal();
    show(links.indexOf(link));
    document.getElementById("lightbox-next").focus();
  });
  document.getElementById("lightbox-prev").addEventListener("click", function () { show(index - 1); });
  document.getElementById("lightbox-next").addEventListener("click", function () { show(index + 1); });
  document.getElementById("lightbox-close").addEventListener("click", function () { box.close(); });
  favourite.addEventListener("click", function () {
    var source = galleryFavourite();
    if (source) { source.click(); }
  });
  document.body.addEventListener("htmx:afterSwap", function () { if (box.open) { syncFavourite(); } });
  box.addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft") { event.preventDefault(); show(index - 1); }
    if (event.key === "ArrowRight") { event.preventDefault(); show(index + 1); }
  });
  box.addEventListener("click", function (event) { if (event.target === box) { box.close(); } });
  box.addEventListener("close", function () { if (opener) { opener.focus(); } });
  var startX = null;
  box.addEventListener("touchstart", function (event) { startX = event.changedTouches[0].clientX; }, { passive: true });
  box.addEventListener("touchend", function (event) {
    if (startX === null) { return; }
    var moved = event.changedTouches[0].clientX - startX;
    startX = null;
    if (Math.abs(moved) > 50) { show(index + (moved < 0 ? 1 : -1)); }
  });
})();
