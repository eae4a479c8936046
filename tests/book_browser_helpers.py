"""Helpers for ``tests/test_book_browser.py`` and ``tests/test_book_html.py``: what the book should
contain, read from its own configuration (``_toc.yml``, ``_config.yml``, the notebooks), a quiet
local HTTP server, the JavaScript that inspects a page in Chromium, and the problem report.

``build_book`` builds the book (the ``build`` fixture of ``conftest.py`` calls it once per
session); nothing here starts a browser, which the test module does.
"""

from __future__ import annotations

import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence, Tuple

import yaml


def _load_colab():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "scripts" / "colab.py"
    spec = importlib.util.spec_from_file_location("_book_scripts_colab_for_browser", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


_colab = _load_colab()  # the one parser of repository and Colab URLs

if TYPE_CHECKING:  # mypy reads scripts/ as top-level modules: scripts/colab.py is `colab` to it
    from colab import Repository

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SOURCE_SUFFIXES = (".ipynb", ".md", ".myst", ".rst")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
NOTEBOOK_UI_PREFIX = {"classic": "tree", "jupyterlab": "lab/tree"}  # as sphinx-book-theme writes it


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, order=True)
class Problem:
    kind: str
    page: str
    detail: str


def format_problems(problems: Sequence[Problem], title: str) -> str:
    """One readable block: the problems grouped by kind; a problem seen on many pages once."""
    problems = sorted(set(problems))
    lines = [f"{title}: {len(problems)} problem(s)"]
    by_kind: Dict[str, Dict[str, List[str]]] = {}
    for p in problems:
        by_kind.setdefault(p.kind, {}).setdefault(p.detail, []).append(p.page)
    for kind, details in by_kind.items():
        lines.append(f"\n[{kind}]")
        # Problems repeated on many pages (a broken sidebar link, an error in a shared script)
        # are written once, with the pages that show them.
        per_page: Dict[str, List[str]] = {}
        for detail, pages in details.items():
            if len(pages) > 2:
                shown = ", ".join(pages[:4]) + (f", ... ({len(pages)} pages)" if len(pages) > 4 else "")
                lines.append(f"  on {shown}:\n      {detail}")
            else:
                for page in pages:
                    per_page.setdefault(page, []).append(detail)
        for page, page_details in per_page.items():
            lines.append(f"  {page}:")
            lines.extend(f"      {d}" for d in page_details)
    return "\n".join(lines)


# --------------------------------------------------------------------------- the book's configuration


def strip_ansi(text: str) -> str:
    return ANSI_RE.sub("", text)


@dataclass(frozen=True)
class TocPage:
    docname: str  # "notebooks/02_convolution"
    source: Optional[Path]  # the source file, None when it is missing

    @property
    def html(self) -> str:
        return self.docname + ".html"

    @property
    def is_notebook(self) -> bool:
        return self.source is not None and self.source.suffix == ".ipynb"


def _docname(entry: str) -> str:
    entry = entry.strip().lstrip("/")
    for suffix in SOURCE_SUFFIXES:
        if entry.endswith(suffix):
            return entry[: -len(suffix)]
    return entry


def _source(root: Path, docname: str) -> Optional[Path]:
    for suffix in SOURCE_SUFFIXES:
        path = root / (docname + suffix)
        if path.is_file():
            return path
    return None


def toc_pages(root: Path) -> List[TocPage]:
    """Every page that ``_toc.yml`` lists, in order: the root, then files, globs and sections at
    any depth, under ``parts`` or ``chapters`` (``url`` entries are external and skipped)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")) or {}
    docnames: List[str] = []

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        if "file" in node:
            docnames.append(_docname(str(node["file"])))
        if "glob" in node:
            pattern = str(node["glob"]).lstrip("/")
            for path in sorted(root.glob(pattern)):
                if path.suffix in SOURCE_SUFFIXES and "_build" not in path.parts:
                    docnames.append(_docname(path.relative_to(root).as_posix()))
        for key in ("parts", "chapters", "sections", "subtrees", "entries"):
            if key in node:
                walk(node[key])

    if "root" in toc:
        docnames.append(_docname(str(toc["root"])))
    walk({k: v for k, v in toc.items() if k != "root"})
    seen, pages = set(), []
    for name in docnames:
        if name not in seen:
            seen.add(name)
            pages.append(TocPage(name, _source(root, name)))
    return pages


def read_config(root: Path) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}


def repository(config: dict) -> Repository:
    """The book's repository from its parsed config: ``scripts/colab.py``'s parser, the one the
    notebooks' badges are written with (a ``ValueError`` says what is wrong)."""
    return _colab.repository_from_config(config)


