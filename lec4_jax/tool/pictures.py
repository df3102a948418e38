"""The lesson's two pictures, ready for a notebook to show: the graph and the sweep.

Each returns an IPython display object (IPython comes with Jupyter; it is imported on use), its
words in the language set by :func:`lec4_jax.set_language` unless ``lang`` is given.
"""

from __future__ import annotations

import shutil


def graph_picture(example, lang: str | None = None):
    """The example's graph as the lecture draws it: values on the forward arrows, gradients on
    the dashed red backward ones. An SVG by Graphviz where ``dot`` is installed, else a PNG by
    matplotlib (then in English where no font with Hangul is found: neither the system's nor
    the NanumGothic that ``pip install koreanize-matplotlib`` ships; the picture says so)."""
    from IPython.display import SVG, Image

    from lec4_jax import language, walkthrough
    from lec4_jax import model as model_lib
    from lec4_jax.tool import plots

    params = model_lib.get(example.model).params
    walk = walkthrough.explain(example)
    if shutil.which("dot"):
        lang = language.language(lang)
        source = walkthrough.dot(walk, params, title=walkthrough.title(example, lang=lang),
                                 lang=lang)
        return SVG(walkthrough.render(source, "svg"))
    drawn = plots._lang_for_picture(lang)
    return Image(plots.graph_png(walk, params, title=walkthrough.title(example, lang=drawn),
                                 lang=lang))


def sweep_picture(result, target, stable, title: str | dict[str, str], lang: str | None = None):
    """A sweep's final distance from ``target`` against the learning rate, the stable rates
    ``stable`` shaded (:func:`lec4_jax.tool.plots.sweep_figure`), as a PNG. ``title`` is one
    string, or one per language (``{"en": ..., "ko": ...}``) so that a Korean picture drawn in
    English, where no font has Hangul, gets the English title rather than empty boxes."""
    from IPython.display import Image

    from lec4_jax.tool import plots

    return Image(plots.sweep_png(result, target, stable, title, lang=lang))
