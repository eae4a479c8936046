"""The built HTML book, read as files (no browser): the build itself, the launch links, page weights.

The build (``jupyter-book build . -W -n --keep-going --all``) is made once per session by the
``build`` fixture of ``conftest.py``, which ``tests/test_book_browser.py`` shares:

* ``test_book_builds``                        the build succeeds with no warning: every page of
  ``_toc.yml`` exists, every cross-reference and link between pages resolves (nitpicky mode), and
  the book's offline-assets extension finds no asset loaded from outside the book;
* ``test_launch_links_point_at_the_notebook`` the Colab and Binder launch buttons and the Colab badge
  of every chapter open ``github/OWNER/REPO/blob/BRANCH/<notebook>.ipynb`` from ``_config.yml``;
* ``test_live_pages_stay_light``              no chapter page weighs more than 5 MB with its images;
* ``test_no_raw_roles_in_the_text``           no ``{term}``, ``{doc}``, ... role is left as plain text in a page
  (outside code, where a page may show the syntax on purpose);
* ``test_every_glossary_term_can_be_linked``  every name of every glossary entry, English and Chinese,
  is a term that ``{term}`...``` resolves to (in the build's inventory);
* ``test_intro_clone_url_and_data_size``      the introduction clones the repository of ``_config.yml``
  and states the size of the MNIST files that ``lenet.data`` keeps;
* ``test_each_page_links_to_itself_in_the_other_edition``  every page of both editions (English in
  ``_build/html``, Chinese in ``_build/html/zh``) links to the same page in the other;
* ``test_chinese_edition_shows_the_same_code_and_outputs``  the Chinese pages show the English
  pages' code and outputs, unchanged (only prose is translated), with the same ones folded inside
  solutions (the browser test checks that the English solutions stay closed until opened).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import book_browser_helpers as bb

pytestmark = pytest.mark.slow  # builds the book: `make test`, not `make check`

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
MAX_PAGE_BYTES = 5_000_000


def test_book_builds(build):
    """The -W -n build: every page of _toc.yml exists, every cross-reference and link between pages
    resolves (nitpicky mode), and the offline-assets extension finds no asset loaded from outside."""
    if build.returncode != 0:
        pytest.fail(
            f"`jupyter-book build . -W -n --keep-going --all` failed (exit status {build.returncode}, "
            f"{build.seconds:.0f} s).\n\n{build.tail()}",
            pytrace=False,
        )


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
        (
            "Binder",
            "binderhub_url",
            lambda base: bb.expected_binder_url(
                repo, toc_page.docname, base, str(buttons.get("notebook_interface") or "classic")
            ),
        ),
    ):
        base = str(buttons.get(key) or "")
        if not base:
            if service == "Colab":
                problems.append(
                    bb.Problem(
                        "launch link",
                        label,
                        "no Colab launch button: launch_buttons.colab_url is not set in _config.yml",
                    )
                )
            continue
        found = [h for h in hrefs if h.startswith(base.rstrip("/") + "/")]
        if not found:
            problems.append(
                bb.Problem("launch link", label, f"no {service} launch button although launch_buttons.{key} is set")
            )
        for href in found:
            if href != want(base):
                problems.append(
                    bb.Problem("launch link", label, f"a {service} link opens {href}, expected {want(base)}")
                )
    for target in bb.notebook_badge_targets(notebook):
        if target != expected:
            problems.append(
                bb.Problem(
                    "launch link",
                    label,
                    f"the Colab badge of the notebook's first cell opens {target}, "
                    f"expected {expected} (run `python scripts/colab.py`)",
                )
            )
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
        pytest.fail(
            bb.format_problems(problems, "Colab/Binder launch buttons and Colab badges with the wrong target"),
            pytrace=False,
        )


def test_live_pages_stay_light(build):
    """The largest chapter page, with everything it loads from the book, stays under 5 MB; the
    widget state (the live parts, weights included) is what the widgets add."""
    import re as _re

    sizes = {}
    for html in sorted((HTML / "notebooks").glob("*.html")):
        text = html.read_text(errors="replace")
        images = sum(
            (html.parent / src).stat().st_size
            for src in set(_re.findall(r'<img[^>]+src="([^"#?]+)"', text))
            if (html.parent / src).is_file()
        )
        state = sum(
            len(m)
            for m in _re.findall(
                r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', text, _re.S
            )
        )
        sizes[html.name] = (html.stat().st_size + images, state)
    for name, (total, state) in sizes.items():
        print(
            f"[book html] {name}: {total / 1e6:.2f} MB with its images, {state / 1e6:.2f} MB of widget state",
            file=sys.stderr,
        )
    biggest = max(sizes, key=lambda n: sizes[n][0])
    assert sizes[biggest][0] < MAX_PAGE_BYTES, f"{biggest} weighs {sizes[biggest][0] / 1e6:.2f} MB"


ROLE_RE = re.compile(r"\{(?:term|doc|ref|cite|numref|eq|download|glue(?::\w+)?)\}`")
PRE_RE = re.compile(r"<pre\b.*?</pre>", re.S)
CODE_RE = re.compile(r"<code\b.*?</code>", re.S)
#: Pages that show role syntax on purpose, in inline code, for the book's authors.
ROLE_SYNTAX_PAGES = {"book/instructors.html": "tells instructors how to cite and link"}


def test_no_raw_roles_in_the_text(build):
    """A MyST role shown as its raw syntax means nothing to a reader (the glossary opened with
    `` {term}`receptive field` `` in inline code); code blocks, and the pages of
    ROLE_SYNTAX_PAGES in inline code, may show it."""
    problems = []
    for page, path in [(p, root / p.html) for root in (HTML, HTML / "zh") for p in bb.toc_pages(ROOT)]:
        if not path.is_file():
            continue
        text = PRE_RE.sub("", path.read_text(encoding="utf-8", errors="replace"))
        if page.html in ROLE_SYNTAX_PAGES:
            text = CODE_RE.sub("", text)
        for m in ROLE_RE.finditer(text):
            problems.append(bb.Problem("raw role", page.html, f"{text[m.start() : m.start() + 60]!r}"))
    if problems:
        pytest.fail(bb.format_problems(problems, "MyST roles shown as plain text"), pytrace=False)


def glossary_terms(path: Path) -> List[str]:
    """Every name of every entry of the glossary page: the lines above each indented definition."""
    text = path.read_text(encoding="utf-8")
    body = text[text.index("```{glossary}") :]
    body = body[body.index("\n") + 1 : body.rindex("```")]
    names: List[str] = []
    block: List[str] = []
    for line in body.splitlines():
        if not line.strip() or line.lstrip().startswith(":"):
            block = []
        elif line.startswith((" ", "\t")):
            names += block
            block = []
        else:
            block.append(line.strip())
    return names


def test_every_glossary_term_can_be_linked(build):
    """A chapter links a term with {term}`...` by any of its names: each must be in the inventory of
    the -W -n build (an unknown term is an error there), English and Chinese alike."""
    import posixpath

    from sphinx.util.inventory import InventoryFile

    names = glossary_terms(ROOT / "book" / "glossary.md")
    assert len(names) > 50 and "gradient" in names and "梯度" in names, names
    with open(HTML / "objects.inv", "rb") as f:
        inventory = InventoryFile.load(f, "", posixpath.join)
    known = {name.lower() for name in inventory.get("std:term", {})}
    missing = [name for name in names if name.lower() not in known]
    assert not missing, f"glossary names that {{term}} cannot link: {missing}"


def test_intro_clone_url_and_data_size():
    """The introduction's `git clone` is the repository of _config.yml (the one place the URL is set),
    and the size it gives for MNIST is that of the four files lenet.data keeps, to the MB."""
    from lenet.data import MNIST_FILES, mnist_dir

    intro = (ROOT / "book" / "intro.md").read_text(encoding="utf-8")
    repo = bb.repository(bb.read_config(ROOT))
    clones = re.findall(r"git clone (\S+)", intro)
    assert clones == [repo.url], f"the introduction clones {clones}, _config.yml says {repo.url}"
    assert f"cd {repo.repo}\n" in intro
    stated = re.findall(r"about (\d+) MB", intro)
    assert len(stated) == 1, f"the introduction should state the size of MNIST once: {stated}"
    files = [mnist_dir() / name for name in MNIST_FILES.values()]
    if not all(f.is_file() for f in files):
        pytest.skip(f"MNIST is not in {mnist_dir()} (`python -m lenet data` fetches it)")
    total = sum(f.stat().st_size for f in files)
    assert round(total / 1e6) == int(stated[0]), (
        f"the four files hold {total:,} bytes, the introduction says about {stated[0]} MB"
    )


def _edition_link(path: Path) -> str:
    m = re.search(r'<a class="btn btn-sm edition-switch" href="([^"]+)"', path.read_text(encoding="utf-8"))
    return m.group(1) if m else ""


def test_each_page_links_to_itself_in_the_other_edition(build):
    import posixpath

    problems = []
    for page in bb.toc_pages(ROOT):
        for here, there in ((HTML, HTML / "zh"), (HTML / "zh", HTML)):
            path = here / page.html
            if not path.is_file():
                problems.append(bb.Problem("edition", str(path.relative_to(HTML.parent)), "not built"))
                continue
            href = _edition_link(path)
            target = Path(posixpath.normpath(posixpath.join(path.parent.as_posix(), href))) if href else None
            if target != there / page.html:
                problems.append(bb.Problem("edition", str(path.relative_to(HTML.parent)), f"links to {href!r}"))
    if problems:
        pytest.fail(bb.format_problems(problems, "pages without a link to the other edition"), pytrace=False)


def _cells(path: Path) -> List[str]:
    """The text of every code cell's source and outputs on a built page, in order, each marked with
    whether it sits inside a solution's folded box."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return [
        ("[in a solution] " if c.find_parent("div", class_="solution") else "")
        + " ".join(c.get_text(" ", strip=True).split())
        for c in soup.select("div.cell_input, div.cell_output")
    ]


