"""lec4_jax.exercises: answers are checked against jax.grad, with a message that helps."""

import pytest

from lec4_jax import exercises


@pytest.mark.parametrize("name, right", [
    ("lecture_x2", -8.0),  # 2 x (x w - y) = 2*2*(2 - 4)
    ("bias", {"w": 2.0, "b": 2.0}),  # s = 1*1 + 2 - 2 = 1
    ("quadratic", {"w2": 8.0, "w1": 4.0, "b": 2.0}),  # s = 4*0.5 + 2 - 3 = 1
])
def test_the_right_answer_passes(name, right):
    assert exercises.check(name, right, "en").startswith("correct: ")


def test_a_wrong_answer_fails_and_says_what_was_expected():
    with pytest.raises(exercises.WrongAnswer, match=r"dloss/dw should be -8, you gave -2.0"):
        exercises.check("lecture_x2", -2.0, "en")
    with pytest.raises(exercises.WrongAnswer, match=r"dloss/db는 2이어야"):
        exercises.check("bias", {"w": 2.0, "b": 1.0}, "ko")
    with pytest.raises(exercises.WrongAnswer, match="give a value for b"):
        exercises.check("bias", {"w": 2.0}, "en")
    with pytest.raises(exercises.WrongAnswer, match="you gave 'eight'"):
        exercises.check("lecture_x2", "eight", "en")


def test_both_languages_by_default():
    assert exercises.check("lecture_x2", -8) == "correct: dloss/dw = -8 / 정답입니다: dloss/dw = -8"


# Mutation testing (tools/mutate.py): tests that kill its survivors.

def test_an_exercise_cannot_be_changed_in_place():
    # Frozen: a notebook cell cannot move an exercise's point and so change its answer.
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        exercises.EXERCISES["lecture_x2"].x = 3.0
