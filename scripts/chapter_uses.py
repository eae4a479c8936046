"""Which chapter explains each public function and class of ``lenet``, and the docstrings that say so.

    python scripts/chapter_uses.py            # list, for every public object, the chapter and section
    python scripts/chapter_uses.py --write    # update the "Explained in" line of every docstring

d2l's rule: each object of the package names the one place of the book that explains it. Here
that is the first chapter that shows its source (``show_source(X)``), else the first chapter
whose code uses it outside its exercises (else in them), and the section (the ``##`` or ``###``
heading) of that chapter in which it first appears; its docstring ends with the line
``Explained in: chapter 2, "From loops to one matrix product".`` An object that no chapter uses
has no such line. The uses are found in the notebooks' code by its syntax tree: names imported
from ``lenet`` modules (``from lenet.kernels import conv2d_loops``), names imported through the
package's re-exports (``from lenet import LeNet5Classic``), and attributes of modules bound to a
name (``from lenet import report``, then ``report.plot_history``, also where ``report``
re-exports another module's name).
``tests/test_package.py`` checks that every docstring's line matches.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, Union, cast

import nbformat

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lenet"
LINE = re.compile(r"^[ \t]*(?:Explained in|Chapters): [^\n]*\.[ \t]*$", re.M)
HEADING = re.compile(r"^#{2,3} (.+?)\s*$", re.M)

Key = Tuple[str, str]  # (module, name)
Place = Tuple[int, str]  # (chapter, section)
Definition = Union[ast.FunctionDef, ast.ClassDef]  # a top-level public function or class


def public_names() -> Dict[Key, Definition]:
    """{(module, name): node} for the top-level public functions and classes of the package."""
    out: Dict[Key, Definition] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                out[(path.stem, node.name)] = node
    return out


def _reexported(module: str) -> Dict[str, str]:
    """{name: source module} of the names ``lenet.<module>`` imports from its siblings
    (``module`` "__init__" for the package itself)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    return {
        alias.asname or alias.name: node.module
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        for alias in node.names
    }


def _code(cell_source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines())


def _resolve(module: str, name: str, known: Dict[Key, Definition]) -> Optional[Key]:
    """The (defining module, name) of ``lenet.<module>.<name>``, following re-exports."""
    for _ in range(3):
        if (module, name) in known:
            return module, name
        source = _reexported(module).get(name)
        if source is None:
            return None
        module = source
    return None


def _used_names(tree: ast.AST, known: Dict[Key, Definition], modules: Dict[str, str]) -> Tuple[List[Key], List[Key]]:
    """(used, shown): the package objects a cell's code uses, and those it passes to show_source."""
    names: Dict[str, Key] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lenet":
            module = node.module.split(".")[1] if "." in node.module else "__init__"
            for alias in node.names:
                if module == "__init__" and (PACKAGE / f"{alias.name}.py").is_file():
                    modules[alias.asname or alias.name] = alias.name
                    continue
                key = _resolve(module, alias.name, known)
                if key is not None:
                    names[alias.asname or alias.name] = key
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lenet.") and alias.asname:
                    modules[alias.asname] = alias.name.split(".")[1]
    used: List[Key] = []
    shown: List[Key] = []

    def key_of(expr: ast.AST) -> Optional[Key]:
        if isinstance(expr, ast.Name):
            return names.get(expr.id) or _GLOBAL_NAMES.get(expr.id)
        if isinstance(expr, ast.Attribute):
            if isinstance(expr.value, ast.Name) and expr.value.id in modules:
                return _resolve(modules[expr.value.id], expr.attr, known)
            return key_of(expr.value)  # a method: the class it belongs to
        return None

    for node in ast.walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute)):
            key = key_of(node)
            if key is not None and key not in used:
                used.append(key)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "show_source"
            and node.args
        ):
            key = key_of(node.args[0])
            if key is not None:
                shown.append(key)
    _GLOBAL_NAMES.update(names)
    return used, shown


_GLOBAL_NAMES: Dict[str, Key] = {}  # names a chapter imported in earlier cells (reset per chapter)


def chapter_of(path: Path) -> int:
    return int(path.name[:2])


def places() -> Dict[Key, Optional[Place]]:
    """{(module, name): (chapter, section) that explains it, or None}."""
    known = public_names()
    first_use: Dict[Key, Place] = {}
    first_exercise_use: Dict[Key, Place] = {}  # uses in exercises count only where nothing else uses it
    first_show: Dict[Key, Place] = {}
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb"), key=chapter_of):
        chapter = chapter_of(nb_path)
        modules: Dict[str, str] = {}
        _GLOBAL_NAMES.clear()
        section = ""
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if cell.cell_type == "markdown":
                headings = HEADING.findall(cell.source)
                if headings:
                    section = headings[-1]
                continue
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(_code(cell.source))
            except SyntaxError:
                continue
            used, shown = _used_names(tree, known, modules)
            for key in used:
                (first_exercise_use if section == "Exercises" else first_use).setdefault(key, (chapter, section))
            for key in shown:
                first_show.setdefault(key, (chapter, section))
    return {key: first_show.get(key) or first_use.get(key) or first_exercise_use.get(key) for key in known}


def line_for(place: Optional[Place]) -> Optional[str]:
    if place is None:
        return None
    chapter, section = place
    return f'Explained in: chapter {chapter}, "{section}".' if section else f"Explained in: chapter {chapter}."


def stated(node: Definition) -> Optional[str]:
    doc = ast.get_docstring(node, clean=False) or ""
    m = LINE.search(doc)
    return m.group(0).strip() if m else None


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement function for ``re.sub`` that inserts ``text`` as it is (section titles may
    hold backslashes, which a replacement string would read as escapes)."""
    return lambda _: text


def write() -> int:
    """Rewrite each docstring's "Explained in" line (append one where missing, remove one where
    no chapter uses the object); returns how many changed."""
    found, changed = places(), 0
    by_file: Dict[str, List[Tuple[Definition, Optional[str]]]] = {}
    for (module, name), node in public_names().items():
        want = line_for(found[(module, name)])
        if stated(node) != want:
            by_file.setdefault(module, []).append((node, want))
    for module, items in by_file.items():
        path = PACKAGE / f"{module}.py"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for node, want in sorted(items, key=lambda t: -t[0].lineno):
            first = node.body[0]
            is_doc = (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            )
            indent = " " * (node.col_offset + 4)
            if not is_doc:
                if want is not None:
                    lines.insert(first.lineno - 1, f'{indent}"""{want}"""\n')
                    changed += 1
                continue
            # ast.parse sets end_lineno on every statement; typeshed types it Optional for hand-built nodes
            start, end = first.lineno - 1, cast(int, first.end_lineno) - 1
            text = "".join(lines[start : end + 1])
            if LINE.search(text):
                replacement = f"{indent}{want}" if want else ""
                text = LINE.sub(_literal(replacement), text, count=1)
                text = re.sub(r"\n[ \t]*\n([ \t]*\n)*([ \t]*\"\"\")", r"\n\2", text) if not want else text
            elif want:
                body = text.rstrip()
                quote, inner = body[-3:], body[:-3].rstrip()
                text = f"{inner}\n\n{indent}{want}\n{indent}{quote}\n"
            lines[start : end + 1] = [text]
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
    for (module, name), place in sorted(places().items()):
        print(f"lenet.{module}.{name}: {line_for(place) or '(no chapter uses it)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
