"""tools/mutate.py's own arithmetic: which lines a mutant changed (they pick its tests), the
sample's size, and the whole score estimated from a stratified sample."""

import argparse
import importlib.util
import math
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("mutate", ROOT / "tools" / "mutate.py")
mutate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutate)

ORIGINAL = "def f(a, b):\n    if a < b:\n        return a + b\n    return a\n"


@pytest.mark.parametrize("mutated, lines", [
    (ORIGINAL.replace("a < b", "a <= b"), {2}),
    (ORIGINAL.replace("a + b", "a - b"), {3}),
    (ORIGINAL.replace("    return a\n", ""), {4}),                     # a line removed
    (ORIGINAL.replace("def f", "@cache\ndef f"), {1}),                   # a line added before 1
    (ORIGINAL, set()),
])
def test_changed_lines_are_the_originals_line_numbers(mutated, lines):
    assert mutate.changed_lines(ORIGINAL, mutated) == lines


def test_sample_sizes_are_counts_or_percentages():
    assert mutate.sample_size("12") == 12
    assert mutate.sample_size("8%") == pytest.approx(0.08)
    for bad in ("0", "-3", "0%", "101%", "ten", "%"):
        with pytest.raises(argparse.ArgumentTypeError):
            mutate.sample_size(bad)


def test_a_score_run_whole_is_exact():
    assert mutate.whole_score([(10, 9, 10), (30, 30, 30)]) == \
        "mutation score: 39 of 40 killed (97.5%)"


def test_a_sampled_score_weighs_each_module_by_its_mutants():
    # 100 mutants sampled 10 (8 killed: 80%), and 10 run whole (all killed): 90 of 110
    text = mutate.whole_score([(100, 8, 10), (10, 10, 10)])
    assert text.startswith("mutation score: 81.8% (95% interval ")
    assert text.endswith("estimated from 20 of 110 mutants run")
    # the interval: 1.96 * sqrt(N^2 (1 - n/N) p (1 - p) / n) / total, p = (8 + 1) / (10 + 2)
    half = 1.96 * math.sqrt(100**2 * 0.9 * 0.75 * 0.25 / 10) / 110
    assert f"{100 * (90 / 110 - half):.1f}% to 100.0%" in text  # capped at 100%


def test_the_sampled_estimate_covers_the_true_score_about_95_times_in_100():
    # Modules of known kills, sampled as --sample does: the interval holds the truth in about
    # 95% of draws (a check that the variance is the stratified sample's, not a made-up one).
    rng = random.Random(1)
    modules = [[rng.random() < p for _ in range(n)]
               for n, p in ((300, 0.85), (120, 0.95), (60, 0.7), (40, 1.0))]
    truth = 100 * sum(map(sum, modules)) / sum(map(len, modules))
    held = 0
    for _ in range(400):
        strata = []
        for kills in modules:
            drawn = rng.sample(kills, max(4, round(0.15 * len(kills))))
            strata.append((len(kills), sum(drawn), len(drawn)))
        text = mutate.whole_score(strata)
        low, high = (float(x.rstrip("%")) for x in text.split("interval ")[1].split(")")[0]
                     .split(" to "))
        held += low - 0.05 <= truth <= high + 0.05
    assert 0.90 <= held / 400 <= 0.995, held


