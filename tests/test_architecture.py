"""The layout keeps its promises (docs/development.md, "Layout"): the lesson apart from the
machinery, models known by their registry alone, and no function past 60 lines."""

import ast
from pathlib import Path

from lec4_jax import model

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lec4_jax"
SOURCES = sorted([*PACKAGE.rglob("*.py"), *(ROOT / "scripts").glob("*.py")])
LESSON = sorted(PACKAGE.glob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def test_no_function_runs_past_60_lines():
    long = [f"{p.relative_to(ROOT)}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
            for p in SOURCES for n in ast.walk(_tree(p))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.end_lineno - n.lineno + 1 > 60]
    assert long == []


def test_no_model_is_named_outside_the_registry():
    # Code branches on a model's parameters and capabilities, never on its name: no string
    # that is a model's name appears outside lec4_jax/model.py. The one exception is the
    # learning-rate spacing "linear" (a sweep flag's choice beside "log", not a model).
    names = set(model.MODELS)
    found = []
    for p in SOURCES:
        if p == PACKAGE / "model.py":
            continue
        for n in ast.walk(_tree(p)):
            if isinstance(n, ast.Constant) and n.value in names:
                found.append(f"{p.relative_to(ROOT)}:{n.lineno} {n.value!r}")
    spacing = {"lec4_jax/tool/sweep.py", "scripts/sweep.py"}
    assert [f for f in found if not (f.split(":")[0] in spacing and f.endswith("'linear'"))] == []


def test_the_lesson_imports_nothing_of_the_machinery_but_its_input_checks():
    # lec4_jax/*.py (the lesson) may use lec4_jax.tool.data (InputError, check_value); the
    # machinery in lec4_jax/tool/ imports the lesson, never the other way round. __init__.py is
    # the public API over both, so it imports from both.
    wrong = []
    for p in LESSON:
        if p.name == "__init__.py":
            continue
        for n in ast.walk(_tree(p)):
            modules = ([n.module or ""] if isinstance(n, ast.ImportFrom) else
                       [a.name for a in n.names] if isinstance(n, ast.Import) else [])
            names = [a.name for a in n.names] if isinstance(n, ast.ImportFrom) else []
            for m in modules:
                if m == "lec4_jax.tool" and names != ["data"] or (
                        m.startswith("lec4_jax.tool.") and m != "lec4_jax.tool.data"):
                    wrong.append(f"{p.name}:{n.lineno} {m} {names}")
    assert wrong == []


# The teacher's own formula (lec4_jax.formula): read, differentiated and made a Model; part of
# the lesson's package, imported by model.get only when a name is not the registry's.
FORMULA = ["formula.py", "grammar.py", "symbolic.py"]


def test_the_machinery_lives_in_tool_and_measurement_outside_the_package():
    assert sorted(p.name for p in LESSON if p.name not in FORMULA) == [
        "__init__.py", "chain_rule.py", "code_exercises.py", "exercises.py", "grads.py",
        "language.py", "lecture.py", "messages.py", "model.py", "walkthrough.py"]
    assert not list(PACKAGE.rglob("bench*.py"))
    assert sorted(p.name for p in LESSON if p.name in FORMULA) == FORMULA


def test_the_mutation_tool_knows_every_module():
    # tools/mutate.py runs each module's mutants against its own tests (TESTS): a module it
    # does not list would never be mutated, a stale entry would name a file that is gone.
    import importlib.util

    spec = importlib.util.spec_from_file_location("mutate", ROOT / "tools" / "mutate.py")
    mutate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutate)
    modules = {str(p.relative_to(ROOT)) for p in SOURCES if p.name != "__init__.py"}
    assert set(mutate.TESTS) == modules
    assert all((ROOT / "tests" / t).is_file() for tests in mutate.TESTS.values() for t in tests)
