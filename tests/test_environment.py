"""The environment JAX and XLA read: every variable, with a valid, an unknown and a malformed
value, in every script and in ``python -m lec4_jax.lecture`` (lec4_jax.tool.environment).

The variables must be set before JAX is imported, so these run real processes (not the fork
server), few examples each. Each process gets its own cache folder for the session, so XLA's
verdict on the flags drawn is XLA's own (a child process tries them) and never the user's
cache.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli_util import BASE_ENV, SCRIPTS
from lec4_jax.tool import environment

TABLE = environment.jax_variables()
TRUTH = ["y", "yes", "t", "true", "on", "1", "n", "no", "f", "false", "off", "0"]
# values a script must run under (the tool's own work unchanged or only slower)
HARMLESS = {"JAX_ENABLE_X64": ["0", "false"], "JAX_LOG_COMPILES": ["0"],
            "JAX_DEFAULT_MATMUL_PRECISION": ["highest"], "JAX_PLATFORMS": ["cpu"],
            "JAX_TRACEBACK_FILTERING": ["off"], "JAX_DISABLE_JIT": ["false"],
            "JAX_NUMPY_RANK_PROMOTION": ["allow"], "JAX_DEFAULT_DEVICE": ["cpu"],
            "JAX_NUM_CPU_DEVICES": ["1", "2"], "JAX_TRANSFER_GUARD": ["allow", "log"],
            "XLA_FLAGS": ["--xla_cpu_enable_fast_math=false", "--xla_cpu_use_thunk_runtime=true"]}
SCRIPT_RUNS = {  # each script's shortest real run
    "train.py": [str(SCRIPTS / "train.py"), "--epochs=1", "--trace=false"],
    "sweep.py": [str(SCRIPTS / "sweep.py"), "--num_lr=2", "--epochs=1"],
    "explain.py": [str(SCRIPTS / "explain.py")],
    # the bench's real run takes minutes: an output name it refuses ends it after start-up
    "bench.py": [str(SCRIPTS / "bench.py"), "--output=no_such_folder/"],
    "lec4_jax.lecture": ["-m", "lec4_jax.lecture"],
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("xdg-cache"))


def run(argv, cache, **env):
    clean = {k: v for k, v in BASE_ENV.items() if not k.startswith("JAX_")}
    return subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=600,
                          env=dict(clean, XDG_CACHE_HOME=cache, **env))


def test_the_list_is_jax_own_config():
    """The shipped list of variables is what the installed JAX's config reads and accepts."""
    child = subprocess.run([sys.executable, "-c", environment._DESCRIBE], capture_output=True,
                           text=True, env=environment._clean_environment(), timeout=300)
    made = json.loads(child.stdout)
    with open(environment._TABLE) as f:
        assert json.load(f) == made
    assert {"JAX_ENABLE_X64", "JAX_PLATFORMS", "JAX_DEFAULT_DEVICE"} <= set(made["variables"])


def _values(kind):
    """(valid, unknown, malformed) strategies for one variable's kind."""
    junk = st.text(string.ascii_letters + string.digits + "-_.,%", min_size=1, max_size=12)
    if kind == "bool":
        return (st.sampled_from(TRUTH + [t.upper() for t in TRUTH]),
                st.sampled_from(["maybe", "2", "yess", "nope"]),
                junk.filter(lambda v: v.lower() not in TRUTH))
    if kind in ("int", "float"):
        nums = st.integers(-10**6, 10**6).map(str) if kind == "int" else \
            st.floats(allow_nan=False).map(repr)
        return nums, st.sampled_from(["ten", "1e", "0x"]), junk.filter(lambda v: not _parses(
            v, kind))
    if isinstance(kind, list):
        return (st.sampled_from(kind), junk.filter(lambda v: v not in kind),
                st.sampled_from(["", " ", kind[0] + "!"]).filter(lambda v: v not in kind))
    return junk, junk, junk


def _parses(value, kind):
    try:
        (int if kind == "int" else float)(value)
        return True
    except ValueError:
        return False


@st.composite
def assignments(draw):
    name = draw(st.sampled_from(sorted(TABLE)))
    valid, unknown, malformed = _values(TABLE[name])
    which = draw(st.sampled_from(["valid", "unknown", "malformed"]))
    return name, which, draw({"valid": valid, "unknown": unknown, "malformed": malformed}[which])


