"""A formula as ``--model``, and ``--init``, through every script and every output, as a user
runs them (a fork server per script: a run costs a fork, not a Python start-up)."""

import json
import os
import re
import shutil

import numpy as np
import pytest
from test_cli import check_output

from cli_util import Server, embedded
from lec4_jax import model
from lec4_jax.tool import report

# The formulas a teacher would try first: the lecture, w through a square, a bias, a unit,
# a parameter used twice.
FORMULAS = ["x*w", "x*w**2", "x*w + b", "sigmoid(x*w + b)", "x*w*w + b"]
MODELS = [*model.MODELS, *FORMULAS]
OUTPUTS = [("--output", "run.json"), ("--plot", "run.png"), ("--landscape", "land.png"),
           ("--animate", "run.gif"), ("--animate", "run.mp4"), ("--html", "page.html")]


@pytest.fixture(scope="module")
def servers():
    started = {}

    def get(script):
        if script not in started:
            started[script] = Server(script)
        return started[script]

    yield get
    for s in started.values():
        s.close()


def run(servers, script, args, tmp_path):
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return servers(script).run(list(args), work)


def one_line(code, out, err, script, start):
    """Exit 2, nothing on stdout, one line ``<script>: error: <start>...``."""
    assert code == 2, err
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"{script}: error: {start}"), line
    return line


@pytest.mark.parametrize("name", MODELS)
def test_every_model_writes_every_output_at_once(servers, tmp_path, name):
    # Every output flag in one run, with the grad: lines: exit 0, every file whole, and the
    # lines the same as without the outputs. A model of more than two parameters has no
    # landscape (refused before any work, tested below), so it is left out for them.
    m = model.get(name)
    wanted = [(f, p) for f, p in OUTPUTS if (f != "--landscape" or len(m.params) <= 2)
              and (not p.endswith(".mp4") or shutil.which("ffmpeg"))
              and p != "run.gif"]  # one --animate per run: the .mp4 where ffmpeg is, else .gif
    if not shutil.which("ffmpeg"):
        wanted.append(("--animate", "run.gif"))
    args = [f"--model={name}", "--learning_rate=0.001", "--epochs=2"]
    code, out, err = run(servers, "train.py", [*args, *(f"{f}={p}" for f, p in wanted)],
                         tmp_path)
    assert (code, err) == (0, "")
    assert sorted(os.listdir(tmp_path / "work")) == sorted(p for _, p in wanted)
    for _, path in wanted:
        check_output(tmp_path / "work" / path, m.params, steps=6)
    (tmp_path / "plain").mkdir()
    assert servers("train.py").run(args, tmp_path / "plain")[1] == out
    assert sum(line.startswith("\tgrad: ") for line in out.splitlines()) == 6


@pytest.mark.parametrize("flag, path", OUTPUTS)
@pytest.mark.parametrize("name", FORMULAS)
def test_every_formula_writes_every_output_alone(servers, tmp_path, name, flag, path):
    # Without --trace: the output alone keeps the history it needs.
    if path.endswith(".mp4") and not shutil.which("ffmpeg"):
        pytest.skip("an .mp4 needs ffmpeg")
    code, _, err = run(servers, "train.py", [f"--model={name}", "--learning_rate=0.001",
                                             "--epochs=2", "--notrace", f"{flag}={path}"],
                       tmp_path)
    assert (code, err) == (0, "")
    assert os.listdir(tmp_path / "work") == [path]
    check_output(tmp_path / "work" / path, model.get(name).params, steps=6)


def test_a_landscape_of_three_parameters_is_refused_before_any_work(servers, tmp_path):
    code, out, err = run(servers, "train.py", ["--model=x*w*w + b*c", "--landscape=l.png"],
                         tmp_path)
    line = one_line(code, out, err, "train.py", "--landscape: the landscape is drawn for models "
                                                "of 1 or 2 parameters")
    assert line.endswith("has 3 (w, b, c)") or "has 3" in line
    assert os.listdir(tmp_path / "work") == []


def test_the_landscape_of_a_two_parameter_formula_not_linear_in_them(tmp_path):
    # sigmoid(x*w + b): contours of the model's own mean loss over (w, b), no minimum starred
    # (there is no least-squares fit), the axes named by the formula's parameters.
    from lec4_jax.tool import plots, runs
    from lec4_jax.tool.settings import Settings

    settings = Settings(model="sigmoid(x*w + b)", learning_rate=0.5, epochs=3)
    r = runs.run(settings, [1.0, 2.0, 3.0], [0.2, 0.5, 0.9])
    fig = plots.landscape_figure(r, [1.0, 2.0, 3.0], [0.2, 0.5, 0.9], None, "t")
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("w", "b")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("no minimum marked: ") for label in labels)
    assert "the run's (w, b), step by step" in labels


