#!/usr/bin/env python
"""Write the instructor and student editions of the book's notebooks.

Usage::

    python scripts/make_editions.py [--out editions] [--strict] [notebooks ...]

With no notebooks given, every ``notebooks/*.ipynb`` of the repository is used (and notebooks
left in the edition folders by an earlier run that are no longer in ``notebooks/`` are removed).
``--out`` defaults to ``editions/`` at the repository root (git-ignored).

``<out>/instructor/``
    Byte-for-byte copies of the notebooks, solutions and outputs included.

``<out>/student/``
    The same notebooks with the solutions taken out.  In each notebook:

    * In every code cell, each region from a ``### BEGIN SOLUTION`` line to its
      ``### END SOLUTION`` line (markers included) is replaced by a stub, indented like the
      ``BEGIN`` line.  The stub names the exercise: ``"Exercise N.M (label)"``, where N is the
      chapter number (the ``NN_`` prefix of the file name), M counts the ``{exercise}`` directives
      of the notebook up to the nearest one *before* the cell, and ``label`` is that exercise's
      ``:label:``; a region with no exercise before it is named by its position
      (``"02_convolution.ipynb, cell 14"``).

      - Inside a function (a ``def`` encloses the region), the stub is the single line
        ``exercises.todo("Exercise N.M (label)")``: defining the function does not raise, and a
        checker from ``lenet.exercises`` that calls it catches the ``NotImplementedYet``
        (a ``NotImplementedError``) and prints ``NOT DONE YET ...`` instead of a traceback::

            def f(x):                          def f(x):
                ### BEGIN SOLUTION      ->         exercises.todo("Exercise 2.1 (ex-f)")
                return x
                ### END SOLUTION

      - Anywhere else (top level of the cell, a loop, a class body, ...) the stub would run as
        soon as the cell runs, so it is wrapped to print the friendly message and carry on::

            try:
                exercises.todo("Exercise 2.1 (ex-f)")
            except NotImplementedError as exc:
                print(exc)

      Whether a region is inside a function is decided on the cell's syntax tree (IPython
      magics are translated first); when the cell cannot be parsed, on its indentation.

      If ``exercises`` is not imported earlier in the notebook (``from lenet import exercises``,
      or ``import lenet.exercises as exercises``), ``from lenet import exercises`` is inserted at
      the top of the cell (after a ``%%`` cell magic line, if any).

    * Code cells that are tagged ``solution`` or held a region lose their outputs and execution
      count (the outputs would show the answer), the ``hide-input`` tag (students must see the
      stub) and a ``jupyter.source_hidden`` flag.

    * In markdown cells, every ``{solution}`` directive block is removed (also when it is nested
      in another directive).  A gated solution -- a ``{solution-start}`` block, then anything, over
      as many cells as it takes, up to a ``{solution-end}`` block: how the book puts a solution's
      code cell inside its dropdown -- is removed from its start to its end, except the code cells
      in it, which must be tagged ``solution`` and are stubbed as above (a student needs the
      cell to write the answer in).  The book writes its exercises and solutions with backtick
      fences (three or more backticks) and ``:label:`` options, and the tool supports exactly
      that: a ``~~~`` or ``:::`` fence around an exercise or solution, a gated exercise
      (``{exercise-start}``), a gated solution nested in another directive or not closed before
      the notebook ends, an untagged code cell inside a gated solution, or a ``---`` options
      block is an error that says how to write it.  A markdown cell left empty is dropped.

    * Nothing else changes: other cells, their outputs, ids and metadata stay as they are.
      Each student notebook is checked with ``nbformat.validate`` before it is written.

    So executing a student notebook top to bottom does not raise where a solution was removed:
    checkers print ``NOT DONE YET`` and top-level stubs print the message.  What the tool cannot
    make work is later code that *uses* an exercise's result (a name defined only inside a
    top-level solution region, or a direct call of a stubbed function outside a checker); for the
    first case it prints a warning naming the notebook, the cell and the name.  Keep exercise
    results out of the rest of the chapter.

Each edition folder also gets a short ``README.md``.

Errors -- a ``BEGIN`` without its ``END``, an ``END`` without a ``BEGIN``, a ``BEGIN`` inside a
region, an unclosed ``{solution}`` fence, an unsupported form -- name the notebook and the cell, and
the script exits with status 1 before writing anything.  ``--strict`` turns warnings (a cell
tagged ``solution`` without markers, a region in a cell not tagged ``solution``, a name defined
only in a solution) into errors.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import shutil
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import nbformat

ROOT = Path(__file__).resolve().parent.parent

BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)#+[ \t]*BEGIN[ \t]+SOLUTION\b")
END_RE = re.compile(r"^[ \t]*#+[ \t]*END[ \t]+SOLUTION\b")
# An opening directive fence, the one form the book uses: ```{name} args, ````{name}
FENCE_OPEN_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})[ \t]*\{(?P<name>[A-Za-z][\w:-]*)\}(?P<args>.*)$")
# Forms of exercises and solutions the book does not use, each an error
# (gated solutions, ```{solution-start} ... ```{solution-end}, are supported; gated exercises are not)
UNSUPPORTED_RE = re.compile(
    r"^[ \t]*(?P<fence>~{3,}|:{3,})[ \t]*\{(?P<name>exercise|solution)[\w-]*\}"
    r"|^[ \t]*`{3,}[ \t]*\{(?P<gated>exercise-(?:start|end))\}",
    re.M,
)
IMPORT_EXERCISES_RE = re.compile(
    r"^[ \t]*(from[ \t]+lenet[ \t]+import[ \t]+(\([^)]*\bexercises\b|[^#\n]*\bexercises\b)"
    r"|import[ \t]+lenet\.exercises[ \t]+as[ \t]+exercises\b)",
    re.M,
)
CHAPTER_RE = re.compile(r"^(\d+)[_-]")

SOLUTION_TAG = "solution"
HIDE_TAGS = ("hide-input",)
IMPORT_LINE = "from lenet import exercises"


class EditionError(Exception):
    """A notebook the tool cannot turn into a student edition (malformed markers, ...)."""


@dataclass
class Report:
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)


# --------------------------------------------------------------------------- code cells


@dataclass
class Region:
    begin: int  # line index of the BEGIN marker
    end: int  # line index of the END marker
    indent: str


def find_regions(lines: Sequence[str], where: str) -> List[Region]:
    """The BEGIN/END SOLUTION regions of a cell's lines; raise EditionError if malformed."""
    regions: List[Region] = []
    open_at: Optional[int] = None
    indent = ""
    for i, line in enumerate(lines):
        m = BEGIN_RE.match(line)
        if m:
            if open_at is not None:
                raise EditionError(
                    f"{where}: '### BEGIN SOLUTION' on line {i + 1} is nested inside the region "
                    f"opened on line {open_at + 1} (close it with '### END SOLUTION' first)"
                )
            open_at, indent = i, m.group("indent")
        elif END_RE.match(line):
            if open_at is None:
                raise EditionError(f"{where}: '### END SOLUTION' on line {i + 1} has no '### BEGIN SOLUTION' before it")
            regions.append(Region(open_at, i, indent))
            open_at = None
    if open_at is not None:
        raise EditionError(f"{where}: '### BEGIN SOLUTION' on line {open_at + 1} has no matching '### END SOLUTION'")
    return regions