def expected_colab_url(repo: Repository, docname: str, colab: str = "https://colab.research.google.com") -> str:
    return repo.colab_url(repo.file_path(docname), colab)


def expected_binder_url(repo: Repository, docname: str, binderhub: str, interface: str) -> str:
    prefix = NOTEBOOK_UI_PREFIX.get(interface, "tree")
    return (
        f"{binderhub.rstrip('/')}/v2/gh/{repo.owner}/{repo.repo}/{repo.branch}"
        f"?urlpath={prefix}/{repo.file_path(docname)}"
    )


def read_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def notebook_badge_targets(nb: dict) -> List[str]:
    """The targets of the Colab badges in the notebook's first markdown cell."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            text = "".join(cell.get("source", ""))
            return [m.group(2) for regex in (_colab.MD_BADGE_RE, _colab.HTML_BADGE_RE) for m in regex.finditer(text)]
    return []


def notebook_widget_models(nb: dict) -> Dict[str, str]:
    """model id -> model name of the widget state saved in the notebook (empty: no widgets)."""
    state = ((nb.get("metadata") or {}).get("widgets") or {}).get(WIDGET_STATE, {}).get("state") or {}
    return {model_id: str(model.get("model_name", "?")) for model_id, model in state.items()}


# --------------------------------------------------------------------------- static HTML


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: List[str] = []
        self.refresh: Optional[str] = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            match = re.search(r"url\s*=\s*['\"]?([^'\";]+)", attrs.get("content") or "", re.I)
            if match:
                self.refresh = match.group(1).strip()


def _parse_links(text: str) -> _Links:
    parser = _Links()
    parser.feed(text)
    return parser


def html_hrefs(text: str) -> List[str]:
    """The ``href`` of every ``<a>`` of an HTML page, entities decoded."""
    return _parse_links(text).hrefs


def meta_refresh(text: str) -> Optional[str]:
    """The target of an HTML page's meta-refresh redirect, or None."""
    return _parse_links(text).refresh


