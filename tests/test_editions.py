"""Tests of scripts/make_editions.py: the instructor and student editions of the notebooks."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import nbformat
import pytest
from conftest import load_script
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


me = load_script("make_editions")

SOLUTION_DIRECTIVE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})[ \t]*\{solution(-start|-end)?\}", re.M)


# --------------------------------------------------------------------------- a synthetic chapter


def synthetic_notebook():
    """A small chapter with every kind of exercise; the string SECRET marks solution text."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_markdown_cell("# 2. A synthetic chapter\n\nSome prose."),
        new_code_cell(
            "from lenet import exercises\nprint('ready')",
            outputs=[new_output("stream", name="stdout", text="ready\n")],
            execution_count=1,
        ),
        new_code_cell(
            "x = 6 * 7\nx",
            execution_count=2,
            outputs=[new_output("execute_result", data={"text/plain": "42"}, execution_count=2)],
        ),
        new_markdown_cell(
            "## Exercises\n\n"
            "```{exercise} Output size\n:label: ex-size\n\nWrite `my_output_size(n, k, padding, stride)`.\n```\n\n"
            "````{solution} ex-size\n:class: dropdown\n\nCount the positions:\n\n"
            "```python\nSECRET_MD_1 = (n + 2 * padding - k) // stride + 1\n```\n````\n\n"
            "Then run the checker."
        ),
        new_code_cell(
            "def my_output_size(n, k, padding=0, stride=1):\n"
            '    """The output length of a convolution."""\n'
            "    ### BEGIN SOLUTION\n"
            "    SECRET_IMPL = (n + 2 * padding - k) // stride + 1\n"
            "    return SECRET_IMPL\n"
            "    ### END SOLUTION\n"
            "\n"
            "exercises.check_output_size(my_output_size)",
            metadata={"tags": ["solution", "hide-input"]},
            execution_count=3,
            outputs=[
                new_output("stream", name="stdout", text="PASS output_size: 12 random cases agree with the reference\n")
            ],
        ),
        new_markdown_cell(
            "```{exercise} By hand\n:label: ex-hand\n\nWhat is the output size of C3?\n```\n\n"
            "```{solution} ex-hand\n:class: dropdown\nSECRET_MD_2: 14 - 5 + 1 = 10.\n```"
        ),
        new_code_cell(
            "### BEGIN SOLUTION\nSECRET_TOP = 14 - 5 + 1\nprint('C3 output size:', SECRET_TOP)\n### END SOLUTION",
            metadata={"tags": ["solution", "hide-input"]},
            execution_count=4,
            outputs=[new_output("stream", name="stdout", text="C3 output size: 10\n")],
        ),
        new_markdown_cell("```{solution} ex-hand\nSECRET_MD_3\n```"),  # a cell holding only a solution
        # a gated solution, as the book puts a solution's code cell inside its dropdown: written
        # text, then the code cell, then more text and the end, over three cells
        new_markdown_cell(
            "```{exercise} Gated\n:label: ex-gated\n\nPrint the number of C1 maps.\n```\n\n"
            "```{solution-start} ex-gated\n:class: dropdown\n```\n\nSECRET_MD_4: C1 has six maps."
        ),
        new_code_cell(
            "### BEGIN SOLUTION\nSECRET_GATED = 6\nprint('C1 maps:', SECRET_GATED)\n### END SOLUTION",
            metadata={"tags": ["solution"]},
            execution_count=5,
            outputs=[new_output("stream", name="stdout", text="C1 maps: 6\n")],
        ),
        new_markdown_cell("SECRET_MD_5, more of the solution.\n\n```{solution-end}\n```\n\nAfter the gated solution."),
        new_code_cell(
            "print('the end')", execution_count=6, outputs=[new_output("stream", name="stdout", text="the end\n")]
        ),
    ]
    nbformat.validate(nb)
    return nb


@pytest.fixture
def editions(tmp_path):
    src = tmp_path / "notebooks" / "02_synthetic.ipynb"
    src.parent.mkdir()
    nbformat.write(synthetic_notebook(), src)
    out = tmp_path / "editions"
    assert me.main(["--out", str(out), str(src)]) == 0
    return src, out / "instructor" / src.name, out / "student" / src.name


def _execute_all(paths, cwd: Path, timeout: int = 120):
    """Execute notebooks concurrently, each in a fresh kernel; return the executed notebooks."""
    from nbclient import NotebookClient

    nbs = [nbformat.read(p, as_version=4) for p in paths]
    clients = [
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
        for nb in nbs
    ]

    async def run():
        await asyncio.gather(*(c.async_execute() for c in clients))

    asyncio.run(run())
    return nbs


