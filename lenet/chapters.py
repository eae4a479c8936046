"""How long a chapter takes to read and to run, for the box at the top of every chapter.

A chapter starts a :class:`Clock` in its first cell and ends with :func:`glue_times`, which glues
(:mod:`lenet.glue`) how long it took to read and to run; the box at its top shows both with
``{glue:text}`` (myst-nb places a glued value anywhere on its page):

* the reading time: the words of the chapter's prose before its exercises, at
  :data:`WORDS_PER_MINUTE` (a common figure for technical prose), counted by
  ``python scripts/execute_notebooks.py`` into ``results/book/chapter-prose.json``;
* the running time: this execution of the notebook, from its first cell to its last, on the
  machine that executed it (named beside it).
"""

from __future__ import annotations

import json
import time
from typing import Dict

from .glue import glue
from .machine import machine_info
from .records import RecordError, default_results_dir

#: Words read per minute, for the reading time.
WORDS_PER_MINUTE = 200
#: The file, in the results directory, that holds the words of each chapter's prose.
PROSE_FILE = "book/chapter-prose.json"


class Clock:
    """Started when made; :attr:`seconds` is the time since.

    Explained in: chapter 0.
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


def prose_words() -> Dict[str, int]:
    """``{chapter number: words of its prose before the exercises}``, as the last execution counted them."""
    path = default_results_dir() / PROSE_FILE
    if not path.is_file():
        raise RecordError(f"no {PROSE_FILE} in {path.parent}: run `python scripts/execute_notebooks.py`")
    return {k: int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


def running_time(seconds: float) -> str:
    """``'under a minute'`` or ``'about N minutes'``."""
    return (
        "under a minute"
        if seconds < 60
        else f"about {max(1, round(seconds / 60))} minute{'s' if seconds >= 90 else ''}"
    )


def running_time_zh(seconds: float) -> str:
    """:func:`running_time` in Chinese: ``'不到一分钟'`` or ``'约 N 分钟'``."""
    return "不到一分钟" if seconds < 60 else f"约 {max(1, round(seconds / 60))} 分钟"


def glue_times(chapter: int, clock: Clock) -> None:
    """Glue ``time_read`` (minutes to read chapter ``chapter``), ``time_run`` (this execution, since
    ``clock`` started) and ``time_machine`` (the CPU it ran on, and its threads), the last two with
    their Chinese (``time_run_zh``, ``time_machine_zh``).

    Explained in: chapter 0, "Exercises".
    """
    glue("time_read", str(max(1, round(prose_words()[str(chapter)] / WORDS_PER_MINUTE))))
    glue("time_run", running_time(clock.seconds), zh=running_time_zh(clock.seconds))
    machine = machine_info("cpu")
    glue(
        "time_machine",
        f"{machine['threads']} threads of an {machine['hardware']}",
        zh=f"{machine['hardware']} 的 {machine['threads']} 个线程",
    )


__all__ = ["WORDS_PER_MINUTE", "PROSE_FILE", "Clock", "prose_words", "running_time", "running_time_zh", "glue_times"]
