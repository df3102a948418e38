"""lec4_jax.walkthrough: the walk-through table and the annotated DOT graph."""

import html
import re
import shutil

import numpy as np
import pydot
import pytest

from lec4_jax import messages
from lec4_jax import walkthrough as wt
from lec4_jax.tool.data import InputError


def rows(lines, section):
    start = lines.index(section) + 3  # title, header, rule
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return {r.split()[0]: r.split() for r in lines[start:end]}


def test_lecture_worked_example_table():
    walk = wt.explain(wt.Example("linear", {"w": 1.0}, 1.0, 2.0))
    lines = wt.table(walk, ("w",))
    fwd = rows(lines, "forward pass")
    assert fwd["y_hat"] == ["y_hat", "mul", "x,", "w", "1.0"]
    assert fwd["s"][-1] == "-1.0" and fwd["loss"][-1] == "1.0"
    back = rows(lines, "backward pass (upstream = dloss/dnode; passed = upstream * local)")
    assert list(back) == ["loss", "s", "y_hat", "w", "y", "x"]  # the reverse walk's order
    assert back["loss"][2] == "1.0"  # upstream at the loss
    assert back["s"][2] == "-2.0"  # dloss/ds
    assert back["y_hat"][2] == "-2.0"  # dloss/dy_hat
    assert back["w"][2] == "-2.0"  # dloss/dw
    assert "x: 1.0, w: 1.0" in " ".join(back["y_hat"])  # local: d(xw)/dx = w, d(xw)/dw = x
    assert wt.check_against_jax("linear", walk) == "dloss/dw = -2.0  (jax.grad agrees)"


def test_exercises():
    # loss 4, dloss/dw = 2*2*(2 - 4) = -8
    walk = wt.explain(wt.Example("linear", {"w": 1.0}, 2.0, 4.0))
    assert (walk.value("loss"), walk.grad("s"), walk.grad("w")) == (4.0, -4.0, -8.0)
    walk = wt.explain(wt.Example("affine", {"w": 1.0, "b": 2.0}, 1.0, 2.0))  # s = 1
    assert (walk.value("loss"), walk.grad("w"), walk.grad("b")) == (1.0, 2.0, 2.0)
    assert wt.check_against_jax("affine", walk).endswith("(jax.grad agrees)")


def test_disagreement_is_reported():
    walk = wt.explain(wt.Example("linear", {"w": 1.0}, 1.0, 2.0))
    walk.grads[walk.node("w").index] = walk.grads[walk.node("w").index] + 1
    assert "jax.grad DISAGREES: dloss/dw = -2.0" in wt.check_against_jax("linear", walk)
    ko = messages.text("walkthrough", "jax_disagrees", "ko", theirs="dloss/dw = -2.0")
    assert wt.check_against_jax("linear", walk, lang="ko") == f"dloss/dw = -1.0  ({ko})"


@pytest.mark.parametrize("name, params", [("linear", {"w": 1.0}),
                                          ("quadratic", {"w2": 0.5, "w1": 1.0, "b": 0.25})])
def test_dot_parses_and_holds_every_node_and_gradient(name, params):
    walk = wt.explain(wt.Example(name, params, 1.5, 2.0))
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


@pytest.mark.parametrize("name", ["linear", "affine", "quadratic"])
def test_layout_runs_left_to_right_with_no_box_on_an_edge(name):
    """Every edge goes rightwards; it skips no column except where one value feeds two columns
    (quadratic's x), and no two boxes share a place."""
    walk = wt.explain(wt.Example.of(name))
    place = wt.layout(walk)
    assert len(set(place.values())) == len(place)
    assert place[walk.output.index][0] == max(col for col, _ in place.values())
    for n in walk.graph.nodes:
        for i in n.inputs:
            skip = place[n.index][0] - place[i.index][0]
            feeds = {place[c.index][0] for c in walk.graph.nodes if i in c.inputs}
            assert skip == 1 or (skip > 1 and len(feeds) > 1), (i.name, n.name)


