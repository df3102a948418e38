"""lec4_jax.exercises: answers are checked against jax.grad, with a message that helps."""

import re

import pytest

from lec4_jax import exercises


@pytest.mark.parametrize("name, right", [
    ("lecture_x2", -8.0),  # 2 x (x w - y) = 2*2*(2 - 4)
    ("bias", {"w": 2.0, "b": 2.0}),  # s = 1*1 + 2 - 2 = 1
    ("polynomial", {"w2": 8.0, "w1": 4.0, "b": 2.0}),  # s = 4*0.5 + 2 - 3 = 1
])
def test_the_right_answer_passes(name, right):
    assert exercises.check(name, right, "en").startswith("correct: ")


def _value(answer, param):
    return answer[param] if isinstance(answer, dict) else answer


@pytest.mark.parametrize("name, wrong, param, node, local", [
    ("lecture_x2", -2.0, "w", "y_hat", "2"),  # dy_hat/dw = x = 2
    ("bias", {"w": 2.0, "b": 1.0}, "b", "y_hat", "1"),  # dy_hat/db = 1
    ("polynomial", {"w2": 2.0, "w1": 4.0, "b": 2.0}, "w2", "x2w2", "4"),  # d(x2*w2)/dw2 = x^2
    ("polynomial", {"w2": 8.0, "w1": 4.0, "b": -2.0}, "b", "y_hat", "1"),
])
def test_a_wrong_answer_gets_a_hint_and_never_the_value(name, wrong, param, node, local):
    """The hint is the last factor of the chain, the local gradient of the node the parameter
    feeds; the expected value appears in no language."""
    want = exercises.EXERCISES[name].solution()
    for lang in ("en", "ko"):
        with pytest.raises(exercises.WrongAnswer) as info:
            exercises.check(name, wrong, lang)
        message = str(info.value)
        assert f"d{node}/d{param} = {local}" in message
        assert f"dloss/d{param} = dloss/d{node} * d{node}/d{param}" in message
        said = re.sub(rf"= {local}\b|{re.escape(repr(_value(wrong, param)))}", "", message)
        numbers = [float(t) for t in re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])", said)]
        assert want[param] not in numbers, message
        assert "\n" not in message


def test_a_blank_is_not_answered_yet_and_does_not_fail():
    assert exercises.check("lecture_x2", None, "en") == (
        "not answered yet: write answer = ... in the cell above, run it, then run this cell again")
    assert exercises.check("bias", {"w": None, "b": None}, "ko").startswith(
        "아직 답을 적지 않았습니다: 위 셀에 answer = {\"w\": ..., \"b\": ...} 꼴로")


def test_a_partial_or_unreadable_answer_fails():
    with pytest.raises(exercises.WrongAnswer, match="give a value for b"):
        exercises.check("bias", {"w": 2.0}, "en")
    with pytest.raises(exercises.WrongAnswer, match="'eight' is not dloss/dw"):
        exercises.check("lecture_x2", "eight", "en")


def test_every_question_states_its_loss_and_the_answers_form():
    for ex in exercises.EXERCISES.values():
        for text in ex.text.values():
            assert "loss = (y_hat - y)^2" in text
            assert f"answer = {ex.form()}" in text


def test_both_languages_by_default():
    assert exercises.check("lecture_x2", -8) == "correct: dloss/dw = -8 / 정답입니다: dloss/dw = -8"


@pytest.mark.parametrize("name, number, first", [("bias", 2.0, "w"), ("polynomial", 8.0, "w2")])
def test_a_single_number_for_several_parameters_is_refused(name, number, first):
    # bias: dloss/dw = dloss/db = 2, so 2 is right for every parameter, and 8 is the
    # quadratic's dloss/dw2: a lone number still answers none of them. It is refused as no
    # answer at all, from the first parameter on, with the dict it needs.
    with pytest.raises(exercises.WrongAnswer,
                       match=rf"^give a value for {first} \(a dict such as \{{'{first}': "):
        exercises.check(name, number, "en")


# Mutation testing (tools/mutate.py): tests that kill its survivors.

def test_an_exercise_cannot_be_changed_in_place():
    # Frozen: a notebook cell cannot move an exercise's point and so change its answer.
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        exercises.EXERCISES["lecture_x2"].x = 3.0