def _py_str(text: str) -> str:
    if not re.search(r'["\\\n\r]', text):
        return f'"{text}"'
    return repr(text)


def _placeholder(k: int) -> str:
    return f"__make_editions_region_{k}__"


def _parse_cell(source: str) -> Optional[ast.AST]:
    """The cell's syntax tree, IPython magics translated; None if it cannot be parsed."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:  # no IPython, or still not Python
        return None


def _regions_in_function_ast(plain_source: str, n: int) -> Dict[int, bool]:
    """For each placeholder stub found in the tree: is it inside a def (or lambda)?"""
    tree = _parse_cell(plain_source)
    found: Dict[int, bool] = {}
    if tree is None:
        return found
    names = {_placeholder(k): k for k in range(n)}

    def visit(node: ast.AST, in_function: bool) -> None:
        if (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in names
        ):
            found[names[node.args[0].value]] = in_function
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return found


def _indent_width(line: str) -> int:
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


def _region_in_function_by_indent(lines: Sequence[str], begin: int) -> bool:
    """Fallback: walk up through the less-indented lines that open the enclosing blocks."""
    level = _indent_width(lines[begin])
    for line in reversed(lines[:begin]):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or level == 0:
            continue
        width = _indent_width(line)
        if width < level:
            if re.match(r"(async[ \t]+)?def\b", stripped):
                return True
            level = width
    return False


def stub_code(source: str, label: str, where: str) -> Tuple[str, int, List[Tuple[str, bool]]]:
    """Replace the solution regions of a code cell's source.

    Returns the new source, the number of regions, and for each region its original code and
    whether it sat inside a function.
    """
    lines = source.splitlines(keepends=True)
    regions = find_regions(lines, where)
    if not regions:
        return source, 0, []
    call = f"exercises.todo({_py_str(label)})"

    def build(stub_for) -> str:
        out: List[str] = []
        pos = 0
        for k, r in enumerate(regions):
            out.extend(lines[pos : r.begin])
            out.extend(stub_for(k, r))
            pos = r.end + 1
        out.extend(lines[pos:])
        return "".join(out)

    plain = build(lambda k, r: [f"{r.indent}exercises.todo({_py_str(_placeholder(k))})\n"])
    in_function = _regions_in_function_ast(plain, len(regions))
    for k, r in enumerate(regions):
        if k not in in_function:
            in_function[k] = _region_in_function_by_indent(lines, r.begin)

    def stub(k: int, r: Region) -> List[str]:
        i = r.indent
        if in_function[k]:
            return [f"{i}{call}\n"]
        unit = "\t" if i.endswith("\t") else "    "
        return [
            f"{i}try:\n",
            f"{i}{unit}{call}\n",
            f"{i}except NotImplementedError as exc:\n",
            f"{i}{unit}print(exc)\n",
        ]

    new = build(stub)
    if not source.endswith("\n") and new.endswith("\n") and not lines[-1].endswith("\n"):
        new = new[:-1]  # the last line of the cell had no newline: keep it that way
    originals = ["".join(lines[r.begin + 1 : r.end]) for r in regions]
    return new, len(regions), [(originals[k], in_function[k]) for k in range(len(regions))]


def before_first_region(source: str) -> str:
    lines = source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if BEGIN_RE.match(line):
            return "".join(lines[:i])
    return source


def _imports_exercises(source: str) -> bool:
    return bool(IMPORT_EXERCISES_RE.search(source))


def _insert_import(source: str) -> str:
    lines = source.splitlines(keepends=True)
    at = 1 if lines and lines[0].startswith("%%") else 0
    return "".join(lines[:at] + [IMPORT_LINE + "\n"] + lines[at:])


# --------------------------------------------------------------------------- markdown cells


@dataclass
class Fence:
    start: int  # line of the opening fence
    stop: int  # line of the closing fence (inclusive); len(lines) - 1 if unclosed
    name: str
    closed: bool
    body: List[str]


def find_directives(lines: Sequence[str]) -> List[Fence]:
    """Top-level MyST directive blocks of a markdown cell (nested ones are part of their parent)."""
    out: List[Fence] = []
    i = 0
    while i < len(lines):
        m = FENCE_OPEN_RE.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m.group("fence")
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j].rstrip("\n")):
            j += 1
        closed = j < len(lines)
        stop = j if closed else len(lines) - 1
        out.append(Fence(i, stop, m.group("name"), closed, list(lines[i + 1 : stop])))
        i = stop + 1
    return out


def directive_label(body: Sequence[str]) -> Optional[str]:
    """The ``:label:`` option of a directive (the options are its first lines, each ``:key: value``)."""
    for line in body:
        s = line.strip()
        m = re.match(r":label:\s*(\S+)", s)
        if m:
            return m.group(1)
        if not s.startswith(":"):
            break
    return None


@dataclass
class _MarkdownState:
    chapter: Optional[str]
    n_exercises: int = 0
    current: Optional[str] = None  # the name of the latest exercise
    gated: Optional[str] = None  # inside a gated solution: where its {solution-start} is


def _check_form(text: str, where: str) -> None:
    m = UNSUPPORTED_RE.search(text)
    if m is None:
        return
    line = text[: m.start()].count("\n") + 1
    if m.group("gated"):
        what = f"a gated {{{m.group('gated')}}}"
    else:
        what = f"a {m.group('fence')[0] * 3} fence around {{{m.group('name')}}}"
    raise EditionError(
        f"{where}, line {line}: {what} is not a form the book uses; write it as a "
        f"```{{exercise}} or ```{{solution}} block (backticks, options as :label: lines)"
    )


def _strip_markdown(lines: Sequence[str], state: _MarkdownState, where: str, nested: bool = False) -> str:
    """Remove {solution} blocks (also nested in other directives) and, across cells, everything
    from a {solution-start} block to its {solution-end} block (``state.gated`` says whether the
    cell starts inside one)."""
    keep: List[str] = []
    pos = 0

    def text(part: Sequence[str]) -> None:
        if state.gated is None:
            keep.extend(part)

    for d in find_directives(lines):
        text(lines[pos : d.start])
        pos = d.stop + 1
        if d.name in ("solution-start", "solution-end"):
            if nested:
                raise EditionError(
                    f"{where}, line {d.start + 1}: a {{{d.name}}} inside another directive is not "
                    "a form the book uses; put it at the top level of the markdown cell"
                )
            if not d.closed:
                raise EditionError(f"{where}: the {{{d.name}}} block opened on line {d.start + 1} is never closed")
            if d.name == "solution-start":
                if state.gated is not None:
                    raise EditionError(
                        f"{where}, line {d.start + 1}: a {{solution-start}} inside the gated solution "
                        f"opened at {state.gated}; close that one with ```{{solution-end}} first"
                    )
                state.gated = f"{where}, line {d.start + 1}"
            else:
                if state.gated is None:
                    raise EditionError(
                        f"{where}, line {d.start + 1}: a {{solution-end}} with no {{solution-start}} before it"
                    )
                state.gated = None
            continue
        if state.gated is not None:
            if d.name == "exercise":
                raise EditionError(
                    f"{where}, line {d.start + 1}: an {{exercise}} inside the gated solution opened at "
                    f"{state.gated}; close it with ```{{solution-end}} first"
                )
            continue  # part of the gated solution: removed
        if d.name == "exercise":
            if d.body and d.body[0].strip() == "---":
                raise EditionError(
                    f"{where}, line {d.start + 2}: a '---' options block is not a form the book uses; "
                    "write the options as ':label: ...' lines"
                )
            state.n_exercises += 1
            label = directive_label(d.body)
            base = f"Exercise {state.chapter}.{state.n_exercises}" if state.chapter else f"Exercise {state.n_exercises}"
            state.current = f"{base} ({label})" if label else base
        if not d.closed and d.name == "solution":
            raise EditionError(f"{where}: the {{{d.name}}} block opened on line {d.start + 1} is never closed")
        if d.name == "solution":
            continue
        if d.closed:  # keep the directive, minus any solution nested in it
            keep.append(lines[d.start])
            keep.append(_strip_markdown(d.body, state, where, nested=True))
            keep.append(lines[d.stop])
        else:
            keep.extend(lines[d.start : d.stop + 1])
    text(lines[pos:])
    return "".join(keep)


def _tidy_blank_lines(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n") if text.strip() else ""


# --------------------------------------------------------------------------- notebooks


def _tags(cell) -> List[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _bound_names(code: str) -> set:
    """Names a piece of top-level code binds (best effort)."""
    tree = _parse_cell(textwrap.dedent(code))
    names: Set[str] = set()
    if tree is None:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add((a.asname or a.name).split(".")[0])
    return names


def _names(code: str) -> Tuple[set, set]:
    """(bound, loaded) names of a cell (best effort)."""
    tree = _parse_cell(code)
    if tree is None:
        return set(), set()
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return _bound_names(code), loaded


def make_student(nb, name: str, report: Report):
    """Return the student edition of notebook ``nb`` (not modified); ``name`` is its file name."""
    nb = copy.deepcopy(nb)
    m = CHAPTER_RE.match(name)
    chapter = str(int(m.group(1))) if m else None
    state = _MarkdownState(chapter)
    exercises_imported = False
    solution_only: List[Tuple[str, set]] = []  # (where, names bound only in top-level solutions)
    cells, positions = [], []  # the cells kept, and their 1-based positions in the original

    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index + 1}" + (f" (id {cell['id']})" if cell.get("id") else "")
        if cell.cell_type == "markdown":
            _check_form(cell.source, where)
            new = _strip_markdown(cell.source.splitlines(keepends=True), state, where)
            if new != cell.source:
                new = _tidy_blank_lines(new)
                if not new.strip():
                    continue  # the cell held only solutions
                cell.source = new
            cells.append(cell)
            positions.append(index + 1)
            continue
        if cell.cell_type != "code":
            cells.append(cell)
            positions.append(index + 1)
            continue

        label = state.current or where.split(" (id ")[0]
        source, n_regions, regions = stub_code(cell.source, label, where)
        tagged = SOLUTION_TAG in _tags(cell)
        if state.gated is not None and not tagged:
            raise EditionError(
                f"{where}: a code cell inside the gated solution opened at {state.gated} must be tagged "
                f"'{SOLUTION_TAG}' (and mark its answer with '### BEGIN SOLUTION' ... '### END SOLUTION'), "
                "or its code and outputs would reach the student edition"
            )
        if n_regions:
            if not tagged:
                report.warnings.append(f"{where}: has a '### BEGIN SOLUTION' region but is not tagged '{SOLUTION_TAG}'")
            if not (exercises_imported or _imports_exercises(before_first_region(cell.source))):
                source = _insert_import(source)
            cell.source = source
            bound_only = set()
            for code, in_function in regions:
                if not in_function:
                    bound_only |= _bound_names(code)
            if bound_only:
                solution_only.append((where, bound_only))
        elif tagged:
            report.warnings.append(
                f"{where}: is tagged '{SOLUTION_TAG}' but has no '### BEGIN SOLUTION' region; "
                "its code stays in the student edition"
            )
        if tagged or n_regions:
            cell.outputs = []
            cell.execution_count = None
            md = cell.metadata
            if "tags" in md:
                md["tags"] = [t for t in md["tags"] if t not in HIDE_TAGS]
                if not md["tags"]:
                    del md["tags"]
            if isinstance(md.get("jupyter"), dict) and "source_hidden" in md["jupyter"]:
                del md["jupyter"]["source_hidden"]
                if not md["jupyter"]:
                    del md["jupyter"]
        if _imports_exercises(cell.source):
            exercises_imported = True
        cells.append(cell)
        positions.append(index + 1)

    if state.gated is not None:
        raise EditionError(
            f"{name}: the gated solution opened at {state.gated} has no ```{{solution-end}} block "
            "before the end of the notebook"
        )
    nb.cells = cells

    if solution_only:  # names bound only inside top-level solutions, used elsewhere
        bound_elsewhere: Set[str] = set()
        loaded: Dict[str, int] = {}  # name -> 1-based position of the first cell that reads it
        for position, cell in zip(positions, cells):
            if cell.cell_type != "code":
                continue
            bound, reads = _names(cell.source)
            bound_elsewhere |= bound
            for n in reads:
                loaded.setdefault(n, position)
        for where, names in solution_only:
            for n in sorted(names - bound_elsewhere):
                if n in loaded:
                    report.warnings.append(
                        f"{where}: '{n}' is defined only inside the solution but used in the student "
                        f"edition (cell {loaded[n]} of {name}); running it will raise NameError there"
                    )
    return nb


README_INSTRUCTOR = """\
# Instructor edition

