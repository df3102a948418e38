"""Walks the computational graph of one sample's loss, node by node, as the lecture draws it.

The default is the lecture's worked example (x=1, w=1, y=2): loss 1, dloss/ds = -2,
dloss/dy_hat = -2, dloss/dw = -2. The exercises: ``--x=2 --y=4`` and
``--model=affine --b_init=2``; a formula of your own: ``--model="x*w*w + b"
--init=w=1.5,b=0.5 --x=2 --y=3``. Each model's default example has a nonzero gradient at every
parameter. Exit status: 0; 1 when a number of the walk is not finite (the table is printed,
then one line says where); 2 for a bad flag, number, file or environment.
"""

from absl import flags

import _cli
from lec4_jax import walkthrough

_MODEL, _INIT = _cli.define_flags("model", "init").values()
_LANG = _cli.define_flags("lang")["lang"]
_PARAM_FLAGS = _cli.define_param_flags(" at which to walk the graph (default: the model's "
                                       "example)")
_X = flags.DEFINE_float("x", None, "The sample's input (default: the model's example).")
_Y = flags.DEFINE_float("y", None, "The sample's target (default: the model's example).")
_DOT = flags.DEFINE_string("dot", None, "Write the annotated graph as Graphviz DOT here.")
_SVG = flags.DEFINE_string("svg", None, "Render the graph as SVG here (needs Graphviz's dot).")
_PNG = flags.DEFINE_string("png", None, "Render the graph as PNG here (needs Graphviz's dot).")
_FORWARD = flags.DEFINE_bool("forward_mode", False, "Also show forward mode (jax.jvp, one "
                             "tangent per parameter) next to reverse mode (jax.vjp).")


def main(_):
    m = _cli.chosen_model(_MODEL)
    example = walkthrough.Example.of(m, _cli.given_init(m, _INIT, _PARAM_FLAGS), _X.value,
                                     _Y.value)
    out = _cli.outputs_from([(_DOT, None), (_SVG, walkthrough.find_dot),
                             (_PNG, walkthrough.find_dot)])
    walk = walkthrough.explain(example)
    lang = _LANG.value
    title = walkthrough.title(example, lang=lang)
    lines = [title, "", *walkthrough.table(walk, m.params, lang=lang), "",
             walkthrough.check_against_jax(m, walk, lang=lang)]
    if _FORWARD.value:
        lines += ["", *walkthrough.modes_table(example, lang=lang)]
    out.print_lines(lines)
    blown = walkthrough.first_non_finite(walk)
    source = walkthrough.dot(walk, m.params, title=title, lang=lang)
    if "--dot" in out:
        out.commit("--dot", source)
    for kind in ("svg", "png"):
        if f"--{kind}" in out:
            out.commit(f"--{kind}", lambda kind=kind: walkthrough.render(source, kind))
    if blown is not None:  # as a diverging run ends: the table shows where, one line, exit 1
        _cli.fail(f"the numbers blow up at this point: {blown}", _cli.EXIT_FAILED)
    return 0


if __name__ == "__main__":
    _cli.run(main)
