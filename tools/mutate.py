"""Mutation testing with cosmic-ray: every mutant comes from the code, so the set follows every
refactor. Not run in CI (hours); run it by hand after changing the code or the tests:

    pip install -r requirements-mutation.txt
    python tools/mutate.py                      # every module of lec4_jax/ (and tool/) and scripts/
    python tools/mutate.py chain_rule grads     # only these modules (names as in TESTS below)
    python tools/mutate.py --sample 8%          # a random 8% of each module's mutants: an estimate
    python tools/mutate.py --report             # the scores so far, without running anything

How it works, and why this way:

- The working tree (tracked and untracked files, not ignored ones) is copied to
  ``.mutation/tree``, and the mutants are planted there, on disk, one at a time by cosmic-ray,
  so that your own tree is never touched. ``PYTHONPATH`` points at the copy: the package is
  installed editable, so without it ``import lec4_jax`` would load the unmutated original.
- First, the whole suite runs once, unmutated, with coverage's test contexts: the map of which
  test runs which line, in the test process and in every process a test starts or forks
  (tests/conftest.py labels them). It is kept in ``.mutation/map.json`` until the package, the
  scripts or the tests change. This run is also the check that the suite passes unmutated.
- Each mutant runs in fresh ``pytest`` processes (run_tests): first its module's own test
  file (the first of TESTS below), then the tests that run its lines, by the map, the
  quickest first; if none fails, the rest of its module's test files (TESTS: its unit tests
  plus the CLI tests that drive it). The last step is there because the map can miss a test:
  a line run at import, or traced by ``jax.jit`` in an earlier test of the same process, is
  recorded under one test only. Each stops at the first failure (``-x``), so a killed mutant
  costs seconds and a survivor costs its module's test files.
- Subprocesses see the mutant: the scripts' tests start further processes
  (``python scripts/train.py``, the contract's fork server), and all of them import the mutated
  file from disk. Nothing is traced or compiled before the mutant is planted, so a mutant inside
  ``jax.jit`` is traced and compiled like any other code. JAX's persistent compilation cache is
  keyed by the program, so a mutant gets its own entry.
- One cosmic-ray session per module, kept in ``.mutation/<module>.sqlite``: an interrupted run
  goes on where it stopped. A session is started afresh when the module changes; when only
  the tests (or other code) change, its survivors run again.
- ``--sample`` runs a random part of each module's mutants (a fixed shuffle of them, ``--seed``)
  and marks the rest not sampled. The whole score is then a stratified estimate: each module's
  sample score weighed by its number of mutants, with a 95% interval (whole_score).
- The operators are cosmic-ray's, less its exotic cross-products (``+`` to ``<<``, ``<`` to
  ``is``, ...): one replacement per arithmetic operator, the boundary and the negation of each
  comparison, and all of its other operators (numbers +-1, ``not`` added and removed, ``and``
  and ``or``, ``True`` and ``False``, ``break`` and ``continue``, exceptions, decorators, loops
  that run zero times). See OPERATORS.
- Mutants equivalent by construction are skipped before they run: in annotations that are never
  evaluated, the bare ``*`` of keyword-only parameters, and floats that 1 more or less leaves
  the same (see annotation_spans).
- Mutants judged equivalent are marked in the code, on their line, with the operator and the
  reason: ``# equivalent mutant (ReplaceComparisonOperator_Lt_LtE): why no test can tell``
  (see marked_equivalents). They are skipped too, and the report lists each with its reason:
  the judgement stays beside the code it is about, and follows it through every refactor.
- A mutant whose tests run past the module's timeout (two minutes plus three times what its
  tests took in the map's run: its test files and every test that runs a line of it) is
  counted as killed, as cosmic-ray does, and reported apart.

The score is killed / (killed + survived). Each survivor is printed with its diff; the
equivalent ones and their reasons are listed in docs/mutation.md.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"  # --workdir
TREE = WORK / "tree"

# module -> the tests that should catch its mutants (paths under tests/)
TESTS = {
    "lec4_jax/chain_rule.py": ["test_chain_rule.py"],
    "lec4_jax/tool/data.py": ["test_data.py", "test_api_inputs.py", "test_cli.py"],
    "lec4_jax/tool/environment.py": ["test_environment.py"],
    "lec4_jax/code_exercises.py": ["test_exercises.py"],
    "lec4_jax/exercises.py": ["test_exercises.py", "test_cli_explain.py"],
    "lec4_jax/formula.py": ["test_formula.py", "test_formula_errors.py", "test_parity_models.py"],
    "lec4_jax/grammar.py": ["test_formula_errors.py", "test_formula.py"],
    "lec4_jax/grads.py": ["test_grads.py", "test_planted.py"],
    "lec4_jax/tool/fonts.py": ["test_plots_fonts.py", "test_plots.py"],
    "lec4_jax/tool/limits.py": ["test_limits.py", "test_memory.py", "test_cli.py",
                                "test_cli_sweep.py"],
    "lec4_jax/language.py": ["test_language.py", "test_exercises.py"],
    "lec4_jax/lecture.py": ["test_lecture.py"],
    "lec4_jax/messages.py": ["test_messages_catalogue.py", "test_language.py"],
    "lec4_jax/model.py": ["test_model.py", "test_parity_models.py", "test_grads.py"],
    "lec4_jax/tool/outputs.py": ["test_outputs.py", "test_output_paths.py", "test_planted.py",
                                 "test_cli.py", "test_contract_outputs.py"],
    "lec4_jax/tool/pictures.py": ["test_language.py", "test_plots_fonts.py"],
    "lec4_jax/tool/platform.py": ["test_platform.py", "test_cli.py"],
    "lec4_jax/tool/plots.py": ["test_plots.py", "test_plots_pixels.py", "test_walkthrough.py",
                               "test_cli.py"],
    "lec4_jax/tool/report.py": ["test_report.py", "test_cli.py"],
    "lec4_jax/tool/runs.py": ["test_runs.py", "test_report.py", "test_planted.py"],
    "lec4_jax/tool/settings.py": ["test_settings.py", "test_api_inputs.py", "test_cli.py",
                                  "test_contract.py"],
    "lec4_jax/tool/stability.py": ["test_stability.py", "test_cli_formula.py", "test_planted.py"],
    "lec4_jax/tool/stepthrough.py": ["test_stepthrough.py", "test_page_classroom.py",
                                     "test_page_formula.py"],
    "lec4_jax/tool/sweep.py": ["test_sweep.py", "test_cli_sweep.py", "test_planted.py"],
    "lec4_jax/symbolic.py": ["test_formula.py", "test_formula_hypothesis.py"],
    "lec4_jax/tool/training.py": ["test_training.py", "test_optimizers.py", "test_runs.py"],
    "lec4_jax/walkthrough.py": ["test_walkthrough.py"],
    "scripts/_bench.py": ["test_bench_harness.py", "test_cli_bench.py", "test_report.py"],
    "scripts/_bench_formula.py": ["test_cli_bench.py"],
    "scripts/_cli.py": ["test_flags.py", "test_messages.py", "test_cli.py", "test_contract.py",
                        "test_cli_formula.py", "test_environment.py"],
    "scripts/_lecture_torch.py": ["test_lecture.py", "test_parity_torch.py"],
    "scripts/bench.py": ["test_flags.py", "test_cli_bench.py"],
    "scripts/explain.py": ["test_cli_explain.py", "test_cli_explain_lang.py",
                           "test_cli_formula.py"],
    "scripts/sweep.py": ["test_flags.py", "test_cli_sweep.py", "test_cli_formula.py"],
    "scripts/train.py": ["test_flags.py", "test_cli.py", "test_contract.py", "test_messages.py",
                         "test_contract_outputs.py"],
}

# cosmic-ray's operators that are kept (a regular expression on their names)
OPERATORS = (
    r"core/(ReplaceBinaryOperator_(Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Div|Mod_FloorDiv"
    r"|Pow_Mul|BitOr_BitAnd|BitAnd_BitOr|BitXor_BitOr|LShift_RShift|RShift_LShift)"
    r"|ReplaceComparisonOperator_(Eq_NotEq|NotEq_Eq|Lt_LtE|Lt_GtE|LtE_Lt|LtE_Gt|Gt_GtE|Gt_LtE"
    r"|GtE_Gt|GtE_Lt|Is_IsNot|IsNot_Is)"
    r"|ReplaceUnaryOperator_Delete_(USub|Not|Invert)"
    r"|AddNot|ReplaceTrueWithFalse|ReplaceFalseWithTrue|ReplaceAndWithOr|ReplaceOrWithAnd"
    r"|ReplaceBreakWithContinue|ReplaceContinueWithBreak|ExceptionReplacer|NumberReplacer"
    r"|RemoveDecorator|ZeroIterationForLoop)$"
)

BIN = Path(sys.executable).parent
EQUIVALENT = "equivalent by construction"  # the result of a mutant skipped by skip_equivalents
MARKED = "equivalent, marked in the code: "  # ... followed by the reason (marked_equivalents)
NOT_SAMPLED = "not in the sample"  # the result of a mutant left out by take_sample


def name_of(module: str) -> str:
    """``lec4_jax/chain_rule.py`` -> ``chain_rule``; ``lec4_jax/tool/runs.py`` -> ``runs``;
    ``scripts/_cli.py`` -> ``scripts._cli``."""
    stem = Path(module).stem
    return stem if module.startswith("lec4_jax/") else f"scripts.{stem}"


def copy_tree() -> None:
    """The working tree (what git would see, committed or not) into .mutation/tree."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")
    if TREE.exists():
        shutil.rmtree(TREE)
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file() and WORK not in src.resolve().parents:
            (TREE / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, TREE / f)


