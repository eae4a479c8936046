"""The Chinese edition: its gettext catalogues, their check, and its build.

The Chinese edition is built from the same notebooks and pages as the English one: Sphinx reads
every paragraph, heading, list item, table cell and caption of the English source and looks it
up in ``locales/zh_CN/LC_MESSAGES/<page>.po``. So the two editions cannot drift apart: a changed
English sentence no longer matches its entry, and the check below fails until it is translated.

    python scripts/translation.py update   # after changing the English prose: new strings appear
                                           # empty, changed ones marked fuzzy with the old text
    python scripts/translation.py check    # every string translated and not fuzzy, and each keeps
                                           # the code, maths, numbers, roles and links of its English
    python scripts/translation.py build    # the Chinese edition alone, into _build/html/zh/

``make book`` builds both editions; ``make test`` runs the check (``tests/test_translation.py``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional

import polib
import yaml
from jupyter_book.sphinx import build_sphinx
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "zh_CN"
LOCALES = ROOT / "locales"
CATALOGUES = LOCALES / LANGUAGE / "LC_MESSAGES"
#: The Chinese edition's place beside the English one (book/_ext/editions.py links the two).
ZH_OUTPUT = ROOT / "_build" / "html" / "zh"
#: The page whose catalogue translates the book's title (_config.yml's ``title``, its first heading).
TITLE_PAGE = "book/intro"

_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_CODE = re.compile(r"(`+)(.+?)\1")
_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$", re.S)
_MATH = re.compile(r"(?<![\\$])\$(?!\s)[^$]+?(?<![\s\\])\$")
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_URL = re.compile(r"https?://[^\s)>\]]+")
_ZH_TWIN = re.compile(r"_zh(?=$|:)")
_NUMBERED = re.compile(r"^\d+[.)]\s")
_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:[.,]\d+)*%?")
#: Roles whose text is a reference or a glued value: kept exactly. Other roles ({term}) may be
#: translated, but their number must stay.
_KEPT_ROLES = ("glue", "glue:text", "glue:any", "cite", "ref", "numref", "doc", "eq", "download", "math")


@dataclass(frozen=True)
class Problem:
    page: str
    msgid: str
    what: str

    def __str__(self) -> str:
        text = self.msgid if len(self.msgid) <= 100 else self.msgid[:97] + "..."
        return f"{self.page}: {self.what}: {text!r}"


def tokens(text: str) -> Dict[str, Counter]:
    """What a translation must keep from its English: the roles (those of :data:`_KEPT_ROLES`
    exactly, the others by number), inline code, maths, link targets, addresses and numbers."""
    kept: Counter = Counter()
    other_roles: Counter = Counter()
    for name, body in _ROLE.findall(text):
        if name.startswith("glue"):
            # a value glued in words has a Chinese twin, name_zh (lenet.glue.glue(..., zh=...)),
            # which the Chinese text pastes in its place
            body = _ZH_TWIN.sub("", body)
        if name in _KEPT_ROLES:
            kept[f"{{{name}}}`{body}`"] += 1
        else:
            other_roles[name] += 1
    rest = _ROLE.sub(" ", text)
    code = Counter(m.group(2).strip() for m in _CODE.finditer(rest))
    rest = _CODE.sub(" ", rest)
    maths = Counter(m.group(0) for m in _DISPLAY_MATH.finditer(rest))
    rest = _DISPLAY_MATH.sub(" ", rest)
    maths.update(m.group(0) for m in _MATH.finditer(rest))
    rest = _MATH.sub(" ", rest)
    links = Counter(_LINK.findall(rest)) + Counter(_URL.findall(rest))
    rest = _URL.sub(" ", _LINK.sub("] ", rest))
    numbers = Counter(n.replace("−", "-").lstrip("+") for n in _NUMBER.findall(rest))
    markup = Counter(t.type for t in _inline_tokens(text) if t.type in _MARKUP)
    return {
        "roles": kept,
        "other roles": other_roles,
        "code": code,
        "maths": maths,
        "links": links,
        "numbers": numbers,
        # bold, italics or a link that did not open (CommonMark's flanking rules: `**粗体：**后文`
        # stays literal; write `**粗体**：后文`)
        "bold, italics and links": markup,
    }


_MARKUP = ("strong_open", "em_open", "link_open")
_MD = MarkdownIt("commonmark")


def _inline_tokens(text: str) -> List:
    out = []
    for block in _MD.parse(text):
        out.extend(block.children or [])
    return out


def entry_problems(page: str, entry: polib.POEntry) -> List[Problem]:
    """What is wrong with one catalogue entry: untranslated, fuzzy, or not keeping its English's
    code, maths, roles, links or numbers."""
    if not entry.msgstr.strip():
        return [Problem(page, entry.msgid, "not translated")]
    if entry.fuzzy:
        return [Problem(page, entry.msgid, "fuzzy (its English changed): check the translation, then remove the flag")]
    want, got = tokens(entry.msgid), tokens(entry.msgstr)
    out = []
    if _NUMBERED.match(entry.msgstr):
        # a translated title is parsed again on its own: "2. 卷积" would become a numbered list
        out.append(Problem(page, entry.msgid, "starts like a numbered list: escape the full stop, `2\\. 卷积`"))
    for kind in want:
        if want[kind] != got[kind]:
            missing = sorted((want[kind] - got[kind]).elements())
            extra = sorted((got[kind] - want[kind]).elements())
            out.append(Problem(page, entry.msgid, f"{kind} differ (missing {missing}, not in the English {extra})"))
    return out


def catalogue_path(page: str) -> Path:
    return CATALOGUES / f"{page}.po"


def check(templates: Path) -> List[Problem]:
    """Every message of the English source (the ``.pot`` files under ``templates``, from a gettext
    build) against the catalogues: each must be there, translated, not fuzzy and consistent."""
    problems: List[Problem] = []
    for pot_path in sorted(templates.rglob("*.pot")):
        page = pot_path.relative_to(templates).with_suffix("").as_posix()
        po_path = catalogue_path(page)
        if not po_path.exists():
            problems.append(Problem(page, "", f"no catalogue {po_path.relative_to(ROOT)}: run `python {_me()} update`"))
            continue
        po = polib.pofile(str(po_path))
        entries = {e.msgid: e for e in po if not e.obsolete}
        messages = polib.pofile(str(pot_path))
        for message in messages:
            entry = entries.get(message.msgid)
            if entry is None:
                problems.append(Problem(page, message.msgid, f"not in the catalogue: run `python {_me()} update`"))
            else:
                problems.extend(entry_problems(page, entry))
        current = {m.msgid for m in messages}
        for msgid in entries:
            if msgid and msgid not in current:
                problems.append(Problem(page, msgid, f"no longer in the English: run `python {_me()} update`"))
    return problems


def _me() -> str:
    return Path(__file__).relative_to(ROOT).as_posix()


def gettext_build(output: Path) -> Path:
    """The English source's messages, one ``.pot`` file per page, under ``output``."""
    _jupyter_book(
        ["build", str(ROOT), "--builder", "custom", "--custom-builder", "gettext", "--path-output", str(output)]
    )
    return output / "_build" / "gettext"


