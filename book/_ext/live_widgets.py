"""The book's live widgets run the front end of the ``lenet`` package that builds the book.

The explorers and the drawing pad (:mod:`lenet.widgets`) are ``anywidget`` widgets: the notebook
saves each one's JavaScript module (the ``_esm`` trait, ``lenet/js/common.js`` followed by the
widget's own file) with its state, and the HTML book runs the module it finds there. A fix to
``lenet/js/`` would then reach the book only once the chapter is executed again. This extension
replaces, in each page's widget state, the ``_esm`` of every model that ``lenet.widgets`` made
(its ``_anywidget_id`` names the class) with ``lenet.widgets.module_source`` of the package as it
is now. The state itself (the image, the networks' weights, the example drawing) stays the one the
notebook saved; the front end reads the same traits. A model of a class this extension does not
know is left alone.
"""

from __future__ import annotations

import json

from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: anywidget id (``<module>.<class>``) -> the front end's file in lenet/js/
MODULES = {
    "lenet.widgets.KernelExplorer": "kernel_explorer",
    "lenet.widgets.PoolingExplorer": "pooling_explorer",
    "lenet.widgets.DigitPad": "digit_pad",
}


def _sanitize(text: str) -> str:
    # as myst-nb writes the state into its <script> tag (myst_nb.core.render.sanitize_script_content)
    return text.replace("</script>", r"<\/script>")


def refresh_state(body: str, source) -> str:
    """The widget-state JSON ``body`` with each lenet widget's ``_esm`` replaced by ``source(name)``."""
    data = json.loads(body)
    changed = False
    for model in (data.get("state") or {}).values():
        state = model.get("state") or {}
        name = MODULES.get(state.get("_anywidget_id", ""))
        if name and "_esm" in state:
            module = source(name)
            if state["_esm"] != module:
                state["_esm"] = module
                changed = True
    return _sanitize(json.dumps(data)) if changed else body


def refresh(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    for i, js in enumerate(scripts):
        attributes = getattr(js, "attributes", {})
        if attributes.get("type") != WIDGET_STATE or not attributes.get("body"):
            continue
        try:
            from lenet.widgets import module_source
        except ImportError as exc:
            logger.warning(
                f"cannot import lenet.widgets ({exc}): page {pagename!r} keeps the widgets' saved JavaScript",
                type="live_widgets",
                location=pagename,
            )
            return
        body = refresh_state(attributes["body"], module_source)
        if body is not attributes["body"]:
            merged = dict(attributes, body=body)
            scripts[i] = type(js)(js.filename, priority=getattr(js, "priority", 500), **merged)


def _front_end_hash() -> str:
    import hashlib

    try:
        from lenet.widgets import module_source
    except ImportError:
        return ""
    return hashlib.sha256("".join(module_source(name) for name in sorted(MODULES.values())).encode()).hexdigest()


def note_widget_pages(app, docname, source):
    """Remember the pages whose notebooks hold lenet widgets (their JSON names the class)."""
    pages = app.env.__dict__.setdefault("lenet_widget_pages", set())
    if any(widget_id in source[0] for widget_id in MODULES):
        pages.add(docname)
    else:
        pages.discard(docname)


def outdated(app, env, added, changed, removed):
    """An incremental build writes a page again only when its source changed: when lenet/js/
    changed, the pages with lenet widgets are written again too."""
    digest = _front_end_hash()
    if digest == getattr(env, "lenet_widget_hash", None):
        return []
    env.lenet_widget_hash = digest
    return sorted(getattr(env, "lenet_widget_pages", set()) - set(removed))


def merge(app, env, docnames, other):
    env.__dict__.setdefault("lenet_widget_pages", set()).update(
        getattr(other, "lenet_widget_pages", set()) & set(docnames)
    )


def setup(app):
    app.connect("source-read", note_widget_pages)
    app.connect("env-get-outdated", outdated)
    app.connect("env-merge-info", merge)
    # Before offline_assets (priority 900) checks the page's scripts.
    app.connect("html-page-context", refresh, priority=800)
    return {"version": "1.0", "env_version": 1, "parallel_read_safe": True, "parallel_write_safe": True}