def test_chinese_edition_shows_the_same_code_and_outputs(build):
    """Code and outputs are the notebook's, in both editions (a translation cannot change a number
    that a cell computed), and the same ones sit inside the solutions' folded boxes."""
    checked = 0
    for page in bb.toc_pages(ROOT):
        if not page.is_notebook:
            continue
        english, chinese = _cells(HTML / page.html), _cells(HTML / "zh" / page.html)
        assert len(english) > 5 and english == chinese, f"{page.html}: the Chinese page's code or outputs differ"
        checked += 1
    assert checked >= 10


def test_chinese_titles_and_contents_are_in_chinese(build):
    """Every Chinese page's title, and the captions of the table of contents beside it, are Chinese
    (the captions come from sphinx-external-toc, after Sphinx translates a page: book/_ext/editions.py)."""
    han = re.compile("[\u4e00-\u9fff]")
    problems = []
    for page in bb.toc_pages(ROOT):
        text = (HTML / "zh" / page.html).read_text(encoding="utf-8")
        title = re.search(r"<h1[^>]*>(.*?)</h1>", text, re.S)
        captions = re.findall(r'class="caption-text">([^<]*)<', text)
        if not title or not han.search(title.group(1)):
            problems.append(bb.Problem("title", page.html, repr(title.group(1)[:60] if title else None)))
        problems += [bb.Problem("caption", page.html, repr(c)) for c in captions if not han.search(c)]
    if problems:
        pytest.fail(bb.format_problems(problems, "English left in the Chinese edition"), pytrace=False)
