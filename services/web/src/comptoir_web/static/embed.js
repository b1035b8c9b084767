// Comptoir booking widget, inside its frame: tells the page around it how tall this page
// is (widget.js sizes the frame to it, so the frame never scrolls on its own) and when a
// new page opens. On the page that gives the widget's code: the copy button.
(function () {
  "use strict";
  if (window.parent !== window) {
    var last = -1;
    var post = function (type) {
      var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (type === "comptoir:height" && height === last) { return; }
      last = height;
      // Only a height: nothing secret, so any parent may read it.
      window.parent.postMessage({ type: type, height: height }, "*");
    };
    post("comptoir:page");
    if (window.ResizeObserver) {
      new window.ResizeObserver(function () { post("comptoir:height"); })
        .observe(document.documentElement);
    } else {
      window.addEventListener("load", function () { post("comptoir:height"); });
    }
  }
  var buttons = document.querySelectorAll("[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("how-copy-status");
      var done = function () { if (status) { status.textContent = button.getAttribute("data-copied"); } };
      source.select();
      if (navigator.clipboard) {
        navigator.clipboard.writeText(source.value).then(done, function () {});
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
})();