# ---- the done-when checks ----

def test_explain_a_formula_at_a_point(servers, tmp_path):
    # y_hat = x*w*w + b at x=2, w=1.5, b=0.5: y_hat = 5, s = 5 - 3 = 2, dloss/dy_hat = 2s = 4,
    # dloss/db = 4, dloss/dw = 4 * d(x*w*w)/dw = 4 * 2xw = 24; w feeds two products, so the
    # walk adds its two gradients up.
    code, out, err = run(servers, "explain.py", ["--model=x*w*w + b", "--init=w=1.5,b=0.5",
                                                 "--x=2", "--y=3"], tmp_path)
    assert (code, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[-1] == "dloss/dw = 24.0, dloss/db = 4.0  (jax.grad agrees)"
    assert "x=2.0, y=3.0, w=1.5, b=0.5" in lines[0]


@pytest.mark.parametrize("extra", [[], ["--forward_mode"], ["--dot=g.dot"]])
@pytest.mark.parametrize("name", FORMULAS)
def test_explain_every_formula(servers, tmp_path, name, extra):
    # The table, forward mode and the DOT picture for every formula, at its default example.
    code, out, err = run(servers, "explain.py", [f"--model={name}", *extra], tmp_path)
    assert (code, err) == (0, ""), err
    assert "(jax.grad agrees)" in out
    if extra == ["--forward_mode"]:
        assert out.splitlines()[-1].endswith("(forward and reverse mode agree)")
    if extra == ["--dot=g.dot"]:
        text = (tmp_path / "work" / "g.dot").read_text()
        assert text.startswith("digraph backprop {")
        for p in model.get(name).params:
            assert f"dloss/d{p} " in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_explain_renders_a_formula(servers, tmp_path):
    code, _, err = run(servers, "explain.py", ["--model=sigmoid(x*w + b)", "--png=g.png",
                                               "--svg=g.svg"], tmp_path)
    assert (code, err) == (0, "")
    assert (tmp_path / "work" / "g.png").read_bytes()[:4] == b"\x89PNG"
    assert "sigmoid(x*w + b)" in (tmp_path / "work" / "g.svg").read_text()


def test_train_x_w_squared_matches_pytorch_bit_for_bit(servers, tmp_path):
    # The guarantee: bit for bit. train.py caps XLA's CPU at AVX (_cli.lecture_arithmetic: no
    # fused multiply-add), so each float32 operation rounds once, as PyTorch's eager ops do;
    # the printed numbers are the shortest decimals of the float32 values, so equal lines are
    # equal floats.
    torch = pytest.importorskip("torch")
    code, out, err = run(servers, "train.py", ["--model=x*w**2"], tmp_path)
    assert (code, err) == (0, "")
    w = torch.tensor([1.0], requires_grad=True)
    f = lambda v: report.fmt(np.float32(v), "float32")  # noqa: E731
    want = []
    for _ in range(20):
        for x_val, y_val in zip([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]):
            loss = (x_val * w**2 - y_val) ** 2
            loss.backward()
            want.append(f"\tgrad:  {f(x_val)} {f(y_val)} {f(w.grad.item())}")
            w.data = w.data - 0.01 * w.grad.data
            w.grad.data.zero_()
    got = [line for line in out.splitlines() if line.startswith("\tgrad: ")]
    assert len(got) == 60
    assert got == want


def test_the_sigmoid_page_in_korean_quizzes_the_sigmoid_node(servers, tmp_path):
    code, _, err = run(servers, "train.py", ["--model=sigmoid(x*w + b)", "--html=page.html",
                                             "--lang=ko"], tmp_path)
    assert (code, err) == (0, "")
    page = embedded((tmp_path / "work" / "page.html").read_text())
    assert page["lang"] == "ko" and page["params"] == ["w", "b"]
    ops = {n["name"]: n["op"] for n in page["nodes"]}
    assert {"x*w": "mul", "x*w + b": "add"}.items() <= ops.items()
    # the quiz asks for dloss/d(node) at every node but the inputs, the sigmoid among them
    # (the formula's root, named y_hat as in every model); each step holds the answer
    (k,) = [i for i, n in enumerate(page["nodes"]) if n["op"] == "sigmoid"]
    assert page["nodes"][k]["inputs"] == ["x*w + b"]
    # its local derivative, for the hint: the page's script knows the lecture's ops itself
    assert page["nodes"][k]["local"] == ["sigmoid(x*w + b)·(1 − sigmoid(x*w + b))"]
    step = page["steps"][0]
    assert float(step["grads"][k]) != 0 and np.isfinite(float(step["grads"][k]))
    # the value at step 0 (w = b = 1, x = 1): sigmoid(2)
    assert float(step["values"][k]) == pytest.approx(1 / (1 + np.exp(-2.0)), rel=1e-6)


def test_a_page_of_a_formula_that_divides_by_zero_where_its_graph_is_drawn(servers, tmp_path):
    # The page's graph is traced at x = y = 1 and every parameter 1, where x/(w - 1) divides by
    # zero: the structure is still drawn (NumPy's inf, not Python's exception, exit 70); the
    # run itself starts at w = 3.
    code, _, err = run(servers, "train.py", ["--model=x/(w - 1)", "--init=w=3", "--epochs=1",
                                             "--learning_rate=0.001", "--html=p.html"], tmp_path)
    assert (code, err) == (0, "")
    nodes = embedded((tmp_path / "work" / "p.html").read_text())["nodes"]
    (div,) = [n for n in nodes if n["op"] == "div"]
    assert div["inputs"] == ["x", "w - 1"] and div["local"] == ["1/(w - 1)", "−x/(w - 1)²"]


# ---- --init ----

def test_init_sets_a_formulas_parameters_and_the_rest_start_at_one(servers, tmp_path):
    code, out, err = run(servers, "train.py", ["--model=x*w + b", "--init=b=0.5", "--epochs=1",
                                               "--output=run.json", "--notrace"], tmp_path)
    assert (code, err) == (0, "")
    record = json.loads((tmp_path / "work" / "run.json").read_text())
    assert record["steps"][0]["params"] == {"w": 1.0, "b": 0.5}
    assert record["config"]["init"] == "b=0.5"


def test_init_is_the_registry_flags_other_spelling(servers, tmp_path):
    # --init=w=2 on the lecture's model is --w_init=2: the same bytes out
    a = run(servers, "train.py", ["--init=w=2"], tmp_path)
    (tmp_path / "b").mkdir()
    b = servers("train.py").run(["--w_init=2"], tmp_path / "b")
    assert a == b and a[0] == 0


@pytest.mark.parametrize("script", ["train.py", "explain.py", "sweep.py"])
@pytest.mark.parametrize("args, start", [
    (["--model=x*w", "--init=v=1"], "--init: "),                     # not a parameter
    (["--model=x*w", "--init=w=one"], "--init: "),                   # not a number
    (["--model=x*w", "--init=w=1,w=2"], "--init: "),                 # repeated
    (["--model=x*w", "--init=w=inf"], "--init: "),                   # not finite
    (["--model=x*w", "--init=w=１"], "--init: w='１': not a number"),  # not ASCII
    (["--model=x*w", "--init=w=1e-50"], "--init: w=1e-50: the number 1e-50 is 0 in float32"),
    (["--model=x*w + b", "--init=w=2", "--w_init=3"], "--init: "),   # set twice
    (["--model=x*w + b", "--init=b=2,w=1", "--w_init=3", "--b_init=1"],
     "--init: sets b, and so does --b_init: give it once"),          # two set twice: the first
    (["--model=x*v", "--w_init=2"], "--w_init: "),                   # not this model's
])
def test_a_bad_init_is_one_line(servers, tmp_path, script, args, start):
    if script == "sweep.py":  # its --<p>_init flags are --<p>_init_values, which take lists
        def values(text):
            return re.sub(r"(--\w+_init)\b", r"\1_values", text)

        args, start = [values(a) for a in args], values(start)
    one_line(*run(servers, script, args, tmp_path), script, start)


# ---- bad formulas: one line, exit 2, from every script ----

BAD = [
    "__import__('os').system('true')",   # code, not a formula
    "x*w if w else b",                   # syntax that is not arithmetic
    "x*w +",                             # not even Python
    "x*foo(w)",                          # an unknown function
    "x*w + y",                           # the target inside the prediction
    "x*2",                               # no parameter
    "sigmoid(x, w)",                     # a wrong number of arguments
    "x*w**b",                            # an exponent that is not a number
    "(" * 500 + "x*w" + ")" * 500,       # too deep
    "x*w" + " + x*w" * 5000,             # too long
    "x*w**100000",                       # an exponent too large
    "w.real*x",                          # an attribute
    "",                                  # nothing
    "linaer",                            # a registry name mistyped: not a constant model
    "x*exp",                             # a function used as a name
    "x*w; import os",                    # two statements
    "1e38*1e38*w",                       # numbers alone beyond float32
]


@pytest.mark.parametrize("script", ["train.py", "explain.py", "sweep.py"])
@pytest.mark.parametrize("text", BAD, ids=range(len(BAD)))
def test_a_bad_formula_is_one_line_naming_model(servers, tmp_path, script, text):
    code, out, err = run(servers, script, [f"--model={text}"], tmp_path)
    line = one_line(code, out, err, script, "--model: ")
    assert len(line) < 400
    assert os.listdir(tmp_path / "work") == []


# ---- numbers that blow up: as a diverging run, one line and exit 1 ----

@pytest.mark.parametrize("args, what", [
    (["--model=log(x*w)", "--init=w=-1"], "nan"),     # log of a negative number
    (["--model=x/w", "--init=w=0"], "inf"),           # division by zero
])
def test_a_formula_that_blows_up_ends_as_a_diverging_run(servers, tmp_path, args, what):
    code, out, err = run(servers, "train.py", [*args, "--output=run.json"], tmp_path)
    assert code == 1
    (line,) = err.splitlines()
    assert line.startswith("train.py: error: training diverged at epoch 0, step 0")
    assert what in line
    assert json.loads((tmp_path / "work" / "run.json").read_text())["diverged_at_step"] == 0
    code, out, err = servers("explain.py").run(args, tmp_path / "work")
    assert code == 1 and out  # the table shows where
    (line,) = err.splitlines()
    assert line.startswith("explain.py: error: the numbers blow up at this point: ")


# ---- sweep ----

def test_sweep_a_formula_with_no_closed_form_finds_stability_numerically(servers, tmp_path):
    code, out, err = run(servers, "sweep.py", ["--model=x*w**2", "--num_lr=8", "--epochs=5",
                                               "--output=s.csv"], tmp_path)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    (line,) = [x for x in lines if x.startswith("stable learning rates (")]
    assert line.startswith("stable learning rates (numerical, linearised at w = ")
    # the lecture's data fit w^2 = 2 exactly: w* = sqrt(2), its slope 2 w x, so the
    # linearised map is the lecture's with x scaled by 2 sqrt(2) (its rates divided by 8)
    lo, hi = map(float, line.split(": ", 1)[1].split(" or ")[0].strip("()").split(", "))
    from lec4_jax.tool import stability

    want = stability.stable_learning_rates(2 * np.sqrt(2) * np.array([1.0, 2.0, 3.0]))
    assert lo == 0 and hi == pytest.approx(want.max_stable, rel=1e-3)
    csv = (tmp_path / "work" / "s.csv").read_text().splitlines()
    assert csv[0] == "lr,w_init,final_w,final_loss,diverged" and len(csv) == 9


def test_sweep_init_fixes_a_parameter_off_the_grid(servers, tmp_path):
    code, out, err = run(servers, "sweep.py", ["--model=x*w + b", "--num_lr=2",
                                               "--w_init_values=1,2", "--init=b=0.25",
                                               "--output=s.csv"], tmp_path)
    assert (code, err) == (0, "")
    rows = (tmp_path / "work" / "s.csv").read_text().splitlines()
    assert rows[0].startswith("lr,w_init,b_init,")
    assert len(rows) == 5 and all(r.split(",")[2] == "0.25" for r in rows[1:])


@pytest.mark.parametrize("name", FORMULAS)
def test_sweep_every_formula_with_its_plot(servers, tmp_path, name):
    code, out, err = run(servers, "sweep.py", [f"--model={name}", "--num_lr=4", "--epochs=2",
                                               "--plot=s.png", "--output=s.csv"], tmp_path)
    assert (code, err) == (0, "")
    assert sorted(os.listdir(tmp_path / "work")) == ["s.csv", "s.png"]
    assert any(line.startswith("stable learning rates (") for line in out.splitlines())


@pytest.mark.parametrize("grad", ["autodiff", "chain_rule", "closed_form"])
def test_every_gradient_method_trains_a_formula(servers, tmp_path, grad):
    # jax.grad, the handwritten walk and the formula's symbolic derivative: in float64 the
    # three runs end within rounding of each other (the lines are not bit-equal: the symbolic
    # derivative rounds in its own order).
    args = ["--model=sigmoid(x*w + b)", f"--grad={grad}", "--x64", "--epochs=3", "--notrace",
            "--output=run.json"]
    code, _, err = run(servers, "train.py", args, tmp_path)
    assert (code, err) == (0, "")
    final = json.loads((tmp_path / "work" / "run.json").read_text())["final_params"]
    (tmp_path / "ref").mkdir()
    servers("train.py").run([*args[:1], "--x64", "--epochs=3", "--notrace", "--output=r.json"],
                            tmp_path / "ref")
    want = json.loads((tmp_path / "ref" / "r.json").read_text())["final_params"]
    assert final.keys() == want.keys() == {"w", "b"}
    np.testing.assert_allclose(list(final.values()), list(want.values()), rtol=1e-12)
    code, out, err = servers("sweep.py").run(["--model=sigmoid(x*w + b)", f"--grad={grad}",
                                              "--num_lr=3", "--epochs=2"], tmp_path / "ref")
    assert (code, err) == (0, "") and "3 models x 2 epochs" in out


def test_sweep_a_formula_of_the_most_parameters_allowed(servers, tmp_path):
    # the grid's initial points came from np.meshgrid, one dimension per parameter: 40
    # parameters were exit 70 ("only supports up to 32 dimensions"); 32 is the bound now
    text = " + ".join(f"x*p{i}" for i in range(32))
    code, out, err = run(servers, "sweep.py", [f"--model={text}", "--num_lr=2", "--epochs=1",
                                               "--init=p3=0.5", "--output=s.csv"], tmp_path)
    assert code == 0, err
    rows = (tmp_path / "work" / "s.csv").read_text().splitlines()
    header = rows[0].split(",")
    assert len(rows) == 3 and header[:2] == ["lr", "p0_init"]
    assert all(r.split(",")[header.index("p3_init")] == "0.5" for r in rows[1:])


def test_sweep_where_every_rate_diverges_says_none_is_stable_not_nan(servers, tmp_path):
    # every rate outside x*w's stable windows on the lecture's data ((0, 0.204) or
    # (0.477, 0.519)): it said "the largest stable one below it nan"
    code, out, err = run(servers, "sweep.py", ["--model=x*w", "--num_lr=3", "--lr_min=0.3",
                                               "--epochs=3"], tmp_path)
    assert code == 0, err
    (line,) = [x for x in out.splitlines() if x.startswith("measured:")]
    assert line.startswith("measured: 3 of 3 configs diverged") and "nan" not in line
    assert line.endswith("and no smaller one is stable")


@pytest.mark.parametrize("args, where", [
    (["--model=log(x*w)", "--init=w=-1"], "the starting point w=-1,"),
    (["--model=log(x*w)", "--w_init_values=-1,-2"], "every one of the 2 starting points,"),
    (["--model=log(x*w - 10)"], "the starting point w=1,")])
def test_sweep_from_a_start_where_the_loss_is_not_finite_fails_as_train_does(servers, tmp_path,
                                                                             args, where):
    # log(x*w) at w=-1: every config diverges before any step, nothing to measure or analyse.
    # That was exit 0 and "not analysed"; now one line and exit 1, as train.py's run from
    # there (test_a_formula_that_blows_up_ends_as_a_diverging_run), and no --output left.
    code, out, err = run(servers, "sweep.py", [*args, "--num_lr=3",
                                               "--epochs=1", "--output=s.csv"], tmp_path)
    assert code == 1 and out == "", err
    (line,) = err.splitlines()
    assert line == (f"sweep.py: error: every config diverged: the loss is not finite at {where} "
                    "before any step (a log of a number <= 0, a division by zero, an overflow); "
                    "nothing to measure"), line
    assert not (tmp_path / "work" / "s.csv").exists()


def test_sweep_with_one_finite_start_among_non_finite_ones_runs(servers, tmp_path):
    # w=-1 diverges at once, w=2 trains: the sweep measures both and exits 0
    code, out, err = run(servers, "sweep.py", ["--model=log(x*w)", "--w_init_values=-1,2",
                                               "--num_lr=2", "--epochs=1"], tmp_path)
    assert code == 0, err
    assert "measured: 2 of 4 configs diverged" in out


def test_a_run_whose_final_mean_loss_overflows_ends_as_a_diverging_run(servers, tmp_path):
    # every step finite, the mean loss at the last step's parameters inf: that was exit 0 with
    # a warning ("the mean loss rose from 4.67 to inf"); a non-finite result is exit 1
    for name in ("linear", "x*w"):
        code, out, err = run(servers, "train.py", [f"--model={name}", "--learning_rate=0.425",
                                                   "--epochs=50", "--trace=false",
                                                   "--output=run.json"], tmp_path)
        assert code == 1, err
        (line,) = err.splitlines()
        assert line.startswith("train.py: error: training diverged: the mean loss at the final "
                               "parameters is inf (it rose from 4.66"), line
        assert (tmp_path / "work" / "run.json").exists()  # written, as for any diverged run
