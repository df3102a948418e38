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


@pytest.mark.parametrize("name, number, first", [("bias", 2.0, "w"), ("quadratic", 8.0, "w2")])
def test_a_single_number_for_several_parameters_is_refused(name, number, first):
    # bias: dloss/dw = dloss/db = 2, so 2 is right for every parameter, and 8 is the
    # quadratic's dloss/dw2: a lone number still answers none of them. It is refused as no
    # answer at all, from the first parameter on, with the dict it needs.
    with pytest.raises(exercises.WrongAnswer,
                       match=rf"^give a value for {first} \(a dict such as \{{'{first}': "):
        exercises.check(name, number, "en")
