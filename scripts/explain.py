"""Walks the computational graph of one sample's loss, node by node, as the lecture draws it.

The default is the lecture's worked example (x=1, w=1, y=2): loss 1, dloss/ds = -2,
dloss/dy_hat = -2, dloss/dw = -2. The exercises: ``--x=2 --y=4`` and
``--model=affine --b_init=2``. Exit status: 0, or 2 for a bad flag, number or file.
"""

from absl import flags

import _cli
from lec4_jax import files, model, report, walkthrough

_MODEL = flags.DEFINE_enum("model", "linear", list(model.MODELS),
                           "linear: y = x*w (the lecture); affine: x*w + b; "
                           "quadratic: x^2*w2 + x*w1 + b.")
_PARAM_FLAGS = _cli.define_param_flags(" at which to walk the graph")
_X = flags.DEFINE_float("x", 1.0, "The sample's input.")
_Y = flags.DEFINE_float("y", 2.0, "The sample's target.")
_DOT = flags.DEFINE_string("dot", None, "Write the annotated graph as Graphviz DOT here.")
_SVG = flags.DEFINE_string("svg", None, "Render the graph as SVG here (needs Graphviz's dot).")
_PNG = flags.DEFINE_string("png", None, "Render the graph as PNG here (needs Graphviz's dot).")
_cli.require_finite(_X)
_cli.require_finite(_Y)


def main(_):
    params = _cli.model_params(_MODEL.value, _PARAM_FLAGS)
    m = model.get(_MODEL.value)
    for holder in (_SVG, _PNG):  # before any work: a missing dot is a usage error
        if holder.value:
            walkthrough.find_dot(f"--{holder.name}")
    outputs = {h.name: files.AtomicFile(h.value, f"--{h.name}")
               for h in (_DOT, _SVG, _PNG) if h.value}
    try:
        walk = walkthrough.explain(m.name, params, _X.value, _Y.value)
        at = ", ".join(f"{k}={report.fmt(v, 'float32')}" for k, v in
                       [("x", _X.value), ("y", _Y.value), *params.items()])
        title = f"{m.name}: {m.formula}, loss = (y_hat - y)^2, at {at}"
        source = walkthrough.dot(walk, m.params, title=title)
        rendered = {k: walkthrough.render(source, k, f"--{k}") for k in ("svg", "png")
                    if k in outputs}
        print(title, "", *walkthrough.table(walk, m.params), "",
              walkthrough.check_against_jax(m.name, walk), sep="\n")
        for name, out in outputs.items():
            out.commit(source if name == "dot" else rendered[name])
    finally:
        for out in outputs.values():
            out.discard()


if __name__ == "__main__":
    _cli.run(main)