@given(assignments())
def test_every_variable_by_its_kind(assignment):
    """A value of the kind JAX reads passes; anything else is one line that names the
    variable."""
    name, which, value = assignment
    found = environment.problem({name: value})
    if which == "valid" or TABLE[name] == "text":
        assert found is None
    else:
        assert found is not None and found.startswith(f"{name}=") and "\n" not in found


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(assignments())
def test_the_check_agrees_with_jax_itself(cache, assignment):
    """JAX's own import is the judge: the check refuses exactly what makes it raise."""
    name, _, value = assignment
    child = run(["-c", "import jax"], cache, **{name: value})
    assert (environment.problem({name: value}) is None) == (child.returncode == 0), child.stderr


@st.composite
def environments(draw):
    """One JAX/XLA variable set to a valid value, an unknown one, or a malformed one."""
    name = draw(st.sampled_from(sorted(HARMLESS)))
    which = draw(st.sampled_from(["valid", "unknown", "malformed"]))
    if name == "XLA_FLAGS":
        value = {"valid": st.sampled_from(HARMLESS[name]),
                 "unknown": st.from_regex(r"--xla_[a-z]{3,8}_nope=1", fullmatch=True),
                 "malformed": st.sampled_from(["--xla_cpu_enable_fast_math=maybe",
                                               "--xla_force_host_platform_device_count=x",
                                               "no_such_flag_file"])}[which]
    elif name in ("JAX_PLATFORMS", "JAX_DEFAULT_DEVICE") and which != "valid":
        value = st.sampled_from(["cuda", "gpu", "tpu"] if which == "unknown" else ["cpu;", "c p u"])
    elif which == "valid":
        value = st.sampled_from(HARMLESS[name])
    else:
        value = _values(TABLE[name])[1 if which == "unknown" else 2]
    return name, which, draw(value)


@pytest.mark.parametrize("script", sorted(SCRIPT_RUNS))
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(drawn=environments())
def test_every_script_under_a_drawn_environment(cache, script, drawn):
    """A bad variable is one line naming it, exit 2, before any work; a good one runs."""
    name, which, value = drawn
    proc = run(SCRIPT_RUNS[script], cache, **{name: value})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode in (0, 2), proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    # the bench refuses its output before JAX starts a backend (a platform is found then)
    late = name == "JAX_PLATFORMS" or (name == "JAX_DEFAULT_DEVICE" and value != "cpu"
                                       and value in TABLE[name])
    if script == "bench.py" and (which == "valid" or late):
        assert proc.returncode == 2 and "is a directory" in lines[-1], proc.stderr
    elif script == "train.py" and name == "JAX_DEFAULT_DEVICE" and late:
        # train.py computes on the host CPU, placed explicitly: JAX's default device is unused
        assert proc.returncode == 0, proc.stderr
    elif which == "valid":
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert lines[0].startswith(f"{script}: error: {name}"), lines[0]


@pytest.mark.parametrize("script", ["sweep.py", "explain.py", "lec4_jax.lecture"])
@pytest.mark.parametrize("platform", ["gpu", "cuda"])
def test_a_platform_not_here_is_one_line(cache, script, platform):
    proc = run(SCRIPT_RUNS[script], cache, JAX_PLATFORMS=platform)
    (line,) = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and f"error: JAX_PLATFORMS={platform}: " in line


def test_the_bench_names_a_platform_not_here(cache):
    proc = run([str(SCRIPTS / "bench.py")], cache, JAX_PLATFORMS="cuda")
    (line,) = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and line.startswith("bench.py: error: JAX_PLATFORMS=cuda: ")


@pytest.mark.parametrize("name", ["JAX_NO_EXECUTION", "JAX_NO_TRACING"])
def test_a_variable_that_forbids_the_work_is_one_line(cache, name):
    proc = run(SCRIPT_RUNS["train.py"], cache, **{name: "1"})
    assert proc.returncode == 2 and proc.stderr.startswith(f"train.py: error: {name}=1: ")


def test_xla_flags_are_judged_once_then_read_from_the_cache(tmp_path, monkeypatch):
    """XLA's verdict is cached by jaxlib's version and the flags' text: the second look starts
    no process."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert environment.xla_problem("--xla_nope_at_all=1") == \
        "XLA_FLAGS: unknown flag --xla_nope_at_all=1"
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("probed again"))
    assert environment.xla_problem("--xla_nope_at_all=1").startswith("XLA_FLAGS: unknown")
    assert not [p for p in os.listdir(tmp_path / "lec4_jax") if p.endswith(".tmp")]


def test_a_flags_file_is_left_alone_by_the_lecture_arithmetic(monkeypatch):
    import _cli

    monkeypatch.setenv("XLA_FLAGS", "/some/flags.txt")
    _cli.lecture_arithmetic()
    assert os.environ["XLA_FLAGS"] == "/some/flags.txt"
