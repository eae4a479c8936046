"""The HTML book in a real browser: serve the built book, open every page in headless Chromium.

The book is built once per session (``jupyter-book build . -W -n --keep-going --all`` into
``_build/html``), served on 127.0.0.1, and every page of ``_toc.yml`` (plus ``index.html``) is
opened once, with every request that would leave 127.0.0.1 blocked and recorded. What is seen is
collected as a list of problems (page, kind, detail); each test below asserts one kind of
problem and lists every instance of it:

What only a running page shows; the build itself and what can be read from its HTML files are
checked by ``tests/test_book_html.py`` (the build is made once per session, by the ``build``
fixture of ``conftest.py``):

* ``test_no_javascript_errors``           no uncaught exception, no ``console.error``;
* ``test_images_and_local_files_load``    every ``<img>`` decodes (a natural width), no request for a
  book file fails at run time (404, aborted);
* ``test_solutions_fold_and_open``        each exercise solution is folded, with the code cells of its answer
  (no solution's code or output shows before its box is opened), and all of it shows once it is;
* ``test_code_and_tables_fit_the_column`` at 1280 px no code block, output, table, display equation, image or
  widget is wider than the text column (code and outputs wrap; a table may scroll inside a wrapper that fits);
* ``test_widgets_render``                 on pages with widgets (widget state in the notebook or the page), each
  widget view renders, with a size;
* ``test_math_renders``                   every ``$...$`` / ``$$...$$`` becomes MathJax output, without TeX errors;
* ``test_no_request_leaves_localhost``    nothing is fetched from outside the book at run time, by
  scripts included (the vendored assets suffice);
* ``test_screenshots``                    full-page PNGs of a chapter with a figure and of a widget chapter,
  in ``_build/screenshots/``;
* ``test_chinese_pages_*``                the Chinese edition: pages in Chinese, in a CJK font, linking back;
* ``test_live_*``                         the live widgets (the explorers and the pad in both editions), on
  the pages opened from disk with the network off:
  the kernel and pooling explorers compute what ``apply_kernel`` and ``pool_image`` compute (the
  pooling explorer draws ink dark, with grey scales, and its sliders and buttons reach the settings
  chapter 3 names), and the drawing pad's preparation and networks compute what ``to_mnist`` and
  the PyTorch models do; its answers show the digits they need; a first stroke replaces its
  example; at 1280x900 and on a 390 px phone, the pad, what the networks read and their answers
  are on screen together, uncovered;
* ``test_phone_menu_opens_with_the_chapter_list`` at 390 px the menu button opens the navigation with
  every page of the table of contents.

Chromium: Debian's ``/usr/bin/chromium`` (``apt-get install chromium``) driven by Playwright; when it
is missing or does not start, the browser tests are skipped with the reason (the build test still
runs).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import book_browser_helpers as bb

pytestmark = pytest.mark.slow  # builds the book and drives Chromium: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"

# Requests that may leave 127.0.0.1 without counting as a problem: exact URLs, each with the reason
# it cannot be served from the book itself. The goal is that this stays empty. Even an allowed
# request is aborted (the test never uses the network); it is only not reported.
ALLOWED_EXTERNAL_URLS: Dict[str, str] = {}

# Pages for the screenshots: this chapter if it is built and shows a figure, else the first that does.
FIGURE_PAGE = "notebooks/02_convolution"

PAGE_TIMEOUT_MS = 30_000
CONCURRENT_PAGES = 4  # tabs loading at once
WIDGET_TIMEOUT_MS = 10_000
MATHJAX_TIMEOUT_MS = 15_000
VIEWPORT = {"width": 1280, "height": 900}


# --------------------------------------------------------------------------- the browser pass


@dataclass
class Report:
    base: str = ""
    problems: List[bb.Problem] = field(default_factory=list)
    external: List[str] = field(default_factory=list)  # "page: url" of every blocked request
    screenshots: Dict[str, Path] = field(default_factory=dict)
    seconds: float = 0.0
    pages_opened: int = 0

    def add(self, kind: str, page: str, detail: str) -> None:
        self.problems.append(bb.Problem(kind, page, detail))

    def of(self, *kinds: str) -> List[bb.Problem]:
        return [p for p in self.problems if p.kind in kinds]


def _assert_none(report: Report, title: str, *kinds: str) -> None:
    found = report.of(*kinds)
    if found:
        others = len(set(report.problems)) - len(set(found))
        more = f"\n\n({others} problem(s) of other kinds: see the other tests of this module)" if others else ""
        pytest.fail(bb.format_problems(found, title) + more, pytrace=False)


@pytest.fixture(scope="module")
def report(build) -> Report:
    """Open every page once in headless Chromium and collect what is wrong, by kind."""
    if not (HTML / "index.html").is_file():
        pytest.fail(
            f"no {HTML.relative_to(ROOT)}/index.html: the build wrote no HTML "
            f"(exit status {build.returncode}).\n\n{build.tail(30)}",
            pytrace=False,
        )
    playwright, browser = _start_chromium()
    try:
        try:
            with bb.serve(HTML) as base:
                result = Report(base=base)
                start = time.perf_counter()
                _check_site(browser, result)
                result.seconds = time.perf_counter() - start
        finally:
            browser.close()
    finally:
        playwright.stop()
    print(
        f"\n[book browser] {result.pages_opened} pages checked in {result.seconds:.1f} s, "
        f"{len(set(result.problems))} problem(s)",
        file=sys.stderr,
    )
    return result


def _start_chromium():
    """(playwright, browser): Debian's Chromium, else a browser that `playwright install chromium`
    downloaded; the test is skipped, with the reason, when neither can start."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _skip(f"Playwright is not installed ({exc}); `pip install playwright`")
    try:
        playwright = sync_playwright().start()
    except Exception as exc:  # its driver cannot run here
        _skip(f"Playwright could not start: {str(exc).strip().splitlines()[0]}")
    chromium = bb.find_chromium() or _playwright_chromium(playwright)
    if chromium is None:
        playwright.stop()
        _skip(
            "Chromium is not installed (no `chromium` on PATH, no /usr/bin/chromium, no Playwright "
            "browser): `apt-get install chromium chromium-driver`"
        )
    try:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=bb.CHROMIUM_ARGS, timeout=60_000
        )
    except Exception as exc:  # playwright.Error, TimeoutError: cannot start it here
        playwright.stop()
        _skip(f"Chromium ({chromium}) could not be started: {str(exc).strip().splitlines()[0]}")
    return playwright, browser


