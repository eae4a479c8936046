"""The book's rules for its prose, checked on the committed notebooks.

* No answer outside its block: after a chapter's "## Exercises" heading, a markdown cell holds
  nothing but ``{exercise}`` and ``{solution}`` blocks (the student edition removes the solution
  blocks, so text between them would give answers away), and a code cell is a solution cell.
* No measured number typed into the training chapters: a percentage or a duration in the prose of
  chapters 6-8 is a ``{glue:text}`` value computed in the notebook, or a figure the paper or the
  source published (or a round target such as "99%"), never a number copied from a run.
* Cross-references to exercises use ``{ref}`` to the label, so their numbers cannot go stale.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TRAINING_CHAPTERS = [p for p in NOTEBOOKS if p.name[:2] in ("06", "07", "08")]

#: Percentages the prose may state without a computation: published results, each with where it
#: is published, and round numbers used as targets or as hypotheses ("99%", "an error of 1%").
PUBLISHED = {
    "0.95%": "LeCun et al. 1998, Sec. III.B: LeNet-5 without distortions",
    "0.8%": "LeCun et al. 1998, Sec. III.B: LeNet-5 with distortions",
    "0.35%": "LeCun et al. 1998, Sec. III.B: training error after 19 passes",
    "99.01%": "the source tutorial's Adam run",
    "98.99%": "the source tutorial's SGD run",
}
ROUND = {"1%", "10%", "90%", "95%", "97.5%", "98.5%", "99%", "99.0%", "100%"}

BLOCK = re.compile(r"^(?P<fence>`{3,}|:{3,}|~{3,})[ \t]*\{(?:exercise|solution)\}.*?^(?P=fence)[ \t]*$", re.S | re.M)
# A gated solution: from a {solution-start} block to its {solution-end} block, across cells
GATED_START = re.compile(r"^`{3,}[ \t]*\{solution-start\}", re.M)
GATED_END = re.compile(r"^(?P<fence>`{3,})[ \t]*\{solution-end\}.*?^(?P=fence)[ \t]*$", re.S | re.M)
STRIP = [
    re.compile(r"\{glue:text\}`[^`]*`"),  # pasted values
    re.compile(r"\{[a-z:]+\}`[^`]*`"),  # other roles (cite, ref, term, doc)
    re.compile(r"\$\$.*?\$\$", re.S),  # display maths
    re.compile(r"\$[^$]*\$"),  # inline maths
    re.compile(r"`[^`]*`"),  # code
    re.compile(r"^(`{3,}|~{3,}).*?^\1", re.S | re.M),  # code blocks
]
PERCENT = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)\s?%")
DURATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(s|seconds?|minutes?|min|hours?|ms)\b")
TIMES = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(times|x)\s+(faster|slower|sooner|fewer|more)\b")
EXERCISE_NUMBER = re.compile(r"\b[Ee]xercise \d+\.\d+\b")


def _cells(path):
    return nbformat.read(path, as_version=4).cells


def _prose(text: str) -> str:
    for pattern in STRIP:
        text = pattern.sub(" ", text)
    return text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_answer_outside_the_exercise_and_solution_blocks(path):
    cells = _cells(path)
    start = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and "## Exercises" in c.source), None)
    assert start is not None, f"{path.name} has no '## Exercises' section"
    tail = cells[start].source.split("## Exercises", 1)[1]
    assert not tail.strip(), f"{path.name}: text after the '## Exercises' heading in its cell: {tail.strip()[:80]!r}"
    gated = False
    for i, cell in enumerate(cells[start + 1 :], start + 1):
        if cell.cell_type == "markdown":
            text = cell.source
            if gated:  # inside a gated solution: everything up to its {solution-end} is the solution
                end = GATED_END.search(text)
                if end is None:
                    continue
                text, gated = text[end.end() :], False
            begin = GATED_START.search(text)
            if begin is not None:
                text, gated = text[: begin.start()], True
            rest = BLOCK.sub("", text).strip()
            assert not rest, (
                f"{path.name}, cell {i}: text outside an exercise or solution block, which the "
                f"student edition would keep: {rest[:100]!r}"
            )
        else:
            tags = cell.metadata.get("tags", [])
            bookkeeping = "remove-cell" in tags and "glue" in cell.source  # the chapter's glued times, last
            assert "solution" in tags or bookkeeping, (
                f"{path.name}, cell {i}: a code cell among the exercises that is not a solution"
            )


@pytest.mark.parametrize("path", TRAINING_CHAPTERS, ids=lambda p: p.stem)
def test_no_measured_number_is_typed_into_the_training_chapters(path):
    found = []
    for i, cell in enumerate(_cells(path)):
        if cell.cell_type != "markdown":
            continue
        text = _prose(cell.source)
        found += [
            (i, m.group(0))
            for m in PERCENT.finditer(text)
            if m.group(0).replace(" ", "") not in PUBLISHED.keys() | ROUND
        ]
        found += [(i, m.group(0)) for m in DURATION.finditer(text)]
        found += [(i, m.group(0)) for m in TIMES.finditer(text)]
    assert not found, (
        f"{path.name}: measured numbers typed into the prose (glue them from a cell or a record, "
        f"or cite a published figure): {found}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercises_are_referred_to_by_label(path):
    for i, cell in enumerate(_cells(path)):
        if cell.cell_type == "markdown":
            text = BLOCK.sub("", cell.source)
            assert not EXERCISE_NUMBER.search(text), (
                f"{path.name}, cell {i}: {EXERCISE_NUMBER.search(text).group(0)!r} typed; use {{ref}}`label`"
            )


def test_the_rules_catch_what_they_are_for():
    leak = "```{exercise} E\n:label: ex\n\nQ?\n```\n\nThe answer is 42.\n"
    assert BLOCK.sub("", leak).strip() == "The answer is 42."
    nested = "````{solution} ex\n:class: dropdown\n\n```python\nx = 1\n```\n\nText.\n````\n"
    assert BLOCK.sub("", nested).strip() == ""
    text = _prose("took 8.4 minutes, {glue:text}`c6_error` and 1.04% error, 9.3 times faster, $p = 1.5\\%$")
    assert [m.group(0) for m in PERCENT.finditer(text)] == ["1.04%"]
    assert [m.group(0) for m in DURATION.finditer(text)] == ["8.4 minutes"]
    assert [m.group(0) for m in TIMES.finditer(text)] == ["9.3 times faster"]
