"""The package's own conventions, checked on its source."""

from __future__ import annotations

import ast

from conftest import load_script

uses = load_script("chapter_uses")


def test_every_object_a_chapter_uses_names_the_chapter_and_section_that_explain_it():
    found = uses.places()
    wrong = [
        f"lenet.{m}.{n}: says {uses.stated(node)!r}, want {uses.line_for(found[(m, n)])!r}"
        for (m, n), node in uses.public_names().items()
        if uses.stated(node) != uses.line_for(found[(m, n)])
    ]
    assert not wrong, "run `python scripts/chapter_uses.py --write`:\n" + "\n".join(wrong)


def test_no_docstring_says_none():
    said = [
        f"lenet.{m}.{n}"
        for (m, n), node in uses.public_names().items()
        if "Chapters: none" in (ast.get_docstring(node) or "")
    ]
    assert not said


def test_the_use_finder_sees_imports_reexports_and_module_attributes():
    found = uses.places()
    assert found[("data", "load_mnist")][0] == min(
        uses.chapter_of(p) for p in (uses.ROOT / "notebooks").glob("*.ipynb") if "load_mnist" in p.read_text()
    )
    assert found[("models", "LeNet5Classic")] is not None  # `from lenet import LeNet5Classic`, a re-export
    assert found[("sdlm", "curvature")][0] == 6  # sdlm.curvature(...) after `from lenet import sdlm`
    assert found[("metrics", "confusion_matrix")] is not None  # report.confusion_matrix, re-exported by report
    assert found[("cli", "main")] is None