def _playwright_chromium(playwright) -> Optional[str]:
    try:
        path = playwright.chromium.executable_path
    except Exception:
        return None
    return path if path and Path(path).is_file() else None


def _skip(reason: str) -> None:
    print(f"\n[book browser] SKIPPED: {reason}", file=sys.stderr)
    pytest.skip(reason)


def _check_site(browser, report: Report) -> None:
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        # A page of the table of contents that was not built fails the -W build (test_book_builds).
        built = [p for p in bb.toc_pages(ROOT) if (HTML / p.html).is_file()]
        # The screenshots are taken in the main pass, before any solution is opened: of FIGURE_PAGE,
        # and of a chapter with widgets (another one when there is one).
        with_widgets = [p for p in built if bb.WIDGET_VIEW in (HTML / p.html).read_text(errors="replace")]
        shots = {
            "figure": next((p for p in built if p.docname == FIGURE_PAGE), None),
            "widget": next((p for p in with_widgets if p.docname != FIGURE_PAGE), None)
            or (with_widgets[0] if with_widgets else None),
        }
        figure_pages, widget_pages = [], []
        # A few tabs load at once (loading is most of the time), then each is checked in turn.
        for i in range(0, len(built), CONCURRENT_PAGES):
            batch = [(p, _open(context, report, p.html, report.base + p.html)) for p in built[i : i + CONCURRENT_PAGES]]
            for toc_page, page in batch:
                try:
                    info = _check_page(
                        page, report, toc_page, [role for role, target in shots.items() if target == toc_page]
                    )
                finally:
                    page.close()
                report.pages_opened += 1
                if info.get("figure"):
                    figure_pages.append(toc_page)
                if info.get("widgets"):
                    widget_pages.append(toc_page)
        _check_index(context, report)
        # When FIGURE_PAGE shows no figure, or the widget page rendered none: another page, reopened.
        if "figure" not in report.screenshots:
            _screenshot_again(
                context, report, "figure", figure_pages, "no built chapter shows a figure (an <img> in a cell output)"
            )
        if "widget" not in report.screenshots:
            _screenshot_again(
                context,
                report,
                "widget",
                widget_pages,
                "no built chapter shows rendered widgets (widget views in its outputs)",
            )
    finally:
        context.close()


def _open(context, report: Report, label: str, url: str, record: bool = True):
    """A new tab navigating to ``url`` (not waited for), in which every request that would leave
    127.0.0.1 is blocked, and, when ``record`` is true, recorded with the JavaScript errors and
    failed local requests under ``label``."""
    page = context.new_page()
    failed_local: Dict[str, str] = {}

    def route(route_):
        request_url = route_.request.url
        if request_url.startswith(report.base) or request_url.startswith(("data:", "blob:", "about:")):
            route_.continue_()
            return
        if record:
            report.external.append(f"{label}: {request_url}")
            if request_url not in ALLOWED_EXTERNAL_URLS:
                report.add(
                    "external request",
                    label,
                    f"{route_.request.resource_type} {request_url} (blocked; the book must serve it itself)",
                )
        route_.abort()

    def on_response(response):
        if response.url.startswith(report.base) and response.status >= 400:
            failed_local[response.url] = f"HTTP {response.status}"
            report.add(
                "local request failed",
                label,
                f"{response.request.resource_type} {_local(report, response.url)} answered HTTP {response.status}",
            )

    def on_request_failed(request):
        failed = request.url
        if failed.startswith(report.base) and failed not in failed_local:
            failure = request.failure or "failed"
            if "ERR_ABORTED" in failure and request.resource_type in ("media", "font", "image", "document"):
                # Chromium cancels a request it no longer needs (a page navigating away); a
                # real failure of these shows up as a broken image or an HTTP error.
                return
            failed_local[failed] = failure
            report.add("local request failed", label, f"{request.resource_type} {_local(report, failed)}: {failure}")

    def on_console(message):
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        if where in failed_local:
            return  # "Failed to load resource": already reported as a failed local request
        if where and not where.startswith(report.base) and "Failed to load resource" in message.text:
            return  # a request to outside the book, blocked: reported as an external request
        at = f" (at {_local(report, where)}:{(message.location or {}).get('lineNumber', '?')})" if where else ""
        report.add("javascript error", label, f"console.error: {message.text.strip()[:300]}{at}")

    def on_page_error(error):
        stack = (getattr(error, "stack", "") or "").strip().splitlines()
        origin = next((line.strip() for line in stack[1:] if line.strip().startswith("at ")), "")
        origin = origin.replace(report.base, "/")
        report.add(
            "javascript error",
            label,
            f"uncaught {getattr(error, 'name', '') or 'Error'}: "
            f"{getattr(error, 'message', str(error))}" + (f" ({origin})" if origin else ""),
        )

    def on_websocket(ws):
        if not ws.url.startswith(report.base.replace("http", "ws", 1)):
            report.add("external request", label, f"websocket {ws.url}")

    page.route("**/*", route)
    if record:
        page.on("response", on_response)
        page.on("requestfailed", on_request_failed)
        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("websocket", on_websocket)
    try:
        page.goto(url, wait_until="commit")
    except Exception as exc:
        report.add("local request failed", label, f"the page did not load: {str(exc).strip().splitlines()[0]}")
    return page


