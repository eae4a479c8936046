"""The package's own conventions, checked on its source."""

from __future__ import annotations

from conftest import load_script

uses = load_script("chapter_uses")


def test_every_public_function_and_class_names_the_chapters_that_use_it():
    found = uses.uses()
    wrong = [f"lenet.{m}.{n}: says {uses.stated(node)!r}, want {uses.line_for(found[(m, n)])!r}"
             for (m, n), node in uses.public_names().items() if uses.stated(node) != uses.line_for(found[(m, n)])]
    assert not wrong, "run `python scripts/chapter_uses.py --write`:\n" + "\n".join(wrong)


def test_the_use_finder_sees_imports_and_module_attributes():
    found = uses.uses()
    assert found[("data", "load_mnist")] == {str(c) for c in range(1, 9)}    # imported by name in every chapter
    assert "6" in found[("sdlm", "curvature")]                              # sdlm.curvature(...) after `from lenet import sdlm`
    assert "6" in found[("metrics", "confusion_matrix")]                    # report.confusion_matrix, re-exported
    assert found[("cli", "main")] == set()