def _text(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_instructor_edition_is_an_exact_copy(editions):
    src, instructor, _ = editions
    assert instructor.read_bytes() == src.read_bytes()
    assert (instructor.parent / "README.md").is_file()
    assert (instructor.parent.parent / "student" / "README.md").is_file()


def test_student_edition_has_no_solutions(editions):
    src, _, student = editions
    text = student.read_text(encoding="utf-8")
    assert "SECRET" not in text, "solution text leaked into the student edition"
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    nb = nbformat.read(student, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert not SOLUTION_DIRECTIVE_RE.search(cell.source), cell.source
    # the exercises and the prose around the solutions are still there
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "```{exercise} Output size" in md and "```{exercise} By hand" in md and "```{exercise} Gated" in md
    assert "Then run the checker." in md and "After the gated solution." in md


def test_student_edition_stubs(editions):
    _, _, student = editions
    nb = nbformat.read(student, as_version=4)
    impl, top, gated = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    # inside a function: one line, indented like the region, so the function stays valid
    assert impl.source == (
        "def my_output_size(n, k, padding=0, stride=1):\n"
        '    """The output length of a convolution."""\n'
        '    exercises.todo("Exercise 2.1 (ex-size)")\n'
        "\n"
        "exercises.check_output_size(my_output_size)"
    )
    # at the top level: wrapped, so that running the cell prints instead of raising
    assert top.source == (
        'try:\n    exercises.todo("Exercise 2.2 (ex-hand)")\nexcept NotImplementedError as exc:\n    print(exc)'
    )
    # the code cell of a gated solution stays, stubbed: the student writes the answer in it
    assert gated.source == (
        'try:\n    exercises.todo("Exercise 2.3 (ex-gated)")\nexcept NotImplementedError as exc:\n    print(exc)'
    )
    for cell in (impl, top, gated):
        compile(cell.source, "<cell>", "exec")
        assert "hide-input" not in cell.metadata.get("tags", [])


def test_only_solution_cells_lose_their_outputs(editions):
    src, _, student = editions
    orig = {c.id: c for c in nbformat.read(src, as_version=4).cells}
    new = nbformat.read(student, as_version=4)
    kept_ids = [c.id for c in new.cells]
    assert len(kept_ids) == len(orig) - 1  # the markdown cell holding only a solution is gone
    for cell in new.cells:
        before = orig[cell.id]
        if cell.cell_type != "code":
            continue
        if "solution" in before.metadata.get("tags", []):
            assert cell.outputs == [] and cell.execution_count is None
        else:
            assert cell == before, "a cell without a solution changed"
            assert cell.outputs, "outputs of ordinary cells are kept"


def test_student_notebook_runs_and_instructor_passes(editions, tmp_path, monkeypatch):
    _, instructor, student = editions
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    stu, ins = _execute_all([student, instructor], tmp_path)  # raises CellExecutionError on an error
    out = _text(stu)
    assert "NOT DONE YET output_size: Exercise 2.1 (ex-size)" in out, out
    assert "Exercise 2.2 (ex-hand): not implemented yet" in out, out
    assert "Exercise 2.3 (ex-gated): not implemented yet" in out, out
    assert "the end" in out
    assert "PASS" not in out and "Traceback" not in out
    out = _text(ins)
    assert "PASS output_size" in out and "NOT DONE YET" not in out, out
    assert "C3 output size: 10" in out and "C1 maps: 6" in out


# --------------------------------------------------------------------------- the stubs, unit by unit


@pytest.mark.parametrize(
    "source, expected",
    [
        # a method: plain call, at the method's indentation
        (
            "class A:\n    def f(self):\n        ### BEGIN SOLUTION\n        return 1\n        ### END SOLUTION\n",
            'class A:\n    def f(self):\n        exercises.todo("Ex")\n',
        ),
        # an if-branch inside a function is still inside the function
        (
            "def f(x):\n    if x:\n        ### BEGIN SOLUTION\n        return 1\n"
            "        ### END SOLUTION\n    return 0",
            'def f(x):\n    if x:\n        exercises.todo("Ex")\n    return 0',
        ),
        # a loop at the top level runs when the cell runs: wrapped, at the loop's indentation
        (
            "for i in range(2):\n    ### BEGIN SOLUTION\n    print(i)\n    ### END SOLUTION\nprint('done')",
            'for i in range(2):\n    try:\n        exercises.todo("Ex")\n    except NotImplementedError as exc:\n'
            "        print(exc)\nprint('done')",
        ),
        # IPython magics do not stop the function test
        (
            "%matplotlib inline\ndef f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n",
            '%matplotlib inline\ndef f():\n    exercises.todo("Ex")\n',
        ),
        # two regions in one cell
        (
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
            "def g():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION\n",
            'def f():\n    exercises.todo("Ex")\ndef g():\n    exercises.todo("Ex")\n',
        ),
    ],
)
def test_stub_code(source, expected):
    new, n, _ = me.stub_code(source, "Ex", "nb, cell 1")
    assert new == expected
    assert n >= 1


def test_import_inserted_when_missing():
    nb = new_notebook()
    nb.cells = [
        new_code_cell("import torch"),
        new_code_cell(
            "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\nexercises.check_accuracy(f)",
            metadata={"tags": ["solution"]},
        ),
        new_code_cell(
            "def g():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", metadata={"tags": ["solution"]}
        ),
    ]
    student = me.make_student(nb, "03_x.ipynb", me.Report())
    assert student.cells[1].source.startswith("from lenet import exercises\ndef f():\n")
    assert "import" not in student.cells[2].source  # imported earlier in the notebook
    assert nb.cells[1].source.startswith("def f():")  # the input is not modified


@pytest.mark.parametrize(
    "markdown, message",
    [
        ("```{exercise-start}\n:label: ex-g\n```\nDo it.\n```{exercise-end}\n```", "a gated {exercise-start}"),
        (":::{exercise} E\n:label: ex-c\nDo.\n:::", "a ::: fence around {exercise}"),
        ("~~~{solution} ex-c\nSECRET\n~~~", "a ~~~ fence around {solution}"),
        ("```{exercise} E\n---\nlabel: ex-y\n---\nDo.\n```", "a '---' options block"),
    ],
)
def test_forms_the_book_does_not_use_fail_loudly(markdown, message):
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# 4. X"), new_markdown_cell(markdown)]
    with pytest.raises(me.EditionError) as info:
        me.make_student(nb, "04_x.ipynb", me.Report())
    assert "04_x.ipynb, cell 2" in str(info.value) and message in str(info.value)
    assert "is not a form the book uses" in str(info.value)


@pytest.mark.parametrize(
    "cells, message",
    [
        (
            ["Before.\n\n```{solution-start} ex-g\n:class: dropdown\n```\nSECRET text"],
            "has no ```{solution-end} block before the end of the notebook",
        ),
        (["Text.\n\n```{solution-end}\n```"], "a {solution-end} with no {solution-start} before it"),
        (
            ["```{solution-start} ex-g\n```\n\n```{solution-start} ex-h\n```"],
            "a {solution-start} inside the gated solution",
        ),
        (["````{exercise} E\n:label: ex-e\n\n```{solution-start} ex-e\n```\n````"], "inside another directive"),
        (["```{solution-start} ex-g\n```", "print('SECRET')", "```{solution-end}\n```"], "must be tagged 'solution'"),
    ],
)
def test_malformed_gated_solutions_fail_clearly(cells, message):
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# 4. X")] + [
        new_code_cell(c) if c.startswith("print") else new_markdown_cell(c) for c in cells
    ]
    with pytest.raises(me.EditionError) as info:
        me.make_student(nb, "04_x.ipynb", me.Report())
    assert "04_x.ipynb" in str(info.value) and message in str(info.value), str(info.value)


def test_gated_solution_keeps_what_follows_its_end():
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("```{exercise} E\n:label: ex-e\nDo.\n```\n\n```{solution-start} ex-e\n```\nSECRET"),
        new_markdown_cell("SECRET too"),
        new_markdown_cell("SECRET\n```{solution-end}\n```\nKept."),
        new_markdown_cell("Also kept."),
    ]
    student = me.make_student(nb, "04_x.ipynb", me.Report())
    assert [c.source for c in student.cells] == ["```{exercise} E\n:label: ex-e\nDo.\n```", "Kept.", "Also kept."]