def _loaded(page, report: Report, label: str) -> bool:
    try:
        page.wait_for_load_state("load")
        return True
    except Exception as exc:
        report.add(
            "local request failed",
            label,
            f"the page did not finish loading in {PAGE_TIMEOUT_MS // 1000} s: {str(exc).strip().splitlines()[0]}",
        )
        return False


def _local(report: Report, url: str) -> str:
    return "/" + url[len(report.base) :] if url.startswith(report.base) else url


def _settle(page, report: Report, label: str) -> None:
    """Wait for MathJax's first pass and for the widget manager to draw every widget view."""
    try:
        if not page.evaluate(bb.JS_WAIT_MATHJAX, MATHJAX_TIMEOUT_MS):
            report.add("math", label, f"MathJax did not finish typesetting in {MATHJAX_TIMEOUT_MS // 1000} s")
    except Exception as exc:
        report.add("math", label, f"MathJax failed: {str(exc).strip().splitlines()[0]}")
    if page.evaluate("document.querySelector('script[type=\"application/vnd.jupyter.widget-view+json\"]') !== null"):
        try:
            page.wait_for_function(bb.JS_WIDGETS_SETTLED, timeout=WIDGET_TIMEOUT_MS)
        except Exception:
            pass  # what did not render is reported by _check_widgets


def _check_page(page, report: Report, toc_page: bb.TocPage, screenshots: List[str]) -> dict:
    """Check one loaded page; take the ``screenshots`` (roles: "figure", "widget") that it shows."""
    label = toc_page.html
    if not _loaded(page, report, label):
        return {}
    page.bring_to_front()  # a background tab gets no animation frames: clicks would wait for them
    _settle(page, report, label)
    info = page.evaluate(bb.JS_INSPECT)
    shows = {"figure": info["figureImages"] > 0, "widget": info["widgetViews"] > 0}
    wanted = [role for role in screenshots if shows[role]]
    if wanted:
        _screenshot(page, report, toc_page, wanted)
    _check_images(report, label, info)
    _check_math(report, label, info)
    notebook = bb.built_notebook(HTML, toc_page)
    models = bb.notebook_widget_models(notebook) if notebook else {}
    has_widgets = bool(models) or info["widgetState"] > 0 or info["widgetViews"] > 0
    if has_widgets:
        _check_widgets(page, report, label, info, models)
    _check_solutions(page, report, label)
    _check_widths(page, report, label)  # after the solutions are opened: their code and outputs too
    for hint in info["hints"]:
        if not hint.startswith(report.base) and hint not in ALLOWED_EXTERNAL_URLS:
            report.add("external request", label, f"<link> resource hint to {hint}")
    return {"figure": info["figureImages"] > 0, "widgets": has_widgets and info["widgetViews"] > 0}


def _check_images(report: Report, label: str, info: dict) -> None:
    for img in info["images"]:
        if img["naturalWidth"] > 0:
            continue
        src = img["src"]
        if src in ALLOWED_EXTERNAL_URLS:
            continue
        where = "outside the book, blocked" if src and not src.startswith(report.base) else "no pixels"
        report.add("broken image", label, f"<img src={img['attr']!r} alt={img['alt'][:60]!r}> did not load ({where})")


def _check_math(report: Report, label: str, info: dict) -> None:
    if info["mathCount"] and not info["hasMathJax"]:
        example = f", e.g. {info['unrendered'][0]!r}" if info["unrendered"] else ""
        report.add("math", label, f"{info['mathCount']} math element(s) but MathJax did not load{example}")
    else:
        for tex in info["unrendered"][:10]:
            report.add("math", label, f"not rendered by MathJax (no mjx-container): {tex}")
    for error in info["mathErrors"][:10]:
        report.add("math", label, f"MathJax TeX error: {error!r}")
    for tex in info["rawTex"][:10]:
        report.add("math", label, f"TeX left as plain text, not typeset: {tex}")


def _check_widgets(page, report: Report, label: str, info: dict, models: Dict[str, str]) -> None:
    """``models``: the widget models saved in the notebook (the page's own state is read too)."""
    if not info["widgetState"]:
        report.add(
            "widget",
            label,
            "the page displays widgets but holds no widget state (is nb_ipywidgets_js set in _config.yml?)"
            if info["widgetViews"]
            else "the notebook saved widget state but the page holds none",
        )
    if not info["widgetViews"]:
        report.add(
            "widget",
            label,
            f"the notebook saved {len(models)} widget model(s) but no output of the page displays a widget view",
        )
        return
    for view in page.evaluate(bb.JS_WIDGET_VIEWS):
        name = view["modelName"] or models.get(view["modelId"]) or "a model missing from the saved state"
        what = f"widget view {view['modelId'][:8]}... ({name}) in code cell {view['cell']}"
        if view["error"]:
            report.add("widget", label, f"{what}: {view['error']!r}")
        elif not view["rendered"]:
            report.add(
                "widget",
                label,
                f"{what} rendered nothing (no .jupyter-widgets element after {WIDGET_TIMEOUT_MS // 1000} s)",
            )
        elif view["width"] <= 0 or view["height"] <= 0:
            report.add("widget", label, f"{what} rendered with size {view['width']:.0f}x{view['height']:.0f}")


