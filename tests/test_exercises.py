"""lec4_jax.exercises: answers are checked by computation, and every verdict is shown, never
raised: right, wrong with a hint that names what differs (never the value), or blank."""

import functools
import math
import re
from decimal import Decimal
from fractions import Fraction

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lec4_jax import exercises, model

RIGHT = {"lecture_x2": -8.0,  # 2x(xw - y) = 2*2*(2 - 4)
         "bias": {"w": 6.0, "b": 3.0},  # s = 2*1 + 0.5 - 1 = 1.5: 2sx, 2s
         "polynomial": {"w2": -27.0, "w1": -9.0, "b": -3.0}}  # s = 4.5 + 3 + 1 - 10 = -1.5


@pytest.mark.parametrize("name", RIGHT)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_right_answer_passes(name, lang):
    verdict = exercises.check(name, RIGHT[name], lang)
    assert verdict.ok and verdict.status == "right"
    assert verdict.startswith({"en": "correct: ", "ko": "정답입니다: "}[lang])


def test_the_points_are_not_the_registrys_examples():
    # explain.py and the notebook's pictures use the examples: what they print is no answer.
    for ex in exercises.EXERCISES.values():
        assert model.get(ex.model).example != (ex.x, ex.y, ex.params)


@pytest.mark.parametrize("name, wrong, param, node, local", [
    ("lecture_x2", -2.0, "w", "y_hat", "2"),  # dy_hat/dw = x = 2
    ("bias", {"w": 6.0, "b": 1.0}, "b", "y_hat", "1"),  # the addition: dy_hat/db = 1
    ("bias", {"w": 3.0, "b": 3.0}, "w", "xw", "2"),  # dxw/dw = x = 2
    ("polynomial", {"w2": 2.0, "w1": -9.0, "b": -3.0}, "w2", "x2w2", "9"),  # x^2
    ("polynomial", {"w2": -27.0, "w1": -9.0, "b": 3.0}, "b", "y_hat", "1"),
])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_wrong_answer_gets_a_hint_and_never_the_value(name, wrong, param, node, local, lang):
    want = exercises.EXERCISES[name].solution()
    verdict = exercises.check(name, wrong, lang)
    assert verdict.status == "wrong" and not verdict.ok
    assert f"d{node}/d{param} = {local}" in verdict
    assert f"dloss/d{param} = dloss/d{node} * d{node}/d{param}" in verdict
    said = re.sub(rf"= {local}\b", "", verdict)
    numbers = [float(t) for t in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])", said)]
    assert want[param] not in numbers or want[param] == (wrong if not isinstance(wrong, dict)
                                                         else wrong[param]), verdict
    assert "\n" not in verdict


def test_the_korean_reads_as_korean():
    # No template's "아직 아닙니다", no particle glued to a symbol (dloss/dy_hat는), no dict repr.
    for name, wrong in [("lecture_x2", -2.0), ("bias", {"w": 6.0}), ("bias", 2.0),
                        ("polynomial", {"w2": 1.0, "w1": 1.0, "b": 1.0})]:
        verdict = exercises.check(name, wrong, "ko")
        assert "아직 아닙니다" not in verdict and "{'" not in verdict
        assert not re.search(r"d\w+(?:는|은|가|이|를|을)\b", verdict), verdict


def test_a_blank_is_not_answered_yet():
    for blank in (None, ..., {"w": None, "b": None}):
        verdict = exercises.check("bias", blank, "en")
        assert verdict.status == "blank" and not verdict.ok
        assert verdict.startswith("not answered yet: write a dict, {\"w\": ..., \"b\": ...}, ")
    assert exercises.check("lecture_x2", None, "ko").startswith("아직 답을 적지 않았습니다")
    # one number wanted: the blank asks for a number, not a dict
    assert exercises.check("lecture_x2", ..., "en").startswith(
        "not answered yet: write one number, such as -1.5, in place of ...")


def test_a_partial_answer_or_a_lone_number_for_several_parameters():
    assert exercises.check("bias", {"w": 6.0}, "en") == (
        'give a value for b too, as {"w": ..., "b": ...}')
    assert exercises.check("bias", 3.0, "en") == (
        'this graph has several parameters: give one value for each, as {"w": ..., "b": ...}')


def test_an_answer_is_quoted_whole_up_to_24_characters_and_cut_after():
    assert exercises.short("a" * 22) == repr("a" * 22)  # 24 characters: whole
    assert exercises.short("a" * 23) == "'" + "a" * 22 + "…"  # 25: cut to 24, the last one …
    assert exercises.short(10**40) == "1" + "0" * 22 + "…"
    assert exercises.short(np.zeros((2, 2))) == "[[0. 0.] [0. 0.]]"  # on one line


def test_both_languages_by_default():
    assert exercises.check("lecture_x2", -8) == "correct: dloss/dw = -8 / 정답입니다: dloss/dw = -8"


