"""scripts/bench.py runs end to end and writes its table (a smoke test: no timing is asserted;
the speed goals are checked by running the benchmark itself)."""

import json

import pytest

from cli_util import run_script


def test_bench_writes_every_row(tmp_path):
    out = tmp_path / "bench.json"
    proc = run_script("bench.py", "--repeats=1", "--process_repeats=1", "--sweep_sizes=100,1e4",
                      "--sequential_samples=1000", "--history_samples=100", "--csv_rows=100",
                      "--end_to_end_samples=1000", "--progress_epochs=100", f"--output={out}")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    rows = [r["row"] for r in record["rows"]]
    # per sweep size: the sweep, 3 peers/limits, 4 ratios; at 1e4 also the floor and 2 ratios
    assert rows == ["a", "b", "c", "d"] + ["e"] * (8 + 11) + ["f"] * 2 + ["g"] * 3 + \
        ["h"] * 2 + ["i"] * 5 + ["j"] * 3
    assert all(r["value"] > 0 for r in record["rows"])  # torch is installed with the dev deps
    assert record["machine"]["backend"] in ("cpu", "gpu")
    assert len(proc.stdout.splitlines()) == len(rows) + 1  # the machine, then one per row
    # Every ratio row is what the rows above it measured, side by side in this run.
    e = {r["what"].strip(): r["value"] for r in record["rows"][4:12]}
    assert e["the sweep against NumPy"] == pytest.approx(
        e["NumPy sweep"] / (100 * 60 / e["sweep, 1e+02 models x 60 steps"]))
    goals = {r["what"].strip(): r["goal"] for r in record["rows"] if r["goal"]}
    assert goals["the sweep against the floor (its time / the floor's)"] == "<= 2x"
    assert goals["its share of the scan's rate"] == ">= 0.6x"
    assert goals["its cost (1 + the median paired difference / without)"] == "<= 1.02x"
    g = [r for r in record["rows"] if r["row"] == "g"]
    assert g[1]["ratio"] == g[1]["value"] / g[0]["value"] and g[2]["met"] is True