def _check_solutions(page, report: Report, label: str) -> None:
    for sol in page.evaluate(bb.JS_SOLUTIONS):
        if sol["kind"] == "loose cell":
            shown = " and ".join(sol["shownParts"]) or "nothing yet"
            report.add(
                "solution toggle",
                label,
                f"{sol['title']} is not inside its solution's box ({shown} in plain view): "
                "put it between a {solution-start} block and a {solution-end} block (CONTRIBUTING.md)",
            )
            continue
        what = f"solution {sol['title']!r}"
        if not sol["hasBody"]:
            report.add("solution toggle", label, f"{what} has no content")
            continue
        if sol["bodyVisible"] or sol["cellsShown"]:
            shown = f" ({', '.join(sol['cellsShown'])} in plain view)" if sol["cellsShown"] else ""
            report.add(
                "solution toggle",
                label,
                f"{what} is shown before any click: it is not folded{shown} (use `:class: dropdown`)",
            )
            continue
        target = page.locator(f'[id="{sol["id"]}"]')
        if sol["details"] and not sol["detailsOpen"]:
            toggle = target.locator("xpath=ancestor-or-self::details[1]/summary").first
        elif sol["toggleButton"]:
            toggle = target.locator("button.toggle-button").first
        else:
            report.add("solution toggle", label, f"{what} is hidden but has no toggle to open it")
            continue
        try:
            toggle.click(timeout=5_000)
            page.wait_for_function(bb.JS_SOLUTION_BODY_VISIBLE, arg=sol["id"], timeout=3_000)
        except Exception as exc:
            cells = f" with its {sol['cells']} code cell(s)" if sol["cells"] else ""
            report.add(
                "solution toggle",
                label,
                f"{what} did not open{cells} when its toggle was clicked ({str(exc).strip().splitlines()[0][:120]})",
            )


def _check_widths(page, report: Report, label: str) -> None:
    for problem in page.evaluate(bb.JS_TOO_WIDE):
        report.add("too wide", label, problem)


def _check_index(context, report: Report) -> None:
    """index.html: it loads without errors and, when it is a redirect, lands on a built page."""
    if not (HTML / "index.html").is_file():
        return  # no index.html: the report fixture has failed already
    body = (HTML / "index.html").read_text(encoding="utf-8", errors="replace")
    refresh = bb.meta_refresh(body)
    page = _open(context, report, "index.html", report.base + "index.html")
    try:
        if not _loaded(page, report, "index.html"):
            return
        if refresh:
            target = urllib.parse.urljoin(report.base + "index.html", refresh)
            try:
                page.wait_for_url(target.split("#")[0] + "*", timeout=10_000)
                _loaded(page, report, "index.html")
            except Exception:
                report.add(
                    "local request failed", "index.html", f"did not redirect to {refresh!r} (still at {page.url})"
                )
        else:
            _settle(page, report, "index.html")
            info = page.evaluate(bb.JS_INSPECT)
            _check_images(report, "index.html", info)
            _check_math(report, "index.html", info)
        report.pages_opened += 1
    finally:
        page.close()


def _screenshot(page, report: Report, toc_page: bb.TocPage, roles: List[str]) -> None:
    """A full-page PNG of the page as it is now, for each of ``roles``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (toc_page.docname.replace("/", "__") + ".png")
    try:
        page.evaluate(
            "async () => { await Promise.race([document.fonts.ready, new Promise(r => setTimeout(r, 5000))]); "
            "await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); }"
        )
        page.screenshot(path=str(path), full_page=True)
    except Exception as exc:
        report.add("screenshot", toc_page.html, f"could not take the screenshot: {str(exc).strip().splitlines()[0]}")
        return
    for role in roles:
        report.screenshots[role] = path


def _screenshot_again(context, report: Report, role: str, candidates: List[bb.TocPage], missing: str) -> None:
    """Reopen the first of ``candidates`` in a fresh tab (recording nothing: the main pass did) and
    take its screenshot, before any solution is opened."""
    if not candidates:
        report.add("screenshot", f"({role} page)", missing)
        return
    toc_page = candidates[0]
    page = _open(context, report, toc_page.html, report.base + toc_page.html, record=False)
    try:
        page.wait_for_load_state("load")
        _settle(page, Report(), toc_page.html)
        _screenshot(page, report, toc_page, [role])
    except Exception as exc:
        report.add("screenshot", toc_page.html, f"could not take the screenshot: {str(exc).strip().splitlines()[0]}")
    finally:
        page.close()


# --------------------------------------------------------------------------- the tests


def test_no_javascript_errors(report):
    _assert_none(report, "JavaScript errors (uncaught exceptions and console.error)", "javascript error")


def test_images_and_local_files_load(report):
    _assert_none(
        report, "broken images and failed requests for the book's own files", "broken image", "local request failed"
    )


def test_solutions_fold_and_open(report):
    """Every solution is folded, with the code cells of its answer: no solution's code or output
    shows before its box is opened, and all of it shows once it is."""
    _assert_none(report, "exercise solutions that are not folded or do not open", "solution toggle")


def test_code_and_tables_fit_the_column(report):
    """At 1280 px, no code block, output, table, display equation, image or widget is wider than the
    text column: code and outputs wrap, and a table that does not fit scrolls inside a wrapper
    that does."""
    _assert_none(report, f"blocks wider than the text column at {VIEWPORT['width']} px", "too wide")


def test_widgets_render(report):
    _assert_none(report, "widget outputs that render as nothing", "widget")


def test_math_renders(report):
    _assert_none(report, "math that MathJax did not render", "math")


def test_no_request_leaves_localhost(report):
    _assert_none(report, "requests that tried to leave 127.0.0.1 (all blocked)", "external request")


def test_screenshots(report):
    problems = list(report.of("screenshot"))
    for role, path in sorted(report.screenshots.items()):
        if not path.is_file():
            problems.append(bb.Problem("screenshot", role, f"{path} was not written"))
            continue
        size = bb.png_size(path)
        blank = bb.png_is_blank(path)
        if size is None:
            problems.append(bb.Problem("screenshot", role, f"{path} is not a PNG"))
        elif path.stat().st_size < 20_000 or size[0] < 600 or size[1] < 600 or blank:
            problems.append(
                bb.Problem(
                    "screenshot",
                    role,
                    f"{path} looks empty: {path.stat().st_size} bytes, "
                    f"{size[0]}x{size[1]} px{', one colour' if blank else ''}",
                )
            )
        else:
            print(f"[book browser] screenshot of the {role} page: {path} ({size[0]}x{size[1]} px)", file=sys.stderr)
    if problems:
        pytest.fail(bb.format_problems(problems, "screenshots"), pytrace=False)


# --------------------------------------------------------------------------- the live widgets
#
# The chapters' explorers and drawing pad compute in the browser (lenet/js/). These tests open the
# built pages from disk (file://) in an offline browser context, use the controls as a reader
# would, and compare what the page computed with what lenet computes in Python.

#: The English edition, and the Chinese one beside it (``_build/html/zh/``): the same widgets.
EDITIONS = ["", "zh/"]

LIVE_PAGES = {
    "kernel-explorer": "notebooks/02_convolution.html",
    "pooling-explorer": "notebooks/03_pooling.html",
    "digit-pad": ["notebooks/06_lenet5_1998.html", "notebooks/07_modern_lenet5.html"],
}


@pytest.fixture(scope="module")
def offline(build):
    """An offline Chromium context: only file:, blob: and data: URLs load."""
    if not (HTML / "index.html").is_file():
        pytest.fail("the build wrote no HTML", pytrace=False)
    playwright, browser = _start_chromium()
    context = browser.new_context(viewport=VIEWPORT, offline=True, service_workers="block")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    yield context
    context.close()
    browser.close()
    playwright.stop()


def _live_page(context, html: str, kind: str):
    page = context.new_page()
    problems, external = [], []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)

    def route(route_):
        url = route_.request.url
        if url.startswith(("file:", "blob:", "data:")):
            route_.continue_()
        else:
            external.append(url)
            route_.abort()

    page.route("**/*", route)
    page.goto((HTML / html).as_uri())
    widget = page.wait_for_selector(f"[data-lenet-widget={kind}]", timeout=WIDGET_TIMEOUT_MS)
    widget.scroll_into_view_if_needed()
    return page, widget, problems, external


def _lenet(widget, expression: str):
    """Evaluate ``expression`` on the widget's ``el.lenet`` (typed arrays come back as lists)."""
    return widget.evaluate(f"""(el) => {{ const L = el.lenet; const v = {expression};
        const plain = (x) => ArrayBuffer.isView(x) ? Array.from(x) : (x && typeof x === "object" && !Array.isArray(x))
            ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, plain(y)])) : x;
        return plain(v); }}""")


