"""Numbers for the prose: a value computed in a cell, pasted into the text around it.

``glue("c6_error", f"{error:.2%}")`` in a code cell, ``{glue:text}`c6_error``` in a markdown cell:
the HTML book shows the value where the role stands, so no measured number is typed into the
text. This is myst-nb's glue (its ``display=False`` form) written out, so that chapters also run
where myst-nb is not installed (Colab): the value is displayed as a hidden MIME bundle that
myst-nb reads when it builds the book and that Jupyter does not show. Used by chapters 6-8.
"""

from __future__ import annotations

from typing import Any

from IPython.display import display

#: The MIME prefix myst-nb looks for (``myst_nb.ext.glue.GLUE_PREFIX``).
GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value: Any) -> None:
    """Attach ``value`` to the cell's output under ``name`` for ``{glue:text}`name``` (a string is
    pasted as it is; a number can be formatted in the role, ``{glue:text}`name:.2f```).

    Explained in: chapter 4, "Does the table matter? A short experiment".
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"glue name {name!r} must be letters, digits, '_' or '-'")
    display(
        {GLUE_PREFIX + "text/plain": repr(value)},
        raw=True,
        metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}},
    )


__all__ = ["GLUE_PREFIX", "glue"]
