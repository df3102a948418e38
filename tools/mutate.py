"""Mutation testing with cosmic-ray: every mutant comes from the code, so the set follows every
refactor. Not run in CI (an hour or more); run it by hand after changing the code or the tests:

    pip install -r requirements-mutation.txt
    python tools/mutate.py                      # every module of lec4_jax/ (and tool/) and scripts/
    python tools/mutate.py chain_rule grads     # only these modules (names as in TESTS below)
    python tools/mutate.py --report             # the scores so far, without running anything

How it works, and why this way:

- The working tree (tracked and untracked files, not ignored ones) is copied to
  ``.mutation/tree``, and the mutants are planted there, on disk, one at a time by cosmic-ray,
  so that your own tree is never touched. ``PYTHONPATH`` points at the copy: the package is
  installed editable, so without it ``import lec4_jax`` would load the unmutated original.
- Each mutant runs in a fresh ``pytest`` process, and the scripts' tests start further
  subprocesses (``python scripts/train.py``, the contract's fork server): all of them import
  the mutated file from disk. Nothing is traced or compiled before the mutant is planted, so a
  mutant inside ``jax.jit`` is traced and compiled like any other code. JAX's persistent
  compilation cache is keyed by the program, so a mutant gets its own entry.
- Each module has its own test command (TESTS below: its unit tests plus the CLI tests that
  drive it), with ``-x`` so that a killed mutant stops at its first failing test.
- One cosmic-ray session per module, kept in ``.mutation/<module>.sqlite``: an interrupted run
  goes on where it stopped. A session is started afresh when the module or its tests change.
- The operators are cosmic-ray's, less its exotic cross-products (``+`` to ``<<``, ``<`` to
  ``is``, ...): one replacement per arithmetic operator, the boundary and the negation of each
  comparison, and all of its other operators (numbers +-1, ``not`` added and removed, ``and``
  and ``or``, ``True`` and ``False``, ``break`` and ``continue``, exceptions, decorators, loops
  that run zero times). See OPERATORS.
- Mutants equivalent by construction are skipped before they run: in annotations that are never
  evaluated, and the bare ``*`` of keyword-only parameters (see annotation_spans).
- A mutant whose tests run past the module's timeout (3x its clean run, at least 120 s) is
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
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"  # --workdir
TREE = WORK / "tree"

# module -> the tests that should catch its mutants (paths under tests/)
TESTS = {
    "lec4_jax/chain_rule.py": ["test_chain_rule.py"],
    "lec4_jax/tool/data.py": ["test_data.py", "test_cli.py"],
    "lec4_jax/exercises.py": ["test_exercises.py", "test_cli_explain.py"],
    "lec4_jax/grads.py": ["test_grads.py"],
    "lec4_jax/tool/limits.py": ["test_cli.py", "test_cli_sweep.py"],
    "lec4_jax/language.py": ["test_language.py", "test_exercises.py"],
    "lec4_jax/lecture.py": ["test_lecture.py"],
    "lec4_jax/model.py": ["test_model.py", "test_parity_models.py", "test_grads.py"],
    "lec4_jax/tool/outputs.py": ["test_outputs.py", "test_cli.py"],
    "lec4_jax/tool/pictures.py": ["test_language.py"],
    "lec4_jax/tool/platform.py": ["test_cli.py"],
    "lec4_jax/tool/plots.py": ["test_cli.py"],
    "lec4_jax/tool/report.py": ["test_report.py", "test_cli.py"],
    "lec4_jax/tool/runs.py": ["test_runs.py", "test_report.py"],
    "lec4_jax/tool/settings.py": ["test_cli.py", "test_contract.py"],
    "lec4_jax/tool/stability.py": ["test_stability.py"],
    "lec4_jax/tool/stepthrough.py": ["test_stepthrough.py"],
    "lec4_jax/tool/sweep.py": ["test_sweep.py", "test_cli_sweep.py"],
    "lec4_jax/tool/training.py": ["test_training.py", "test_optimizers.py", "test_runs.py"],
    "lec4_jax/walkthrough.py": ["test_walkthrough.py"],
    "scripts/_bench.py": ["test_cli_bench.py", "test_report.py"],
    "scripts/_cli.py": ["test_cli.py", "test_contract.py"],
    "scripts/_lecture_torch.py": ["test_lecture.py", "test_parity_torch.py"],
    "scripts/bench.py": ["test_cli_bench.py"],
    "scripts/explain.py": ["test_cli_explain.py"],
    "scripts/sweep.py": ["test_cli_sweep.py"],
    "scripts/train.py": ["test_cli.py", "test_contract.py"],
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
EQUIVALENT = "equivalent by construction"  # the result of a mutant skipped by skip_annotations


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


def test_command(module: str) -> str:
    tests = " ".join(f"tests/{t}" for t in TESTS[module])
    return f"{sys.executable} -m pytest -x -q -p no:cacheprovider {tests}"


def fingerprint(module: str) -> str:
    """Two hashes, ``<the module and the operators> <its tests>``."""
    code = hashlib.sha256(OPERATORS.encode() + (TREE / module).read_bytes()).hexdigest()
    tests = hashlib.sha256(test_command(module).encode())
    for t in TESTS[module]:
        tests.update((TREE / "tests" / t).read_bytes())
    for helper in ("conftest.py", "cli_util.py", "forkserver.py"):
        tests.update((TREE / "tests" / helper).read_bytes())
    return f"{code} {tests.hexdigest()}"


def forget_survivors(db: Path) -> int:
    """Drops the survivors' results, so that the next exec runs them again; returns how many."""
    with sqlite3.connect(db) as con:
        return con.execute("DELETE FROM work_results WHERE test_outcome = 'SURVIVED'").rowcount


