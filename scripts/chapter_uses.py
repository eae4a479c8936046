"""Which chapter uses which public function or class of ``lenet``, and the docstrings that say so.

    python scripts/chapter_uses.py            # list the uses
    python scripts/chapter_uses.py --write    # update the "Chapters: ..." line of every docstring

Each public function and class of the package ends its docstring with one line, as d2l's
functions name their section: ``Chapters: 2, 6.`` (the chapters whose code calls it, directly)
or ``Chapters: none (used by ...).`` when no chapter calls it itself. The uses are found in the
notebooks' code by its syntax tree: names imported from ``lenet`` modules and attributes of
``lenet`` modules bound to a name (``from lenet import report``, then ``report.plot_history``).
``tests/test_editions.py`` checks that every docstring's line matches.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import nbformat

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lenet"
LINE = re.compile(r"^\s*Chapters: (?P<what>[^\n]*)\.\s*$", re.M)


def public_names() -> Dict[Tuple[str, str], ast.AST]:
    """{(module, name): node} for the top-level public functions and classes of the package."""
    out = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                out[(path.stem, node.name)] = node
    return out


def _code(cell_source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines())


def uses() -> Dict[Tuple[str, str], Set[str]]:
    """{(module, name): chapters that use it}, chapters as "1" ... "8"."""
    known = public_names()
    found: Dict[Tuple[str, str], Set[str]] = {k: set() for k in known}
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        chapter = str(int(nb_path.name[:2]))
        modules: Dict[str, str] = {}
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(_code(cell.source))
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lenet":
                    for alias in node.names:
                        if node.module == "lenet":
                            modules[alias.asname or alias.name] = alias.name
                        elif (node.module.split(".")[1], alias.name) in found:
                            found[(node.module.split(".")[1], alias.name)].add(chapter)
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.startswith("lenet.") and alias.asname:
                            modules[alias.asname] = alias.name.split(".")[1]
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                    key = (modules[node.value.id], node.attr)
                    if key in found:
                        found[key].add(chapter)
                    else:  # a name re-exported by another module (report.confusion_matrix)
                        for (mod, name) in found:
                            if name == node.attr and _reexports(modules[node.value.id], mod, name):
                                found[(mod, name)].add(chapter)
    return found


def _reexports(module: str, source: str, name: str) -> bool:
    text = (PACKAGE / f"{module}.py").read_text(encoding="utf-8")
    return re.search(rf"^from \.{source} import [^\n]*\b{name}\b", text, re.M) is not None


def line_for(chapters: Set[str]) -> str:
    if chapters:
        return "Chapters: " + ", ".join(sorted(chapters, key=int)) + "."
    return "Chapters: none (the package and its command line use it)."


def stated(node: ast.AST) -> str | None:
    doc = ast.get_docstring(node) or ""
    m = LINE.search(doc)
    return m.group(0).strip() if m else None


def write() -> int:
    """Rewrite each docstring's "Chapters:" line (append one where missing); returns how many changed."""
    found, changed = uses(), 0
    by_file: Dict[str, List[Tuple[ast.AST, str]]] = {}
    for (module, name), node in public_names().items():
        want = line_for(found[(module, name)])
        if stated(node) != want:
            by_file.setdefault(module, []).append((node, want))
    for module, items in by_file.items():
        path = PACKAGE / f"{module}.py"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for node, want in sorted(items, key=lambda t: -t[0].lineno):
            doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) and isinstance(
                getattr(node.body[0], "value", None), ast.Constant) and isinstance(node.body[0].value.value, str) else None
            indent = " " * (node.col_offset + 4)
            if doc is None:
                lines.insert(node.body[0].lineno - 1, f'{indent}"""{want}"""\n')
            else:
                start, end = doc.lineno - 1, doc.end_lineno - 1
                text = "".join(lines[start:end + 1])
                if LINE.search(text):
                    text = LINE.sub(f"{indent}{want}", text, count=1)
                else:
                    body = text.rstrip()
                    quote = body[-3:]
                    inner = body[:-3].rstrip()
                    if "\n" in inner:
                        text = f"{inner}\n\n{indent}{want}\n{indent}{quote}\n"
                    else:
                        text = f"{inner}\n\n{indent}{want}\n{indent}{quote}\n"
                lines[start:end + 1] = [text]
            changed += 1
        path.write_text("".join(lines), encoding="utf-8")
    return changed


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--write", action="store_true", help="update the docstrings")
    args = p.parse_args(argv)
    if args.write:
        print(f"updated {write()} docstrings")
        return 0
    for (module, name), chapters in sorted(uses().items()):
        print(f"lenet.{module}.{name}: {line_for(chapters)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