Generated by `python scripts/make_editions.py` -- do not edit; edit `notebooks/` and rerun.

These notebooks are exact copies of the book's chapters: every exercise's solution (the code
between `### BEGIN SOLUTION` and `### END SOLUTION`, and the `{{solution}}` blocks) and every
output is included. Do not hand them to students; give them `../student/`.

Notebooks:

{listing}
"""

README_STUDENT = """\
# Student edition

Generated by `python scripts/make_editions.py` -- do not edit; edit `notebooks/` and rerun.

In these notebooks the solutions are taken out:

- In each implementation exercise, the solution code is replaced by
  `exercises.todo("Exercise N.M (label)")`. Write your code in its place and run the cell: the
  checker from `lenet.exercises` at the end of the cell prints `PASS`, `FAIL` with a hint, or
  `NOT DONE YET` while the stub is still there.
- The worked solutions of the other exercises are removed, and so are the outputs of the
  exercise cells.

Run the first code cell (setup) first: it installs the book's `lenet` package when it is
missing (on Colab, for example). Running a notebook top to bottom works before you have done
any exercise.

Notebooks:

{listing}
"""


def _listing(names: Sequence[str]) -> str:
    return "\n".join(f"- `{n}`" for n in names) or "(none)"


def build(notebooks: Sequence[Path], out: Path, strict: bool = False, prune: bool = False, log=print) -> Report:
    """Build both editions; raise EditionError (nothing written) on a malformed notebook."""
    report = Report()
    seen: Dict[str, Path] = {}
    students = {}
    for path in notebooks:
        if path.name in seen:
            raise EditionError(f"two notebooks named {path.name}: {seen[path.name]} and {path}")
        seen[path.name] = path
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:
            raise EditionError(f"{path}: cannot read the notebook: {exc}") from None
        try:
            student = make_student(nb, path.name, report)
        except EditionError:
            raise
        try:
            nbformat.validate(student)
        except nbformat.ValidationError as exc:
            raise EditionError(f"{path.name}: the student edition is not a valid notebook: {exc.message}") from None
        students[path.name] = student
    if strict and report.warnings:
        raise EditionError("warnings are errors (--strict):\n  " + "\n  ".join(report.warnings))

    inst_dir, stud_dir = out / "instructor", out / "student"
    inst_dir.mkdir(parents=True, exist_ok=True)
    stud_dir.mkdir(parents=True, exist_ok=True)
    for name, path in seen.items():
        shutil.copyfile(path, inst_dir / name)
        nbformat.write(students[name], stud_dir / name)
    if prune:
        for folder in (inst_dir, stud_dir):
            for stale in folder.glob("*.ipynb"):
                if stale.name not in seen:
                    stale.unlink()
                    log(f"removed stale {stale}")
    names = sorted(p.name for p in (inst_dir.glob("*.ipynb")))
    (inst_dir / "README.md").write_text(README_INSTRUCTOR.format(listing=_listing(names)), encoding="utf-8")
    names = sorted(p.name for p in (stud_dir.glob("*.ipynb")))
    (stud_dir / "README.md").write_text(README_STUDENT.format(listing=_listing(names)), encoding="utf-8")
    return report


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to process (default: notebooks/*.ipynb of the repository)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "editions",
        help="output folder; instructor/ and student/ are written in it (default: editions/)",
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    args = parser.parse_args(argv)

    notebooks = list(args.notebooks)
    prune = not notebooks
    if not notebooks:
        notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
        if not notebooks:
            print(f"make_editions: no notebooks in {ROOT / 'notebooks'}", file=sys.stderr)
            return 1
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        print(f"make_editions: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 1
    try:
        report = build(notebooks, args.out, strict=args.strict, prune=prune)
    except EditionError as exc:
        print(f"make_editions: error: {exc}", file=sys.stderr)
        return 1
    for w in report.warnings:
        print(f"make_editions: warning: {w}", file=sys.stderr)
    print(f"make_editions: wrote {len(notebooks)} notebook(s) to {args.out / 'instructor'} and {args.out / 'student'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
