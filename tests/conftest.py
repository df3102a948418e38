"""Shared test settings: hypothesis profiles sized for a 2-core CI machine, and coverage's data
file named absolutely, so that a script a test starts in a temporary folder is counted too."""

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# the scripts' helper modules (_cli, _bench, _lecture_torch) import as the scripts import them
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
os.environ.setdefault("COVERAGE_FILE", str(Path(__file__).resolve().parents[1] / ".coverage"))

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")
