"""Tests for the kinds of planted bug that last round's suite let through (issue 29): which code
ran, a message's flag, the edges of ranges, and outputs written in place.

Each was shown to fail with its bug planted by hand (docs/contract.md, "Planted bugs").
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import lec4_jax as lj
from cli_util import BASE_ENV, SCRIPTS, run_script
from lec4_jax import chain_rule as cr
from lec4_jax import grads
from lec4_jax.tool import data, stability

X, Y = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]


# Which code ran ---------------------------------------------------------------------------
def test_the_chain_rule_runs_the_handwritten_rules(monkeypatch):
    """Every rule on the lecture's graph runs once per gradient, and changing a rule changes
    ``grads.chain_rule``'s answer (and not ``autodiff``'s): no other derivative stands in."""
    calls = []
    for name in ("MUL", "SUB", "SQUARE"):
        p = getattr(cr, name)
        counted = (lambda vjp, n: lambda *a, **k: (calls.append(n), vjp(*a, **k))[1])(p.vjp, name)
        monkeypatch.setattr(cr, name, dataclasses.replace(p, vjp=counted))
    assert float(grads.chain_rule(1.0, 1.0, 2.0)) == -2.0
    assert sorted(calls) == ["MUL", "SQUARE", "SUB"]
    # d(s^2)/ds = 2s becomes 3s: dL/dw = 3 s x = -3 at x=1, w=1, y=2
    monkeypatch.setattr(cr, "SQUARE", dataclasses.replace(
        cr.SQUARE, vjp=lambda ct, a: (3 * ct * a,)))
    assert float(grads.chain_rule(1.0, 1.0, 2.0)) == -3.0
    assert float(grads.autodiff(1.0, 1.0, 2.0)) == -2.0


# A message names the flag at fault ----------------------------------------------------------
@pytest.mark.parametrize("noise", ["inf", "nan", "1e39"])
def test_a_non_finite_noise_is_blamed_on_noise(noise):
    """(The scripts' errors are English only: nothing to check in Korean.)"""
    proc = run_script("train.py", "--dataset=synthetic", "--num_samples=4", f"--noise={noise}",
                      "--epochs=1")
    (line,) = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and line.startswith("train.py: error: --noise"), line
    assert "--seed" not in line
    with pytest.raises(data.InputError) as e:
        data.synthetic(4, float(noise), 0, dtype=np.float32)
    assert e.value.field == "noise"


# Edges of ranges ----------------------------------------------------------------------------
def _edges(rates, top=math.inf):
    """Every edge of every window (not 0, not the top of the search), and the next float
    beyond it, outside the window."""
    for lo, hi in rates.intervals:
        if 0 < lo:
            yield lo, np.nextafter(lo, 0.0)
        if hi < top and (rates.complete or hi != rates.intervals[-1][1] or top < math.inf):
            yield hi, np.nextafter(hi, math.inf)


@pytest.mark.parametrize("x", [X, [0.5, 1.0, 1.5, 2.5], [3.0, 1.0]])
def test_every_edge_of_a_stable_window_is_stable_and_the_next_rate_is_not(x):
    """The refinement ends each window at its last stable rate: the rate at the edge is inside
    (|P| < 1) and the next float outward is not."""
    c = 2 * np.asarray(x, np.float64) ** 2
    rates = stability.stable_learning_rates(x)
    assert len(rates.intervals) >= 1
    for edge, beyond in _edges(rates):
        assert stability._log_factor(edge, c)[0] < 0, edge
        assert stability._log_factor(beyond, c)[0] >= 0, beyond


def test_every_edge_of_a_numerical_window_is_stable_and_the_next_rate_is_not():
    phi = np.stack(lj.MODELS["affine"].features(np.asarray(X)), axis=1)
    rates = stability.numerical_learning_rates(phi, 4.0)
    found = list(_edges(rates, 4.0))
    assert found
    for edge, beyond in found:
        assert stability.epoch_log_radius(edge, phi)[0] < 0, edge
        assert stability.epoch_log_radius(beyond, phi)[0] >= 0, beyond


@pytest.mark.parametrize("num_lr,chunk", [(5, 6), (7, 4), (9, 8), (4, 4)])
def test_progress_never_counts_a_chunk_padding(num_lr, chunk):
    """The last chunk is padded to the chunk's size (5, 7 and 9 rates in chunks of 3, 2
    and 4 rates, two initial values each); progress counts real models only:
    increasing, never above the total, ending at it."""
    seen = []
    lj.train_grid(lj.learning_rates(0.01, 0.1, num_lr), [1.0, 2.0], X, Y, epochs=1,
                  chunk=chunk, progress=lambda done, total: seen.append((done, total)))
    total = num_lr * 2
    assert seen and all(t == total for _, t in seen)
    dones = [d for d, _ in seen]
    assert dones == sorted(set(dones)) and max(dones) == total == dones[-1]


@pytest.mark.parametrize("keep_history", [True, False])
def test_loss_after_is_taken_before_the_divergence(keep_history):
    """A diverged run reports the parameters of the step where it went non-finite, and the
    mean loss there, not at the parameters after (NaN)."""
    run = lj.run(lj.Settings(learning_rate=1.0, keep_history=keep_history), X, Y)
    assert run.diverged_at is not None
    w = np.float32(run.final_params["w"])
    assert w == run.history.params["w"][run.diverged_at] and np.isfinite(w)
    with np.errstate(over="ignore"):
        want = np.mean([(np.float32(x) * w - np.float32(y)) ** 2 for x, y in zip(X, Y)],
                       dtype=np.float32)
    np.testing.assert_array_equal(run.loss_after, want)  # inf here: never NaN


# Outputs in place ---------------------------------------------------------------------------
def test_an_output_to_dev_stdout_reaches_a_pipe():
    """``--output=/dev/stdout`` into a pipe: written through the name given (its resolved
    path, ``/proc/self/fd/1`` -> ``pipe:[...]``, cannot be opened)."""
    proc = run_script("train.py", "--epochs=1", "--trace=false", "--output=/dev/stdout")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("predict (BT)")
    record = json.loads("\n".join(lines[lines.index("{"):]))
    assert record["config"]["epochs"] == 1 and record["config"]["output"] == "/dev/stdout"


def test_a_signal_leaves_no_scratch_file(tmp_path):
    """SIGTERM while the animation is written to its scratch file: the file is gone after."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("PIL")
    scratch, work = tmp_path / "tmp", tmp_path / "work"
    scratch.mkdir()
    work.mkdir()
    proc = subprocess.Popen([sys.executable, str(SCRIPTS / "train.py"), "--epochs=100",
                             "--trace=false", "--animate=run.gif"], cwd=work,
                            env=dict(BASE_ENV, TMPDIR=str(scratch)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not os.listdir(scratch) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.listdir(scratch), "the scratch file was never seen"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert os.listdir(scratch) == [] and os.listdir(work) == []
