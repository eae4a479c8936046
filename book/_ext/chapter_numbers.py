"""Number exercises, figures and tables by chapter: Exercise 2.3 is the third of chapter 2.

The chapters carry their number in their title and file name (``notebooks/02_convolution``), and
the table of contents is not numbered, so Sphinx would number exercises and figures straight
through the book (Exercise 1, 2, ..., 31). This extension renumbers every numbered item of a
document whose file name starts with a number, ``NN_``, as ``(NN, rank in the document)``, after
Sphinx has assigned its own numbers. The numbers then match those that
``scripts/make_editions.py`` writes into the student stubs ("Exercise N.M"), and references made
with ``{numref}`` or to an exercise's label use them too. Documents without such a prefix keep
Sphinx's numbers.
"""

from __future__ import annotations

import re
from typing import List

CHAPTER_RE = re.compile(r"(?:^|/)(\d+)_[^/]*$")


def renumber(app, env) -> List[str]:
    changed = []
    for docname, by_type in env.toc_fignumbers.items():
        match = CHAPTER_RE.search(docname)
        if not match:
            continue
        chapter = int(match.group(1))
        for figtype, numbers in by_type.items():
            ordered = sorted(numbers, key=lambda node_id: numbers[node_id])  # document order
            new = {node_id: (chapter, rank) for rank, node_id in enumerate(ordered, start=1)}
            if new != numbers:
                by_type[figtype] = new
                changed.append(docname)
    return sorted(set(changed))


def setup(app):
    # After Sphinx's TocTreeCollector (priority 500) has assigned the book-wide numbers.
    app.connect("env-get-updated", renumber, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