# --------------------------------------------------------------------------- malformed markers


@pytest.mark.parametrize(
    "source, message",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "has no matching '### END SOLUTION'"),
        ("### BEGIN SOLUTION\nx = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n", "nested"),
        ("x = 1\n### END SOLUTION\n", "has no '### BEGIN SOLUTION' before it"),
    ],
)
def test_malformed_markers_fail_clearly(tmp_path, capsys, source, message):
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# 5. Broken"),
        new_code_cell("print(1)"),
        new_code_cell(source, metadata={"tags": ["solution"]}),
    ]
    path = tmp_path / "05_broken.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "editions"
    assert me.main(["--out", str(out), str(path)]) != 0
    err = capsys.readouterr().err
    assert "05_broken.ipynb" in err and "cell 3" in err and nb.cells[2].id in err, err
    assert message in err, err
    assert not (out / "student" / "05_broken.ipynb").exists(), "nothing is written on an error"


def test_unclosed_solution_block_fails(tmp_path, capsys):
    nb = new_notebook()
    nb.cells = [new_markdown_cell("```{exercise} E\nDo.\n```\n\n````{solution}\nSECRET\n```")]
    path = tmp_path / "06_broken.ipynb"
    nbformat.write(nb, path)
    assert me.main(["--out", str(tmp_path / "e"), str(path)]) != 0
    err = capsys.readouterr().err
    assert "06_broken.ipynb, cell 1" in err and "never closed" in err, err


