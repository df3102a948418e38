"""The settings record (lec4_jax/tool/settings.py): what it accepts, what it refuses (one
InputError naming the setting at fault), what it resolves, and the record it writes. The
scripts reach it through their flags, whose own bounds refuse much of this first; these tests
hold the library's checks on their own."""

import dataclasses

import numpy as np
import pytest

from lec4_jax import model
from lec4_jax.tool import limits, settings
from lec4_jax.tool.data import InputError
from lec4_jax.tool.settings import Settings


def refused(field: str, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        Settings(**kwargs)
    assert caught.value.field == field
    return str(caught.value)


def test_the_defaults_are_the_lectures_and_the_record_says_so():
    s = Settings()
    assert s.model is model.LECTURE and s.init == {"w": 1.0} and s.dtype == np.float32
    assert s.record() == {
        "model": "linear", "init": {"w": 1.0}, "learning_rate": 0.01, "epochs": 20,
        "optimizer": "sgd", "grad": "autodiff", "loop": "scan", "x64": False, "predict_x": 4.0,
        "keep_history": True, "dtype": "float32"}
    assert Settings(x64=True).record()["dtype"] == "float64"
    assert Settings(x64=True).dtype == np.float64


def test_a_model_by_name_or_by_object_is_resolved_once_with_its_defaults_filled_in():
    for m in model.MODELS.values():
        by_name, by_object = Settings(model=m.name), Settings(model=m)
        assert by_name.model is by_object.model is m
        assert by_name.init == {p: float(m.defaults[p]) for p in m.params}
    # a partial init keeps the model's order and its defaults for the rest, as floats
    affine = Settings(model="affine", init={"b": 3})
    assert list(affine.init) == ["w", "b"] and affine.init == {"w": 1.0, "b": 3.0}
    assert all(type(v) is float for v in affine.init.values())
    assert Settings(init={}).init == {"w": 1.0}


def test_a_record_cannot_be_changed_in_place():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().epochs = 3


def test_each_bad_choice_names_its_setting_and_the_choices():
    assert "unknown model 'cubic'; choose from ['affine', 'linear', " in refused("model",
                                                                       model="cubic")
    assert "unknown function 'cube'" in refused("model", model="cube(x*w)")  # a formula's piece
    assert "'rmsprop2' is not one of sgd, " in refused("optimizer", optimizer="rmsprop2")
    assert "'numeric' is not one of " in refused("grad", grad="numeric")
    assert "'while' is not one of " in refused("loop", loop="while")
    assert "does not apply to model linear" in refused("b_init", init={"w": 1.0, "b": 2.0})


def test_epochs_start_at_one():
    assert refused("epochs", epochs=0) == "must be >= 1, got 0"
    refused("epochs", epochs=-5)
    assert Settings(epochs=1).epochs == 1


def test_numbers_are_checked_in_the_dtype_they_compute_in():
    big = 1e39  # finite in float64, not in float32
    assert "not finite in float32" in refused("learning_rate", learning_rate=big)
    assert "not finite in float32" in refused("predict_x", predict_x=big)
    assert "not finite in float32" in refused("w_init", init={"w": big})
    assert "not finite in float32" in refused("b_init", model="affine", init={"b": big})
    s = Settings(learning_rate=big, predict_x=big, init={"w": big}, x64=True)
    assert (s.learning_rate, s.predict_x, s.init["w"]) == (big, big, big)
    assert refused("learning_rate", learning_rate=0.0) == "must be > 0, got 0.0"
    refused("learning_rate", learning_rate=-0.01)
    assert "smallest normal" in refused("learning_rate", learning_rate=1e-40)
    assert "is not finite" in refused("predict_x", predict_x=float("nan"))
    # predict_x and the parameters may be zero or negative
    assert Settings(predict_x=-2.0, init={"w": 0.0}).init == {"w": 0.0}


def test_check_size_counts_steps_and_asks_for_history_memory_only_with_history(monkeypatch):
    asked = []
    monkeypatch.setattr(limits, "check_memory", lambda *a: asked.append(a))
    assert Settings(epochs=7).check_size(3) == 21
    assert asked == [(limits.history_bytes(21, 1, 4), "a per-step history of 21 steps",
                      "epochs")]
    asked.clear()
    assert Settings(model="affine", epochs=2, x64=True).check_size(5) == 10
    assert asked[0][0] == limits.history_bytes(10, 2, 8)
    asked.clear()
    assert Settings(epochs=7, keep_history=False).check_size(3) == 21 and asked == []
    with pytest.raises(InputError) as caught:
        Settings(epochs=2**30).check_size(3)
    assert caught.value.field == "epochs" and "32-bit" in str(caught.value)


def test_check_size_refuses_a_history_beyond_the_machines_memory(monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 10**6)
    with pytest.raises(InputError) as caught:
        Settings(epochs=10**5).check_size(3)
    assert caught.value.field == "epochs" and "per-step history of 300,000 steps" in str(
        caught.value)
    assert Settings(epochs=10**5, keep_history=False).check_size(3) == 300_000


def test_the_naming_rule_is_the_models():
    assert settings.init_field is model.init_field and settings.init_field("b") == "b_init"


def test_a_formula_is_a_model_like_any_other():
    # The record holds the parsed model itself (the one object model.get gives for that text);
    # a parameter not given starts at 1.0; the JSON record names it by its normalised text.
    from lec4_jax import model

    s = Settings(model="sigmoid(x * w+b)", init={"b": 0.0})
    assert s.model is model.get("sigmoid(x*w + b)")
    assert s.init == {"w": 1.0, "b": 0.0}
    assert s.record()["model"] == "sigmoid(x*w + b)"
    assert "does not apply to model" in refused("c_init", model="x*w + b", init={"c": 1.0})
