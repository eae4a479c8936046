"""Numbers for the prose: a value computed in a cell, pasted into the text around it.

``glue("c6_error", f"{error:.2%}")`` in a code cell, ``{glue:text}`c6_error``` in a markdown cell:
the HTML book shows the value where the role stands, so no measured number is typed into the
text. This is myst-nb's glue (its ``display=False`` form) written out, so that chapters also run
where myst-nb is not installed (Colab): the value is displayed as a hidden MIME bundle that
myst-nb reads when it builds the book and that Jupyter does not show. Used by chapters 6-8.
"""

from __future__ import annotations

from typing import Any, Optional

from IPython.display import display

#: The MIME prefix myst-nb looks for (``myst_nb.ext.glue.GLUE_PREFIX``).
GLUE_PREFIX = "application/papermill.record/"


#: The suffix of a value's Chinese twin: ``{glue:text}`name_zh``` in the Chinese edition's text.
ZH_SUFFIX = "_zh"


def glue(name: str, value: Any, zh: Optional[str] = None) -> None:
    """Attach ``value`` to the cell's output under ``name`` for ``{glue:text}`name``` (a string is
    pasted as it is; a number can be formatted in the role, ``{glue:text}`name:.2f```).

    A value in words (a verdict such as "within", a duration) needs its Chinese for the Chinese
    edition: ``zh`` is glued as ``name_zh``, which that edition's text pastes instead.

    Explained in: chapter 4, "Does the table matter? A short experiment".
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"glue name {name!r} must be letters, digits, '_' or '-'")
    display(
        {GLUE_PREFIX + "text/plain": repr(value)},
        raw=True,
        metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}},
    )
    if zh is not None:
        glue(name + ZH_SUFFIX, zh)


__all__ = ["GLUE_PREFIX", "ZH_SUFFIX", "glue"]