def test_the_verdict_shows_itself():
    verdict = exercises.check("lecture_x2", -2, "en")
    assert repr(verdict) == str(verdict)
    assert "not yet" in verdict._repr_html_() and "<div" in verdict._repr_html_()
    with pytest.raises(ValueError):
        exercises.Verdict("x", "maybe")


# The answers a learner may type: whatever it is, a verdict, never an exception (issue 29).
ANYTHING = st.one_of(
    st.integers(), st.integers(min_value=10**38, max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True), st.fractions(),
    st.decimals(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.booleans(),
    st.lists(st.integers(), max_size=3), st.builds(object), st.none(),
    st.dictionaries(st.text(max_size=3), st.floats(), max_size=3))


@settings(max_examples=150, deadline=None)
@given(answer=ANYTHING, name=st.sampled_from(list(exercises.EXERCISES)),
       lang=st.sampled_from(["en", "ko", "both"]))
def test_any_answer_gets_a_verdict(answer, name, lang):
    verdict = exercises.check(name, answer, lang)
    assert verdict.status in exercises.STATUSES and "\n" not in verdict
    assert len(verdict) < 600


@settings(max_examples=60, deadline=None)
@given(answer=ANYTHING, param=st.sampled_from(["w", "b"]))
def test_any_value_in_a_dict_gets_a_verdict(answer, param):
    full = dict(RIGHT["bias"], **{param: answer})
    assert exercises.check("bias", full, "en").status in exercises.STATUSES


@pytest.mark.parametrize("huge", [10**400, Fraction(10**400), Decimal(10) ** 400, -(10**39),
                                  float("nan"), float("inf"), "eight", "-8", b"-8", True,
                                  [-8.0], {"w": -8.0, "x": 1}])
def test_what_is_not_a_float32_number_is_wrong_not_an_error(huge):
    verdict = exercises.check("lecture_x2", huge, "en")
    assert verdict.status == ("right" if isinstance(huge, dict) else "wrong"), verdict


@pytest.mark.parametrize("huge", [10**400, Fraction(10**400), Decimal(10) ** 400, -(10**39),
                                  1e39, float("inf"), Fraction(-(10**39))])
def test_a_number_beyond_float32_is_called_out_of_range_not_not_a_number(huge):
    # float() cannot read 10**400 (OverflowError), and 1e39 is a float but no float32: both are
    # numbers, too big, and the verdict says so rather than "not a number".
    assert exercises.problem(huge) == "out_of_range"
    en, ko = (exercises.check("lecture_x2", huge, lang) for lang in ("en", "ko"))
    assert "beyond the range float32 can hold" in en and "not a number" not in en
    assert "범위" in ko and "벗어납니다" in ko


@pytest.mark.parametrize(("answer", "why"), [("-8", "is_text"), (b"-8", "is_text"),
                                             (float("nan"), "not_a_number"), (True, "not_a_number"),
                                             ([-8.0], "not_a_number"), (-8, None),
                                             (Fraction(-8), None), (3.4e38, None)])
def test_what_is_wrong_with_an_answer_that_is_not_a_number(answer, why):
    assert exercises.problem(answer) == why


def test_an_exact_fraction_or_decimal_is_read():
    assert exercises.check("lecture_x2", Fraction(-8), "en").ok
    assert exercises.check("lecture_x2", Decimal("-8.0"), "en").ok


@pytest.mark.parametrize("name", ["nope", "", 3, None, ("bias",)])
def test_an_unknown_exercise_is_an_error_that_lists_the_choices(name):
    with pytest.raises(exercises.UnknownExercise) as info:
        exercises.check(name, 1.0)
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert "lecture_x2, bias, polynomial" in str(info.value) and info.value.field == "name"
    assert not str(info.value).startswith(("'", '"'))


def test_an_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="not 'fr'"):
        exercises.check("lecture_x2", -8.0, "fr")


def test_an_exercise_cannot_be_changed_in_place():
    # Frozen: a notebook cell cannot move an exercise's point and so change its answer.
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        exercises.EXERCISES["lecture_x2"].x = 3.0


def test_every_question_states_its_point_loss_and_form():
    for ex in exercises.EXERCISES.values():
        for lang in ("en", "ko"):
            text = ex.text(lang)
            assert "loss = (y_hat - y)^2" in text and f"x={ex.x:g}, y={ex.y:g}" in text
            assert ex.form() in text


# The code exercises -------------------------------------------------------------------------

def _bias_loss(params, x, y):
    return (x * params["w"] + params["b"] - y) ** 2


def _epoch(params, xs, ys, lr):
    for x, y in zip(xs, ys):
        g = jax.grad(_bias_loss)(params, x, y)
        params = {k: params[k] - lr * g[k] for k in params}
    return params


