"""The Chinese edition's catalogues (``scripts/translation.py``, ``locales/zh_CN/LC_MESSAGES/``).

* ``test_the_check_*``              the checker itself, on right and wrong translations: it names an
  untranslated or fuzzy string, and one that drops or changes code, maths, a glued value, a
  reference, a link, a number or a bold phrase of its English;
* ``test_every_string_is_translated``  a gettext build of the English source, against the
  catalogues: every paragraph, heading, list item, table cell and caption has a translation that is
  not fuzzy and keeps what it must. A change to the English prose fails here, naming the string,
  until ``python scripts/translation.py update`` and a translation follow.

The Chinese build itself (``-W -n``) is part of the ``build`` fixture; ``test_book_html.py`` and
``test_book_browser.py`` check its pages.
"""

from __future__ import annotations

import polib
import pytest
from conftest import ROOT, load_script

translation = load_script("scripts/translation.py")

ENGLISH = (
    "**Time:** C1 has {term}`kernels <kernel>` of $5 \\times 5$ weights, 156 parameters in all "
    "({glue:text}`c1_params`, Section II.B {cite}`lecun1998gradient`); `conv2d_loops` computes it, "
    "see [chapter 2](02_convolution.ipynb)."
)
RIGHT = (
    "**用时**：C1 的{term}`卷积核 <kernel>`有 $5 \\times 5$ 个权重，共 156 个参数"
    "（{glue:text}`c1_params`，第 II.B 节 {cite}`lecun1998gradient`）；`conv2d_loops` 计算它，"
    "见[第 2 章](02_convolution.ipynb)。"
)


def _problems(msgstr: str, fuzzy: bool = False):
    entry = polib.POEntry(msgid=ENGLISH, msgstr=msgstr, flags=["fuzzy"] if fuzzy else [])
    return translation.entry_problems("notebooks/01_lenet_at_a_glance", entry)


def test_the_check_accepts_a_faithful_translation():
    assert _problems(RIGHT) == []


@pytest.mark.parametrize(
    "wrong, what",
    [
        ("", "not translated"),
        (RIGHT.replace("$5 \\times 5$", "5x5"), "maths differ"),
        (RIGHT.replace("`conv2d_loops`", "conv2d_loops"), "code differ"),
        (RIGHT.replace("{glue:text}`c1_params`", "156"), "roles differ"),
        (RIGHT.replace("{cite}`lecun1998gradient`", ""), "roles differ"),
        (RIGHT.replace("(02_convolution.ipynb)", "(03_pooling.ipynb)"), "links differ"),
        (RIGHT.replace("156", "1.56 百"), "numbers differ"),
        (RIGHT.replace("{term}`卷积核 <kernel>`", "卷积核"), "other roles differ"),
        (RIGHT.replace("**用时**：", "**用时：**"), "bold, italics and links differ"),
    ],
)
def test_the_check_names_what_a_translation_lost(wrong, what):
    problems = _problems(wrong)
    assert problems and problems[0].what.startswith(what), problems
    assert "C1 has" in str(problems[0])


def test_the_check_refuses_a_title_that_would_become_a_list():
    entry = polib.POEntry(msgid="2. Convolution", msgstr="2. 卷积")
    (problem,) = translation.entry_problems("notebooks/02_convolution", entry)
    assert problem.what.startswith("starts like a numbered list")
    assert (
        translation.entry_problems(
            "notebooks/02_convolution", polib.POEntry(msgid="2. Convolution", msgstr="2\\. 卷积")
        )
        == []
    )


def test_the_check_takes_a_glued_value_s_chinese_twin():
    """A value glued in words ("within") is pasted in Chinese from its twin, name_zh."""
    entry = polib.POEntry(msgid="the gap is {glue:text}`c8_verdict` the noise", msgstr="差值{glue:text}`c8_verdict_zh`")
    assert translation.entry_problems("notebooks/08_results", entry) == []
    entry.msgstr = "差值{glue:text}`c8_gap_zh`"
    assert translation.entry_problems("notebooks/08_results", entry)[0].what.startswith("roles differ")


def test_the_check_refuses_a_fuzzy_translation():
    (problem,) = _problems(RIGHT, fuzzy=True)
    assert problem.what.startswith("fuzzy")


def test_every_page_of_the_book_has_a_catalogue():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    missing = [p for p in pages if not translation.catalogue_path(p).is_file()]
    assert not missing, f"pages with no Chinese catalogue: {missing}; run `python scripts/translation.py update`"


@pytest.mark.slow
def test_every_string_is_translated(tmp_path):
    templates = translation.gettext_build(tmp_path)
    assert len(list(templates.rglob("*.pot"))) >= 14
    problems = translation.check(templates)
    assert not problems, (
        f"{len(problems)} string(s) of the English source lack a faithful Chinese translation "
        "(run `python scripts/translation.py update`, translate in locales/zh_CN/LC_MESSAGES/, then "
        "`python scripts/translation.py check`):\n" + "\n".join(str(p) for p in problems[:80])
    )
