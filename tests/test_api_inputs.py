"""The public API (``lec4_jax.__all__``) checks its arguments as the scripts check their flags.

hypothesis draws each argument of each public function from every class of value a user may
pass: ints (huge ones too), floats (NaN and infinities too), fractions, decimals (``sNaN``
too), strings, bools and None. Every call either works or raises
:class:`~lec4_jax.InputError` naming the argument; never ``OverflowError``, ``TypeError`` or
another error from inside.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lec4_jax as lj
from lec4_jax.tool import data

X, Y = [1.0, 2.0, 3.0], [2.0, 4.0, 6.0]
HUGE = st.integers(min_value=10**39).flatmap(lambda n: st.sampled_from([n, -n]))
NUMBERS = st.one_of(
    st.integers(-10**6, 10**6), HUGE, st.floats(), st.floats(width=32),
    st.fractions(), HUGE.map(lambda n: Fraction(n, 3)),
    st.decimals(), st.sampled_from([Decimal("sNaN"), Decimal("1e400"), Decimal("-Infinity")]))
OTHERS = st.one_of(st.text(max_size=8), st.booleans(), st.none(), st.just([1.0]),
                   st.just(1 + 2j), st.just(b"1"))
VALUES = st.one_of(NUMBERS, OTHERS)
# counts: small (the edge at 1), huge, and every other class; never a long valid run
COUNTS = st.one_of(st.integers(-3, 3), HUGE, st.floats(), st.fractions(), st.decimals(),
                   OTHERS)


def _settings(**kw):
    return lj.Settings(**kw)


# name -> (call with one argument replaced, the argument, the fields an error may name, values)
CALLS = {
    "forward.w": (lambda v: lj.forward(v, 2.0), {"w"}, VALUES),
    "forward.x": (lambda v: lj.forward(1.0, v), {"x"}, VALUES),
    "loss.y": (lambda v: lj.loss(1.0, 1.0, v), {"y"}, VALUES),
    "grads.autodiff.w": (lambda v: lj.grads.autodiff(v, 1.0, 2.0), {"w"}, VALUES),
    "grads.chain_rule.x": (lambda v: lj.grads.chain_rule(1.0, v, 2.0), {"x"}, VALUES),
    "grads.closed_form.y": (lambda v: lj.grads.closed_form(1.0, 1.0, v), {"y"}, VALUES),
    "Settings.learning_rate": (lambda v: _settings(learning_rate=v), {"learning_rate"}, VALUES),
    "Settings.predict_x": (lambda v: _settings(predict_x=v), {"predict_x"}, VALUES),
    "Settings.init": (lambda v: _settings(init={"w": v}), {"w_init"}, VALUES),
    "Settings.epochs": (lambda v: _settings(epochs=v), {"epochs"}, COUNTS),
    "Settings.model": (lambda v: _settings(model=v), {"model"}, VALUES),
    "Settings.optimizer": (lambda v: _settings(optimizer=v), {"optimizer"}, VALUES),
    "Settings.grad": (lambda v: _settings(grad=v), {"grad"}, VALUES),
    "Settings.loop": (lambda v: _settings(loop=v), {"loop"}, VALUES),
    "Settings.x64": (lambda v: _settings(x64=v), {"x64"}, VALUES),
    "run.x": (lambda v: lj.run(lj.Settings(epochs=1), [v, 2.0, 3.0], Y), {"x"}, VALUES),
    "run.y": (lambda v: lj.run(lj.Settings(epochs=1), X, [2.0, v, 6.0]), {"y"}, VALUES),
    "Example.of.x": (lambda v: lj.Example.of("linear", x=v), {"x"}, VALUES),
    "Example.of.y": (lambda v: lj.Example.of("linear", y=v), {"y"}, VALUES),
    "Example.of.params": (lambda v: lj.Example.of("affine", {"b": v}), {"b_init"}, VALUES),
    "Example.of.model": (lambda v: lj.Example.of(v), {"model"}, VALUES),
    "stable_learning_rates.x": (lambda v: lj.stable_learning_rates([1.0, v]), {"x"}, VALUES),
    "stable_learning_rates.max_windows": (lambda v: lj.stable_learning_rates(X, v),
                                          {"max_windows"}, COUNTS),
    "learning_rates.lr_min": (lambda v: lj.learning_rates(v, 1.0, 4), {"lr_min", "lr_max"},
                              VALUES),
    "learning_rates.lr_max": (lambda v: lj.learning_rates(0.01, v, 4), {"lr_max"}, VALUES),
    "learning_rates.num": (lambda v: lj.learning_rates(0.01, 1.0, v), {"num"}, COUNTS),
    "learning_rates.spacing": (lambda v: lj.learning_rates(0.01, 1.0, 4, v), {"spacing"},
                               VALUES),
    "train_grid.lrs": (lambda v: lj.train_grid([v], [1.0], X, Y, epochs=1), {"lrs"}, VALUES),
    "train_grid.inits": (lambda v: lj.train_grid([0.1], [v], X, Y, epochs=1), {"w_init"},
                         VALUES),
    "train_grid.x": (lambda v: lj.train_grid([0.1], [1.0], [v, 2.0, 3.0], Y, epochs=1), {"x"},
                     VALUES),
    "train_grid.epochs": (lambda v: lj.train_grid([0.1], [1.0], X, Y, epochs=v), {"epochs"},
                          COUNTS),
    "train_grid.chunk": (lambda v: lj.train_grid([0.1], [1.0], X, Y, epochs=1, chunk=v),
                         {"chunk"}, COUNTS),
    "train_grid.optimizer": (lambda v: lj.train_grid([0.1], [1.0], X, Y, epochs=1,
                                                     optimizer=v), {"optimizer"}, VALUES),
    "set_language": (lambda v: lj.set_language(v) if v is not None else None, {"lang"},
                     VALUES),
}
# Public names that take no raw value of their own: classes and modules, or objects that one
# of the calls above made (a Run, an Example, a walk, a sweep's result).
MADE_BY_THE_CALLS = {"lecture", "lecture_data", "Run", "trace_lines", "MODELS", "grads",
                     "chain_rule", "explain", "table", "modes_table", "InputError",
                     "exercises", "graph_picture", "sweep_picture"}


def test_every_public_name_is_drawn_for():
    drawn = {name.split(".")[0] for name in CALLS}
    assert set(lj.__all__) <= drawn | MADE_BY_THE_CALLS | {"Example"}
    assert set(lj.__all__) - MADE_BY_THE_CALLS <= drawn


@pytest.mark.parametrize("name", sorted(CALLS))
@settings(max_examples=25, deadline=None)
@given(data_=st.data())
def test_each_argument_is_checked(name, data_):
    call, fields, values = CALLS[name]
    value = data_.draw(values, label=name)
    try:
        call(value)
    except lj.InputError as e:
        assert e.field in fields, (e.field, str(e))
        assert "\n" not in str(e)
    finally:
        lj.set_language(None)


@pytest.mark.parametrize("value", [10**400, Fraction(10**400, 7), Decimal("1e400"),
                                   float("inf"), float("nan"), Decimal("NaN")])
def test_numbers_beyond_float32_are_named(value):
    with pytest.raises(lj.InputError, match="not finite") as e:
        lj.Example.of("linear", x=value)
    assert e.value.field == "x"


@pytest.mark.parametrize("epochs", [1e3, 2.5, "20", True, Fraction(20), Decimal(20)])
def test_counts_are_whole_numbers(epochs):
    with pytest.raises(lj.InputError, match="whole number") as e:
        lj.Settings(epochs=epochs)
    assert e.value.field == "epochs"


def test_names_list_their_choices():
    with pytest.raises(lj.InputError) as e:
        lj.Settings(optimizer="adamx")
    assert e.value.field == "optimizer" and "sgd" in str(e.value) and "adam" in str(e.value)


def test_exact_numbers_are_read_as_floats():
    s = lj.Settings(learning_rate=Fraction(1, 100), init={"w": Decimal("1.5")}, predict_x=4)
    assert (s.learning_rate, s.init["w"], s.predict_x) == (0.01, 1.5, 4.0)
    assert isinstance(s.learning_rate, float)
    assert data.check_array([Fraction(1, 2), Decimal("0.25"), 3], np.float32, "x").tolist() \
        == [0.5, 0.25, 3.0]
    assert math.isclose(lj.grads.closed_form(Fraction(1), 1, Decimal(2)), -2.0)