def _batch_epoch(params, xs, ys, lr):  # one update per epoch: not the lecture's
    gs = [jax.grad(_bias_loss)(params, x, y) for x, y in zip(xs, ys)]
    return {k: params[k] - lr * sum(g[k] for g in gs) for k in params}


def _stub(*args):
    raise NotImplementedError


def _ellipsis(*args):
    ...


CODE = {  # name: (right, [(wrong, what the hint names)])
    "bias_grad": ((_bias_loss, jax.grad(_bias_loss)), [
        ((lambda p, x, y: (x * p["w"] - y) ** 2, jax.grad(_bias_loss)), "bias_loss"),
        ((_bias_loss, lambda p, x, y: {"w": 2 * (x * p["w"] + p["b"] - y), "b": 0.0}), "dloss/dw"),
        ((_bias_loss, lambda p, x, y: {"w": jax.grad(_bias_loss)(p, x, y)["w"], "b": x}),
         "dloss/db")]),
    "chain_w2": (lambda w, x, y: 2 * (x * w * w - y) * x * 2 * w, [
        (lambda w, x, y: 2 * (x * w * w - y) * x, "2w"),  # the square node forgotten
        (lambda w, x, y: 2 * (x * w - y) * x, "sample 1")]),
    "sgd_epoch": (_epoch, [
        (_batch_epoch, "not once per epoch"),
        (lambda p, xs, ys, lr: {"w": p["w"], "b": p["b"]}, "after one update on one sample")]),
}


@pytest.mark.parametrize("name", CODE)
def test_a_code_exercise_right_wrong_blank_and_raising(name):
    right, wrongs = CODE[name]
    assert exercises.check(name, right, "en").ok
    for wrong, named in wrongs:
        verdict = exercises.check(name, wrong, "en")
        assert verdict.status == "wrong" and named in verdict, verdict
        assert "\n" not in verdict
    stubs = [(_stub, _stub), (_ellipsis, ...), (None, None)] if name == "bias_grad" else [
        _stub, _ellipsis, None, ...]
    for stub in stubs:
        assert exercises.check(name, stub, "ko").status == "blank"
    crash = (lambda *a: 1 / 0, None) if name == "bias_grad" else (lambda *a: 1 / 0)
    verdict = exercises.check(name, crash, "en")
    assert verdict.status == "wrong" and "ZeroDivisionError: division by zero" in verdict
    assert exercises.check(name, 42 if name != "bias_grad" else (42, 42), "en").status == "wrong"


def test_sgd_epoch_calling_exercise_3_still_blank_says_so():
    """Exercise 6 takes its gradients with exercise 3's bias_grad: left as its stub (``...``, or
    a bias_loss that returns None under jax.grad), the verdict names that, not only the error."""
    def blank_loss(params, x, y):
        ...

    def with_stub(params, x_data, y_data, lr, grad=...):
        for x, y in zip(x_data, y_data):
            g = grad(params, x, y)
            params = {k: params[k] - lr * g[k] for k in params}
        return params

    for grad in (..., jax.grad(blank_loss)):
        epoch = functools.partial(with_stub, grad=grad)
        en, ko = (exercises.check("sgd_epoch", epoch, lang) for lang in ("en", "ko"))
        assert en.status == ko.status == "wrong"
        assert "is still empty" in en and "bias_grad" in en and "비어 있습니다" in ko
    assert "is still empty" not in exercises.check("sgd_epoch", lambda *a: 1 / 0, "en")


def test_a_code_hint_names_the_sample_but_not_the_value():
    verdict = exercises.check("chain_w2", lambda w, x, y: 2 * (x * w * w - y) * x, "en")
    assert "sample 2 (x=1, y=3, w=-1.5)" in verdict  # sample 1 has 2w = 1: it agrees there
    truth = float(jax.grad(model.W_SQUARED.loss)({"w": -1.5}, 1.0, 3.0)["w"])
    assert f"{truth:g}" not in verdict


def test_the_sgd_exercise_trains_to_the_line_that_fits_best():
    verdict = exercises.check("sgd_epoch", _epoch, "en")
    assert re.search(r"line that fits the data best \(w = 2, b = 1, within 0.001\) "
                     r"in \d+ epochs", verdict)


def test_compare_run_says_where_a_run_parts():
    from lec4_jax import lecture

    lines = []
    lecture.train(out=lambda *words: lines.append(" ".join(map(str, words))))
    same = exercises.compare_run(lines, "en")
    assert same.ok and same.startswith(f"your {len(lines)} lines are lj.lecture's, line for line.")
    changed = list(lines)
    changed[5] = "\tgrad:  3.0 6.0 -1"
    parted = exercises.compare_run(changed, "ko")
    assert parted.status == "wrong" and "6번째 줄부터" in parted
    assert exercises.compare_run(lines[:10], "en").startswith("your run has 10 lines")
    assert math.isfinite(len(same))
