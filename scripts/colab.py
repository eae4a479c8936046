#!/usr/bin/env python
"""Keep the notebooks' Colab badge and setup cell in step with the book's repository URL.

Usage::

    python scripts/colab.py [--check] [--gpu NAME [NAME ...]] [--root DIR]

The repository is set in one place: ``repository.url`` (a ``https://github.com/OWNER/REPO``
URL) and ``repository.branch`` in ``_config.yml``.  For every ``notebooks/*.ipynb`` the script

a. points the Colab badge of the first markdown cell at
   ``https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/notebooks/FILE.ipynb``
   (the badge line is inserted after the cell's first heading line when it is missing);
b. sets the pip target of the cell tagged ``setup`` to ``lenet @ git+https://github.com/OWNER/REPO``
   (the standard setup cell of CONTRIBUTING.md is inserted as the second cell, tagged ``setup``,
   when no cell is tagged ``setup``) and tags it ``remove-cell``, so that the HTML book leaves it
   out (an older ``hide-input`` or ``remove-input`` tag is replaced);
c. leaves ``metadata.accelerator`` alone, except that ``--gpu NAME ...`` (a file name, with or
   without ``.ipynb``) sets ``metadata.accelerator = "GPU"`` and ``metadata.colab.gpuType = "T4"``
   on those notebooks, so that Colab opens them on a GPU runtime.

A notebook is written only when something changed, with nbformat (indent 1, UTF-8 kept as is,
trailing newline, as Jupyter writes it); outputs, execution counts and cell ids are kept.

``--check`` writes nothing: it lists every notebook that is out of sync and exits with status 1
(0 when all are in sync).  A problem the script cannot fix (no ``_config.yml``, a URL that is
not a GitHub repository, a setup cell without a ``lenet @ git+...`` target, no markdown cell)
is reported and the exit status is 2.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import nbformat

ROOT = Path(__file__).resolve().parent.parent

COLAB = "https://colab.research.google.com"
BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
GITHUB_RE = re.compile(
    r"^https?://(?:www\.)?github\.com/(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](TARGET)
MD_BADGE_RE = re.compile(r"(\[!\[[^\]]*\]\(\s*" + re.escape(BADGE_SVG) + r"[^)]*\)\]\()([^)\s]*)(\))")
# <a href="TARGET" ...><img src="https://colab.research.google.com/assets/colab-badge.svg" ...></a>
HTML_BADGE_RE = re.compile(
    r"(<a\s[^>]*?href=[\"'])([^\"']*)([\"'][^>]*>\s*<img\s[^>]*" + re.escape(BADGE_SVG) + ")", re.I | re.S
)
PIP_TARGET_RE = re.compile(r"lenet\s*@\s*git\+https?://[^\"'\s]+")
HEADING_RE = re.compile(r"^ {0,3}#{1,6}(\s|$)")

SETUP_TAG = "setup"
# The HTML book leaves the setup cell out (it prints nothing where `lenet` is importable, and a
# "Show code cell source" box under every title says nothing to a reader); Colab, Jupyter and nbval
# ignore the tag and run the cell. The setup cell's older tags, which only folded it, are replaced.
HIDE_TAG = "remove-cell"
OLD_HIDE_TAGS = ("hide-input", "remove-input")
SETUP_TEMPLATE = """\
# Setup: installs the book's `lenet` package when it is missing (on Colab, say).
# Safe to run again; it never reinstalls torch.
import importlib.util, subprocess, sys
if importlib.util.find_spec("lenet") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "{target}"], check=True)"""


class ColabError(ValueError):
    """Something the script cannot fix by itself."""


@dataclass(frozen=True)
class Repository:
    """The book's GitHub repository, as ``_config.yml`` names it; the one place that builds its
    URLs (this script and the browser test both use it)."""

    owner: str
    repo: str
    branch: str
    path_to_book: str = ""  # "" when the book is the repository root

    def file_path(self, docname: str, suffix: str = ".ipynb") -> str:
        """The repository path of a page of the book (``docname`` as in ``_toc.yml``)."""
        prefix = self.path_to_book.strip("/")
        return (prefix + "/" if prefix else "") + docname + suffix

    @property
    def url(self) -> str:
        return f"https://github.com/{self.owner}/{self.repo}"

    @property
    def pip_target(self) -> str:
        return f"lenet @ git+{self.url}"

    def colab_url(self, notebook: str, colab: str = COLAB) -> str:
        """The Colab URL of ``notebook``, a path relative to the repository root."""
        return f"{colab.rstrip('/')}/github/{self.owner}/{self.repo}/blob/{self.branch}/{notebook}"

    def badge(self, notebook: str) -> str:
        return f"[![Open In Colab]({BADGE_SVG})]({self.colab_url(notebook)})"


def parse_github_url(url: object) -> Tuple[str, str]:
    m = GITHUB_RE.match(str(url).strip()) if isinstance(url, str) else None
    if not m:
        raise ColabError(
            f"repository.url in _config.yml must be a GitHub repository URL like "
            f"https://github.com/OWNER/REPO, not {url!r}"
        )
    return m.group("owner"), m.group("repo")


def read_repository(config: Path) -> Repository:
    """``repository.url`` and ``repository.branch`` of the book config."""
    if not config.is_file():
        raise ColabError(
            f"{config} not found: the book config must set repository.url "
            f"(https://github.com/OWNER/REPO) and repository.branch"
        )
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML comes with jupyter-book
        raise ColabError("PyYAML is needed to read _config.yml: pip install pyyaml") from None
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ColabError(f"{config} is not valid YAML: {exc}") from None
    return repository_from_config(data, config)


def repository_from_config(data: object, config: object = "_config.yml") -> Repository:
    """The :class:`Repository` of a parsed book config (``repository.url``, ``.branch``,
    ``.path_to_book``); a :class:`ColabError` says what is missing."""
    repo = data.get("repository") if isinstance(data, dict) else None
    if not isinstance(repo, dict) or "url" not in repo:
        raise ColabError(f"{config} has no repository.url; set it to https://github.com/OWNER/REPO")
    owner, name = parse_github_url(repo["url"])
    branch = repo.get("branch")
    if not branch or not isinstance(branch, str):
        raise ColabError(
            f"{config} has no repository.branch; set it (e.g. 'main') -- Jupyter Book would otherwise assume 'master'"
        )
    return Repository(owner, name, branch.strip(), str(repo.get("path_to_book") or ""))


def _new_setup_cell(nb, repo: Repository):
    cell = nbformat.v4.new_code_cell(
        SETUP_TEMPLATE.format(target=repo.pip_target), metadata={"tags": [SETUP_TAG, HIDE_TAG]}
    )
    if nb.get("nbformat", 4) == 4 and nb.get("nbformat_minor", 0) < 5:
        cell.pop("id", None)  # cell ids came with nbformat 4.5
    return cell


def sync_notebook(nb, rel_path: str, repo: Repository, gpu: bool = False) -> Tuple[object, List[str]]:
    """Return the synced copy of ``nb`` and the list of what changed (empty: in sync)."""
    nb = copy.deepcopy(nb)
    changes: List[str] = []
    name = Path(rel_path).name
    target = repo.colab_url(rel_path)

    # (a) the badge in the first markdown cell
    md = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if md is None:
        raise ColabError(f"{name}: no markdown cell; a chapter starts with '# N. Title' and the Colab badge")
    src = md.source
    found = list(MD_BADGE_RE.finditer(src)) + list(HTML_BADGE_RE.finditer(src))
    if found:
        new = MD_BADGE_RE.sub(lambda m: m.group(1) + target + m.group(3), src)
        new = HTML_BADGE_RE.sub(lambda m: m.group(1) + target + m.group(3), new)
        if new != src:
            old = ", ".join(sorted({m.group(2) for m in found if m.group(2) != target}))
            changes.append(f"Colab badge points at {old}, not {target}")
    else:
        lines = src.splitlines(keepends=True)
        at = next((i + 1 for i, line in enumerate(lines) if HEADING_RE.match(line)), 0)
        head, rest = "".join(lines[:at]).rstrip("\n"), "".join(lines[at:]).lstrip("\n")
        new = "\n\n".join(part for part in (head, repo.badge(rel_path), rest) if part)
        changes.append("no Colab badge in the first markdown cell (inserted after the title)")
    md.source = new

    # (b) the setup cell
    setup = [c for c in nb.cells if c.cell_type == "code" and SETUP_TAG in c.get("metadata", {}).get("tags", [])]
    if not setup:
        nb.cells.insert(min(1, len(nb.cells)), _new_setup_cell(nb, repo))
        changes.append(f"no code cell tagged '{SETUP_TAG}' (inserted the standard setup cell as cell 2)")
    for cell in setup:
        targets = PIP_TARGET_RE.findall(cell.source)
        if not targets:
            raise ColabError(
                f"{name}: the cell tagged '{SETUP_TAG}' has no '{repo.pip_target}' pip target; "
                f"use the standard setup cell of CONTRIBUTING.md"
            )
        new = PIP_TARGET_RE.sub(repo.pip_target, cell.source)
        if new != cell.source:
            changes.append(
                f"setup cell installs {', '.join(sorted(set(t for t in targets if t != repo.pip_target)))}, "
                f"not {repo.pip_target}"
            )
            cell.source = new
        tags = cell.metadata.setdefault("tags", [])
        old_tags = [t for t in tags if t in OLD_HIDE_TAGS]
        if HIDE_TAG not in tags or old_tags:
            tags[:] = [t for t in tags if t not in OLD_HIDE_TAGS] + ([] if HIDE_TAG in tags else [HIDE_TAG])
            changes.append(
                f"setup cell not tagged '{HIDE_TAG}'"
                + (f" (tagged {', '.join(old_tags)} instead)" if old_tags else "")
                + ": the HTML book would show it"
            )

    # (c) the accelerator
    if gpu:
        meta = nb.metadata
        colab = meta.get("colab") if isinstance(meta.get("colab"), dict) else {}
        if meta.get("accelerator") != "GPU" or colab.get("gpuType") != "T4":
            changes.append("metadata.accelerator is not GPU (T4)")
            meta["accelerator"] = "GPU"
            colab = dict(colab)
            colab["gpuType"] = "T4"
            meta["colab"] = colab
    return nb, changes


def write_notebook(nb, path: Path) -> None:
    """Write like Jupyter: nbformat's JSON (indent 1, non-ASCII as is) and a trailing newline."""
    text = nbformat.writes(nb)
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text, encoding="utf-8")