# --------------------------------------------------------------------------- the book's notebooks


@pytest.fixture(scope="module")
def real_editions(tmp_path_factory):
    if not NOTEBOOKS:
        pytest.skip("no notebooks/*.ipynb yet")
    out = tmp_path_factory.mktemp("editions")
    assert me.main(["--out", str(out)]) == 0, "make_editions failed on the book's notebooks (see stderr)"
    return out


@pytest.mark.parametrize(
    "path",
    NOTEBOOKS or [pytest.param(None, marks=pytest.mark.skip(reason="no notebooks/*.ipynb yet"))],
    ids=lambda p: p.name if p else "none",
)
def test_real_notebook_editions(real_editions, path):
    assert (real_editions / "instructor" / path.name).read_bytes() == path.read_bytes()
    student = nbformat.read(real_editions / "student" / path.name, as_version=4)
    nbformat.validate(student)
    for cell in student.cells:
        if cell.cell_type == "code":
            assert "### BEGIN SOLUTION" not in cell.source and "### END SOLUTION" not in cell.source
        elif cell.cell_type == "markdown":
            assert not SOLUTION_DIRECTIVE_RE.search(cell.source), f"a {{solution}} block is left: {cell.source[:200]}"
    by_id = {c.get("id"): c for c in student.cells}
    original = nbformat.read(path, as_version=4)
    for index, cell in enumerate(original.cells):
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            stub = by_id.get(cell.get("id"))
            assert stub is not None, f"cell {index + 1} is missing from the student edition"
            assert "exercises.todo(" in stub.source, f"cell {index + 1} has no stub"
            assert stub.outputs == [] and stub.execution_count is None
        if "solution" in cell.metadata.get("tags", []) and cell.cell_type == "code":
            assert "### BEGIN SOLUTION" in cell.source, (
                f"cell {index + 1} is tagged 'solution' but has no '### BEGIN SOLUTION' region: "
                "its answer would stay in the student edition"
            )


# --------------------------------------------------------------------------- the book's own student edition


@pytest.mark.slow
def test_the_books_student_edition_runs_top_to_bottom_and_waits_for_every_answer(tmp_path):
    """Every chapter's student edition, executed in a fresh kernel: no error, every checker says
    NOT DONE YET (none says PASS), every exercise of code gets its friendly stub."""
    out = tmp_path / "editions"
    assert me.main(["--out", str(out), *map(str, NOTEBOOKS)]) == 0
    students = sorted((out / "student").glob("*.ipynb"))
    assert [p.name for p in students] == [p.name for p in NOTEBOOKS]
    executed = []
    for path in students:  # one kernel at a time: two kernels at once oversubscribe the cores (5x slower here)
        executed += _execute_all([path], out / "student", timeout=600)
    for path, nb in zip(students, executed):
        text = _text(nb)
        checks = sum(
            len(re.findall(r"^\s*(?:if )?exercises\.check_\w+\(", c.source, re.M))
            for c in nb.cells
            if c.cell_type == "code"
        )
        assert text.count("NOT DONE YET") >= checks, f"{path.name}: {checks} checkers, output:\n{text[-2000:]}"
        assert "PASS " not in text and "Traceback" not in text, (
            f"{path.name}: a checker passed on a stub, or a traceback"
        )
        stubs = sum(c.source.count("exercises.todo(") for c in nb.cells if c.cell_type == "code")
        assert stubs >= checks, path.name
