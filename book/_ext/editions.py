"""The English and Chinese editions of the book, built from the same pages.

The Chinese edition is the English one with every sentence looked up in Sphinx's gettext
catalogues (``locales/zh_CN/LC_MESSAGES/``; ``python scripts/translation.py`` makes, updates,
checks and builds them). This extension adds what the two editions need beyond that:

* **Outputs stay as computed.** What a code cell printed (its tables, in Markdown, included) is
  marked untranslatable, so the catalogues hold the prose only and the Chinese pages show the
  outputs the notebooks hold, as they show the code.
* **Glued values in translated text.** A translated paragraph is parsed again on its own, without
  the notebook it came from, and myst-nb's ``{glue:text}`` roles then find no glue data ("No key
  ... found in glue data for this document"; myst-nb 1.4). In that parse, ``{glue:text}`key```
  reads ``{glue:text}`<this notebook>::key```: myst-nb's reference to a notebook's glue data by
  file, resolved from the glue data the notebook's own parse saved. The catalogues keep the
  English's roles as they are.
* **Exercise titles.** sphinx-exercise (1.2.1) builds an exercise's title ("C3 by hand" in
  "Exercise 4.1 (C3 by hand)") with no source, so Sphinx neither extracts nor translates it, and
  solutions copy their exercise's title from a registry filled before translation. The titles get
  their source and text, and the registry the translated exercise.
* **The table of contents' captions** ("Chapters", "Appendix", "Reference"): sphinx-external-toc
  inserts the toctrees after Sphinx has translated the page, so their captions are looked up in
  the page's catalogue here.
* **A link to the same page in the other edition**, in every page's header: the English book is
  ``_build/html/``, the Chinese one ``_build/html/zh/``, with the same page names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict

from docutils import nodes
from myst_nb.sphinx_ import Parser as NotebookParser
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.locale import init as init_locale
from sphinx.transforms import SphinxTransform
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.i18n import docname_to_domain
from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, exercise_subtitle

#: Where the Chinese edition lives, relative to the English one's root.
ZH_DIR = "zh"


def is_chinese(language: str | None) -> bool:
    return bool(language) and str(language).lower().replace("-", "_").startswith("zh")


#: A glue role whose content names no notebook: ``{glue:text}`key``` or ``{glue}`key:.2f```.
_LOCAL_GLUE = re.compile(r"\{(glue(?::\w+)?)\}`(?![^`]*::)([^`]+)`")


class KeepOutputsAsComputed(SphinxTransform):
    """Mark everything inside a code cell (its source and its outputs) as not translatable."""

    default_priority = 15  # before sphinx.transforms.i18n.Locale (20), which translates

    def apply(self, **kwargs: Any) -> None:
        for cell in self.document.findall(nodes.container):
            if cell.get("nb_element") != "cell_code":
                continue
            for node in cell.findall(nodes.TextElement):
                node["translatable"] = False


def _name_notebook(match: re.Match, notebook: str) -> str:
    role, content = match[1], match[2]
    if role == "glue:text" and ":" not in content:
        content += ":s"  # glue:text reads "notebook::key:format" (myst_nb.ext.glue.roles.PasteTextRole)
    return f"{{{role}}}`{notebook}::{content}`"


class TranslatedNotebookParser(NotebookParser):
    """myst-nb's parser; in a translated paragraph, glue roles name the notebook they read."""

    def parse(self, inputstring: str, document: nodes.document) -> None:
        if document.current_source.endswith("<translated>") and self.env is not None:
            notebook = Path(self.env.doc2path(self.env.docname)).name
            inputstring = _LOCAL_GLUE.sub(lambda m: _name_notebook(m, notebook), inputstring)
        super().parse(inputstring, document)


#: Where an exercise keeps its title's MyST text (for ExerciseTitlesForGettext).
_TITLE = "lenet_title_source"


def _markup(node: nodes.Node) -> str:
    """The MyST text of an exercise title's inline nodes (code, maths, emphasis kept)."""
    if isinstance(node, nodes.Text):
        return str(node)
    inner = "".join(_markup(child) for child in node.children)
    if isinstance(node, nodes.literal):
        return f"`{node.astext()}`"
    if isinstance(node, nodes.math):
        return f"${node.astext()}$"
    if isinstance(node, nodes.strong):
        return f"**{inner}**"
    if isinstance(node, nodes.emphasis):
        return f"*{inner}*"
    return inner