def _canvas_levels(widget, index):
    """The red channel of the widget's ``index``-th canvas (or of the canvas a CSS selector names), row by row."""
    find = f'el.querySelector("{index}")' if isinstance(index, str) else f'el.querySelectorAll("canvas")[{index}]'
    return widget.evaluate(f"""(el) => {{ const c = {find};
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        return {{h: c.height, w: c.width, red: Array.from(d.filter((_, i) => i % 4 === 0))}}; }}""")


def _levels(values, vmin: float, vmax: float):
    import numpy as np

    x = (np.asarray(values, dtype=np.float64) - vmin) / (vmax - vmin) if vmax > vmin else np.zeros(len(values))
    return np.clip(np.floor(x * 256), 0, 255)


@pytest.mark.parametrize("edition", EDITIONS)
def test_live_kernel_explorer_computes_apply_kernel(offline, edition):
    import numpy as np
    import torch

    from lenet.kernels import apply_kernel

    page, widget, problems, external = _live_page(offline, edition + LIVE_PAGES["kernel-explorer"], "kernel-explorer")
    h, w = _lenet(widget, "[L.height, L.width]")
    image = torch.tensor(_lenet(widget, "L.image"), dtype=torch.float32).reshape(h, w)
    names = widget.evaluate("(el) => Array.from(el.querySelectorAll('select option')).map((o) => o.value)")
    assert len(names) >= 7 and names[-1] == "custom"
    sobel = [1, 0, -1, 2, 0, -2, 1, 0, -1]
    checked = []
    for name in names:
        if name == "custom":  # the reader chooses Custom and types a Sobel kernel into the grid
            widget.query_selector("select").select_option(name)
            cells = widget.query_selector_all("input.lenet-cell")
            for cell, value in zip(cells, sobel):
                cell.fill(str(value))
        else:
            widget.query_selector("select").select_option(name)
        kernel = torch.tensor(_lenet(widget, "L.kernel"), dtype=torch.float32).reshape(_lenet(widget, "L.kernelShape"))
        if name == "custom":
            assert kernel.flatten().tolist() == sobel
        clip = widget.evaluate("(el) => el.querySelector('input.lenet-clip').checked")
        want = apply_kernel(image, kernel, clip=clip)
        got = torch.tensor(_lenet(widget, "L.filtered"), dtype=torch.float32).reshape(h, w)
        assert torch.allclose(got, want, atol=1e-5), (
            f"{name}: the page's image differs from apply_kernel by {float((got - want).abs().max())}"
        )
        drawn = _canvas_levels(widget, 2)  # input, kernel, output
        lo, hi = (float(image.min()), float(image.max())) if clip else (float(want.min()), float(want.max()))
        expected = _levels(want.flatten().tolist(), lo, hi)
        assert (drawn["h"], drawn["w"]) == (h, w) and np.abs(np.asarray(drawn["red"]) - expected).max() <= 1, name
        checked.append(name)
    widget.query_selector("input.lenet-clip").uncheck()
    got = torch.tensor(_lenet(widget, "L.filtered"), dtype=torch.float32).reshape(h, w)
    assert torch.allclose(got, apply_kernel(image, torch.tensor(sobel, dtype=torch.float32).reshape(3, 3)), atol=1e-5)
    page.close()
    assert not problems and not external, (problems, external)
    print(
        f"[book browser] kernel explorer, offline from disk: {len(checked)} kernels equal apply_kernel", file=sys.stderr
    )