def cr(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=TREE if TREE.exists() else ROOT,
                          check=check, text=True, capture_output=True)


def run_module(module: str, fresh: bool = False) -> None:
    name = name_of(module)
    db, cfg, stamp = (WORK / f"{name}.{ext}" for ext in ("sqlite", "toml", "sha"))
    fp = fingerprint(module)
    old = stamp.read_text().split() if db.exists() and stamp.exists() else []
    if fresh or len(old) != 2:
        old = ["", ""]
    if old[0] == fp.split()[0] and old[1] != fp.split()[1]:
        # Only the tests changed: the killed stay killed, the survivors run again.
        again = forget_survivors(db)
        skip_annotations(db, module)
        print(f"{module}: its tests changed; {again} survivors to run again", flush=True)
        stamp.write_text(fp)
    elif old[0] != fp.split()[0]:
        start = time.monotonic()
        proc = subprocess.run(test_command(module).split(), cwd=TREE, capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise SystemExit(f"mutate.py: error: {module}: its tests fail unmutated:\n"
                             f"{proc.stdout[-3000:]}")
        clean = time.monotonic() - start
        cfg.write_text(
            "[cosmic-ray]\n"
            f'module-path = "{module}"\n'
            f"timeout = {max(120.0, 3 * clean):.0f}\n"
            "excluded-modules = []\n"
            f'test-command = "{test_command(module)}"\n'
            '[cosmic-ray.distributor]\nname = "local"\n'
            "[cosmic-ray.filters.operators-filter]\n"
            f"exclude-operators = ['(?!{OPERATORS})']\n")
        db.unlink(missing_ok=True)
        cr("cosmic-ray", "init", str(cfg), str(db))
        cr("cr-filter-operators", str(db), str(cfg))
        skip_annotations(db, module)
        stamp.write_text(fp)
        print(f"{module}: clean run {clean:.0f}s; {len(results(db)[0])} mutants", flush=True)
    start = time.monotonic()
    before = len(results(db)[1])
    cr("cosmic-ray", "exec", str(cfg), str(db))
    done = len(results(db)[1]) - before
    if done:
        minutes = (time.monotonic() - start) / 60
        print(f"{module}: {done} mutants in {minutes:.1f} min ({done / minutes:.1f}/min)",
              flush=True)


def annotation_spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where a module's mutants are equivalent by construction, not by judgement:

    - its annotations, if ``from __future__ import annotations`` keeps them from ever being
      evaluated (``str | None`` -> ``str & None``);
    - the bare ``*`` that makes the parameters after it keyword-only, which cosmic-ray takes for
      a multiplication (``def f(a, *, name)`` -> ``def f(a, /, name)``): every call that the
      original accepts does the same with the mutant.
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


def skip_annotations(db: Path, module: str) -> None:
    """Marks the pending mutants inside annotations as skipped, so that they are not run."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = annotation_spans(TREE / module)
    with use_db(str(db), WorkDB.Mode.open) as work_db:
        skip = [item.job_id for item in work_db.pending_work_items
                if in_annotation({"start_pos": item.mutations[0].start_pos}, spans)]
        if skip:
            work_db.set_multiple_results(skip, WorkResult(
                output=EQUIVALENT, worker_outcome=WorkerOutcome.SKIPPED))


def results(db: Path) -> tuple[list, list, int]:
    """(the mutants to run, the finished ones as (mutation, result), how many were skipped as
    equivalent by construction); the mutants of operators left out are not counted."""
    dump = cr("cosmic-ray", "dump", str(db)).stdout.splitlines()
    todo, done, equivalent = [], [], 0
    for item, result in map(json.loads, dump):
        if result is None:
            todo.append(item)
        elif result["worker_outcome"] != "skipped":
            todo.append(item)
            done.append((item["mutations"][0], result))
        elif result["output"] == EQUIVALENT:
            equivalent += 1
    return todo, done, equivalent


def changed(diff: str) -> str:
    """The first removed and the first added line of a mutant's diff, as ``old -> new``."""
    lines = diff.splitlines()
    old = next((d[1:].strip() for d in lines
                if d.startswith("-") and not d.startswith("---") and d[1:].strip()), "")
    new = next((d[1:].strip() for d in lines if d.startswith("+") and not d.startswith("+++")),
               "(removed)")
    return f"{old}  ->  {new}"


def report(modules: list[str]) -> None:
    total = {"killed": 0, "survived": 0}
    for module in modules:
        db = WORK / f"{name_of(module)}.sqlite"
        if not db.exists():
            continue
        todo, done, equivalent = results(db)
        counts = {"killed": 0, "timeout": 0, "survived": 0, "other": 0, "annotation": equivalent}
        survivors = []
        spans = annotation_spans((TREE if TREE.exists() else ROOT) / module)
        for mutation, result in done:
            if in_annotation(mutation, spans):
                counts["annotation"] += 1
            elif result["worker_outcome"] != "normal" or result["test_outcome"] == "incompetent":
                counts["other"] += 1
            elif result["test_outcome"] == "survived":
                counts["survived"] += 1
                survivors.append((mutation, result))
            elif result["output"] == "timeout":
                counts["timeout"] += 1
            else:
                counts["killed"] += 1
        killed = counts["killed"] + counts["timeout"]
        judged = killed + counts["survived"]
        score = f"{100 * killed / judged:.1f}%" if judged else "-"
        print(f"{module}: {score} ({killed} killed, {counts['timeout']} of them by timeout; "
              f"{counts['survived']} survived; {counts['other']} incompetent; "
              f"{counts['annotation']} equivalent by construction, not counted; "
              f"{len(todo) - len(done)} of {len(todo)} not run yet)")
        for mutation, result in sorted(survivors, key=lambda s: s[0]["start_pos"]):
            print(f"    SURVIVED {module}:{mutation['start_pos'][0]} "
                  f"{mutation['operator_name'][5:]}: {changed(result['diff'])}")
        total["killed"] += killed
        total["survived"] += counts["survived"]
    judged = total["killed"] + total["survived"]
    if judged:
        print(f"mutation score: {total['killed']} of {judged} killed "
              f"({100 * total['killed'] / judged:.1f}%)")


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
    parser.add_argument("--workdir", type=Path, default=Path(".mutation"),
                        help="where the sessions and the mutated copy live (default .mutation); "
                             "runs with different folders can go on side by side")
    args = parser.parse_args()
    set_workdir(args.workdir if args.workdir.is_absolute() else ROOT / args.workdir)
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
        for module in modules:
            run_module(module, args.fresh)
    report(modules)


if __name__ == "__main__":
    main()
