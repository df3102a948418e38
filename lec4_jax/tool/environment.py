"""The environment JAX and XLA read at start-up, checked before JAX is imported.

JAX reads dozens of ``JAX_*`` variables as it is imported, and raises a traceback on a value it
cannot read (``JAX_ENABLE_X64=maybe``); XLA reads ``XLA_FLAGS`` as its first backend starts, and
ends the process (a fatal log line, exit 1) on an unknown flag or a value it cannot read. This
module says what is wrong first, as one line that names the variable:

- every ``JAX_*`` variable JAX reads, with the values JAX accepts, is listed in
  ``jax_environment.json``, made from JAX's own config (:data:`_DESCRIBE`, run in a child
  process with a clean environment; ``tests/test_environment.py`` checks the list against the
  JAX installed). Under another JAX version the list is made again, once, and cached;
- ``XLA_FLAGS`` is tried once in a child process (XLA itself reads it there) and the verdict
  cached, keyed by jaxlib's version and the flags' text: a start-up with the same flags costs
  one small file read (docs/performance.md).

Importing this module imports neither JAX nor NumPy.

>>> problem({"JAX_ENABLE_X64": "maybe"})
"JAX_ENABLE_X64='maybe': not a truth value (true/false, 1/0, yes/no, on/off)"
>>> problem({"JAX_ENABLE_X64": "true", "HOME": "/"}) is None
True
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

_TRUTH = {"y", "yes", "t", "true", "on", "1", "n", "no", "f", "false", "off", "0"}
_TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jax_environment.json")
_PLATFORM_VARIABLES = ("JAX_PLATFORMS", "JAX_PLATFORM_NAME", "JAX_DEFAULT_DEVICE")

# Run in a child process with no JAX_* variable set: imports JAX, records each variable it reads
# (os.getenv, os.environ.get) and the kind of the config option behind it.
_DESCRIBE = r"""
import json, os, sys
read, parsed = [], {}
_getenv, _get = os.getenv, os.environ.get
def getenv(key, default=None):
    read.append(key)
    caller = sys._getframe(1).f_code.co_name  # JAX's bool_env and int_env parse what they read
    if caller in ("bool_env", "int_env"):
        parsed[key] = caller[:-4]
    return _getenv(key, default)
os.getenv = getenv
os.environ.get = lambda key, default=None: (read.append(key), _get(key, default))[1]
import jax
from jax._src import config as c
def accepted(enum_class):
    names = [str(e.value) for e in enum_class] + [e.name for e in enum_class]
    names += [n.lower() for n in names]
    ok = []
    for n in dict.fromkeys(names):
        try:
            enum_class(n)
            ok.append(n)
        except (ValueError, TypeError):
            pass
    return sorted(ok)
def passes(check, value):
    try:
        check(value)
        return True
    except Exception:
        return False
out = {}
for name in dict.fromkeys(read):
    if not name.startswith("JAX_"):
        continue
    kind, _, kw = c.config.meta.get(name.lower(), ("text", (), {}))
    if kind == "enum":
        out[name] = sorted(kw["enum_values"])
    elif kind == "enum_class":
        out[name] = accepted(kw["enum_class"])
    elif kind in (bool, int, float):
        out[name] = kind.__name__
    else:  # text; a validated one (JAX_DEFAULT_DEVICE) takes only the candidates it passes
        check = getattr(c.config._value_holders.get(name.lower()), "_parser", None)
        out[name] = parsed.get(name, "text")
        if check is not None and out[name] == "text" and not passes(check, "\x00?"):
            out[name] = [p for p in ("cpu", "gpu", "tpu", "cuda", "rocm") if passes(check, p)]
print(json.dumps({"jax": jax.__version__, "variables": dict(sorted(out.items()))}, indent=1))
"""

# Run in a child process with the user's XLA_FLAGS: XLA reads them as its CPU backend starts.
_PROBE = "import jax; jax.devices('cpu')"


def _installed_version(package: str) -> str | None:
    """``jax`` or ``jaxlib``'s version, read from its ``version.py`` without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        with open(os.path.join(spec.submodule_search_locations[0], "version.py")) as f:
            found = re.search(r'^_version\s*(?::\s*str\s*)?=\s*"([^"]+)"', f.read(), re.M)
    except OSError:
        return None
    return found.group(1) if found else None