@pytest.mark.parametrize("edition", EDITIONS)
def test_live_pooling_explorer_computes_pool_image(offline, edition):
    import torch

    from lenet.widgets import pool_image

    page, widget, problems, external = _live_page(offline, edition + LIVE_PAGES["pooling-explorer"], "pooling-explorer")
    h, w = _lenet(widget, "[L.imageHeight, L.imageWidth]")
    image = torch.tensor(_lenet(widget, "L.image"), dtype=torch.float32).reshape(h, w)

    def set_slider(name, value):
        widget.evaluate(f"""(el) => {{ const s = el.querySelector("input.lenet-{name}"); s.value = "{value}";
            s.dispatchEvent(new Event("input")); }}""")

    def check(what):
        state = _lenet(widget, "[L.mode, L.window, L.coefficient, L.bias, L.height, L.width]")
        want = pool_image(image, state[0], state[1], state[2], state[3])
        got = torch.tensor(_lenet(widget, "L.pooled"), dtype=torch.float32).reshape(state[4], state[5])
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5), what
        # drawn as the chapters draw digits (gray_r): the largest values, the ink, darkest
        levels = _lenet(widget, "L.outputLevels")
        drawn = _canvas_levels(widget, "canvas.lenet-output")
        assert (drawn["h"], drawn["w"]) == (state[4], state[5])
        assert all(red == 255 - level for red, level in zip(drawn["red"], levels)), f"{what}: not drawn dark on light"
        return state

    cases = [
        ("max", 2, None, None),
        ("avg", 3, None, None),
        ("max", 4, None, None),
        ("subsampling", 2, 0.25, 0.0),
        ("subsampling", 2, -0.5, 0.3),
        ("subsampling", 3, 1.0, -2.0),
        # the settings chapter 3 names: quasi-linear, noisy OR, noisy AND, with the sliders
        ("subsampling", 2, 0.1, 0.0),
        ("subsampling", 2, 4.0, -2.0),
        ("subsampling", 2, 4.0, -14.0),
    ]
    for mode, k, coefficient, bias in cases:
        widget.query_selector(f"input[type=radio][value={mode}]").check()
        set_slider("window", k)
        if coefficient is not None:
            set_slider("coefficient", coefficient)
            set_slider("bias", bias)
        state = check((mode, k, coefficient, bias))
        assert state[:2] == [mode, k]
        if coefficient is not None:
            assert abs(state[2] - coefficient) < 1e-9 and abs(state[3] - bias) < 1e-9, (
                f"the sliders cannot reach coefficient {coefficient}, bias {bias}: they stop at {state[2:4]}"
            )
    # one button each for the chapter's settings
    buttons = widget.query_selector_all("button.lenet-preset")
    reached = []
    for button in buttons:
        button.click()
        state = check(button.inner_text())
        reached.append((state[0], round(state[2], 6), state[3]))
    for want in [("subsampling", 0.1, 0.0), ("subsampling", 4.0, -2.0), ("subsampling", 4.0, -14.0)]:
        assert want in reached, f"no button sets {want}: {reached}"
    # a grey scale under the output says what each grey means: f's range, 0 in the middle
    ticks = widget.evaluate("(el) => Array.from(el.querySelectorAll('.lenet-scalebox')).map((b) => b.innerText)")
    assert len(ticks) == 2 and all(t in ticks[1] for t in ("1.7159", "0")), ticks
    page.close()
    assert not problems and not external, (problems, external)


STROKES = {  # in fractions of the pad: a 7 (a bar, then a slanted stroke), a 1, and a 0
    "7": [[(0.25, 0.22), (0.75, 0.22)], [(0.75, 0.22), (0.45, 0.82)]],
    "1": [[(0.5, 0.15), (0.52, 0.85)]],
    "0": [[(0.5, 0.18), (0.72, 0.35), (0.7, 0.7), (0.5, 0.85), (0.3, 0.7), (0.28, 0.35), (0.5, 0.18)]],
}


def _draw(page, widget, strokes):
    widget.query_selector("button.lenet-clear").click()
    box = widget.query_selector("canvas.lenet-pad").bounding_box()
    for stroke in strokes:
        x0, y0 = stroke[0]
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        for a, b in zip(stroke, stroke[1:]):
            for t in (0.25, 0.5, 0.75, 1.0):
                x, y = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
                page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.up()


def _model_input(model, image28):
    """The input ``model`` reads for a uint8 28x28 image: the package's one rule (input_transform)."""
    try:
        from lenet.inference import input_transform
    except ImportError:  # before lenet.inference existed
        from lenet.train import input_transform
    return input_transform(model)(image28[None])


