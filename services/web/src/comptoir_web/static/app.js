// Comptoir storefront: the hold countdown, and a page that refreshes itself while a
// payment is being confirmed. Everything works without it; it only keeps pages current.
(function () {
  "use strict";
  var timer = document.getElementById("countdown");
  if (timer) {
    var end = Date.now() + parseInt(timer.getAttribute("data-seconds"), 10) * 1000;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var tick = function () {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      if (left === 0) {
        timer.textContent = timer.getAttribute("data-expired");
        timer.classList.add("expired");
        timer.setAttribute("role", "alert");
        window.setTimeout(function () { window.location.reload(); }, 3000);
        return;
      }
      timer.textContent = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
      window.setTimeout(tick, 1000 - (Date.now() % 1000));
    };
    tick();
  }
  var refresh = document.querySelector("[data-refresh]");
  if (refresh) {
    var seconds = parseFloat(refresh.getAttribute("data-refresh")) || 2;
    window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
  var errors = document.getElementById("form-errors");
  if (errors) { errors.focus(); }
})();
