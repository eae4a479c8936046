"""Keep every page of the book free of CDN references, and fail the build if one creeps in.

MathJax, RequireJS and the Jupyter widgets manager are served from ``book/_static/vendor/`` (see
``mathjax_path`` and ``nb_ipywidgets_js`` in ``_config.yml``). One CDN URL remains that no
setting controls: sphinx-thebe, which Jupyter Book always loads, writes the unpkg URL of the
thebe library into an inline script of every page. Thebe (live code in the page) is switched off
in this book (``launch_buttons.thebe: false``), so the URL is never fetched; this extension
removes it anyway, so that the pages contain no CDN address at all.

Two more things would make a page reach outside the book:

* the *Open in Colab* badge at the top of each chapter is an image on colab.research.google.com.
  In the book (not in the notebooks, where Colab and GitHub show it) it is replaced by a local
  copy, ``book/_static/colab-badge.svg``; any other remote image is reported as a warning
  (``offline.image``);
* Jupyter Book adds sphinx-thebe's inline configuration script twice, and the second copy fails
  (``const`` declared twice); the duplicate is dropped.

It then checks, page by page, the scripts and style sheets Sphinx is about to write: a ``src``
or ``href`` with a scheme (``https://...``, ``//...``) or an inline script that names a CDN is
reported as a warning (``offline.cdn``), which ``jupyter-book build . -W`` turns into an error.
So is a widget whose module is neither one of the core modules bundled in the vendored
``embed-amd.js`` (``@jupyter-widgets/base``, ``controls``, ``output``) nor the vendored
``anywidget``: the widget manager would fetch such a module from jsDelivr (``offline.widget``).
"""

from __future__ import annotations

import json
import re

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

logger = logging.getLogger(__name__)

THEBE_URL_RE = re.compile(r"https?://unpkg\.com/thebe@[^\"']*")
CDN_RE = re.compile(r"cdn|jsdelivr|unpkg|cdnjs|googleapis", re.IGNORECASE)
REMOTE_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
COLAB_BADGE_RE = re.compile(r"^https?://colab\.research\.google\.com/assets/colab-badge\.svg$")
LOCAL_COLAB_BADGE = "/book/_static/colab-badge.svg"  # "/" = the book's root folder
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
# The core modules bundled in embed-amd.js, and anywidget, vendored beside it and mapped for
# RequireJS by jupyter-widgets-offline.js (the book's live explorers and drawing pad).
BUNDLED_WIDGET_MODULES = {"@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output", "anywidget"}


def _unbundled_widget_modules(body: str) -> set:
    try:
        state = json.loads(body).get("state", {})
    except (ValueError, AttributeError):
        return set()
    modules = set()
    for model in state.values():
        for key in ("model_module", "view_module"):
            module = model.get(key) or (model.get("state") or {}).get("_" + key)
            if module and module not in BUNDLED_WIDGET_MODULES:
                modules.add(module)
    return modules


def _rebuilt(asset, **attributes):
    """A copy of a Sphinx asset (script or style sheet) with some attributes replaced."""
    merged = dict(getattr(asset, "attributes", {}))
    merged.update(attributes)
    return type(asset)(asset.filename, priority=getattr(asset, "priority", 500), **merged)


class LocalImages(SphinxTransform):
    """Serve the Colab badge from the book; report any other image from outside the book."""

    default_priority = 400  # before the images are collected (doctree-read)

    def apply(self, **kwargs) -> None:
        for image in self.document.findall(nodes.image):
            uri = image.get("uri", "")
            if COLAB_BADGE_RE.match(uri):
                image["uri"] = LOCAL_COLAB_BADGE
            elif REMOTE_RE.match(uri):
                logger.warning(
                    f"image from outside the book: {uri!r}; save it under book/ and link the copy",
                    type="offline",
                    subtype="image",
                    location=image,
                )


def strip_and_check(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is not None:
        seen_bodies = set()
        for js in list(scripts):
            body = getattr(js, "attributes", {}).get("body")
            if body and not getattr(js, "filename", None):
                if body in seen_bodies:
                    scripts.remove(js)  # the same inline script twice
                seen_bodies.add(body)
        for i, js in enumerate(scripts):
            body = getattr(js, "attributes", {}).get("body") or ""
            if THEBE_URL_RE.search(body):
                # Thebe is off; an empty URL keeps sphinx-thebe.js valid and fetches nothing.
                scripts[i] = js = _rebuilt(js, body=THEBE_URL_RE.sub("", body))
                body = js.attributes["body"]
            src = getattr(js, "filename", None) or ""
            if js.attributes.get("type") == WIDGET_STATE:
                for module in sorted(_unbundled_widget_modules(body)):
                    logger.warning(
                        f"page {pagename!r} uses the widget module {module!r}, which the vendored "
                        "assets do not hold (it would be fetched from a CDN); "
                        "use core ipywidgets or anywidget",
                        type="offline",
                        subtype="widget",
                        location=pagename,
                    )
                continue
            if REMOTE_RE.match(src) or (not src and CDN_RE.search(body)):
                logger.warning(
                    f"page {pagename!r} would load a script from outside the book: "
                    f"{src or body[:120]!r}; vendor it under book/_static/vendor/",
                    type="offline",
                    subtype="cdn",
                    location=pagename,
                )
    for css in context.get("css_files") or []:
        href = getattr(css, "filename", None) or ""
        if REMOTE_RE.match(href):
            logger.warning(
                f"page {pagename!r} would load a style sheet from outside the book: {href!r}",
                type="offline",
                subtype="cdn",
                location=pagename,
            )


def setup(app):
    app.add_transform(LocalImages)
    # Late, after sphinx-thebe, myst-nb and the theme have added their assets to the page.
    app.connect("html-page-context", strip_and_check, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
