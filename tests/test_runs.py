"""lec4_jax.tool.runs: a whole run from its settings; lec4_jax.tool.settings: the record,
checked."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lec4_jax import model
from lec4_jax.tool import limits, runs
from lec4_jax.tool.data import InputError
from lec4_jax.tool.settings import Settings

LECTURE = ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])


def test_run_predicts_before_and_after():
    r = runs.run(Settings(), *LECTURE)
    assert r.predict_before == 4.0 and r.diverged_at is None
    assert r.predict_after == model.forward(r.final_params["w"], jnp.float32(4.0))
    assert r.loss_after < r.loss_before
    diverged = runs.run(Settings(learning_rate=1.0), *LECTURE)
    assert diverged.final_params["w"] == diverged.history.params["w"][diverged.diverged_at]


def test_run_of_the_affine_model():
    r = runs.run(Settings(model="affine", init={"w": 1.0, "b": 2.0}, epochs=1), [1.0], [2.0])
    assert r.predict_before == 6.0  # 4*1 + 2
    assert r.history.loss[0] == 1.0  # (1*1 + 2 - 2)^2
    assert r.history.grads["w"][0] == 2.0 and r.history.grads["b"][0] == 2.0


def test_the_run_carries_its_settings():
    s = Settings(learning_rate=0.02, epochs=3)
    r = runs.run(s, *LECTURE)
    assert r.settings is s and r.model is model.LINEAR and len(r.history.loss) == 9


def test_settings_fill_in_the_models_defaults_and_echo_them():
    assert Settings().init == {"w": 1.0}
    assert Settings(model="quadratic", init={"b": 2.0}).init == {"w2": 1.0, "w1": 1.0, "b": 2.0}
    record = Settings(x64=True).record()
    assert record["dtype"] == "float64" and record["init"] == {"w": 1.0}
    assert record["learning_rate"] == 0.01 and record["epochs"] == 20


@pytest.mark.parametrize("kwargs, field, message", [
    (dict(learning_rate=1e39), "learning_rate", "not finite in float32"),
    (dict(learning_rate=1e-40), "learning_rate", "smallest normal"),
    (dict(learning_rate=0.0), "learning_rate", "must be > 0"),
    (dict(learning_rate=float("nan")), "learning_rate", "not finite"),
    (dict(predict_x=-1e39), "predict_x", "not finite in float32"),
    (dict(init={"w": 4e38}), "w_init", "not finite in float32"),
    (dict(init={"b": 1.0}), "b_init", "does not apply to model linear"),
    (dict(model="cubic"), "model", "unknown model 'cubic'; choose from"),
    (dict(model="x*w + y"), "model", "y is the target"),
    (dict(optimizer="sgdd"), "optimizer", "is not one of"),
    (dict(epochs=0), "epochs", "must be >= 1"),
])
def test_settings_are_checked_in_the_compute_dtype(kwargs, field, message):
    with pytest.raises(InputError, match=message) as e:
        Settings(**kwargs)
    assert e.value.field == field and "--" not in str(e.value)  # the library names no flag


def test_float64_holds_what_float32_cannot():
    assert Settings(learning_rate=1e39, x64=True).learning_rate == 1e39
    assert Settings(learning_rate=1e-40, x64=True).learning_rate == 1e-40


def test_sizes_are_refused_up_front():
    with pytest.raises(InputError, match="32-bit integer"):
        Settings(epochs=10**9).check_size(3)
    assert Settings(epochs=10**9, keep_history=False).check_size(2) == 2 * 10**9
    with pytest.raises(InputError, match="GiB of memory"):
        Settings(epochs=2 * 10**8).check_size(10)


def test_a_run_without_history_replays_its_divergence_exactly():
    # the replay recovers the history up to and including the first non-finite step
    full = runs.run(Settings(learning_rate=1.0), *LECTURE)
    lean = runs.run(Settings(learning_rate=1.0, keep_history=False), *LECTURE)
    assert lean.diverged_at == full.diverged_at == 29
    n = len(lean.history.loss)
    assert n == 30 and not np.isfinite(lean.history.loss[29])  # the replay: epochs 0 to 9
    np.testing.assert_array_equal(lean.history.params["w"], full.history.params["w"][:n])
    assert lean.final_params["w"] == full.final_params["w"]


def test_progress_is_reported_from_inside_the_scan_and_changes_nothing(monkeypatch):
    monkeypatch.setattr(runs, "PROGRESS_STEPS", 100)  # make the lecture's 60 x 40 steps "long"
    seen = []
    with_progress = runs.run(Settings(epochs=40, keep_history=False), *LECTURE,
                             progress=lambda e, n: seen.append((int(e), int(n))))
    assert seen == [(e, 40) for e in range(0, 40, 2)]  # every 1/20 of the run, in order
    plain = runs.run(Settings(epochs=40, keep_history=False), *LECTURE)
    np.testing.assert_array_equal(with_progress.history.epoch_loss, plain.history.epoch_loss)
    assert with_progress.final_params["w"] == plain.final_params["w"]


def test_a_run_that_diverges_at_its_first_step_ends_at_its_start():
    # w = 1e30: the first loss overflows float32, so the last finite parameters are the start
    r = runs.run(Settings(init={"w": 1e30}), *LECTURE)
    assert r.diverged_at == 0 and r.final_params["w"] == np.float32(1e30)
    assert r.predict_after == np.float32(4e30)


def test_a_run_whose_last_update_overflows_ends_with_that_update():
    # one sample, one step at lr 2e38: the loss (1) and the gradient (-2) are finite, the new w
    # (1 + 4e38) is not; that is the step count, and the final parameters are that result
    for keep in (True, False):
        r = runs.run(Settings(learning_rate=2e38, epochs=1, keep_history=keep), [1.0], [2.0])
        assert r.diverged_at == 1 and np.isinf(r.final_params["w"])
        assert r.history.params["w"][0] == 1.0


def test_progress_is_for_runs_of_more_than_its_threshold(monkeypatch):
    # exactly PROGRESS_STEPS steps (2 epochs x 3 samples) is short: no callback; one more
    # epoch is long (in blocks of 1 epoch: 3 reports)
    monkeypatch.setattr(runs, "PROGRESS_STEPS", 6)
    seen = []
    runs.run(Settings(epochs=2, keep_history=False), *LECTURE, progress=lambda e, n: seen.append(e))
    assert seen == []
    runs.run(Settings(epochs=3, keep_history=False), *LECTURE, progress=lambda e, n: seen.append(e))
    assert [int(e) for e in seen] == [0, 1, 2]


def test_the_python_loop_is_the_one_that_runs(monkeypatch):
    # loop="python" gives the compiled loop's numbers (tested elsewhere); a spy proves that
    # it is the Python loop that computed them, step by jitted step.
    from lec4_jax.tool import training

    calls = []
    original = training._python_loop
    monkeypatch.setattr(training, "_python_loop",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    runs.run(Settings(loop="python", epochs=2), *LECTURE)
    assert calls == [1]
    runs.run(Settings(loop="scan", epochs=2), *LECTURE)
    assert calls == [1]


def test_short_runs_compile_without_the_callback():
    seen = []
    runs.run(Settings(), *LECTURE, progress=lambda e, n: seen.append(e))
    assert seen == []


def test_progress_with_a_history_and_a_remainder_of_epochs_changes_nothing(monkeypatch):
    # 45 epochs in blocks of 2: 22 blocks, then one epoch; every step's record equal.
    monkeypatch.setattr(runs, "PROGRESS_STEPS", 100)
    seen = []
    reported = runs.run(Settings(epochs=45), *LECTURE, progress=lambda e, n: seen.append(int(e)))
    assert seen == list(range(0, 44, 2))
    plain = runs.run(Settings(epochs=45), *LECTURE)
    for a, b in zip(jax.tree.leaves(reported.history), jax.tree.leaves(plain.history)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(model.MODELS))
def test_the_history_estimate_counts_float64_with_x64(monkeypatch, name):
    # Every float of the history (x, y, loss, each parameter and gradient) is 8 bytes with
    # x64, only the int32 epoch is not: the estimate grows by more than half, never stays.
    needed = []
    monkeypatch.setattr(limits, "check_memory", lambda n, *_: needed.append(n))
    for x64 in (False, True):
        Settings(model=name, epochs=1000, x64=x64).check_size(3)
    n_floats = 3 + 2 * len(model.get(name).params)
    assert needed[0] >= 3000 * (4 + 4 * n_floats) and needed[1] > 1.5 * needed[0]