def pytest_command(tests: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]


PAST_TIME = "mutate.py: these tests ran past their time"  # a hang: killed, counted as a timeout


def run_pytest(tests: list[str], seconds: float) -> int:
    """pytest on ``tests``, stopped (with every process it started) after ``seconds``: two
    minutes plus three times what the tests took in the map's run. A mutant that makes them
    hang (a lock never released, a loop that never ends) is then killed in minutes, where
    cosmic-ray's own timeout covers a mutant's every step."""
    proc = subprocess.Popen(pytest_command(tests), start_new_session=True)
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(f"{PAST_TIME} ({seconds:.0f} s)", flush=True)
        return 1


def test_command(module: str) -> str:
    """What cosmic-ray runs for each mutant of ``module`` (in the mutated tree): this file's
    ``--run-tests``, which picks the tests from the map (see run_tests)."""
    return (f"{sys.executable} {Path(__file__).resolve()} --workdir {WORK} "
            f"--run-tests {name_of(module)}")


def code_hash(path: Path) -> str:
    """A hash of a module's code and the operators, blind to its comments and blank lines: a
    mark of an equivalent mutant, added after a session ran, does not start it afresh."""
    tokens = [t for _, line in code_lines(path) for t in line]
    return hashlib.sha256(OPERATORS.encode() + repr(tokens).encode()).hexdigest()


