/* Comptoir booking widget. Paste on a page of your site, where the activities go:
 *   <script src="https://<storefront>/widget.js" data-provider="<uuid>" async></script>
 * data-provider: one provider's activities; data-territory="<uuid>": the territory's.
 * data-lang: fr or en (else the page's <html lang>, else fr). data-title: the frame's
 * title for screen readers. Visitors book and pay in the frame, without leaving the page.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src || !window.URL) { return; }
  var origin = new URL(script.src, document.baseURI).origin;
  var data = script.dataset;
  var lang = (data.lang || document.documentElement.lang || "fr").slice(0, 2).toLowerCase();
  if (lang !== "en") { lang = "fr"; }
  var scope = data.provider
    ? "provider=" + encodeURIComponent(data.provider)
    : "territory=" + encodeURIComponent(data.territory || "");
  var frame = document.createElement("iframe");
  frame.src = origin + "/" + lang + "/embed/?" + scope;
  frame.title = data.title || (lang === "en" ? "Book online" : "R\u00e9server en ligne");
  frame.loading = "lazy";
  // The frame may submit forms and open "my reservation" in a new tab; it may take the
  // whole window only when the visitor clicks (card payment on Stripe's page).
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups " +
    "allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation");
  frame.style.display = "block";
  frame.style.width = "100%";
  frame.style.height = "640px";
  frame.style.border = "0";
  script.parentNode.insertBefore(frame, script.nextSibling);
  var pages = 0;
  window.addEventListener("message", function (event) {
    // Only this frame's own pages, from the widget's own origin, may size it.
    if (event.origin !== origin || event.source !== frame.contentWindow) { return; }
    var message = event.data || {};
    var height = message.height;
    if (typeof height !== "number" || !(height > 0)) { return; }
    frame.style.height = Math.min(Math.ceil(height), 20000) + "px";
    // A new page in the frame: bring its top into view if the visitor scrolled past it.
    if (message.type === "comptoir:page" && pages++ > 0 &&
        frame.getBoundingClientRect().top < 0) {
      frame.scrollIntoView();
    }
  });
})();
