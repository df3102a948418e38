"""scripts/bench.py runs end to end and writes its table (a smoke test: no timing is asserted;
the speed goals are checked by running the benchmark itself)."""

import json

from cli_util import run_script


def test_bench_writes_every_row(tmp_path):
    out = tmp_path / "bench.json"
    proc = run_script("bench.py", "--repeats=1", "--process_repeats=1", "--sweep_sizes=100,1000",
                      "--sequential_samples=1000", "--history_samples=100", "--csv_rows=100",
                      f"--output={out}")
    assert proc.returncode == 0, proc.stderr
    record = json.loads(out.read_text())
    rows = [r["row"] for r in record["rows"]]
    assert rows == ["a", "b", "c", "d", "e", "e", "f", "f", "g", "g", "g", "h", "h"]
    assert all(r["value"] > 0 for r in record["rows"])  # torch is installed with the dev deps
    assert record["machine"]["backend"] in ("cpu", "gpu")
    assert len(proc.stdout.splitlines()) == 14  # the machine, then one line per row
    g = [r for r in record["rows"] if r["row"] == "g"]
    assert g[1]["ratio"] == g[1]["value"] / g[0]["value"] and g[2]["met"] is True