def _check_confidence(widget, label: str, result: dict, scores) -> None:
    """The answer line under the pad: the modern network's probability with the decimals it needs
    (never rounded up to 100%) and its logit margin; the 1998 network's penalties to 3 significant
    digits (the winner's is small, never printed as 0)."""
    import re

    import torch

    detail = widget.query_selector(f".lenet-answer[data-net='{label}'] .lenet-note").inner_text()
    z = scores.double()
    digit = result["digit"]
    if "penalty" in detail:
        m = re.fullmatch(r"penalty ([\d.e+-]+); next smallest ([\d.e+-]+) \((\d)\)", detail)
        assert m, detail
        shown, runner_up = float(m.group(1)), int(m.group(3))
        want = float(z[digit])
        assert shown > 0 and abs(shown - want) <= 0.005 * want + 1e-12, f"{label}: shows penalty {shown}, is {want}"
        others = torch.cat([z[:digit], z[digit + 1 :]])
        assert runner_up == int(torch.argmin(torch.where(torch.arange(10) == digit, torch.inf, z))), detail
        assert abs(float(m.group(2)) - float(others.min())) <= 0.005 * float(others.min()), detail
    else:
        m = re.fullmatch(r"probability ([\d.]+)%; logit margin ([\d.]+) over (\d)", detail)
        assert m, detail
        others = torch.exp(torch.cat([z[:digit], z[digit + 1 :]]) - z[digit]).sum()
        p, q = float(1 / (1 + others)), float(others / (1 + others))
        text = m.group(1)
        decimals = len(text.split(".")[1]) if "." in text else 0
        assert abs(float(text) / 100 - p) <= 0.5 * 10 ** -(decimals + 2) + 1e-9, f"{label}: shows {text}%, p = {p}"
        if q > 1e-12:
            assert float(text) < 100, f"{label}: p = 1 - {q:.1e} is shown as {text}%"
        second = torch.sort(z, descending=True).values[1]
        assert abs(float(m.group(2)) - float(z[digit] - second)) <= 0.051, detail
        assert int(m.group(3)) == int(torch.argsort(z, descending=True)[1]), detail


@pytest.mark.parametrize("html", LIVE_PAGES["digit-pad"])
def test_live_digit_pad_reads_like_pytorch(offline, html):
    import torch

    from lenet import records
    from lenet.draw import to_mnist

    page, widget, problems, external = _live_page(offline, html, "digit-pad")
    labels = _lenet(widget, "Object.keys(L.results)")
    assert labels, "the pad shows no network's answer for its first drawing"
    models = {label: records.load_model(records.get_record(label, ROOT / "results")) for label in labels}
    for digit, strokes in STROKES.items():
        _draw(page, widget, strokes)
        size = _lenet(widget, "L.size")
        raw = torch.tensor(_lenet(widget, "L.drawing"), dtype=torch.float32).reshape(size, size)
        image28 = torch.tensor(_lenet(widget, "L.image28"), dtype=torch.uint8).reshape(28, 28)
        python28 = to_mnist(raw)
        assert (python28.int() - image28.int()).abs().max() <= 1, (
            f"{digit}: the page prepares the drawing unlike to_mnist"
        )
        for label, model in models.items():
            result = _lenet(widget, f"L.results[{label!r}]")
            x = _model_input(model, image28)
            assert torch.allclose(torch.tensor(result["input"]).reshape(x.shape[-2:]), x[0, 0], atol=1e-5)
            with torch.no_grad():
                outputs = model.forward_layers(x)
            scores_name = "output" if "output" in outputs else "fc3"
            for name in [*result["maps"], scores_name]:  # the layers the pad shows
                want = outputs[name]
                got = torch.tensor(result["scores"] if name == scores_name else result["maps"][name])
                assert got.shape == want.flatten().shape, (label, name)
                err = float((got - want.flatten()).abs().max())
                assert err <= 1e-4, f"{html}, {label}, drawn {digit}: layer {name} differs from PyTorch by {err:.2e}"
            want_digit = int(model.classify(outputs[scores_name])[0])
            assert result["digit"] == want_digit, (label, digit)
            text = widget.query_selector(f"[data-net='{label}'] b").inner_text()
            assert text.endswith(f"reads {want_digit}"), text
            _check_confidence(widget, label, result, outputs[scores_name][0])
    page.close()
    assert not problems and not external, (problems, external)


@pytest.mark.parametrize("html", [e + h for e in EDITIONS for h in LIVE_PAGES["digit-pad"]])
def test_live_digit_pad_first_stroke_replaces_the_example(offline, html):
    """The pad opens with an example digit; a reader's first stroke starts a new drawing instead of
    adding to it (a line under the example 7 made both networks read "2")."""
    import numpy as np
    import torch

    from lenet.draw import to_mnist

    page, widget, problems, external = _live_page(offline, html, "digit-pad")
    size = _lenet(widget, "L.size")
    example = np.asarray(_lenet(widget, "L.drawing")).reshape(size, size)
    assert example.max() > 0 and _lenet(widget, "L.example") is True, "the pad should open with its example"
    box = widget.query_selector("canvas.lenet-pad").bounding_box()
    stroke = [(0.2, 0.9), (0.8, 0.9)]  # a line under the example, as the reader who got a "2" drew
    page.mouse.move(box["x"] + stroke[0][0] * box["width"], box["y"] + stroke[0][1] * box["height"])
    page.mouse.down()
    for t in (0.25, 0.5, 0.75, 1.0):
        x = stroke[0][0] + t * (stroke[1][0] - stroke[0][0])
        page.mouse.move(box["x"] + x * box["width"], box["y"] + stroke[0][1] * box["height"])
    page.mouse.up()
    drawing = np.asarray(_lenet(widget, "L.drawing")).reshape(size, size)
    rows = np.nonzero(drawing.max(axis=1) > 0)[0]
    assert len(rows) and rows.min() >= 0.9 * size - size / 12 - 2, (
        f"ink left above the new stroke (rows {rows.min()}..{rows.max()} of {size}): the example was not cleared"
    )
    assert _lenet(widget, "L.example") is False
    image28 = torch.tensor(_lenet(widget, "L.image28"), dtype=torch.uint8).reshape(28, 28)
    assert (to_mnist(torch.tensor(drawing, dtype=torch.float32)).int() - image28.int()).abs().max() <= 1
    page.close()
    assert not problems and not external, (problems, external)


