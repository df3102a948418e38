"""Every bounded number flag of every script, with its range and default as the scripts'
--help and the README give them. Most of these edges are also driven through a script by
the CLI tests; this table holds all of them, in one place, and fails when a flag's range
changes or a new bounded flag comes in without an entry here."""

import json
import subprocess
import sys

import pytest

from cli_util import BASE_ENV, SCRIPTS

_BOUNDS = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
spec = importlib.util.spec_from_file_location("script", sys.argv[2])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
from absl import flags
found = {}
for name, flag in flags.FLAGS._flags().items():
    lo, hi = (getattr(flag.parser, k, None) for k in ("lower_bound", "upper_bound"))
    if name == flag.name and (lo, hi) != (None, None):
        edges = {}
        for edge, value in (("lo", lo), ("below_lo", None if lo is None else lo - 1),
                            ("hi", hi), ("above_hi", None if hi is None else hi + 1)):
            if value is not None:
                try:
                    flag.parser.parse(str(value))
                    edges[edge] = "accepted"
                except ValueError:
                    edges[edge] = "refused"
        found[name] = [lo, hi, flag.default, edges]
print(json.dumps(found))
"""

SHARED = {  # scripts/_cli.py: the flags every training script has
    "epochs": [1, None, 20],
    "num_samples": [1, None, 1000],
    "noise": [0, None, 0.1],
    "seed": [0, None, 0],
}
EXPECTED = {
    "train.py": SHARED,
    "sweep.py": {
        "num_lr": [1, None, 64],
        **SHARED,
        "chunk_size": [1, 1 << 30, None],
        "num_processes": [1, None, None],
        "process_id": [0, None, None],
        "distributed_timeout": [1, None, 60],
    },
    "explain.py": {},
    "bench.py": {
        "repeats": [1, None, 21],
        "process_repeats": [1, None, 7],
        "sequential_samples": [1, None, 1_000_000],
        "history_samples": [1, None, 250_000],
        "csv_rows": [1, None, 1_000_000],
        "end_to_end_samples": [4, None, 10_000_000],
        "progress_epochs": [1, None, 70_000_000],
        "formula_samples": [1, None, 1_000_000],  # row k: a formula against the registry
        "formula_sweep_models": [1, 100_000_000, 1_000_000],
    },
}


@pytest.mark.parametrize("script", list(EXPECTED))
def test_every_bounded_flag_has_its_documented_range_and_default(script):
    proc = subprocess.run([sys.executable, "-c", _BOUNDS, str(SCRIPTS), str(SCRIPTS / script)],
                          capture_output=True, text=True, env=BASE_ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert {name: v[:3] for name, v in found.items()} == EXPECTED[script]
    for name, (lo, hi, _, edges) in found.items():
        want = {"lo": "accepted", "below_lo": "refused"} if lo is not None else {}
        want |= {"hi": "accepted", "above_hi": "refused"} if hi is not None else {}
        assert edges == want, name
