"""lec4_jax.tool.report: number formatting, trace lines, the streamed JSON record."""

import json
import sys

import _bench as benchmarks
import numpy as np
import pytest

from lec4_jax.tool import report, runs
from lec4_jax.tool.settings import Settings

LECTURE = ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])


def test_fmt_is_the_shortest_round_trip_in_the_dtype():
    assert report.fmt(0.1, "float32") == "0.1"
    assert report.fmt(np.float32(1) / 3, "float32") == "0.33333334"
    assert report.fmt(1 / 3, "float64") == "0.3333333333333333"
    v = np.float32(-16.228802)
    assert np.float32(report.fmt(v, "float32")) == v


@pytest.fixture(scope="module")
def lecture_run():
    return runs.run(Settings(epochs=2), *LECTURE)


def test_trace_lines_follow_the_lecture(lecture_run):
    lines = list(report.trace_lines(lecture_run))
    assert lines[0] == "predict (BT) 4.0 4.0"
    assert lines[1] == "\tgrad:  1.0 2.0 -2.0"
    assert [line.split()[0] for line in lines[1:]] == (
        ["grad:"] * 3 + ["progress:"] + ["grad:"] * 3 + ["progress:", "predict"])
    assert lines[4] == f"progress: 0 {report.fmt(lecture_run.history.loss[2], 'float32')}"
    assert lines[-1].startswith("predict (AT) 4.0 ")


def test_trace_can_be_turned_off(lecture_run):
    lines = list(report.trace_lines(lecture_run, trace=False))
    assert len(lines) == 4 and not any("grad:" in line for line in lines)


def test_diverged_run_stops_at_the_first_bad_step():
    run = runs.run(Settings(learning_rate=1.0), *LECTURE)
    lines = list(report.trace_lines(run))
    assert sum("grad:" in line for line in lines) == run.diverged_at + 1
    assert not lines[-1].startswith("predict (AT)")
    message = report.divergence_message(run)
    assert message == "training diverged at epoch 9, step 29 (sample 3 of 3): loss is inf"


@pytest.mark.parametrize("rows_per_chunk", [1, 4, 8192])
def test_history_json_holds_every_step_exactly_whatever_the_chunking(lecture_run,
                                                                      rows_per_chunk):
    config = {"predict_x": 4.0, "learning_rate": 0.01}
    text = "".join(report.history_json(lecture_run, config, "cpu", rows_per_chunk))
    record = json.loads(text)
    assert record["config"] == config and record["dtype"] == "float32"
    assert record["settings"] == lecture_run.settings.record()
    assert len(record["steps"]) == 6 and record["diverged_at_step"] is None
    h = lecture_run.history
    assert record["steps"] == [
        {"epoch": int(h.epoch[i]), "x": float(h.x[i]), "y": float(h.y[i]),
         "w": float(h.params["w"][i]), "loss": float(h.loss[i]), "grad": float(h.grads["w"][i])}
        for i in range(6)]  # exact: a float32 widens to float64 exactly
    assert record["steps"][0] == {"epoch": 0, "x": 1.0, "y": 2.0, "w": 1.0, "loss": 1.0,
                                  "grad": -2.0}
    assert record["final_w"] == float(lecture_run.final_params["w"])
    assert record["predict_after"] == float(lecture_run.predict_after)


def test_history_json_of_a_diverged_run_spells_out_infinity():
    run = runs.run(Settings(learning_rate=1.0), *LECTURE)
    record = json.loads("".join(report.history_json(run, {}, "cpu", 7)))
    assert record["diverged_at_step"] == 29 and len(record["steps"]) == 30
    assert record["steps"][-1]["loss"] == "Infinity"
    assert all(isinstance(s["loss"], float) for s in record["steps"][:-1])


def test_json_float_spells_out_non_finite_values():
    assert [report.json_float(v) for v in (np.inf, -np.inf, np.nan, 0.5)] == [
        "Infinity", "-Infinity", "NaN", 0.5]


def test_stability_note_names_the_intervals():
    note = report.stability_note([1, 2, 3], Settings(learning_rate=1.0, optimizer="adam"))
    assert note.startswith("with this data, plain SGD is stable for learning rates in (0, 0.2040")
    assert "analysis is for sgd" in note and note.endswith("got 1")


@pytest.mark.parametrize("model, lr, spans", [
    # one feature: every stable rate, exactly
    ("linear", 0.3, "in (0, 0.204018) or (0.476538, 0.519014) (analytic)"),
    # several: searched numerically up to 4 times the rate used; stable that far up
    ("affine", 0.01, "in (0, 0.04) (higher rates not searched) (numerical)"),
    ("quadratic", 0.005, "in (0, 0.02) (higher rates not searched) (numerical)"),
    # and past the last stable rate, the search's edge
    ("affine", 0.2, "in (0, 0.1875) (higher rates not searched) (numerical)"),
])
def test_stability_note_of_each_kind_of_model(model, lr, spans):
    note = report.stability_note([1, 2, 3], Settings(model=model, learning_rate=lr))
    assert note == f"with this data, plain SGD is stable for learning rates {spans}; got {lr:g}"
    lone = report.stability_note([1, 2, 3], Settings(model="w_squared", learning_rate=lr))
    assert lone == ("with this data, plain SGD's stable learning rates are not analysed "
                    "(w_squared (y_hat = x*w^2) is not linear in its parameters: no "
                    f"least-squares fit); got {lr:g}")