# --------------------------------------------------------------------------- serving _build/html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection serves a page's many small files

    def end_headers(self):
        # The files do not change while the test runs: let Chromium reuse the theme's scripts,
        # MathJax and the widget manager from one page to the next instead of asking again.
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def log_message(self, format, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a request the browser aborted (a broken pipe) is not a problem of the book


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (an ephemeral port); yield the base URL, ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- Chromium


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    # Belt and braces: even what page.route cannot see (DNS prefetch, preconnect) cannot leave.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def find_chromium() -> Optional[str]:
    """Debian's chromium (Playwright's own download does not work offline), else None."""
    import os

    for candidate in (
        os.environ.get("BOOK_TEST_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


# --------------------------------------------------------------------------- PNG


def png_size(path: Path) -> Optional[Tuple[int, int]]:
    """(width, height) of a PNG file, None when it is not one."""
    data = path.read_bytes()[:32]
    if len(data) < 24 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def png_is_blank(path: Path) -> Optional[bool]:
    """True when every pixel has the same colour (None when Pillow is not there to tell)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    with Image.open(path) as image:
        extrema = image.convert("RGB").getextrema()
    return all(low == high for low, high in extrema)


# --------------------------------------------------------------------------- in-page JavaScript

# Wait (at most `ms`) for MathJax 3 to finish its first typesetting pass; true when it did or
# when there is no MathJax to wait for.
JS_WAIT_MATHJAX = """async (ms) => {
  const mj = window.MathJax;
  if (!(mj && mj.startup && mj.startup.promise)) return true;
  const timeout = new Promise(resolve => setTimeout(() => resolve(false), ms));
  return await Promise.race([mj.startup.promise.then(() => true), timeout]);
}"""

# Widget views: each <script type="application/vnd.jupyter.widget-view+json"> should have a view
# rendered beside it by the widgets HTML manager (a .widget-subarea holding .jupyter-widgets).
JS_WIDGET_VIEWS = """() => {
  const out = [];
  const names = {};
  for (const s of document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]')) {
    try {
      const state = JSON.parse(s.textContent).state || {};
      for (const [id, model] of Object.entries(state)) names[id] = model.model_name || '?';
    } catch (e) {}
  }
  for (const script of document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')) {
    let modelId = '?';
    try { modelId = JSON.parse(script.textContent).model_id; } catch (e) {}
    const details = script.closest('details');
    if (details && !details.open) { details.open = true; }
    const parent = script.parentElement;
    const roots = parent ? Array.from(parent.querySelectorAll('.widget-subarea, .jupyter-widgets')) : [];
    let width = 0, height = 0;
    for (const el of roots) {
      const r = el.getBoundingClientRect();
      width = Math.max(width, r.width); height = Math.max(height, r.height);
    }
    const text = parent ? parent.innerText : '';
    const error = /Error displaying widget|Could not create (a )?view/i.test(text) ? text.slice(0, 200) : '';
    const cell = script.closest('.cell');
    const cells = Array.from(document.querySelectorAll('.cell'));
    out.push({modelId, modelName: names[modelId] || '', rendered: roots.length > 0, width, height, error,
              cell: cell ? cells.indexOf(cell) + 1 : 0});
  }
  return out;
}"""

JS_WIDGETS_SETTLED = """() => {
  const scripts = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  for (const s of scripts) {
    const p = s.parentElement;
    if (!p || !p.querySelector('.jupyter-widgets')) return false;
  }
  return true;
}"""

# Everything else that can be read from the page in one go.
JS_INSPECT = """() => {
  const text = (el, n) => (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, n || 80);
  const images = Array.from(document.images).map(img => ({
    src: img.currentSrc || img.src, attr: img.getAttribute('src') || '', alt: img.alt || '',
    complete: img.complete, naturalWidth: img.naturalWidth}));
  const hints = Array.from(document.querySelectorAll(
    'link[rel~="preconnect"], link[rel~="dns-prefetch"], link[rel~="prefetch"], link[rel~="preload"]'))
    .map(l => l.href).filter(h => /^(https?:)?\\/\\//.test(h));
  // Math: every .math element (Sphinx's $...$ and $$...$$) must hold a MathJax container.
  const cells = Array.from(document.querySelectorAll('.cell'));
  const where = el => {
    const cell = el.closest('.cell');
    if (!cell) return 'in the text';
    return (el.closest('.cell_output') ? 'in the output of' : 'in') + ' code cell ' + (cells.indexOf(cell) + 1);
  };
  const maths = Array.from(document.querySelectorAll('.math'));
  const unrendered = maths.filter(m => !m.querySelector('mjx-container')).map(m => text(m, 80) + ' (' + where(m) + ')');
  const mathErrors = Array.from(document.querySelectorAll('mjx-merror')).map(
    e => (e.getAttribute('data-mjx-error') || text(e, 80)));
  // MathJax's noundefined extension writes an unknown macro in red instead of failing: find it
  // in the internal MathML of every typeset expression.
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.document && mj.startup.toMML) {
    for (const item of mj.startup.document.math) {
      let mml = '';
      try { mml = mj.startup.toMML(item.root); } catch (e) { continue; }
      const undef = mml.match(/<mtext mathcolor="red">(\\\\[A-Za-z]+)<\\/mtext>/);
      if (undef) mathErrors.push('undefined control sequence ' + undef[1] + ' in ' + item.math.trim().slice(0, 60));
    }
  }
  // TeX that dollarmath did not turn into math: "$...\\cmd...$" left in the prose.
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  const rawTex = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n.parentElement.closest('pre, code, script, style, .math, mjx-container, textarea')) continue;
    const m = n.textContent.match(/\\$[^$\\n]*\\\\[A-Za-z]+[^$\\n]*\\$/);
    if (m) rawTex.push(m[0].slice(0, 80) + ' (' + where(n.parentElement) + ')');
  }
  return {images, hints,
          mathCount: maths.length, mjxCount: document.querySelectorAll('mjx-container').length,
          unrendered, mathErrors, rawTex,
          hasMathJax: Boolean(window.MathJax && window.MathJax.version),
          widgetState: document.querySelectorAll('script[type="application/vnd.jupyter.widget-state+json"]').length,
          widgetViews: document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
          figureImages: document.querySelectorAll('.cell_output img, figure img').length};
}"""

# Solutions: sphinx-exercise's `.solution` admonitions (folded by sphinx-togglebutton, class
# `dropdown` -> `toggle` + button.toggle-button, or inside a <details>). A solution with code is a
# gated one ({solution-start} ... {solution-end}): its code cells, tagged `solution`, sit inside the
# admonition, and neither their code nor their outputs may show before it is opened. A code cell
# tagged `solution` outside every solution box is reported: its output (at least) is in plain view.
JS_SOLUTIONS = """() => {
  // sphinx-togglebutton folds a box with visibility: hidden and a height of 0, which the cells
  // inside overflow (invisibly): visible means rendered, not hidden, not transparent, with a size.
  const visible = el => Boolean(el) && el.checkVisibility({visibilityProperty: true, opacityProperty: true}) &&
    el.getBoundingClientRect().width > 0 && el.getBoundingClientRect().height > 0;
  const cells = Array.from(document.querySelectorAll('.cell'));
  const cellName = cell => 'code cell ' + (cells.indexOf(cell) + 1);
  const out = [];
  document.querySelectorAll('.solution').forEach((sol, i) => {
    if (!sol.id) sol.id = 'book-test-solution-' + i;
    const body = Array.from(sol.children).filter(c => !c.classList.contains('admonition-title'));
    const details = sol.closest('details');
    const title = sol.querySelector('.admonition-title');
    const inner = Array.from(sol.querySelectorAll('.cell'));
    const shown = inner.flatMap(cell => Array.from(cell.querySelectorAll('.cell_input, .cell_output'))
      .filter(visible)
      .map(part => cellName(cell) + (part.classList.contains('cell_input') ? ' (its code)' : ' (its output)')));
    out.push({id: sol.id, kind: 'admonition',
              title: title ? title.textContent.replace(/\\s+/g, ' ').trim().slice(0, 80) : '',
              bodyVisible: body.some(visible), hasBody: body.length > 0, cells: inner.length, cellsShown: shown,
              details: Boolean(details), detailsOpen: Boolean(details && details.open),
              toggleButton: Boolean(sol.querySelector('button.toggle-button')),
              dropdownClass: sol.classList.contains('dropdown') || sol.classList.contains('toggle')});
  });
  document.querySelectorAll('.cell.tag_solution').forEach(cell => {
    if (cell.closest('.solution')) return;
    const parts = Array.from(cell.querySelectorAll('.cell_input, .cell_output')).filter(visible)
      .map(part => part.classList.contains('cell_input') ? 'its code' : 'its output');
    out.push({id: '', kind: 'loose cell', title: cellName(cell) + ' (tagged solution)', shownParts: parts});
  });
  return out;
}"""

# After a solution is opened: its body and every part (code, output) of the code cells in it show.
JS_SOLUTION_BODY_VISIBLE = """(id) => {
  const el = document.getElementById(id);
  if (!el) return false;
  const visible = e => Boolean(e) && e.checkVisibility({visibilityProperty: true, opacityProperty: true}) &&
    e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0;
  const parts = Array.from(el.querySelectorAll('.cell .cell_input, .cell .cell_output'));
  return Array.from(el.children).filter(c => !c.classList.contains('admonition-title')).some(visible) &&
    parts.every(visible);
}"""

# What is wider than the text column (article.bd-article): code blocks, outputs, tables, display
# math, images and widgets that stick out of it, and code or outputs that scroll sideways inside
# themselves (the book wraps them). A table may scroll inside its wrapper when the wrapper fits
# the column and scrolls (overflow-x auto or scroll): the rest of the table is then one scroll away.
JS_TOO_WIDE = """() => {
  const column = document.querySelector('article.bd-article');
  if (!column) return [];
  const col = column.getBoundingClientRect();
  const cells = Array.from(document.querySelectorAll('.cell'));
  const where = el => {
    const cell = el.closest('.cell');
    if (!cell) return 'in the text';
    return (el.closest('.cell_output') ? 'in the output of' : 'in') + ' code cell ' + (cells.indexOf(cell) + 1);
  };
  const what = el => {
    const text = (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 50);
    const name = el.matches('pre') ? (el.closest('.cell_output') ? 'output' : 'code') : el.matches('table') ? 'table'
      : el.matches('mjx-container') ? 'display math' : el.matches('img') ? 'image'
      : el.matches('.lenet-widget, .jupyter-widgets') ? 'widget'
      : el.matches('.pst-scrollable-table-container') ? 'table wrapper' : el.tagName.toLowerCase();
    return name + ' ' + where(el) + (text ? ' (\\u201c' + text + '\\u201d)' : '');
  };
  const out = [];
  const selector = 'pre, table, .pst-scrollable-table-container, mjx-container[display="true"], .cell_output img, ' +
                   'figure img, .cell_output .lenet-widget, .cell_output .output';
  for (const el of column.querySelectorAll(selector)) {
    if (!el.checkVisibility()) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const outside = Math.max(col.left - r.left, r.right - col.right);
    const scroller = el.matches('table') ? el.closest('.pst-scrollable-table-container') : null;
    // the wrapper is checked
    if (scroller && ['auto', 'scroll'].includes(getComputedStyle(scroller).overflowX)) continue;
    if (outside > 1.5) {
      out.push(what(el) + ': ' + Math.round(r.width) + ' px wide, ' + Math.round(outside) +
               ' px past the edge of the ' + Math.round(col.width) + ' px text column');
      continue;
    }
    const hidden = el.scrollWidth - el.clientWidth;
    if (hidden > 1.5 && el.matches('pre')) {
      out.push(what(el) + ': scrolls sideways, ' + hidden +
               ' px of it out of sight (code and outputs wrap in this book)');
    } else if (hidden > 1.5 && !el.matches('table')) {
      const overflow = getComputedStyle(el).overflowX;
      if (!['auto', 'scroll'].includes(overflow)) {
        out.push(what(el) + ': ' + hidden + ' px of it cut off (overflow-x: ' + overflow +
                 '), with no way to scroll to it');
      }
    }
  }
  return out;
}"""

# The drawing pad's layout, as a reader sees it while drawing: the widget scrolled to just under the
# sticky article header. For the pad, the preview and each network's answer: is it inside the
# window, and is it what the browser finds at its centre and corners (not covered by anything)?
JS_PAD_LAYOUT = """(el) => {
  const header = document.querySelector('.bd-header-article');
  const top = header ? Math.max(0, header.getBoundingClientRect().bottom) : 0;
  window.scrollBy(0, el.getBoundingClientRect().top - top - 8);
  window.scrollBy(0, -1); window.scrollBy(0, 1);   // a scroll up shows a theme's "back to top" button
  const headerBottom = header ? Math.max(0, header.getBoundingClientRect().bottom) : 0;
  const parts = [['the pad', el.querySelector('canvas.lenet-pad')],
                 ['the preview', el.querySelector('canvas.lenet-seen') || el.querySelectorAll('canvas')[1]]];
  for (const answer of el.querySelectorAll('[data-net]')) parts.push(['the answer of ' + answer.dataset.net, answer]);
  return parts.map(([name, part]) => {
    if (!part) return {name, missing: true};
    const r = part.getBoundingClientRect();
    const inside = r.top >= headerBottom - 0.5 && r.bottom <= window.innerHeight + 0.5 &&
      r.left >= -0.5 && r.right <= window.innerWidth + 0.5;
    const covered = [];
    for (const [fx, fy] of [[0.5, 0.5], [0.05, 0.05], [0.95, 0.05], [0.05, 0.95], [0.95, 0.95]]) {
      const x = r.left + fx * r.width, y = r.top + fy * r.height;
      if (x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight) continue;
      const hit = document.elementFromPoint(x, y);
      if (hit && hit !== part && !part.contains(hit)) covered.push((hit.id ? '#' + hit.id : hit.tagName.toLowerCase() +
        (hit.className && typeof hit.className === 'string'
          ? '.' + hit.className.trim().split(/\\s+/).join('.') : '')));
    }
    return {name, missing: false, inside, covered: Array.from(new Set(covered)),
            box: [Math.round(r.left), Math.round(r.top), Math.round(r.right), Math.round(r.bottom)],
            window: [window.innerWidth, window.innerHeight], headerBottom: Math.round(headerBottom)};
  });
}"""


# --------------------------------------------------------------------------- the build

#: A build that takes longer is stopped and reported.
BUILD_TIMEOUT_S = 1800
PROGRESS_RE = re.compile(
    r"^(reading sources|writing output|copying images|copying assets|copying static files|"
    r"copying extra files)\.\.\.|^$"
)


@dataclass
class Build:
    returncode: int
    output: str
    seconds: float

    def tail(self, lines: int = 40) -> str:
        text = strip_ansi(self.output)
        warnings = [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line or "Traceback" in line]
        # Without Sphinx's progress lines ("reading sources... [ 42%] ..."), which say nothing here.
        tail = [line for line in text.splitlines() if not PROGRESS_RE.match(line)][-lines:]
        return (
            ("warnings and errors:\n" + "\n".join(warnings[:80]) + "\n\n" if warnings else "")
            + f"last {len(tail)} lines of the build output:\n"
            + "\n".join(tail)
        )


def build_book(root: Path) -> Build:
    """``jupyter-book build <repo> -W -n --keep-going --all`` with this interpreter's jupyter-book,
    then the Chinese edition (``scripts/translation.py build --all``, also ``-W -n``).

    ``--all`` re-reads every page: Sphinx does not re-read an unchanged page, so an incremental
    build would not repeat a warning that a previous build already reported.
    """
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    command = [
        sys.executable,
        "-c",
        "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
        "build",
        str(root),
        "-W",
        "-n",
        "--keep-going",
        "--all",
    ]
    # then the Chinese edition, from the same sources, into _build/html/zh/ (as `make book` does)
    chinese = [sys.executable, str(root / "scripts" / "translation.py"), "build", "--all"]
    outputs, codes, start = [], [], time.perf_counter()
    for edition, cmd in (("English", command), ("Chinese", chinese)):
        try:
            done = subprocess.run(
                cmd,
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                timeout=BUILD_TIMEOUT_S,
            )
            codes.append(done.returncode)
            outputs.append(f"[{edition} edition]\n" + done.stdout)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            codes.append(-1)
            outputs.append(f"[{edition} edition]\n" + out + f"\n(build killed after {BUILD_TIMEOUT_S} s)")
    code = next((c for c in codes if c != 0), 0)
    result = Build(code, "\n".join(outputs), time.perf_counter() - start)
    print(
        f"\n[book] build of both editions: exit status {result.returncode} in {result.seconds:.1f} s", file=sys.stderr
    )
    return result


def built_notebook(html_dir: Path, toc_page: TocPage) -> Optional[dict]:
    """The notebook as the build saw it (its copy in ``_build/html/_sources``, so that it matches the
    page even when the notebook was rewritten since), else as it is in the repository."""
    if toc_page.source is None or not toc_page.is_notebook:  # (is_notebook says the source exists)
        return None
    for copy in (
        html_dir / "_sources" / (toc_page.docname + ".ipynb"),
        html_dir / "_sources" / (toc_page.docname + ".ipynb.txt"),
    ):
        if copy.is_file():
            try:
                return read_notebook(copy)
            except ValueError:
                break
    return read_notebook(toc_page.source)
