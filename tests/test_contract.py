"""The contract of every script, under hostile input (docs/contract.md).

- The exit code is 0, 1 (diverged) or 2 (bad input); never a traceback.
- Exit 2 is exactly one line, ``<script>: error: ...``, and writes no output.
- No temporary file is ever left; an output is whole and valid, or absent.

Hypothesis draws flag values and CSV contents; each case runs the real script's ``main`` in a
process forked from a server that imported it once (tests/forkserver.py), so a case costs a fork,
not a Python start-up. Signals, pipes, closed streams, full disks and environments are tested
with real subprocesses below.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_util import BASE_ENV, PNG, SCRIPTS, Server, run_script


@pytest.fixture(scope="module")
def servers():
    made = {name: Server(name) for name in ("train.py", "sweep.py", "explain.py")}
    yield made
    for server in made.values():
        server.close()


def fresh_dir(base: Path) -> Path:
    """An empty working folder below ``base``: hypothesis reuses the function's tmp_path, so
    each case makes its own (the health check for that is suppressed knowingly)."""
    for n in range(10**6):
        d = base / f"case{n}" / "work"
        if not d.exists():
            d.mkdir(parents=True)
            return d


KINDS = {"--plot": ".png", "--landscape": ".png", "--html": ".html", "--dot": ".dot",
         "--svg": ".svg"}


def valid(path: Path, kind: str | None = None) -> bool:
    """The file is whole, judged as ``kind`` (a suffix: what its flag writes) or by its name."""
    data = path.read_bytes()
    kind = kind or path.suffix
    if kind == ".svg":
        return data.rstrip().endswith(b"</svg>")
    if kind == ".dot":
        return data.startswith(b"digraph") and data.rstrip().endswith(b"}")
    if kind == ".png":
        return data.startswith(PNG) and data.endswith(b"IEND\xaeB`\x82")
    if kind == ".json":
        json.loads(data)
        return True
    if kind == ".html":
        text = data.decode()
        return text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    if kind == ".gif":
        return data.startswith(b"GIF89a") and data.endswith(b";")
    if kind == ".csv":
        rows = list(csv.reader(io.StringIO(data.decode())))
        params = [c[len("final_"):] for c in rows[0] if c.startswith("final_")][:-1]
        return rows[0] == (["lr"] + [f"{p}_init" for p in params]
                           + [f"final_{p}" for p in params] + ["final_loss", "diverged"]) \
            and len(params) >= 1 and all(len(r) == len(rows[0]) for r in rows)
    return True


def assert_contract(script: str, code: int, out: str, err: str, work: Path, outputs: list[str]):
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "Traceback" not in out, err
    left = [p for p in work.rglob("*") if p.name.endswith(".tmp")]
    assert left == [], left
    if code != 0:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{script}: error: "), err
    for flag, name in outputs:
        path = work / name
        if code == 2:  # nothing written: new paths absent (keep.txt, . and loop were there)
            assert name in ("keep.txt", ".", "loop") or not os.path.lexists(path), name
        elif os.path.isfile(path):  # (a name too long is no file, and no error here)
            out_kind = {"train.py": ".json", "sweep.py": ".csv"}.get(script)
            assert valid(path, KINDS.get(flag, out_kind)), (flag, name)


# Numbers as a hostile user types them: huge, tiny, subnormal, non-finite, not numbers at all.
NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e39", "-1e39", "3.5e38", "1e-40", "1e-320", "0", "-0", "1e308", "abc", "",
                     "0x10", "1_0", " 2 ", "nan", "inf", "1e-45", "4e-39", "0.01", "1.0"]),
    st.integers(-10**12, 10**12).map(str),
)
INT_TEXT = st.one_of(st.integers(-5, 40).map(str),
                     st.sampled_from(["0", "-1", "1e3", "abc", "", "2147483648", "10**9",
                                      "99999999999999999999", "3.5"]))
LIST_TEXT = st.lists(NUMBER_TEXT.filter(lambda s: "," not in s), min_size=0, max_size=5).map(
    ",".join)
CSV_TEXT = st.one_of(
    st.text(st.sampled_from("0123456789.,-e \nxyabn\ufeff\x00\r\"'inf"), max_size=60),
    st.lists(st.tuples(NUMBER_TEXT, NUMBER_TEXT), max_size=5).map(
        lambda rows: "\n".join(f"{a},{b}" for a, b in rows)),
)
BOOL_FLAGS = st.sampled_from(["--x64", "--nox64", "--trace", "--notrace", "--x64=false",
                              "--nox64=1", "--notrace=false", "--trace=maybe"])


# a looping link (made in every case's folder), a name too long, a legal 250-byte name
HOSTILE_NAMES = ["loop", "n" * 256, "é" * 120 + "x.json"]


@st.composite
def train_args(draw):
    args = []
    for flag in ("learning_rate", "w_init", "b_init", "predict_x"):
        if draw(st.booleans()):
            args.append(f"--{flag}={draw(NUMBER_TEXT)}")
    if draw(st.booleans()):
        args.append(f"--epochs={draw(INT_TEXT)}")
    for flag in ("x_data", "y_data"):
        if draw(st.integers(0, 3)) == 0:
            args.append(f"--{flag}={draw(LIST_TEXT)}")
    if draw(st.integers(0, 3)) == 0:
        args.append("--data_csv=data.csv")
    args += draw(st.lists(BOOL_FLAGS, max_size=2))
    args += draw(st.lists(st.sampled_from([
        "--model=affine", "--model=quadratic", "--model=cubic", "--optimizer=adam",
        "--model=sigmoid(x*w + b)", "--model=log(x*w)", "--model=x/w", "--model=x*w +",
        "--model=x*w + y", "--init=w=-1", "--init=w=0", "--init=b=2,w=1e30", "--init=q=1",
        "--init=w=x", "--optimizer=lion", "--grad=chain_rule", "--loop=python",
        "--dataset=synthetic",
        "--num_samples=7", "--seed=-1", "--noise=-1", "--platform=cpu", "--platform=tpu",
        "stray", "--bogus_flag=1"]), max_size=3))
    outputs = draw(st.lists(st.sampled_from(["o.json", "p.png", "missing/o.json", ".",
                                             "keep.txt", "l.png", "page.html", *HOSTILE_NAMES]),
                            max_size=3))
    flags = draw(st.permutations(["--output", "--plot", "--landscape", "--html"]))
    for flag, name in zip(flags, outputs):
        args.append(f"{flag}={name}")
    return args, list(zip(flags, outputs))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=train_args(), csv_text=CSV_TEXT)
def test_train_keeps_the_contract_under_hostile_flags(servers, tmp_path, case, csv_text):
    args, outputs = case
    work = fresh_dir(tmp_path)
    (work / "data.csv").write_text(csv_text, encoding="utf-8", errors="surrogatepass")
    (work / "keep.txt").write_text("a user's file\n")
    (work / "loop").symlink_to("loop")
    code, out, err = servers["train.py"].run(args, work)
    assert_contract("train.py", code, out, err, work, outputs)
    assert os.readlink(work / "loop") == "loop"  # refused, never replaced by a file
    if ("--output", "keep.txt") in outputs and code == 2:
        assert (work / "keep.txt").read_text() == "a user's file\n"  # untouched on an error


# Combinations a user can type, all valid: every model x any set of output flags x loop x x64
# x trace, the files named with spaces, a newline, quotes and "<". Each must run (exit 0, or the
# documented refusal of a landscape for three parameters), write each file whole, and nothing
# else.
ODD_NAMES = ["a b", "new\nline", "quote'\"s", "<lt>", "plain"]
FORMULAS = ["x*w**2", "x*w + b", "sigmoid(x*w + b)", "x*w*w + b", "tanh(x*w)*c + b"]
TRAIN_OUTPUTS = {"--output": ".json", "--plot": ".png", "--landscape": ".png",
                 "--animate": ".gif", "--html": ".html"}


@st.composite
def train_combinations(draw):
    from lec4_jax import model

    name = draw(st.sampled_from(sorted(model.MODELS) + FORMULAS))
    flags = draw(st.lists(st.sampled_from(sorted(TRAIN_OUTPUTS)), min_size=1, unique=True))
    names = draw(st.lists(st.sampled_from(ODD_NAMES), min_size=len(flags), max_size=len(flags),
                          unique=True))
    outputs = [(flag, f"{stem}{TRAIN_OUTPUTS[flag]}") for flag, stem in zip(flags, names)]
    args = [f"--model={name}", "--epochs=2", "--learning_rate=0.001",
            f"--loop={draw(st.sampled_from(['scan', 'python']))}",
            draw(st.sampled_from(["--x64", "--nox64"])),
            draw(st.sampled_from(["--trace", "--notrace"])),
            *(f"{flag}={path}" for flag, path in outputs)]
    return name, args, outputs


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=train_combinations())
def test_every_combination_a_user_can_type_runs(servers, tmp_path, case):
    from lec4_jax import model

    name, args, outputs = case
    work = fresh_dir(tmp_path)
    code, out, err = servers["train.py"].run(args, work)
    if "--landscape" in dict(outputs) and len(model.get(name).params) > 2:
        assert code == 2 and "--landscape: the landscape is drawn for models of 1 or 2" in err
        assert os.listdir(work) == []
        return
    assert (code, err) == (0, ""), args
    assert out.startswith("predict (BT) 4.0 ") and "predict (AT) 4.0 " in out
    assert sorted(os.listdir(work)) == sorted(path for _, path in outputs)
    for flag, path in outputs:
        assert valid(work / path, TRAIN_OUTPUTS[flag]), (flag, path)


@st.composite
def sweep_combinations(draw):
    from lec4_jax import model

    name = draw(st.sampled_from(sorted(model.MODELS) + FORMULAS))
    kinds = {"--output": ".csv", "--plot": ".png"}
    flags = draw(st.lists(st.sampled_from(sorted(kinds)), min_size=1, unique=True))
    names = draw(st.lists(st.sampled_from(ODD_NAMES), min_size=len(flags), max_size=len(flags),
                          unique=True))
    outputs = [(flag, f"{stem}{kinds[flag]}") for flag, stem in zip(flags, names)]
    args = [f"--model={name}", "--epochs=2", "--num_lr=3", "--lr_max=0.1",
            draw(st.sampled_from(["--x64", "--nox64"])),
            *(f"{flag}={path}" for flag, path in outputs)]
    return args, outputs


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=sweep_combinations())
def test_every_sweep_combination_a_user_can_type_runs(servers, tmp_path, case):
    args, outputs = case
    work = fresh_dir(tmp_path)
    code, out, err = servers["sweep.py"].run(args, work)
    assert (code, err) == (0, ""), args
    assert sorted(os.listdir(work)) == sorted(path for _, path in outputs)
    for flag, path in outputs:
        assert valid(work / path, {"--output": ".csv", "--plot": ".png"}[flag]), (flag, path)


@st.composite
def sweep_args(draw):
    args = [f"--num_lr={draw(st.sampled_from(['1', '3', '0', '-2', 'x', '5']))}"]
    for flag in ("lr_min", "lr_max"):
        if draw(st.booleans()):
            args.append(f"--{flag}={draw(NUMBER_TEXT)}")
    for param in draw(st.lists(st.sampled_from(["w", "b", "w2"]), max_size=2, unique=True)):
        args.append(f"--{param}_init_values={draw(LIST_TEXT)}")
    if draw(st.booleans()):
        args.append(f"--epochs={draw(INT_TEXT)}")
    args += draw(st.lists(st.sampled_from([
        "--model=affine", "--model=quadratic", "--model=exp(x*w)", "--model=x/(w - 1)",
        "--model=relu(", "--init=w=3", "--init=b=1", "--x64", "--lr_spacing=linear",
        "--chunk_size=2", "--chunk_size=0", "--data_csv=data.csv",
        "--coordinator_address=x:1", "--process_id=3", "--optimizer=momentum"]), max_size=2))
    outputs = draw(st.lists(st.sampled_from(["s.csv", "s.png", "missing/s.csv", "."]),
                            max_size=2))
    for flag, name in zip(("--output", "--plot"), outputs):
        args.append(f"{flag}={name}")
    return args, list(zip(("--output", "--plot"), outputs))


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=sweep_args(), csv_text=CSV_TEXT)
def test_sweep_keeps_the_contract_under_hostile_flags(servers, tmp_path, case, csv_text):
    args, outputs = case
    work = fresh_dir(tmp_path)
    (work / "data.csv").write_text(csv_text, encoding="utf-8", errors="surrogatepass")
    code, out, err = servers["sweep.py"].run(args, work)
    assert_contract("sweep.py", code, out, err, work, outputs)
    assert code != 1  # a sweep reports divergence in its rows; it does not fail


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.lists(st.tuples(st.sampled_from(["--x", "--y", "--w_init", "--b_init",
                                                   "--w2_init"]), NUMBER_TEXT), max_size=3),
       extra=st.lists(st.sampled_from(["--model=affine", "--model=quadratic", "--dot=g.dot",
                                       "--model=log(x*w)", "--model=x/w + b", "--init=w=0",
                                       "--model=x*w**99", "--init=w=1,w=2",
                                       "--dot=missing/g.dot", "--forward_mode", "--svg=g.svg",
                                       "--dot=g.svg"]), max_size=3))
def test_explain_keeps_the_contract_under_hostile_flags(servers, tmp_path, numbers, extra):
    work = fresh_dir(tmp_path)
    args = [f"{flag}={value}" for flag, value in numbers] + extra
    code, out, err = servers["explain.py"].run(args, work)
    # a flag given twice: the last one counts, as absl does
    outputs = list(dict(a.split("=", 1) for a in extra if a.startswith(("--dot", "--svg")))
                   .items())
    assert_contract("explain.py", code, out, err, work, outputs)
    # 1 only where the walk's numbers are not finite (an overflow, a log of a number <= 0, a
    # division by zero): the table printed, then the one line saying where
    assert code != 1 or (out and "the numbers blow up at this point: " in err), err


# Each class the adversarial user found, as a real subprocess.

def usage_error(proc, script="train.py"):
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"{script}: error: ") and "Traceback" not in proc.stderr
    return line


@pytest.mark.parametrize("args, message", [
    (["--learning_rate=1e39"], "--learning_rate: 1e+39 is not finite in float32"),
    (["--w_init=-1e39"], "--w_init: -1e+39 is not finite in float32"),
    (["--predict_x=1e39"], "--predict_x: 1e+39 is not finite in float32"),
    (["--x_data=1,1e39,3"], "--x_data: value 2 (1e+39) is not finite in float32"),
    (["--learning_rate=1e-40"], "below float32's smallest normal number"),
    (["--data_csv=big.csv"], "--data_csv: big.csv:3: '-4e38' is not finite in float32"),
    (["--nox64=1"], "--nox64=1 does not take an argument"),
    (["--notrace=false"], "--notrace=false does not take an argument"),
    (["--dataset=synthetic", "--seed=-1"], "--seed=-1"),
    (["--dataset=synthetic", "--num_samples=100000000000"], "GiB of memory"),
    (["--epochs=1000000000", "--trace=false"], "the step counter is a 32-bit integer"),
    (["--output=o.json", "--plot=o.json"], "--plot and --output are the same file"),
    (["--output=o.json", "--plot=nodir/p.png"], "--plot: nodir/p.png: cannot write"),
])
def test_each_class_of_bad_input_is_one_line(tmp_path, args, message):
    (tmp_path / "big.csv").write_text("x,y\n1,2\n-4e38,1\n")
    proc = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), *args], cwd=tmp_path,
                          capture_output=True, text=True, env=BASE_ENV, timeout=120)
    assert message in usage_error(proc)
    assert os.listdir(tmp_path) == ["big.csv"]


def test_float64_accepts_what_float32_refuses():
    proc = run_script("train.py", "--x64", "--learning_rate=1e-40", "--trace=false",
                      "--epochs=1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "predict (AT) 4.0 4.0"  # the tiny step rounds away


def test_a_flagfile_that_is_not_utf8(tmp_path):
    (tmp_path / "flags").write_bytes(b"--epochs=\xff\xfe\n")
    line = usage_error(run_script("train.py", f"--flagfile={tmp_path / 'flags'}"))
    assert "not UTF-8" in line


@pytest.mark.parametrize("platform", ["cuda", "tpu", "bogus"])
def test_an_unavailable_platform_is_one_line_naming_it(platform):
    line = usage_error(run_script("train.py", env={"JAX_PLATFORMS": platform}))
    assert f"JAX_PLATFORMS={platform}" in line


def test_help_is_not_an_error():
    proc = run_script("train.py", "--help")
    assert proc.returncode == 0 and "--learning_rate" in proc.stdout + proc.stderr


def test_bench_flags_are_checked():
    line = usage_error(run_script("bench.py", "--sweep_sizes=abc"), "bench.py")
    assert "--sweep_sizes" in line


def start(args, tmp_path, **kwargs):
    return subprocess.Popen([sys.executable, str(SCRIPTS / "train.py"), *args], cwd=tmp_path,
                            env=BASE_ENV, text=True, **kwargs)


LONG = ["--dataset=synthetic", "--num_samples=3000000", "--trace=false", "--epochs=3",
        "--output=o.json"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_is_one_line_and_leaves_no_temporary(tmp_path, sig):
    proc = start(LONG, tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(3)  # JAX is up and training (or writing): interrupt it mid-work
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    (line,) = err.strip().splitlines()
    assert line.startswith("train.py: ") and signal.Signals(sig).name in line
    assert [p for p in os.listdir(tmp_path) if p != "o.json"] == []
    if (tmp_path / "o.json").exists():  # finished before the signal: then it is whole
        json.loads((tmp_path / "o.json").read_text())


def test_a_reader_that_leaves_early_still_gets_the_files(tmp_path):
    args = ["--dataset=synthetic", "--num_samples=10000", "--output=o.json", "--plot=p.png"]
    proc = start(args, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()  # like `| head -1`
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, err
    assert len(json.loads((tmp_path / "o.json").read_text())["steps"]) == 200000
    assert valid(tmp_path / "p.png") and sorted(os.listdir(tmp_path)) == ["o.json", "p.png"]


def test_a_closed_stdout_still_commits(tmp_path):
    proc = subprocess.run(f"{sys.executable} {SCRIPTS / 'train.py'} --output=o.json >&-",
                          shell=True, cwd=tmp_path, capture_output=True, text=True, env=BASE_ENV)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert len(json.loads((tmp_path / "o.json").read_text())["steps"]) == 60


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_is_one_line():
    line = usage_error(run_script("train.py", "--output=/dev/full", "--trace=false"))
    assert "--output: /dev/full: cannot write (No space left on device)" in line


def test_dev_stdout_is_written_in_place_not_replaced(tmp_path):
    link = tmp_path / "stdout-link"
    link.symlink_to("/proc/self/fd/1")  # like /dev/stdout
    with open(tmp_path / "out.txt", "w") as f:
        proc = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), "--trace=false",
                               f"--output={link}"], stdout=f, stderr=subprocess.PIPE,
                              env=BASE_ENV, text=True)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink()
    text = (tmp_path / "out.txt").read_text()
    assert text.startswith("predict (BT) 4.0 4.0\n") and '"steps": [' in text


def test_help_exit_and_the_multi_host_flags_need_distributed():
    line = usage_error(run_script("sweep.py", "--process_id=1"), "sweep.py")
    assert "need --distributed" in line


def test_a_missing_peer_fails_in_time_with_one_line():
    start_time = time.monotonic()
    proc = run_script("sweep.py", "--distributed", "--coordinator_address=127.0.0.1:29517",
                      "--num_processes=2", "--process_id=0", "--distributed_timeout=4",
                      "--num_lr=4")
    assert "did not form within --distributed_timeout=4 s" in usage_error(proc, "sweep.py")
    assert time.monotonic() - start_time < 30


def test_two_processes_gather_the_same_csv_as_one(tmp_path):
    # The README's multi-host recipe, on one machine: two processes, CPU collectives.
    grid = ["--num_lr=9", "--w_init_values=-1,1,3", "--epochs=7"]
    one = run_script("sweep.py", *grid, f"--output={tmp_path / 'one.csv'}")
    assert one.returncode == 0, one.stderr
    cluster = ["--distributed", "--coordinator_address=127.0.0.1:29518", "--num_processes=2",
               "--distributed_timeout=60"]
    procs = [subprocess.Popen([sys.executable, str(SCRIPTS / "sweep.py"), *grid, *cluster,
                               f"--process_id={i}", f"--output={tmp_path / f'two{i}.csv'}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=BASE_ENV)
             for i in range(2)]
    results = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert (tmp_path / "two0.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert not (tmp_path / "two1.csv").exists()  # process 0 writes; the others only compute
    assert results[0][0].decode().splitlines()[0].startswith("27 models x 7 epochs on 2 cpu")


RAISES = """import _cli
from lec4_jax.tool.data import InputError