def _match_gpu_names(names: Sequence[str], notebooks: Sequence[Path]) -> set:
    stems = {p.stem: p for p in notebooks}
    wanted, unknown = set(), []
    for n in names:
        stem = Path(n).name
        stem = stem[: -len(".ipynb")] if stem.endswith(".ipynb") else stem
        if stem in stems:
            wanted.add(stem)
        else:
            unknown.append(n)
    if unknown:
        raise ColabError(f"--gpu: no notebook named {', '.join(unknown)} in notebooks/")
    return wanted


def run(root: Path, check: bool = False, gpu: Sequence[str] = (), config: Optional[Path] = None, out=print) -> int:
    repo = read_repository(config or root / "_config.yml")
    notebooks = sorted((root / "notebooks").glob("*.ipynb"))
    if not notebooks:
        out(f"colab: no notebooks in {root / 'notebooks'}")
        return 0
    gpu_stems = _match_gpu_names(gpu, notebooks)
    stale, problems = [], []
    for path in notebooks:
        rel = path.relative_to(root).as_posix()
        try:
            nb = nbformat.read(path, as_version=4)
            new, changes = sync_notebook(nb, rel, repo, gpu=path.stem in gpu_stems)
        except ColabError as exc:
            problems.append(str(exc))
            continue
        except Exception as exc:
            problems.append(f"{path.name}: cannot read the notebook: {exc}")
            continue
        if not changes:
            continue
        stale.append(rel)
        if check:
            out(f"{rel}: out of sync\n" + "".join(f"  - {c}\n" for c in changes).rstrip("\n"))
        else:
            write_notebook(new, path)
            out(f"{rel}: updated\n" + "".join(f"  - {c}\n" for c in changes).rstrip("\n"))
    for p in problems:
        print(f"colab: error: {p}", file=sys.stderr)
    if check and stale:
        out(
            f"{len(stale)} notebook(s) out of sync with repository.url {repo.url} (branch {repo.branch}); "
            f"run: python scripts/colab.py"
        )
    if problems:
        return 2
    return 1 if check and stale else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 and list the notebooks that are out of sync"
    )
    parser.add_argument(
        "--gpu",
        nargs="+",
        default=[],
        metavar="NAME",
        help="notebooks (e.g. 06_lenet5_1998) that Colab should open on a GPU runtime",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=ROOT,
        help="the repository root, holding _config.yml and notebooks/ (default: this repository)",
    )
    parser.add_argument("--config", type=Path, default=None, help="the book config (default: ROOT/_config.yml)")
    args = parser.parse_args(argv)
    try:
        return run(args.root.resolve(), check=args.check, gpu=args.gpu, config=args.config)
    except ColabError as exc:
        print(f"colab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
