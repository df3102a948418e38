"""Runs one script many times, fast: import once, then fork a fresh process per run.

``python tests/forkserver.py train.py`` imports ``scripts/train.py`` (its flags, JAX, the
package) once, without starting any JAX backend, then reads one JSON request per line on stdin,
``{"argv": [...], "cwd": ..., "stdout": path, "stderr": path, "stdin_closed": bool}``, forks,
and runs the script's ``main`` in the child exactly as ``python scripts/<name>`` would (the same
``_cli.run``: flags, errors, exit codes, signals). It answers one JSON line per request: the
exit code (negative for a signal). The hostile-input tests use it so that each case costs a fork
rather than a Python and JAX start-up (~1.5 s).
"""

import importlib.util
import json
import os
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def main() -> None:
    name = sys.argv[1]
    sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("script_under_test", SCRIPTS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import _cli

    answers = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        answers.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, name, module, _cli)
        _, status = os.waitpid(pid, 0)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        answers.write(json.dumps({"code": code}) + "\n")
        answers.flush()


def _child(request, name, module, _cli) -> None:
    try:
        os.chdir(request["cwd"])
        for fd, key in ((1, "stdout"), (2, "stderr")):
            f = os.open(request[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(f, fd)
            os.close(f)
        os.environ.update(request.get("env", {}))
        if os.environ.get("LEC4_COVERAGE_BY_TEST") == "1":  # tools/mutate.py's map
            import coverage

            if cov := coverage.Coverage.current():
                cov.switch_context(request["test"])
        sys.argv = [str(SCRIPTS / name), *request["argv"]]
        _cli.run(module.main)
    finally:
        os._exit(99)  # _cli.run always exits itself; reaching here is a bug the tests see


if __name__ == "__main__":
    main()