def test_lines_run_at_import_are_told_from_lines_run_when_called(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("LIMIT = 3\n\n\n@decorate(2)\ndef f(a=LIMIT):\n    b = a + 1\n"
                      "    return b\n\n\nclass C:\n    size: int = 4\n\n    def g(self):\n"
                      "        return self.size\n")
    assert mutate.in_function_body(source, {6, 7}) and mutate.in_function_body(source, {14})
    for at_import in ({1}, {4}, {5}, {11}, {6, 11}, set()):
        assert not mutate.in_function_body(source, at_import), at_import


def test_a_small_sample_with_every_mutant_killed_is_not_certain():
    text = mutate.whole_score([(200, 4, 4)])
    assert text.startswith("mutation score: 100.0% (95% interval ")
    low = float(text.split("interval ")[1].split("%")[0])
    assert low < 80  # 4 of 4 killed says little about 200


def test_a_mutant_marked_equivalent_in_the_code_is_its_operator_on_its_line(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "x = 1  # a comment that marks nothing\n"
        "y = a < b  # equivalent mutant (ReplaceComparisonOperator_Lt_LtE): never equal here\n"
        "s = '# equivalent mutant (NumberReplacer): a string, not a comment'\n"
        "z = (c & d  # equivalent mutant (ReplaceBinaryOperator_BitAnd_BitOr, NumberReplacer):"
        " both\n"
        "     + 2)\n"
        "if True:\n"
        "    # equivalent mutant (NumberReplacer): a reason\n"
        "    # on two lines\n"
        "\n"
        "    w = 3\n"
        "    # a comment after the code is not the reason's\n")
    marks = mutate.marked_equivalents(source)
    assert marks == {
        2: ({"ReplaceComparisonOperator_Lt_LtE"}, "never equal here"),
        4: ({"ReplaceBinaryOperator_BitAnd_BitOr", "NumberReplacer"}, "both"),
        10: ({"NumberReplacer"}, "a reason on two lines")}

    def mutant(line, op):
        return {"start_pos": [line, 4], "operator_name": f"core/{op}"}

    assert mutate.marked(mutant(2, "ReplaceComparisonOperator_Lt_LtE"), marks) == \
        "never equal here"
    assert mutate.marked(mutant(2, "ReplaceComparisonOperator_Lt_GtE"), marks) is None
    assert mutate.marked(mutant(4, "NumberReplacer"), marks) == "both"
    assert mutate.marked(mutant(5, "NumberReplacer"), marks) is None   # the next line's own
    assert mutate.marked(mutant(3, "NumberReplacer"), marks) is None
    assert mutate.marked(mutant(1, "NumberReplacer"), marks) is None
    # one of a number's two changes: +1 at its even occurrences, -1 at its odd ones
    plus_one = {10: ({"NumberReplacer+1"}, "why")}
    assert mutate.marked(dict(mutant(10, "NumberReplacer"), occurrence=4), plus_one) == "why"
    assert mutate.marked(dict(mutant(10, "NumberReplacer"), occurrence=5), plus_one) is None


def test_tests_that_hang_are_stopped_with_every_process_they_started(tmp_path, monkeypatch,
                                                                     capfd):
    (tmp_path / "test_hang.py").write_text(
        "import subprocess, time\n"
        "def test_hang():\n"
        "    subprocess.Popen(['sleep', '600'])\n"
        "    time.sleep(600)\n")
    monkeypatch.chdir(tmp_path)
    assert mutate.run_pytest(["test_hang.py"], 3) == 1
    assert mutate.PAST_TIME in capfd.readouterr().out
    import subprocess

    assert subprocess.run(["pgrep", "-f", "sleep 600"]).returncode == 1  # none left


def test_a_mark_added_after_a_run_is_read_at_the_line_the_run_knew(tmp_path):
    ran, now = tmp_path / "ran.py", tmp_path / "now.py"
    ran.write_text("a = 1\n\nb = a < 2  # why b\n")
    # two comment lines and a blank one added above b, the mark among them
    now.write_text("a = 1\n\n# equivalent mutant (ReplaceComparisonOperator_Lt_LtE): a is 1,\n"
                   "# never 2\n\nb = a < 2  # why b\n")
    assert mutate.marks_for(ran, now) == {
        3: ({"ReplaceComparisonOperator_Lt_LtE"}, "a is 1, never 2")}
    # the code changed too: the marks of the file that ran, none here
    now.write_text(now.read_text().replace("a < 2", "a < 3"))
    assert mutate.marks_for(ran, now) == {}
    now.unlink()
    assert mutate.marks_for(ran, now) == {}


def test_a_float_that_one_more_leaves_the_same_is_equivalent_by_construction(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("SQUARES = (1e-300, 1e300)\nN = 10**20\nBIG = 9.0e15\n")
    spans = mutate.annotation_spans(source)
    assert mutate.in_annotation({"start_pos": [1, 19]}, spans)       # 1e300
    assert not mutate.in_annotation({"start_pos": [1, 11]}, spans)   # 1e-300: + 1 is 1.0
    assert not mutate.in_annotation({"start_pos": [2, 4]}, spans)    # an int
    assert not mutate.in_annotation({"start_pos": [3, 6]}, spans)    # 9e15 + 1 is 9e15 + 1
