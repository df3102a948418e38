"""The install files: the test toolchain is pinned whole, and the pins agree with each other."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def requirements(name):
    """(name, specifier) of each requirement line in a requirements file, -r/-c/-e left out."""
    out = []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            (req,) = re.findall(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", line)
            out.append(req)
    return out


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins():
    return {canonical(n): spec for n, spec in requirements("constraints.txt")}


def test_the_test_install_reads_the_constraints():
    lines = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-c constraints.txt" in lines
    assert "-r requirements.txt" in lines


def test_every_constraint_is_an_exact_version():
    assert len(pins()) > 20  # the whole toolchain with its dependencies, not a handful
    for name, spec in pins().items():
        assert re.fullmatch(r"==[0-9][0-9A-Za-z.]*", spec), (name, spec)


def test_every_requirement_is_pinned_and_its_pin_satisfies_it():
    pinned = pins()
    for file in ("requirements.txt", "requirements-dev.txt"):
        for name, spec in requirements(file):
            assert canonical(name) in pinned, f"{name} ({file}) is not in constraints.txt"
            version = pinned[canonical(name)][2:]
            if spec.startswith("=="):
                assert version == spec[2:], (name, spec, version)
            elif spec.startswith(">="):
                have = tuple(int(p) for p in re.findall(r"\d+", version)[:3])
                want = tuple(int(p) for p in re.findall(r"\d+", spec)[:3])
                assert have >= want, (name, spec, version)
