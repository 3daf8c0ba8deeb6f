// Shows the front door's sanitised answer HTML (bot/channels/formats.py: answer_html) in a browser without trusting
// it: the HTML is parsed in an inert DOMParser document and only the allowed elements and http(s)/mailto links are
// rebuilt, so a fault on either side alone shows no script. One home for the widget (bot/widget.py inlines this file
// into widget.js where it says so) and the demo page (which loads it). Plain ES2017, no build step.
var fdRichText = (function () {
  "use strict";
  // The elements the front door's sanitiser allows (bot/channels/formats.py: ALLOWED_TAGS); others keep their text.
  var RICH = { P: 1, BR: 1, STRONG: 1, EM: 1, DEL: 1, A: 1, UL: 1, OL: 1, LI: 1, CODE: 1, PRE: 1, BLOCKQUOTE: 1, HR: 1,
    H1: 1, H2: 1, H3: 1, H4: 1, H5: 1, H6: 1, TABLE: 1, THEAD: 1, TBODY: 1, TR: 1, TH: 1, TD: 1 };
  var DROPPED = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, NOSCRIPT: 1, IFRAME: 1, OBJECT: 1, EMBED: 1, SVG: 1, MATH: 1 };
  function safeHref(value) {
    var href = (value || "").replace(/[\u0000-\u0020\u007f]+/g, "");
    return /^(https?:|mailto:)/i.test(href) ? value.trim() : null;
  }
  function copyRich(from, to) {
    Array.prototype.forEach.call(from.childNodes, function (node) {
      if (node.nodeType === 3) { to.appendChild(document.createTextNode(node.data)); return; }
      if (node.nodeType !== 1 || DROPPED[node.tagName]) return;
      if (!RICH[node.tagName]) { copyRich(node, to); return; }
      var copy = document.createElement(node.tagName.toLowerCase());
      var href = node.tagName === "A" ? safeHref(node.getAttribute("href")) : null;
      if (href) { copy.setAttribute("href", href); copy.setAttribute("target", "_blank"); copy.setAttribute("rel", "noopener noreferrer nofollow"); }
      var start = node.tagName === "OL" ? parseInt(node.getAttribute("start") || "", 10) : NaN;
      if (!isNaN(start)) copy.setAttribute("start", String(start));
      copyRich(node, copy);
      to.appendChild(copy);
    });
  }
  // A DOMParser document is inert: nothing in it runs or loads. Only allowed elements and http(s)/mailto links leave.
  return function richText(html) {
    var fragment = document.createDocumentFragment();
    var body = new DOMParser().parseFromString(html, "text/html").body;
    // One paragraph (most bot messages) is shown as its contents: a short reply looks as it always did.
    var first = body.firstElementChild;
    var single = body.children.length === 1 && first.tagName === "P" && body.textContent.trim() === first.textContent.trim();
    copyRich(single ? first : body, fragment);
    return fragment;
  };
})();