def test_non_finite_values_are_strict_jsons_strings():
    assert [report.json_float(v) for v in (float("inf"), -float("inf"), float("nan"), -0.5)] \
        == ["Infinity", "-Infinity", "NaN", -0.5]


def test_bench_rows_state_ratios_and_goals():
    row = benchmarks.bench_row("c", "compiled", 1e-5, "s", 3e-3, ("faster", 200))
    assert row["ratio"] == pytest.approx(300) and row["met"] is True
    assert "300.0x faster" in row["text"] and "(goal >= 200x faster: met)" in row["text"]
    row = benchmarks.bench_row("f", "train.py", 1.2, "s", 1.8, ("of the seed", 0.6))
    assert row["ratio"] == pytest.approx(2 / 3) and row["met"] is False
    assert "0.67x of the seed" in row["text"] and "NOT met" in row["text"]
    row = benchmarks.bench_row("g", "rss", 3.0, "B", 2.0, ("of the reference", 1.5))
    assert row["ratio"] == 1.5 and row["met"] is True
    # A ratio row (unit "x") is judged on its value: at least, at most.
    row = benchmarks.bench_row("e", "share of the probe", 0.3, "x", None, ("at least", 0.5))
    assert row["met"] is False and "0.3x  (goal >= 0.5x: NOT met)" in row["text"]
    row = benchmarks.bench_row("e", "against the floor", 1.5, "x", None, ("at most", 2.0))
    assert row["met"] is True and "(goal <= 2x: met)" in row["text"]
    row = benchmarks.bench_row("e", "sweep", 2e9, "model-steps/s", None, None)
    assert row["met"] is None and "2 Gmodel-steps/s" in row["text"]
    row = benchmarks.bench_row("c", "compiled", 1e-5, "s", None, ("faster", 200))
    assert row["met"] is None and "no reference without torch" in row["text"]
    assert benchmarks.bench_row("a", "torch", None, "s", None, None)["text"].endswith(
        "skipped (torch is not installed)")


def test_the_divergence_message_names_the_parameter_when_the_loss_is_finite():
    # A history whose first bad step has a finite loss but a non-finite b: the message names
    # b and its value, not the loss (the other branch of the message).
    run = runs.run(Settings(model="affine", learning_rate=1.0), *LECTURE)
    step, h = run.diverged_at, run.history
    loss, b = np.array(h.loss), np.array(h.params["b"])
    loss[step], b[step] = 1.0, -np.inf
    doctored = run._replace(history=h._replace(loss=loss, params=dict(h.params, b=b)))
    assert report.divergence_message(doctored).endswith(f"(sample {step % 3 + 1} of 3): b is "
                                                        "-inf")


def test_stable_spans_say_when_no_search_was_made():
    from lec4_jax.tool import stability

    too_many = np.ones(stability.NUMERICAL_MAX_SAMPLES + 1)
    rates = stability.for_model("affine", too_many, 1.0)
    assert (rates.intervals, rates.complete, rates.method) == ([], False, "not analysed")
    assert report.stable_spans(rates) == "not analysed (more samples than a numerical search takes)"
    partial = stability.StableRates([(0.0, 0.25)], False, "numerical")
    assert report.stable_spans(partial) == "(0, 0.25) (higher rates not searched)"


def test_without_torch_the_bench_skips_its_rows_and_judges_no_goal(monkeypatch):
    """Each PyTorch measurement is None where torch cannot be imported, and its row says it
    was skipped; a row measured against a missing PyTorch reference leaves its goal unjudged."""
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert benchmarks.torch_lecture_loop(1) is None
    assert benchmarks.torch_sweep(10, 1) is None
    assert benchmarks.torch_threads() is None
    assert benchmarks.lecture_script_seconds(1) is None
    skipped = benchmarks.bench_row("a", "PyTorch eager lecture loop", None, "s")
    assert skipped["text"].endswith("skipped (torch is not installed)")
    assert skipped["value"] is None and skipped["met"] is None
    unjudged = benchmarks.bench_row("c", "whole run", 1e-3, "s", None, ("faster", 200))
    assert unjudged["goal"] == "faster: no reference without torch" and unjudged["met"] is None


def test_the_cpu_is_named_without_proc_cpuinfo(monkeypatch):
    import builtins
    import platform

    real_open = builtins.open

    def no_cpuinfo(path, *args, **kwargs):
        if path == "/proc/cpuinfo":
            raise FileNotFoundError(path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_cpuinfo)
    assert benchmarks.cpu_name() == (platform.processor() or platform.machine())
