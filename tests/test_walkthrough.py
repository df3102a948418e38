"""lec4_jax.walkthrough: the walk-through table and the annotated DOT graph."""

import html
import shutil

import pydot
import pytest

from lec4_jax import walkthrough as wt
from lec4_jax.data import InputError


def rows(lines, section):
    start = lines.index(section) + 3  # title, header, rule
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return {r.split()[0]: r.split() for r in lines[start:end]}


def test_lecture_worked_example_table():
    walk = wt.explain("linear", {"w": 1.0}, 1.0, 2.0)
    lines = wt.table(walk, ("w",))
    fwd = rows(lines, "forward pass")
    assert fwd["y_hat"] == ["y_hat", "mul", "x,", "w", "1.0"]
    assert fwd["s"][-1] == "-1.0" and fwd["loss"][-1] == "1.0"
    back = rows(lines, "backward pass (upstream = dloss/dnode; passed = upstream * local)")
    assert back["loss"][2] == "1.0"  # upstream at the loss
    assert back["s"][2] == "-2.0"  # dloss/ds
    assert back["y_hat"][2] == "-2.0"  # dloss/dy_hat
    assert back["w"][2] == "-2.0"  # dloss/dw
    assert "x: 1.0, w: 1.0" in " ".join(back["y_hat"])  # local: d(xw)/dx = w, d(xw)/dw = x
    assert wt.check_against_jax("linear", walk) == "dloss/dw = -2.0  (jax.grad agrees)"


def test_exercises():
    walk = wt.explain("linear", {"w": 1.0}, 2.0, 4.0)  # loss 4, dloss/dw = 2*2*(2 - 4) = -8
    assert (walk.value("loss"), walk.grad("s"), walk.grad("w")) == (4.0, -4.0, -8.0)
    walk = wt.explain("affine", {"w": 1.0, "b": 2.0}, 1.0, 2.0)  # s = 1
    assert (walk.value("loss"), walk.grad("w"), walk.grad("b")) == (1.0, 2.0, 2.0)
    assert wt.check_against_jax("affine", walk).endswith("(jax.grad agrees)")


def test_disagreement_is_reported(monkeypatch):
    walk = wt.explain("linear", {"w": 1.0}, 1.0, 2.0)
    walk.grads[walk.node("w").index] = walk.grads[walk.node("w").index] + 1
    assert "jax.grad DISAGREES: dloss/dw = -2.0" in wt.check_against_jax("linear", walk)


@pytest.mark.parametrize("name, params", [("linear", {"w": 1.0}),
                                          ("quadratic", {"w2": 0.5, "w1": 1.0, "b": 0.25})])
def test_dot_parses_and_holds_every_node_and_gradient(name, params):
    walk = wt.explain(name, params, 1.5, 2.0)
    (graph,) = pydot.graph_from_dot_data(wt.dot(walk, tuple(params), title="t"))
    labels = {n.get_name(): n.get("label").strip('"') for n in graph.get_nodes()
              if n.get("label")}
    assert len(labels) == len(walk.graph.nodes)
    for n in walk.graph.nodes:
        label = labels[f"n{n.index}"]
        assert label.startswith(n.name)
        assert f"dloss/d{n.name} {wt.fmt(walk.grad(n.name), 'float32')}" in label
    edges = graph.get_edges()
    forward = [e for e in edges if e.get("color") != "red"]
    backward = [e for e in edges if e.get("color") == "red"]
    n_inputs = sum(len(n.inputs) for n in walk.graph.nodes)
    assert len(forward) == len(backward) == n_inputs
    for n in walk.graph.nodes:  # each backward edge carries the gradient passed to the input
        for i, g in zip(n.inputs, walk.passed[n.index]):
            (edge,) = [e for e in backward if (e.get_source(), e.get_destination()) ==
                       (f"n{n.index}", f"n{i.index}")]
            assert edge.get("label").strip('"') == wt.fmt(g, "float32")


def test_render_without_graphviz_says_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="--svg: Graphviz's dot is not on PATH; install Graphviz"):
        wt.render("digraph {}", "svg", "--svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_render_svg():
    walk = wt.explain("linear", {"w": 1.0}, 1.0, 2.0)
    svg = html.unescape(wt.render(wt.dot(walk, ("w",)), "svg", "--svg").decode())
    assert svg.lstrip().startswith("<?xml") and "dloss/dw -2.0" in svg  # dot writes - as &#45;
