"""Shared test settings: hypothesis profiles sized for a 2-core CI machine, and coverage's data
file named absolutely, so that a script a test starts in a temporary folder is counted too."""

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

os.environ.setdefault("COVERAGE_FILE", str(Path(__file__).resolve().parents[1] / ".coverage"))

settings.register_profile(
    "default", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("default")