def _cache_path() -> str:
    home = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(home, "lec4_jax", "environment.json")


def _read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            found = json.load(f)
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _remember(key: str, value) -> None:
    """Adds ``key: value`` to the cache file, written whole (through a registered temporary,
    so that a signal leaves none behind); a cache that cannot be written is skipped."""
    from lec4_jax.tool import outputs

    path = _cache_path()
    cache = _read_json(path)
    cache[key] = value
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        out = outputs.Outputs(stdout=False)
        out.add("cache", path)
        out.commit("cache", json.dumps(cache, sort_keys=True))
    except (OSError, ValueError):  # ValueError: InputError, the cache folder is not writable
        pass


def _clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_") and k != "XLA_FLAGS"}
    return dict(env, JAX_PLATFORMS="cpu", **extra)


def jax_variables() -> dict[str, str | list[str]]:
    """Every ``JAX_*`` variable the installed JAX reads as it is imported: ``"bool"``,
    ``"int"``, ``"float"``, ``"text"`` (anything), or the list of values it accepts."""
    version = _installed_version("jax")
    shipped = _read_json(_TABLE)
    if shipped.get("jax") == version:
        return shipped["variables"]
    key = f"jax {version}"
    cached = _read_json(_cache_path()).get(key)
    if isinstance(cached, dict):
        return cached
    try:
        child = subprocess.run([sys.executable, "-c", _DESCRIBE], capture_output=True,
                               text=True, env=_clean_environment(), timeout=120)
        table = json.loads(child.stdout)["variables"]
    except (OSError, ValueError, KeyError, subprocess.SubprocessError):
        return shipped.get("variables", {})  # the nearest list we have
    _remember(key, table)
    return table


def _jax_problem(name: str, value: str, kind) -> str | None:
    shown = f"{name}={value!r}"
    if kind == "bool" and value.lower() not in _TRUTH:
        return f"{shown}: not a truth value (true/false, 1/0, yes/no, on/off)"
    if kind in ("int", "float"):
        try:
            (int if kind == "int" else float)(value)
        except ValueError:
            return f"{shown}: not {'an integer' if kind == 'int' else 'a number'}"
    if isinstance(kind, list) and value not in kind:
        return f"{shown}: not one of {', '.join(kind)}"
    return None


def _xla_verdict(text: str) -> str | None:
    """What XLA says of ``XLA_FLAGS=text``, as one line, or None when it takes them."""
    try:
        child = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                               env=_clean_environment(XLA_FLAGS=text), timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None  # no verdict: let XLA itself speak
    if child.returncode == 0:
        return None
    err = child.stderr
    if m := re.search(r"Unknown flag in XLA_FLAGS: (.*)", err):
        return f"XLA_FLAGS: unknown flag {m.group(1).strip()}"
    if m := re.search(r"Couldn't interpret value (.*) for flag (\S+?)\.?$", err, re.M):
        return f"XLA_FLAGS: --{m.group(2)}: XLA cannot read the value {m.group(1)!r}"
    if m := re.search(r'Could not open file "(.*)" to read flags', err):
        return (f"XLA_FLAGS={m.group(1)!r}: neither --flags nor a readable file of them "
                "(XLA reads a value that does not start with -- as a file name)")
    fatal = [line for line in err.splitlines() if line.startswith("F")] or ["?"]
    return f"XLA_FLAGS: XLA refuses it ({fatal[-1].split('] ', 1)[-1].strip()})"


def _xla_key(text: str) -> str:
    key = f"xla {_installed_version('jaxlib')} {text}"
    if not text.lstrip().startswith("-"):  # a file of flags: its text is what XLA reads
        try:
            with open(text.strip(), encoding="utf-8", errors="replace") as f:
                key += "\n" + f.read(1 << 16)
        except OSError:
            pass
    return key


