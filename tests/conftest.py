"""Shared test settings: hypothesis profiles sized for a 2-core CI machine, and coverage's data
file named absolutely, so that a script a test starts in a temporary folder is counted too."""

import base64
import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# the scripts' helper modules (_cli, _bench, _lecture_torch) import as the scripts import them
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
os.environ.setdefault("COVERAGE_FILE", str(Path(__file__).resolve().parents[1] / ".coverage"))

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")

# tools/mutate.py's map of which test runs which line: with this set (and pytest's
# --cov-context=test), each process a test starts records its lines under that test's id.
BY_TEST = "LEC4_COVERAGE_BY_TEST"


@pytest.fixture(autouse=os.environ.get(BY_TEST) == "1")
def _coverage_context_of_subprocesses(request):
    """Names the running test as the coverage context of every Python process it starts:
    coverage hands its configuration to them in ``COVERAGE_PROCESS_CONFIG`` (the test helpers'
    ``BASE_ENV`` is a copy of the environment taken at import), whose ``context`` is set here."""
    import cli_util

    for env in (os.environ, cli_util.BASE_ENV):
        if "COVERAGE_PROCESS_CONFIG" in env:
            config = json.loads(base64.b64decode(env["COVERAGE_PROCESS_CONFIG"]))
            config["context"] = request.node.nodeid
            env["COVERAGE_PROCESS_CONFIG"] = base64.b64encode(json.dumps(config).encode()).decode()
    yield
