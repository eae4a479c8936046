"""The built HTML book, read as files (no browser): the build itself, the launch links, page weights.

The build (``jupyter-book build . -W -n --keep-going --all``) is made once per session by the
``build`` fixture of ``conftest.py``, which ``tests/test_book_browser.py`` shares:

* ``test_book_builds``                        the build succeeds with no warning: every page of
  ``_toc.yml`` exists, every cross-reference and link between pages resolves (nitpicky mode), and
  the book's offline-assets extension finds no asset loaded from outside the book;
* ``test_launch_links_point_at_the_notebook`` the Colab and Binder launch buttons and the Colab badge
  of every chapter open ``github/OWNER/REPO/blob/BRANCH/<notebook>.ipynb`` from ``_config.yml``;
* ``test_live_pages_stay_light``              no chapter page weighs more than 5 MB with its images.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import book_browser_helpers as bb  # noqa: E402

pytestmark = pytest.mark.slow  # builds the book: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
MAX_PAGE_BYTES = 5_000_000


def test_book_builds(build):
    """The -W -n build: every page of _toc.yml exists, every cross-reference and link between pages
    resolves (nitpicky mode), and the offline-assets extension finds no asset loaded from outside."""
    if build.returncode != 0:
        pytest.fail(f"`jupyter-book build . -W -n --keep-going --all` failed (exit status {build.returncode}, "
                    f"{build.seconds:.0f} s).\n\n{build.tail()}", pytrace=False)


def _launch_problems(config: dict, toc_page: bb.TocPage, page_html: str, notebook: dict) -> List[bb.Problem]:
    """What is wrong with the launch buttons and Colab badges of one built notebook page (static HTML)."""
    label = toc_page.html
    try:
        repo = bb.repository(config)
    except ValueError as exc:
        return [bb.Problem("launch link", label, str(exc))]
    problems = []
    buttons = config.get("launch_buttons") or {}
    expected = bb.expected_colab_url(repo, toc_page.docname)
    hrefs = bb.html_hrefs(page_html)
    for service, key, want in (
        ("Colab", "colab_url", lambda base: bb.expected_colab_url(repo, toc_page.docname, base)),
        ("Binder", "binderhub_url", lambda base: bb.expected_binder_url(
            repo, toc_page.docname, base, str(buttons.get("notebook_interface") or "classic"))),
    ):
        base = str(buttons.get(key) or "")
        if not base:
            if service == "Colab":
                problems.append(bb.Problem("launch link", label, "no Colab launch button: launch_buttons.colab_url is not set in _config.yml"))
            continue
        found = [h for h in hrefs if h.startswith(base.rstrip("/") + "/")]
        if not found:
            problems.append(bb.Problem("launch link", label, f"no {service} launch button although launch_buttons.{key} is set"))
        for href in found:
            if href != want(base):
                problems.append(bb.Problem("launch link", label, f"a {service} link opens {href}, expected {want(base)}"))
    for target in bb.notebook_badge_targets(notebook):
        if target != expected:
            problems.append(bb.Problem("launch link", label, f"the Colab badge of the notebook's first cell opens {target}, "
                                       f"expected {expected} (run `python scripts/colab.py`)"))
    return problems


def test_launch_links_point_at_the_notebook(build):
    """Static HTML: every notebook page's Colab and Binder links, and its notebook's badge, open that notebook."""
    config = bb.read_config(ROOT)
    problems = []
    for toc_page in bb.toc_pages(ROOT):
        if toc_page.is_notebook and (HTML / toc_page.html).is_file():
            page_html = (HTML / toc_page.html).read_text(encoding="utf-8", errors="replace")
            problems += _launch_problems(config, toc_page, page_html, bb.built_notebook(HTML, toc_page))
    if problems:
        pytest.fail(bb.format_problems(problems, "Colab/Binder launch buttons and Colab badges with the wrong target"),
                    pytrace=False)


def test_live_pages_stay_light(build):
    """The largest chapter page, with everything it loads from the book, stays under 5 MB; the
    widget state (the live parts, weights included) is what the widgets add."""
    import re as _re

    sizes = {}
    for html in sorted((HTML / "notebooks").glob("*.html")):
        text = html.read_text(errors="replace")
        images = sum((html.parent / src).stat().st_size for src in set(_re.findall(r'<img[^>]+src="([^"#?]+)"', text))
                     if (html.parent / src).is_file())
        state = sum(len(m) for m in _re.findall(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>',
                                                text, _re.S))
        sizes[html.name] = (html.stat().st_size + images, state)
    for name, (total, state) in sizes.items():
        print(f"[book html] {name}: {total / 1e6:.2f} MB with its images, {state / 1e6:.2f} MB of widget state",
              file=sys.stderr)
    biggest = max(sizes, key=lambda n: sizes[n][0])
    assert sizes[biggest][0] < MAX_PAGE_BYTES, f"{biggest} weighs {sizes[biggest][0] / 1e6:.2f} MB"