def xla_problem(text: str) -> str | None:
    """What is wrong with ``XLA_FLAGS=text`` (XLA's own verdict, cached), or None."""
    if not text.strip():
        return None
    key = _xla_key(text)
    cache = _read_json(_cache_path())
    if key in cache:
        return cache[key]
    verdict = _xla_verdict(text)
    _remember(key, verdict)
    return verdict


def problem(environ=None) -> str | None:
    """The first variable JAX or XLA would refuse, as one line naming it, or None."""
    env = os.environ if environ is None else environ
    table = jax_variables()
    for name in sorted(k for k in env if k in table):
        found = _jax_problem(name, env[name], table[name])
        if found:
            return found
    return xla_problem(env.get("XLA_FLAGS", ""))


# Variables whose true value forbids what every script does (compile, run compiled code): a
# library user may set them on purpose, a script cannot run under them.
_FORBIDDING = {"JAX_NO_EXECUTION": "JAX may not run compiled code",
               "JAX_NO_TRACING": "JAX may not trace (compile) a function"}


def forbidding(environ=None) -> str | None:
    """A variable set to true that forbids what a script must do, as one line, or None.

    >>> forbidding({"JAX_NO_TRACING": "1"})
    'JAX_NO_TRACING=1: JAX may not trace (compile) a function, and this script must; unset it'
    """
    env = os.environ if environ is None else environ
    for name, why in _FORBIDDING.items():
        if env.get(name, "").lower() in ("y", "yes", "t", "true", "on", "1"):
            return f"{name}={env[name]}: {why}, and this script must; unset it"
    return None


def platform_problem() -> str | None:
    """After a failure: when ``JAX_PLATFORMS`` (or ``JAX_PLATFORM_NAME``, or
    ``JAX_DEFAULT_DEVICE``) names a platform JAX cannot start here, that as one line; None when
    JAX starts it (the failure is elsewhere). Not checked before the work: a multi-host sweep
    must join its cluster before any backend starts."""
    asked = [(n, os.environ[n]) for n in _PLATFORM_VARIABLES if os.environ.get(n)]
    if not asked or "jax" not in sys.modules:
        return None
    import jax

    for name, value in asked:
        try:
            jax.devices(value) if name == "JAX_DEFAULT_DEVICE" else jax.devices()
        except Exception as e:  # noqa: BLE001 — JAX raises RuntimeError or AssertionError here
            reason = (str(e).strip().splitlines() or ["no backend for it is installed"])[0]
            reason = reason.split(" (set JAX_PLATFORMS")[0] or "no backend for it is installed"
            return f"{name}={value}: JAX cannot start that platform here ({reason})"
    return None


def _prog() -> str:
    """``python -m lec4_jax.lecture``'s name for itself: the module's name."""
    argv = getattr(sys, "orig_argv", [])
    if "-m" in argv[:-1]:
        return argv[argv.index("-m") + 1]
    return os.path.basename(sys.argv[0]) or "lec4_jax"


def _fail(message: str) -> None:
    try:
        os.write(2, f"{_prog()}: error: {message}\n".encode(errors="replace"))
    except OSError:
        pass
    os._exit(2)


def enforce() -> None:
    """Checks the environment as ``lec4_jax`` is imported. A bad variable raises
    :class:`~lec4_jax.tool.data.InputError`, or, when ``python -m lec4_jax.<module>`` runs a
    module of this package as a script, says one line and exits 2; such a script also says a
    variable that forbids its work, or a platform JAX cannot start, as one line (exit 2)
    rather than a traceback."""
    as_script = sys.argv[:1] == ["-m"]  # Python's argv[0] while it finds the module to run
    found = problem() or (forbidding() if as_script else None)
    if as_script:
        if found is not None:
            _fail(found)
        sys.excepthook = _script_excepthook
    elif found is not None:
        from lec4_jax.tool.data import InputError

        raise InputError(found)


def _script_excepthook(kind, value, traceback) -> None:
    """``python -m lec4_jax.<module>``'s last word on an uncaught error: one line when the
    environment is at fault (a platform JAX cannot start), else Python's own report."""
    found = platform_problem() if issubclass(kind, Exception) else None
    if found is not None:
        _fail(found)
    sys.__excepthook__(kind, value, traceback)