PAD_VIEWPORTS = {"1280x900": {"width": 1280, "height": 900}, "390x844 (phone)": {"width": 390, "height": 844}}
#: "Near the pad": the preview and every answer end at most this far below the pad's lower edge,
#: so that one look takes in the drawing and what the networks make of it.
NEAR_PAD_PX = 250


@pytest.mark.parametrize("viewport", list(PAD_VIEWPORTS))
@pytest.mark.parametrize("html", LIVE_PAGES["digit-pad"])
def test_live_digit_pad_answers_stay_in_view(offline, html, viewport):
    """With the pad scrolled up to the article header, the pad, the 28x28 image the networks read and
    every network's answer are on the screen, near the pad (beside it, or just under it on a
    phone), and nothing (the theme's buttons included) covers them."""
    context = offline.browser.new_context(viewport=PAD_VIEWPORTS[viewport], offline=True, service_workers="block")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page, widget, problems, external = _live_page(context, html, "digit-pad")
        page.evaluate(bb.JS_WAIT_MATHJAX, MATHJAX_TIMEOUT_MS)  # typesetting moves what follows it
        page.wait_for_timeout(300)
        parts = widget.evaluate(bb.JS_PAD_LAYOUT)
        page.wait_for_timeout(300)  # a button that shows on scrolling would be there by now
        parts = widget.evaluate(bb.JS_PAD_LAYOUT)
        bad = []
        for part in parts:
            if part["missing"]:
                bad.append(f"{part['name']} is missing")
                continue
            if not part["inside"]:
                bad.append(
                    f"{part['name']} is not all on the screen: box {part['box']} in a window of {part['window']}, "
                    f"under a header ending at {part['headerBottom']} px"
                )
            if part["covered"]:
                bad.append(f"{part['name']} is covered by {', '.join(part['covered'])}")
            below = part["box"][3] - parts[0]["box"][3] if not parts[0]["missing"] else 0
            if below > NEAR_PAD_PX:
                bad.append(f"{part['name']} ends {below} px below the pad (at most {NEAR_PAD_PX}: near it)")
        networks = _lenet(widget, "Object.keys(L.results)")
        answers = [part for part in parts if part["name"].startswith("the answer of ")]
        assert networks and len(answers) == len(networks), (networks, parts)
        assert not bad, f"{html} at {viewport}:\n  " + "\n  ".join(bad)
        assert not problems and not external, (problems, external)
    finally:
        context.close()


PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("html", ["book/intro.html", "notebooks/03_pooling.html"])
def test_phone_menu_opens_with_the_chapter_list(offline, html):
    """At 390 px the menu button opens the book's navigation, with every page of the table of
    contents in view, and the contents button opens the page's outline."""
    context = offline.browser.new_context(viewport=PHONE, offline=True, service_workers="block", has_touch=True)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto((HTML / html).as_uri())
        page.wait_for_load_state("load")
        buttons = page.locator(".primary-toggle:visible")
        assert buttons.count() >= 1, "no visible menu button at 390 px"
        buttons.first.click()
        page.wait_for_function(
            "() => { const d = document.getElementById('pst-primary-sidebar-modal'); return d && d.open; }",
            timeout=5_000,
        )
        links = page.evaluate("""() => Array.from(document.querySelectorAll('#pst-primary-sidebar-modal a[href]'))
            .filter((a) => { const r = a.getBoundingClientRect(); return a.checkVisibility() && r.width > 0
                              && r.left >= 0 && r.right <= window.innerWidth; })
            .map((a) => new URL(a.getAttribute('href'), document.baseURI).pathname)""")
        built = [p for p in bb.toc_pages(ROOT) if (HTML / p.html).is_file()]
        missing = [p.html for p in built if not any(link.endswith("/" + p.html) for link in links)]
        assert not missing, f"the menu opened but does not show links to {missing} (it shows {links})"
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.getElementById('pst-primary-sidebar-modal').open", timeout=5_000)
        outline = page.locator(".secondary-toggle:visible")
        if outline.count():
            outline.first.click()
            page.wait_for_function(
                "() => { const d = document.getElementById('pst-secondary-sidebar-modal'); "
                "return d && d.open && d.querySelectorAll('a[href]').length > 0; }",
                timeout=5_000,
            )
        assert not errors, errors
    finally:
        context.close()


def _cjk_fonts() -> List[str]:
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("html", ["book/intro.html", "notebooks/02_convolution.html", "notebooks/06_lenet5_1998.html"])
def test_chinese_pages_read_in_chinese_and_link_back(offline, html):
    """A Chinese page is marked zh-CN, its title and text are Chinese, and its header links to the
    same English page; with a CJK font installed (Debian's fonts-noto-cjk, which .ci/run installs),
    a screenshot of each is saved to look at."""
    page = offline.new_page()
    page.goto((HTML / "zh" / html).as_uri())
    info = page.evaluate(
        """() => {
        const h1 = document.querySelector("article h1, main h1");
        const text = (document.querySelector("article") || document.body).innerText;
        const han = (text.match(/[\u4e00-\u9fff]/g) || []).length;
        const link = document.querySelector("a.edition-switch");
        return {lang: document.documentElement.lang, h1: h1 ? h1.innerText : "", han, back: link ? link.href : null};
    }"""
    )
    assert info["lang"] == "zh-CN", info
    assert re.search("[\u4e00-\u9fff]", info["h1"]), f"the title of zh/{html} is not Chinese: {info['h1']!r}"
    assert info["han"] > 200, f"zh/{html} shows only {info['han']} Chinese characters"
    assert info["back"] and info["back"].endswith("/" + html) and "/zh/" not in info["back"], info["back"]
    if not _cjk_fonts():
        page.close()
        pytest.skip("no CJK font (fc-list :lang=zh is empty): install Debian's fonts-noto-cjk to see the Chinese pages")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / ("zh__" + html.replace("/", "__") + ".png")))
    page.close()