class TranslatableExerciseTitles(SphinxTransform):
    """Give each exercise title its source and text, so that Sphinx extracts and translates it."""

    default_priority = 16  # before sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs: Any) -> None:
        for subtitle in self.document.findall(exercise_subtitle):
            subtitle.source = subtitle.source or self.document.get("source")
            subtitle.line = subtitle.line or 1
            subtitle.rawsource = _markup(subtitle)
            exercise = subtitle.parent.parent if subtitle.parent is not None else None
            if exercise is not None:
                exercise[_TITLE] = subtitle.rawsource


class ExerciseTitlesForGettext(SphinxPostTransform):
    """For the gettext builder: sphinx-exercise's post-transform rebuilds each exercise title as a
    new node, without source, before the builder collects messages; the rebuilt title gets the
    English title's text and source, so that the catalogue holds it."""

    default_priority = 21  # after sphinx_exercise.post_transforms.ResolveTitlesInExercises (20)
    builders = ("gettext",)

    def run(self, **kwargs: Any) -> None:
        for node in self.document.findall(lambda n: isinstance(n, (exercise_node, exercise_enumerable_node))):
            subtitles = list(node.findall(exercise_subtitle))
            title = node.children[0] if node.children else None
            if isinstance(title, nodes.title) and not subtitles and node.get(_TITLE):
                title.source, title.line, title.rawsource = self.document.get("source"), 1, node[_TITLE]
                title.uid = ""  # the catalogue skips a node without one (as Sphinx does for toctrees)


class TranslatedExercisesForSolutions(SphinxTransform):
    """In the Chinese edition, the registry that solutions (and references) read their exercise's
    title from holds the exercise as translated (sphinx-exercise copies the exercise when the
    directive runs, before translation)."""

    default_priority = 25  # after sphinx.transforms.i18n.Locale (20)

    def apply(self, **kwargs: Any) -> None:
        registry = getattr(self.env, "sphinx_exercise_registry", None)
        if not registry or not is_chinese(self.config.language):
            return
        for node in self.document.findall(lambda n: isinstance(n, (exercise_node, exercise_enumerable_node))):
            entry = registry.get(node.get("label"))
            if entry is not None and entry.get("docname") == self.env.docname:
                entry["node"] = node.deepcopy()


class TranslateTocCaptions(SphinxTransform):
    """Translate the captions of the toctrees that sphinx-external-toc inserts."""

    default_priority = 101  # after sphinx_external_toc's InsertToctrees (100), itself after Locale (20)

    def apply(self, **kwargs: Any) -> None:
        if not is_chinese(self.config.language):
            return
        dirs = [str(Path(self.env.srcdir) / d) for d in self.config.locale_dirs]
        domain = docname_to_domain(self.env.docname, self.config.gettext_compact)
        catalog, found = init_locale(dirs, self.config.language, domain)
        if not found:
            return
        for toctree in self.document.findall(addnodes.toctree):
            caption = toctree.get("rawcaption") or toctree.get("caption")
            translated = catalog.gettext(caption) if caption else ""
            if translated and translated != caption:
                toctree["rawcaption"] = caption
                toctree.apply_translated_message(caption, translated)


def add_edition_link(app: Sphinx, pagename: str, templatename: str, context: Dict[str, Any], doctree: Any) -> None:
    """``edition_url`` and ``edition_label`` for the header's link to the other edition."""
    up = "../" * pagename.count("/")
    if is_chinese(app.config.language):
        context["edition_url"] = f"{up}../{pagename}.html"
        context["edition_label"] = "English"
        context["edition_lang"] = "en"
    else:
        context["edition_url"] = f"{up}{ZH_DIR}/{pagename}.html"
        context["edition_label"] = "中文"
        context["edition_lang"] = "zh-CN"


def setup(app: Sphinx) -> Dict[str, Any]:
    app.add_transform(KeepOutputsAsComputed)
    app.add_transform(TranslatableExerciseTitles)
    app.add_transform(TranslatedExercisesForSolutions)
    app.add_post_transform(ExerciseTitlesForGettext)
    app.add_transform(TranslateTocCaptions)
    app.add_source_parser(TranslatedNotebookParser, override=True)
    app.connect("html-page-context", add_edition_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