def fingerprint(module: str) -> str:
    """Two hashes, ``<the module's code and the operators> <the tests and the code they
    run>``."""
    tests = hashlib.sha256((test_command(module) + tree_stamp()).encode())
    return f"{code_hash(TREE / module)} {tests.hexdigest()}"


def same_code(stamp: str, ran: Path, now: Path) -> bool:
    """Whether a session stamped ``stamp`` (a code hash, or before code_hash the hash of the
    file's bytes) ran on ``ran``, whose code is that of ``now`` but for comments."""
    if not ran.exists():
        return False
    by_bytes = hashlib.sha256(OPERATORS.encode() + ran.read_bytes()).hexdigest()
    return stamp in (by_bytes, code_hash(ran)) and code_hash(ran) == code_hash(now)


def tree_stamp() -> str:
    """A hash of the tree's package, scripts and tests: the map is kept while it holds."""
    h = hashlib.sha256()
    for folder in ("lec4_jax", "scripts", "tests"):
        for f in sorted((TREE / folder).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(TREE)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def build_map(keep: bool = False) -> None:
    """Runs the whole suite once, unmutated, with each test's coverage kept apart (pytest-cov's
    test contexts; the processes a test starts are labelled with it by tests/conftest.py), and
    keeps, for each line of the package and the scripts, the tests that run it, and each test's
    duration. This run is also the check that the suite passes unmutated."""
    stamp = tree_stamp()
    mapfile = WORK / "map.json"
    if mapfile.exists() and (keep or json.loads(mapfile.read_text())["stamp"] == stamp):
        return
    print("the map of which test runs which line: the whole suite, once", flush=True)
    data_dir = WORK / "map"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = dict(os.environ, LEC4_COVERAGE_BY_TEST="1", COVERAGE_FILE=str(data_dir / ".coverage"))
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--cov",
         "--cov-context=test", "--cov-report=", "--cov-fail-under=0",
         f"--junitxml={data_dir / 'durations.xml'}"],
        cwd=TREE, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"mutate.py: error: the suite fails unmutated:\n{proc.stdout[-3000:]}")
    from coverage import CoverageData

    data = CoverageData(str(data_dir / ".coverage"))
    data.read()
    lines = {}
    for path in data.measured_files():
        rel = Path(path).resolve()
        if TREE not in rel.parents:
            continue
        by_line = data.contexts_by_lineno(path)
        lines[str(rel.relative_to(TREE))] = {
            line: sorted({part for ctx in contexts for part in ctx.split("|") if "::" in part})
            for line, contexts in by_line.items()}
    mapfile.write_text(json.dumps({"stamp": stamp, "lines": lines,
                                   "durations": durations(data_dir / "durations.xml")}))
    print(f"the map: {time.monotonic() - start:.0f} s", flush=True)


