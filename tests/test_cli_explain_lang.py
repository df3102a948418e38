"""scripts/explain.py --lang=ko: the walk-through in Korean, as a user runs it (subprocesses).
The words expected are read from the message catalogue (lec4_jax/locale/ko/walkthrough.toml),
so a translator's fix does not break these tests; the numbers are the lecture's."""

from cli_util import assert_usage_error, run_script
from lec4_jax import messages, walkthrough

KO = messages.section("walkthrough", "ko")


def explain(*args):
    proc = run_script("explain.py", *args)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return proc.stdout.splitlines()


def hangul(text):
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def test_the_tables_in_korean_with_the_lectures_numbers():
    lines = explain("--lang=ko")
    english = explain()
    assert lines[0].endswith(KO["at"].format(at="x=1.0, y=2.0, w=1.0"))
    assert lines[2] == KO["forward"] and lines[3].split()[:2] == [KO["node"], KO["op"]]
    assert KO["backward"] in lines
    assert lines[-1] == f"dloss/dw = -2.0  ({KO['jax_agrees']})"
    # the same rows, the same numbers: only the words differ
    assert len(lines) == len(english)
    for ko, en in zip(lines, english):
        if not hangul(ko) and set(ko) - {"-", " "}:  # a row, not a rule
            assert ko.split() == en.split()
    assert not any(hangul(line) for line in english)


def test_forward_mode_in_korean():
    lines = explain("--lang=ko", "--forward_mode")
    assert lines[-1] == f"dloss/dw = -2.0  ({KO['agree']})"
    assert KO["modes"].format(n=1) in lines


def test_a_language_it_does_not_have_is_one_line():
    assert_usage_error(run_script("explain.py", "--lang=fr"), "--lang")


def test_the_dot_graph_in_korean(tmp_path):  # --dot writes text: no Graphviz needed
    explain("--lang=ko", f"--dot={tmp_path / 'g.dot'}")
    source = (tmp_path / "g.dot").read_text()
    assert walkthrough.title(walkthrough.Example.of("linear"), lang="ko") in source
    assert f"{messages.text('walkthrough', 'value', 'ko')} 1.0" in source