@pytest.mark.parametrize("name", ["linear", "quadratic"])
def test_the_graph_without_graphviz_draws_every_node_and_edge(name):
    """The matplotlib picture (the notebook's when Graphviz is missing), read back from the
    figure: each node's three lines, and each edge's arrow and label (black forward value, red
    dashed backward gradient), the same as the DOT source's."""
    plots = pytest.importorskip("lec4_jax.tool.plots")
    pytest.importorskip("matplotlib")
    ex = wt.Example.of(name)
    walk = wt.explain(ex)
    params = tuple(ex.params)
    fig = plots.graph_figure(walk, params, title="t")
    ax = fig.axes[0]
    texts = [(t.get_text(), t.get_color()) for t in ax.texts]
    for n in walk.graph.nodes:
        assert (wt.node_label(walk, n), "black") in texts
    arrows = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    n_inputs = sum(len(n.inputs) for n in walk.graph.nodes)
    assert len(arrows) == 2 * n_inputs
    dashed = [a for a in arrows if a.arrow_patch.get_linestyle() != "-"]
    assert len(dashed) == n_inputs
    labels = [t for t, color in texts if color == "red"]
    want = [wt.fmt(g, "float32") for n in walk.graph.nodes for g in walk.passed[n.index] or ()]
    assert sorted(labels) == sorted(want)
    forward = sorted(t for t, color in texts if color == "black" and t and "\n" not in t)
    assert forward == sorted(wt.fmt(i.value, "float32") for n in walk.graph.nodes
                             for i in n.inputs)
    # the layout: columns left to right, rows top to bottom, centred, a margin all round; each
    # arrow above the boxes and below its label, the label at the middle of its arrow
    assert ax.get_title() == "t"
    place = wt.layout(walk)
    boxes = {n.index: ax.texts[k] for k, n in enumerate(walk.graph.nodes)}
    for i, (col, row) in place.items():
        below = [j for j, (c, r) in place.items() if c == col and r == row + 1]
        assert boxes[i].get_position()[0] == pytest.approx(3.4 * col)
        assert all(boxes[j].get_position()[1] < boxes[i].get_position()[1] for j in below)
    xs = [b.get_position()[0] for b in boxes.values()]
    left, right = ax.get_xlim()
    assert min(xs) - left == pytest.approx(right - max(xs)) == pytest.approx(1.7)
    parts = list(ax.texts)
    for k, arrow in enumerate(parts):
        if getattr(arrow, "arrow_patch", None) is None:
            continue
        label = parts[k + 1]
        mid = (np.array(arrow.xy) + np.array(arrow.xyann)) / 2
        chord = np.hypot(*(np.array(arrow.xy) - np.array(arrow.xyann)))
        # a backward arrow bends away, by a part of its length (arc3, rad 0.3)
        near = 0.2 * chord + 0.4 if arrow.arrow_patch.get_linestyle() != "-" else 0.4
        assert np.hypot(*(np.array(label.get_position()) - mid)) < near, label.get_text()
        # a forward label left of its arrow's direction, a backward one right of its own, on
        # the side it bends to: a pair's two labels never share a side
        d = np.array(arrow.xy) - np.array(arrow.xyann)
        off = np.array(label.get_position()) - mid
        side = d[0] * off[1] - d[1] * off[0]
        assert side > 0 if arrow.arrow_patch.get_linestyle() == "-" else side < 0, label
        assert boxes[0].get_zorder() < arrow.get_zorder() < label.get_zorder()
    assert plots.graph_png(walk, params).startswith(b"\x89PNG")
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_render_without_graphviz_says_what_to_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="^Graphviz's dot is not on PATH; install Graphviz"):
        wt.render("digraph {}", "svg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_render_svg():
    walk = wt.explain(wt.Example("linear", {"w": 1.0}, 1.0, 2.0))
    svg = html.unescape(wt.render(wt.dot(walk, ("w",)), "svg").decode())
    assert svg.lstrip().startswith("<?xml") and "dloss/dw -2.0" in svg  # dot writes - as &#45;


def test_disagreement_on_one_of_several_parameters_is_reported():
    walk = wt.explain(wt.Example.of("quadratic"))
    walk.grads[walk.node("w1").index] = walk.grads[walk.node("w1").index] * 2
    line = wt.check_against_jax("quadratic", walk)
    assert "DISAGREES: dloss/dw2 = 8.0, dloss/dw1 = 4.0, dloss/db = 2.0" in line


def test_both_nan_gradients_agree():
    walk = wt.explain(wt.Example("linear", {"w": float("nan")}, 1.0, 2.0))
    assert wt.check_against_jax("linear", walk) == "dloss/dw = nan  (jax.grad agrees)"


@pytest.mark.parametrize("name", ["linear", "affine", "quadratic"])
def test_every_models_default_example_has_nonzero_gradients(name):
    ex = wt.Example.of(name)
    walk = wt.explain(ex)
    assert all(walk.grad(p) != 0 for p in ex.params), ex


def test_the_example_checks_its_numbers_in_float32():
    with pytest.raises(InputError, match="not finite in float32") as e:
        wt.Example.of("linear", x=1e39)
    assert e.value.field == "x"
    with pytest.raises(InputError, match="does not apply to model linear") as e:
        wt.Example.of("linear", {"b": 1.0})
    assert e.value.field == "b_init"


@pytest.mark.parametrize("name", ["linear", "affine", "quadratic"])
def test_forward_and_reverse_mode_agree_node_by_node(name):
    ex = wt.Example.of(name)
    lines = wt.modes_table(ex)
    assert lines[-1].endswith("(forward and reverse mode agree)")
    table = {r.split()[0]: r.split() for r in lines[3:-1]}
    walk = wt.explain(ex)
    for i, p in enumerate(ex.params, start=2):
        # the tangent at the loss, pushed forward from p, is dloss/dp pulled back
        assert table["loss"][i] == wt.fmt(walk.grad(p), "float32")
        assert table[p][i] == "1.0"  # the seed: dp/dp = 1


def test_forward_mode_on_the_lecture_numbers():
    lines = wt.modes_table(wt.Example.of("linear"))
    table = {r.split()[0]: r.split()[1:] for r in lines[3:-1]}
    # value, d(node)/dw forward, dloss/d(node) backward: y_hat = xw, s = y_hat - y, loss = s^2
    assert table["y_hat"] == ["1.0", "1.0", "-2.0"]
    assert table["s"] == ["-1.0", "1.0", "-2.0"]
    assert table["loss"] == ["1.0", "-2.0", "1.0"]
    assert lines[-1] == "dloss/dw = -2.0  (forward and reverse mode agree)"


def test_power_and_negation_are_named_in_the_table_and_the_graph():
    """A graph with the engine's other ops, loss = (-(w^3) * x - y)^2: the table names the power
    with its exponent and the DOT writes each node as a formula of its inputs."""
    from lec4_jax import chain_rule as cr

    def loss(p, x, y):
        cube = cr.power(p["w"], 3.0, name="cube")
        return cr.square(cr.neg(cube, name="neg") * x - y, name="loss")

    walk = cr.walk(loss, {"w": 1.0}, 2.0, 1.0)
    rows = wt.table(walk, ("w",))
    assert any(r.split()[:2] == ["cube", "pow"] and r.split()[2] == "3.0" for r in rows), rows
    assert any(r.split()[:3] == ["neg", "neg", "cube"] for r in rows), rows
    source = wt.dot(walk, ("w",))
    assert "cube = w^3.0" in source and "neg = -cube" in source


@pytest.mark.parametrize("script, message", [
    ("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n",
     "dot failed: syntax error in line 1"),
    ("#!/bin/sh\nexit 3\n", "dot failed: ?"),
    ("#!/bin/sh\nsleep 5\n", "Graphviz's dot took more than 0.5 s"),
    (None, "Graphviz's dot could not run (Permission denied)"),
])
def test_a_failing_dot_is_one_line(tmp_path, monkeypatch, script, message):
    """Whatever goes wrong inside Graphviz is an InputError of one line, never a traceback."""
    fake = tmp_path / "dot"
    fake.write_text(script or "not a program")
    fake.chmod(0o755 if script else 0o644)
    monkeypatch.setattr(wt, "find_dot", lambda: str(fake))
    with pytest.raises(InputError) as info:
        wt.render("digraph {}", "svg", timeout=0.5)
    assert str(info.value) == message


# Mutation testing (tools/mutate.py): tests that kill its survivors.

def test_the_lectures_graph_is_laid_out_as_the_lecture_draws_it():
    # x, w in the first column; y beside y_hat (it enters at s); then s, then the loss
    ex = wt.Example.of("linear")
    walk = wt.explain(ex)
    place = wt.layout(walk)
    assert {n.name: place[n.index] for n in walk.graph.nodes} == {
        "x": (0, 0), "w": (0, 1), "y_hat": (1, 0), "y": (1, 1), "s": (2, 0), "loss": (3, 0)}


def test_the_title_and_the_dot_shapes():
    ex = wt.Example.of("linear")
    assert wt.title(ex, lang="en") == (
        "linear: y_hat = x*w, loss = (y_hat - y)^2, at x=1.0, y=2.0, w=1.0")
    assert wt.title(ex, lang="ko").endswith(
        messages.text("walkthrough", "at", "ko", at="x=1.0, y=2.0, w=1.0"))
    lines = wt.dot(wt.explain(ex), ("w",), title="t").splitlines()
    shapes = {re.search(r'label="(\w+)', line)[1]: re.search(r"shape=(\w+)", line)[1]
              for line in lines if "shape=" in line}
    assert shapes == {"x": "ellipse", "y": "ellipse", "w": "ellipse", "y_hat": "box", "s": "box",
                      "loss": "box"}


def test_hangul_takes_two_columns_in_a_table():
    # syllables (U+AC00-U+D7A3), jamo (U+1100-U+11FF) and compatibility jamo (U+3130-U+318F),
    # each end of each range; everything else one column
    width = wt._width
    assert width("abc") == 3 and width("역전파") == 6
    for ch in ("\uac00", "\ud7a3", "\u1100", "\u11ff", "\u3130", "\u318f"):
        assert width(ch) == 2, hex(ord(ch))
    for ch in ("\uabff", "\ud7a4", "\u10ff", "\u1200", "\u312f", "\u3190"):
        assert width(ch) == 1, hex(ord(ch))


def test_ops_params_and_titles_are_named_right():
    # the table's op column tells a parameter from an input; a node's label names its op
    # (s^2 for the square); the DOT carries its title and fills the parameters only
    ex = wt.Example.of("linear")
    walk = wt.explain(ex)
    ops = {line.split()[0]: line.split()[1] for line in wt.table(walk, ("w",))[3:9]}
    assert ops == {"x": "input", "y": "input", "w": "param", "y_hat": "mul", "s": "sub",
                   "loss": "square"}
    assert wt.node_label(walk, walk.node("loss"), "float32").startswith("loss = s^2\n")
    source = wt.dot(walk, ("w",), title="T")
    assert 'label="T";' in source and wt.dot(walk, ("w",)).count('label="T"') == 0
    filled = [line for line in source.splitlines() if "fillcolor" in line]
    assert len(filled) == 1 and 'label="w' in filled[0]


def test_an_example_cannot_be_changed_in_place():
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        wt.Example.of("linear").x = 2.0


def test_a_formula_nodes_label_brackets_by_precedence_and_is_not_repeated():
    # a node named by its own formula shows it once; one named otherwise (y_hat) shows its
    # expression, brackets where precedence needs them and constants as their numbers; the
    # gradient's name is bracketed unless one piece
    walk = wt.explain(wt.Example.of("(x + w)**0.5*2 - 1"))
    first = {n.name: wt.node_label(walk, n).splitlines() for n in walk.graph.nodes}
    assert first["x + w"][0] == "x + w" and first["x + w"][2].startswith("dloss/d(x + w) ")
    assert first["(x + w)**0.5"][0] == "(x + w)**0.5"
    assert first["(x + w)**0.5"][2].startswith("dloss/d((x + w)**0.5) ")
    assert first["y_hat"][0] == "y_hat = (x + w)**0.5*2 - 1"
    assert first["y_hat"][2].startswith("dloss/dy_hat ")