def _jupyter_book(args: List[str]) -> None:
    run = "import sys; from jupyter_book.cli.main import main; sys.exit(main())"
    subprocess.run([sys.executable, "-c", run, *args, "-q"], cwd=ROOT, check=True)


def update(templates: Path) -> None:
    """Merge the ``.pot`` files into the catalogues: new messages empty, changed ones fuzzy."""
    subprocess.run(
        [sys.executable, "-m", "sphinx_intl", "update", "-p", str(templates), "-d", str(LOCALES), "-l", LANGUAGE]
        + ["-w", "0"],  # no line wrapping: one line per message, so a diff shows what changed
        cwd=ROOT,
        check=True,
    )


def build(output: Path = ZH_OUTPUT, strict: bool = True, fresh: bool = False) -> int:
    """Build the Chinese edition (every warning an error when ``strict``, as for the English;
    ``fresh`` re-reads every page, as ``jupyter-book build --all`` does)."""
    result = build_sphinx(
        ROOT,
        output,
        path_config=str(ROOT / "_config.yml"),
        # what `jupyter-book build . -W -n` passes to Sphinx, and the Chinese edition's own settings
        confoverrides={
            "external_toc_path": (ROOT / "_toc.yml").as_posix(),
            "latex_individualpages": False,
            "nitpicky": True,
            "language": LANGUAGE,
            "html_title": chinese_title(),
        },
        doctreedir=ROOT / "_build" / ".doctrees-zh",
        noconfig=True,
        warningiserror=strict,
        keep_going=strict,
        freshenv=fresh,
    )
    # myst-nb keeps its working copies of the notebooks beside the output directory (for this
    # edition inside the English one, _build/html/jupyter_execute); the pages do not use them
    shutil.rmtree(output.parent / "jupyter_execute", ignore_errors=True)
    if isinstance(result, Exception):
        raise result
    return 0 if result in (0, None) else 1


def chinese_title() -> str:
    """The book's title (``title`` in _config.yml) as the catalogue of its first page translates it."""
    title = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["title"]
    entries = {e.msgid: e.msgstr for e in polib.pofile(str(catalogue_path(TITLE_PAGE)))}
    return entries.get(title) or title


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["update", "check", "build"])
    parser.add_argument("--pages", nargs="*", help="check: only these pages (e.g. notebooks/02_convolution)")
    parser.add_argument("--all", action="store_true", help="build: re-read every page")
    parser.add_argument(
        "--templates", type=Path, help="check: the .pot files of an earlier gettext build (else one is made)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command == "build":
        return build(fresh=args.all)
    with tempfile.TemporaryDirectory() as tmp:
        templates = args.templates if args.command == "check" and args.templates else gettext_build(Path(tmp))
        if args.command == "update":
            update(templates)
            return 0
        problems = [p for p in check(templates) if not args.pages or p.page in args.pages]
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)" if problems else "every string is translated")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