def main(_):
    raise {error}


_cli.run(main)
"""


@pytest.mark.parametrize("error, code, line", [
    ("KeyError('w')", 70, "internal error: KeyError: 'w' (a bug; please report it)"),
    ("RuntimeError('first\\nsecond')", 70,
     "internal error: RuntimeError: first (a bug; please report it)"),
    ("InputError('one\\ntwo', 'learning_rate')", 2, "--learning_rate: one two"),
    ("MemoryError()", 2, "out of memory: the machine cannot hold this run; try a smaller size"),
    ("RuntimeError('RESOURCE_EXHAUSTED: XLA could not allocate 8 GiB')", 2,
     "out of memory: the machine cannot hold this run; try a smaller size"),
    ("PermissionError(13, 'Permission denied', '/out/x.json')", 2,
     "Permission denied: /out/x.json"),
    ("OSError(28, 'No space left on device')", 2, "No space left on device"),
])
def test_an_unexpected_exception_and_a_message_with_a_newline_are_one_line(tmp_path, error,
                                                                           code, line):
    # The documented statuses, exactly: 70 for a bug (its first line only), 2 for bad input
    # (its lines joined): one line on stderr, whatever the exception's text holds.
    (tmp_path / "boom.py").write_text(RAISES.format(error=error))
    proc = subprocess.run([sys.executable, "boom.py"], cwd=tmp_path, capture_output=True,
                          text=True, env=dict(BASE_ENV, PYTHONPATH=str(SCRIPTS)), timeout=120)
    assert (proc.returncode, proc.stderr, proc.stdout) == (code, f"boom.py: error: {line}\n", "")
