"""Show the code the book runs: a function's, class's or method's source, highlighted.

The chapters teach with the package's own code, not with a copy of it: ``show_source(conv2d_loops)``
displays the source of :func:`lenet.kernels.conv2d_loops` exactly as it is in the file, so what a
student reads is what the chapter then runs. In a notebook, and in the HTML book, it renders as a
highlighted Python block; :func:`source_text` gives the text itself.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from typing import Any

from IPython.display import Markdown

_CHAPTERS_LINE = re.compile(r"\n[ \t]*(?:Explained in|Chapters): [^\n]*\.[ \t]*(?=\n)")


def source_text(obj: Any, docstring: bool = True) -> str:
    """The source of ``obj`` (a function, class or method), dedented, without the ``Explained in:``
    line of its docstring (a note for the book's maintainers); without the docstring at all when
    ``docstring`` is False.
    """
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as exc:
        raise TypeError(
            f"show_source needs a function, class or method defined in a file, got {obj!r} ({exc})"
        ) from None
    source = _CHAPTERS_LINE.sub("", source)
    if not docstring:
        source = re.sub(r'(:\n)([ \t]+)[rR]?"""(?:.|\n)*?"""[ \t]*\n', r"\1", source, count=1)
    return re.sub(r'\n\s*\n(\s*""")', r"\n\1", source).rstrip() + "\n"


def show_source(obj: Any, docstring: bool = True) -> Markdown:
    """Display the source of ``obj`` as a highlighted Python block, headed by where it lives
    (``lenet/kernels.py``, say), as chapter 2 shows ``conv2d_loops``.

    Explained in: chapter 1, "A 32x32 image through every layer".
    """
    module = inspect.getmodule(obj)
    where = module.__name__.replace(".", "/") + ".py" if module is not None else ""
    header = f"# {where}\n" if where else ""
    return Markdown(f"```python\n{header}{source_text(obj, docstring)}```")


__all__ = ["source_text", "show_source"]
