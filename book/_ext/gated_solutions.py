"""Keep the text written inside a ``{solution-start}`` block (workaround for sphinx-exercise 1.2.1).

A solution with code is a gated solution: ``{solution-start}`` ... code cells ... ``{solution-end}``,
so that its code cells sit inside the folded box. sphinx-exercise 1.2.1 merges the two into one
solution, but its ``MergeGatedSolutions`` transform drops every ``section`` child of the
``solution-start`` node, and the directive's own content is parsed into such a section: text
written *inside* the ``{solution-start}`` block silently disappears from the page. The book's
notebooks write the answer after the block (CONTRIBUTING.md); this transform, which runs just
before the merge, makes the other form safe too, by turning that section into a plain container.
"""

from __future__ import annotations

from docutils import nodes
from sphinx.transforms import SphinxTransform


class KeepSolutionStartText(SphinxTransform):
    default_priority = 9  # sphinx-exercise's MergeGatedSolutions runs at 10

    def apply(self, **kwargs) -> None:
        try:
            from sphinx_exercise.nodes import solution_start_node
        except ImportError:  # no sphinx-exercise: nothing to do
            return
        for start in list(self.document.findall(solution_start_node)):
            for child in list(start.children):
                if type(child) is nodes.section and child.children:
                    child.replace_self(nodes.container("", *child.children, classes=["solution-start-text"]))


def setup(app):
    app.add_transform(KeepSolutionStartText)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
