"""lec4_jax: back-propagation, by hand and by JAX (모두를 위한 딥러닝 시즌 2, lecture 4).

The few names a learner needs, as the notebooks use them::

    import lec4_jax as lj
    lj.lecture.train()                               # the lecture's script in JAX, line by line
    r = lj.run(lj.Settings(), *lj.lecture_data())     # the same run by the tool's machinery
    for line in lj.trace_lines(r): print(line)       # its printed lines
    lj.explain(lj.Example.of("linear"))              # the graph walk at x=1, w=1, y=2
    lj.grads.autodiff(1.0, 1.0, 2.0)                 # dL/dw three ways: autodiff,
    lj.grads.chain_rule(1.0, 1.0, 2.0)               #   the handwritten chain rule,
    lj.grads.closed_form(1.0, 1.0, 2.0)              #   and the formula 2x(xw - y)
    lj.set_language("ko")                            # tables, pictures, verdicts in Korean
    lj.exercises.check("lecture_x2", answer)         # an exercise's answer, checked

Importing this package loads JAX but not matplotlib, Graphviz or anything a notebook needs:
those load on use.
"""

from lec4_jax.tool import environment as _environment

_environment.enforce()  # before JAX is imported: a variable JAX or XLA would refuse, named

from lec4_jax import chain_rule, exercises, grads  # noqa: E402
from lec4_jax.language import set_language  # noqa: E402
from lec4_jax.model import MODELS, forward, loss  # noqa: E402
from lec4_jax.tool.data import InputError  # noqa: E402
from lec4_jax.tool.data import lecture as lecture_data  # noqa: E402
from lec4_jax.tool.pictures import graph_picture, sweep_picture  # noqa: E402
from lec4_jax.tool.report import trace_lines  # noqa: E402
from lec4_jax.tool.runs import Run, run  # noqa: E402
from lec4_jax.tool.settings import Settings  # noqa: E402
from lec4_jax.tool.stability import stable_learning_rates  # noqa: E402
from lec4_jax.tool.sweep import learning_rates, train_grid  # noqa: E402
from lec4_jax.walkthrough import Example, explain, modes_table, table  # noqa: E402

__all__ = [
    "lecture", "lecture_data", "Settings", "run", "Run", "trace_lines",
    "MODELS", "forward", "loss", "grads", "chain_rule",
    "Example", "explain", "table", "modes_table",
    "stable_learning_rates", "learning_rates", "train_grid",
    "InputError",
    "set_language", "exercises", "graph_picture", "sweep_picture",
]


def __getattr__(name):
    """``lj.lecture``, the lecture's script, imported on first use: so that
    ``python -m lec4_jax.lecture`` runs it as a script that the package has not imported yet."""
    if name == "lecture":
        import importlib

        return importlib.import_module("lec4_jax.lecture")
    raise AttributeError(f"module 'lec4_jax' has no attribute {name!r}")
