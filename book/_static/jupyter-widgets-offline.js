/*
 * Glue between the vendored Jupyter widgets HTML manager (vendor/jupyter-widgets/embed-amd.js)
 * and this book's pages. Loaded only on pages with widgets, after require.js and before
 * embed-amd.js (see nb_ipywidgets_js in _config.yml).
 *
 * 1. embed-amd.js defines its modules (@jupyter-widgets/base, controls, output, html-manager)
 *    under names that RequireJS would resolve against the page's folder, and each module looks
 *    for its Font Awesome files next to the URL of its name. Map the names onto the folder that
 *    holds embed-amd.js and the fonts, so the icons load from the book itself. Map "anywidget"
 *    onto its vendored AMD module: the manager asks RequireJS first and only falls back to a CDN
 *    when that fails.
 * 2. The widget manager typesets widget labels with MathJax 2's API (MathJax.Hub.Queue); the book
 *    loads MathJax 3. Give MathJax 3 that one entry point, so labels with $...$ are typeset and
 *    no error is thrown. Widgets are rendered on the window's load event, after MathJax (a
 *    deferred script) has started, hence DOMContentLoaded here.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (window.requirejs && script && script.src) {
    var vendor = new URL("vendor/jupyter-widgets/", script.src).href.replace(/\/$/, "");
    window.requirejs.config({
      paths: {
        "@jupyter-widgets/base": vendor + "/base",
        "@jupyter-widgets/base7": vendor + "/base7",
        "@jupyter-widgets/controls": vendor + "/controls",
        "@jupyter-widgets/controls7": vendor + "/controls7",
        "@jupyter-widgets/output": vendor + "/output",
        "@jupyter-widgets/html-manager": vendor + "/html-manager",
        "@jupyter-widgets/html-manager/dist": vendor,
        // anywidget's front end (the book's live explorers), vendored beside the manager
        "anywidget": vendor.replace(/jupyter-widgets$/, "anywidget") + "/index"
      }
    });
  }

  function installHub() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || typeof mj.typesetPromise !== "function") {
      return;
    }
    mj.Hub = {
      Queue: function (command) {
        var element = command && command[2];
        if (!element) {
          return;
        }
        var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
        ready
          .then(function () { return mj.typesetPromise([element]); })
          .catch(function (err) { console.warn("MathJax could not typeset a widget label:", err); });
      }
    };
  }
  document.addEventListener("DOMContentLoaded", installHub);
  window.addEventListener("load", installHub);
})();