def durations(junit: Path) -> dict[str, float]:
    """Each test's seconds in the map's run, by its id: ``{"tests/test_cli.py::test_x": 1.7}``."""
    import xml.etree.ElementTree as ET

    found: dict[str, float] = {}
    for case in ET.parse(junit).iter("testcase"):
        parts = case.get("classname", "").split(".")  # tests.test_outputs.TestCommit
        at = next((i for i, p in enumerate(parts) if p.startswith("test_")), len(parts) - 1)
        nodeid = "::".join(["/".join(parts[: at + 1]) + ".py", *parts[at + 1:], case.get("name")])
        found[nodeid] = found.get(nodeid, 0.0) + float(case.get("time", 0))
    return found


def in_function_body(path: Path, lines: set[int]) -> bool:
    """Whether every line lies inside a function's body: code that runs when the function is
    called, not when the module is imported (a decorator, a default, a constant, a field)."""
    bodies = [(n.body[0].lineno, n.end_lineno) for n in ast.walk(ast.parse(path.read_text()))
              if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return bool(lines) and all(any(a <= line <= b for a, b in bodies) for line in lines)


def changed_lines(original: str, mutated: str) -> set[int]:
    """The original's line numbers (from 1) that the mutant changed or removed."""
    import difflib

    found = set()
    a, b = original.splitlines(), mutated.splitlines()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            found.update(range(i1 + 1, max(i2, i1 + 1) + 1))
    return found


def run_tests(name: str) -> int:
    """The tests of one mutant (cosmic-ray's test command; the mutant is planted in the tree):

    1. the module's own test file (the first of TESTS: its unit tests, seconds), whole;
    2. the tests that run the mutated lines, by the map, wherever they are, the quickest first:
       most mutants that are killed die in these two steps. Not for a line run at import (a
       constant, a default, a decorator): the map names it under the tests whose processes
       imported the module, the scripts' tests, and not under the unit tests;
    3. if none of them failed, the rest of the module's test files (TESTS), as before the map:
       a line run only at import, or traced by ``jax.jit`` in an earlier test of the same
       process, is recorded under one test only, so the map can miss a test that runs it.

    A mutant is killed if any step fails. Each stops at its first failure (``-x``)."""
    module = {name_of(m): m for m in TESTS}[name]
    pristine = (WORK / "pristine" / module).read_text()
    lines = changed_lines(pristine, (TREE / module).read_text())
    found = json.loads((WORK / "map.json").read_text())
    covering, seconds = found["lines"].get(module, {}), found["durations"]
    files = [f"tests/{t}" for t in TESTS[module] if (TREE / "tests" / t).exists()]
    own, rest = files[:1], files[1:]

    def budget(tests):  # see run_pytest
        return 120 + 3 * sum(s for t, s in seconds.items()
                             if t in tests or t.split("::")[0] in tests)

    if own:
        code = run_pytest(own, budget(own))
        if code != 0:
            return code
    # the quickest first: a killed mutant stops at its first failing test
    first = sorted({t for line in lines for t in covering.get(str(line), [])
                    if not own or t.split("::")[0] != own[0]},
                   key=lambda t: (seconds.get(t, 0.0), t))
    if not in_function_body(WORK / "pristine" / module, lines):
        first = []  # run at import: the map names only the tests whose processes imported it
    if first:
        print(f"mutate.py: lines {sorted(lines)}: {len(first)} tests run them", flush=True)
        code = run_pytest(first, budget(first))
        if code not in (0, 4, 5):  # 4, 5: a test of the map is gone (a --keep-map); not a kill
            return code
        if code != 0:
            first = []  # none of them ran: the module's files run whole
    if not rest or os.environ.get("LEC4_MUTATE_QUICK") == "1":  # --quick: steps 1 and 2 only
        return 0
    print(f"mutate.py: then the module's other test files: {' '.join(rest)}", flush=True)
    return run_pytest([*rest, *(f"--deselect={t}" for t in first)], budget(rest))


def forget_survivors(db: Path) -> int:
    """Drops the survivors' results, so that the next exec runs them again; returns how many."""
    with sqlite3.connect(db) as con:
        return con.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'").rowcount


def cr(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=TREE if TREE.exists() else ROOT,
                          check=check, text=True, capture_output=True)


def run_module(module: str, fresh: bool = False, sample: int | float | None = None,
               seed: int = 0) -> None:
    name = name_of(module)
    db, cfg, stamp = (WORK / f"{name}.{ext}" for ext in ("sqlite", "toml", "sha"))
    fp = fingerprint(module)
    old = stamp.read_text().split() if db.exists() and stamp.exists() else []
    if fresh or len(old) != 2:
        old = ["", ""]
    pristine = WORK / "pristine" / module  # the module as its session last ran it
    ran = WORK / f"{name}.py"  # the module its session's positions are in (ran_file)
    moved = old[0] != fp.split()[0] and same_code(old[0], pristine, TREE / module)
    if moved:  # only comments changed: the session goes on (its positions are the old file's)
        old[0] = fp.split()[0]
        stamp.write_text(f"{old[0]} {old[1]}")
    if not ran.exists() and pristine.exists() and db.exists():
        shutil.copy2(pristine, ran)
    pristine.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(TREE / module, pristine)
    if old[0] == fp.split()[0] and old[1] != fp.split()[1]:
        # Only the tests changed: the killed stay killed, the survivors run again.
        again = forget_survivors(db)
        print(f"{module}: its tests changed; {again} survivors to run again", flush=True)
        stamp.write_text(fp)
    elif old[0] != fp.split()[0]:
        clean = unmutated_seconds(module)
        cfg.write_text(
            "[cosmic-ray]\n"
            f'module-path = "{module}"\n'
            f"timeout = {120 + 3 * clean:.0f}\n"
            "excluded-modules = []\n"
            f'test-command = "{test_command(module)}"\n'
            '[cosmic-ray.distributor]\nname = "local"\n'
            "[cosmic-ray.filters.operators-filter]\n"
            f"exclude-operators = ['(?!{OPERATORS})']\n")
        db.unlink(missing_ok=True)
        shutil.copy2(TREE / module, ran)
        cr("cosmic-ray", "init", str(cfg), str(db))
        cr("cr-filter-operators", str(db), str(cfg))
        stamp.write_text(fp)
        print(f"{module}: its tests took {clean:.0f} s in the map's run; "
              f"{len(results(db)[0])} mutants", flush=True)
    if not moved:  # (else the marks' lines are not the session's: the report maps them)
        skip_equivalents(db, module)
    if sample is not None:
        take_sample(db, sample, seed)
    start = time.monotonic()
    before = len(results(db)[1])
    cr("cosmic-ray", "exec", str(cfg), str(db))
    done = len(results(db)[1]) - before
    if done:
        minutes = (time.monotonic() - start) / 60
        print(f"{module}: {done} mutants in {minutes:.1f} min ({done / minutes:.1f}/min)",
              flush=True)


def unmutated_seconds(module: str) -> float:
    """The most a mutant's tests take unmutated (run_tests): its module's test files and every
    test that runs a line of it, by their durations in the map's run."""
    found = json.loads((WORK / "map.json").read_text())
    files = {f"tests/{t}" for t in TESTS[module]}
    tests = {t for ts in found["lines"].get(module, {}).values() for t in ts}
    return sum(s for test, s in found["durations"].items()
               if test in tests or test.split("::")[0] in files)


def take_sample(db: Path, size: int | float, seed: int) -> None:
    """Leaves ``size`` of the module's mutants to run (a number, or a fraction of them), drawn at
    random (``seed``) from those of the operators kept, less the ones equivalent by
    construction, and marks the others not sampled.
    A larger sample later keeps the mutants already drawn: the draw is one fixed shuffle."""
    import random

    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    with sqlite3.connect(db) as con:  # undo an earlier sample
        con.execute("DELETE FROM work_results WHERE output = ?", (NOT_SAMPLED,))
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        done = {job for job, _ in work_db.results}
        # the operators left out and the mutants equivalent by construction are not drawn
        skipped = {job for job, result in work_db.results
                   if result.worker_outcome == WorkerOutcome.SKIPPED}
        items = [item for item in work_db.work_items if item.job_id not in skipped]
        if isinstance(size, float):
            size = max(4, round(size * len(items)))
        # in an order that depends on the code, not on the session's random job ids
        jobs = [item.job_id for item in sorted(
            items, key=lambda item: [(m.operator_name, m.occurrence, tuple(m.start_pos))
                                     for m in item.mutations])]
        random.Random(f"{seed}").shuffle(jobs)
        left = [j for j in jobs[size:] if j not in done]
        if left:
            work_db.set_multiple_results(left, WorkResult(
                output=NOT_SAMPLED, worker_outcome=WorkerOutcome.SKIPPED))


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where a module's mutants are equivalent by construction, not by judgement:

    - its annotations, if ``from __future__ import annotations`` keeps them from ever being
      evaluated (``str | None`` -> ``str & None``);
    - the bare ``*`` that makes the parameters after it keyword-only, which cosmic-ray takes for
      a multiplication (``def f(a, *, name)`` -> ``def f(a, /, name)``): every call that the
      original accepts does the same with the mutant;
    - a float too large for 1 more or less to change it (``1e300`` -> ``1e+300``).
    """
    tree = ast.parse(path.read_text())
    found = []
    if any(isinstance(n, ast.ImportFrom) and n.module == "__future__"
           and any(a.name == "annotations" for a in n.names) for n in tree.body):
        for node in ast.walk(tree):
            if isinstance(node, ast.arg):
                found.append(node.annotation)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append(node.returns)
            elif isinstance(node, ast.AnnAssign):
                found.append(node.annotation)
    spans = [((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)) for a in found if a]
    # a float that 1 more or less leaves the same (1e300 + 1 == 1e300): a number's mutants
    with path.open("rb") as f:
        for token in tokenize.tokenize(f.readline):
            if token.type == tokenize.NUMBER:
                value = ast.literal_eval(token.string)
                if isinstance(value, float) and value + 1 == value == value - 1:
                    spans.append((token.start, token.end))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            if args.kwonlyargs and args.vararg is None:
                before = [*args.posonlyargs, *args.args, *args.defaults]
                start = (max((b.end_lineno, b.end_col_offset) for b in before) if before
                         else (node.lineno, node.col_offset))
                first = args.kwonlyargs[0]
                spans.append((start, (first.lineno, first.col_offset)))
    return spans


def in_annotation(mutation: dict, spans) -> bool:
    at = tuple(mutation["start_pos"])
    return any(start <= at < end for start, end in spans)


_MARK = re.compile(r"#\s*equivalent mutant \(([^)]*)\):\s*(.+)")


def marked_equivalents(path: Path) -> dict[int, tuple[set[str], str]]:
    """The mutants judged equivalent, as marked in the code: line -> (operators, reason).

    A mark is a comment ``# equivalent mutant (Operator, ...): reason``, with an operator as
    the report names it (``NumberReplacer``, ``ReplaceBinaryOperator_BitAnd_BitOr``, or one
    direction of a number's change, ``NumberReplacer+1``: see marked). At the
    end of a line of code it covers that line; on a line of its own it covers the next line of
    code, and the comment lines right after it go on with the reason. A mark covers the mutants
    of its operators that start on its line, and no others."""
    marks, pending = {}, None  # pending: a mark on a line of its own, waiting for its code
    with path.open("rb") as f:
        for token in tokenize.tokenize(f.readline):
            if token.type == tokenize.COMMENT:
                found = _MARK.match(token.string)
                alone = token.line.lstrip().startswith("#")
                if found:
                    ops = {op.strip() for op in found[1].split(",") if op.strip()}
                    mark = [ops, found[2].strip()]
                    if alone:
                        pending = mark
                    else:
                        marks[token.start[0]] = tuple(mark)
                elif pending and alone:
                    pending[1] += " " + token.string.lstrip("#").strip()
            elif pending and token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                                tokenize.DEDENT, tokenize.ENCODING):
                marks[token.start[0]] = tuple(pending)
                pending = None
    return marks


def code_lines(path: Path) -> list[tuple[int, list[tuple[int, str]]]]:
    """Each line where a token of code starts, with those tokens (the indents and the ends of
    statements included): comments and blank lines left out, so that two files with the same
    code and other comments give the same tokens."""
    lines: dict[int, list[tuple[int, str]]] = {}
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    with path.open("rb") as f:
        for token in tokenize.tokenize(f.readline):
            if token.type not in skip:
                lines.setdefault(token.start[0], []).append((token.type, token.string))
    return sorted(lines.items())


def marks_for(ran: Path, now: Path) -> dict[int, tuple[set[str], str]]:
    """The marks of a session's module, by the lines of the file it ran (``ran``): the marks
    of the file as it is ``now``, when only comments and blank lines changed since (a mark
    added after the run), else those of the file it ran."""
    if now.exists() and now.read_bytes() != ran.read_bytes():
        before, after = code_lines(ran), code_lines(now)
        if [t for _, t in before] == [t for _, t in after]:
            at = {line_now: line_ran for (line_ran, _), (line_now, _) in zip(before, after)}
            return {at[line]: mark for line, mark in marked_equivalents(now).items()
                    if line in at}
    return marked_equivalents(ran)


def marked(mutation: dict, marks) -> str | None:
    """The reason ``mutation`` is marked equivalent, or None. ``NumberReplacer+1`` and
    ``NumberReplacer-1`` in a mark name one of the two changes of a number (cosmic-ray adds 1
    at its even occurrences and subtracts 1 at its odd ones); ``NumberReplacer``, both."""
    ops, reason = marks.get(mutation["start_pos"][0], (set(), None))
    names = {mutation["operator_name"].removeprefix("core/")}
    if names == {"NumberReplacer"}:
        names.add("NumberReplacer" + ("+1", "-1")[mutation.get("occurrence", 0) % 2])
    return reason if names & ops else None


def skip_equivalents(db: Path, module: str) -> None:
    """Marks the pending mutants inside annotations, and those marked equivalent in the code,
    as skipped, so that they are neither run nor drawn into a sample."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = annotation_spans(TREE / module)
    marks = marked_equivalents(TREE / module)
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        pending = list(work_db.pending_work_items)
        skip = [item.job_id for item in pending
                if in_annotation({"start_pos": item.mutations[0].start_pos}, spans)]
        if skip:
            work_db.set_multiple_results(skip, WorkResult(
                output=EQUIVALENT, worker_outcome=WorkerOutcome.SKIPPED))
        for item in pending:
            m = item.mutations[0]
            reason = marked({"start_pos": m.start_pos, "operator_name": m.operator_name,
                             "occurrence": m.occurrence}, marks)
            if reason and item.job_id not in skip:
                work_db.set_result(item.job_id, WorkResult(
                    output=MARKED + reason, worker_outcome=WorkerOutcome.SKIPPED))


def results(db: Path) -> tuple[list, list, int, int, list]:
    """(the mutants to run, the finished ones as (mutation, result), how many were skipped as
    equivalent by construction, how many were left out of the sample, the ones marked
    equivalent in the code as (mutation, reason)); the mutants of operators left out are not
    counted."""
    dump = cr("cosmic-ray", "dump", str(db)).stdout.splitlines()
    todo, done, equivalent, unsampled, marks = [], [], 0, 0, []
    for item, result in map(json.loads, dump):
        if result is None:
            todo.append(item)
        elif result["worker_outcome"] != "skipped":
            todo.append(item)
            done.append((item["mutations"][0], result))
        elif result["output"] == EQUIVALENT:
            equivalent += 1
        elif (result["output"] or "").startswith(MARKED):
            marks.append((item["mutations"][0], result["output"][len(MARKED):]))
        elif result["output"] == NOT_SAMPLED:
            unsampled += 1
    return todo, done, equivalent, unsampled, marks


def changed(diff: str) -> str:
    """The first removed and the first added line of a mutant's diff, as ``old -> new``."""
    lines = diff.splitlines()
    old = next((d[1:].strip() for d in lines
                if d.startswith("-") and not d.startswith("---") and d[1:].strip()), "")
    new = next((d[1:].strip() for d in lines if d.startswith("+") and not d.startswith("+++")),
               "(removed)")
    return f"{old}  ->  {new}"


def report(modules: list[str], others: list[Path] = ()) -> None:
    """Each module's score and survivors, then the whole score. Where a module's mutants were
    sampled (--sample), its score estimates the module's; the whole score then weighs each
    module by its number of mutants (a stratified sample), with a 95% confidence interval."""
    strata = []  # (the module's mutants, killed, judged)
    for module in modules:
        where = next((w for w in (WORK, *others) if (w / f"{name_of(module)}.sqlite").exists()),
                     None)
        if where is None:
            continue
        db = where / f"{name_of(module)}.sqlite"
        todo, done, equivalent, unsampled, marks = results(db)
        counts = {"killed": 0, "timeout": 0, "survived": 0, "other": 0, "annotation": equivalent}
        survivors, late = [], 0
        # the module as its session last ran it (its lines), with the marks it has now if
        # only comments changed since
        source = next(p for p in (where / f"{name_of(module)}.py", where / "pristine" / module,
                                  where / "tree" / module, ROOT / module) if p.exists())
        spans, in_code = annotation_spans(source), marks_for(source, ROOT / module)
        for mutation, result in done:
            if in_annotation(mutation, spans):
                counts["annotation"] += 1
            elif reason := marked(mutation, in_code):  # marked after it ran
                marks.append((mutation, reason))
                late += 1
            elif result["worker_outcome"] != "normal" or result["test_outcome"] == "incompetent":
                counts["other"] += 1
            elif result["test_outcome"] == "survived":
                counts["survived"] += 1
                survivors.append((mutation, result))
            elif result["output"] == "timeout" or PAST_TIME in (result["output"] or ""):
                counts["timeout"] += 1
            else:
                counts["killed"] += 1
        killed = counts["killed"] + counts["timeout"]
        judged = killed + counts["survived"]
        score = f"{100 * killed / judged:.1f}%" if judged else "-"
        population = len(todo) + unsampled - counts["annotation"] + equivalent - late
        sampled = f"; a sample of {len(todo) - late} of {population}" if unsampled else ""
        print(f"{module}: {score} ({killed} killed, {counts['timeout']} of them by timeout; "
              f"{counts['survived']} survived; {counts['other']} incompetent; "
              f"{counts['annotation']} equivalent by construction and {len(marks)} marked "
              f"equivalent in the code, not counted{sampled}; "
              f"{len(todo) - len(done)} of {len(todo)} not run yet)")
        for mutation, result in sorted(survivors, key=lambda s: s[0]["start_pos"]):
            print(f"    SURVIVED {module}:{mutation['start_pos'][0]} "
                  f"{mutation['operator_name'][5:]}: {changed(result['diff'])}")
        for mutation, reason in sorted(marks, key=lambda s: s[0]["start_pos"]):
            print(f"    equivalent {module}:{mutation['start_pos'][0]} "
                  f"{mutation['operator_name'][5:]}: {reason}")
        if judged:
            strata.append((population, killed, judged))
    if strata:
        print(whole_score(strata))


def whole_score(strata: list[tuple[int, int, int]]) -> str:
    """The score over all the modules' mutants from each module's (mutants, killed, judged).
    A module run whole counts exactly; a sampled one by its sample's score, with the sampling
    error of a stratified sample (finite-population corrected) in the 95% interval. The
    variance takes each sample's score as (killed + 1) / (judged + 2): a small sample with
    every mutant killed is not certain, and would otherwise add no error at all."""
    total = sum(n for n, _, _ in strata)
    kills = sum(n * k / j for n, k, j in strata)
    variance = sum(n * n * (1 - j / n) * ((k + 1) / (j + 2)) * (1 - (k + 1) / (j + 2)) / j
                   for n, k, j in strata if j < n)
    run = sum(j for _, _, j in strata)
    if run == total:
        return f"mutation score: {kills:.0f} of {total} killed ({100 * kills / total:.1f}%)"
    half = 1.96 * variance ** 0.5 / total
    return (f"mutation score: {100 * kills / total:.1f}% (95% interval "
            f"{100 * (kills / total - half):.1f}% to {100 * min(1, kills / total + half):.1f}%), "
            f"estimated from {run} of {total} mutants run")


def sample_size(text: str) -> int | float:
    """``12`` -> 12 mutants of each module; ``8%`` -> 0.08 of each module's mutants."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or a percentage: {text!r}") from None
    if not 0 < value <= (1 if text.endswith("%") else float("inf")):
        raise argparse.ArgumentTypeError(f"out of range: {text!r}")
    return value


def set_workdir(path: Path) -> None:
    global WORK, TREE
    WORK, TREE = path.resolve(), path.resolve() / "tree"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="modules by name (chain_rule, scripts._cli)")
    parser.add_argument("--report", action="store_true", help="only report the sessions so far")
    parser.add_argument("--fresh", action="store_true",
                        help="start the sessions afresh (by default an unchanged module goes on "
                             "where it stopped, and after a change of its tests only its "
                             "survivors run again)")
    parser.add_argument("--sample", type=sample_size, metavar="N|P%",
                        help="run N mutants of each module, or P%% of them (at least 4), drawn "
                             "at random; the score is then an estimate, with its 95%% interval")
    parser.add_argument("--seed", type=int, default=0, help="the sample's draw (default 0)")
    parser.add_argument("--keep-map", action="store_true",
                        help="use the map as it is, though the code or the tests changed since "
                             "(quicker; each mutant still runs its module's test files as they "
                             "are now, but a new test outside them is not run)")
    parser.add_argument("--quick", action="store_true",
                        help="judge the survivors again (after tests were added) by their "
                             "module's own test file and the tests the map names for their "
                             "lines only: one that none of those kills keeps its verdict "
                             "(quicker; a kill is still a failing test)")
    parser.add_argument("--also", type=Path, action="append", default=[], metavar="WORKDIR",
                        help="with --report: sessions of another --workdir too (a module's "
                             "session is taken from the first folder that has one)")
    parser.add_argument("--run-tests", metavar="MODULE", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, default=Path(".mutation"),
                        help="where the sessions and the mutated copy live (default .mutation); "
                             "runs with different folders can go on side by side")
    args = parser.parse_args()
    set_workdir(args.workdir if args.workdir.is_absolute() else ROOT / args.workdir)
    if args.run_tests:
        raise SystemExit(run_tests(args.run_tests))
    by_name = {name_of(m): m for m in TESTS}
    unknown = [m for m in args.modules if m not in by_name]
    if unknown:
        parser.error(f"unknown modules {unknown}; choose from {sorted(by_name)}")
    modules = [by_name[m] for m in args.modules] or list(TESTS)
    if not args.report:
        WORK.mkdir(exist_ok=True)
        copy_tree()
        os.environ["PYTHONPATH"] = str(TREE)
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        if args.quick:
            os.environ["LEC4_MUTATE_QUICK"] = "1"
        build_map(args.keep_map)
        for module in modules:
            run_module(module, args.fresh, args.sample, args.seed)
    report(modules, [a if a.is_absolute() else ROOT / a for a in args.also])


if __name__ == "__main__":
    main()
