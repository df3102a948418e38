"""lec4_jax.tool.limits: the memory a run may use, from every source the machine offers, and what is
left when a source is missing or unreadable."""

import builtins
import os

import pytest

from lec4_jax.tool import limits


@pytest.fixture
def no_proc(monkeypatch):
    """/proc/meminfo and /proc/self/cgroup unreadable, as on a machine without /proc."""
    real_open = builtins.open

    def refuse(path, *args, **kwargs):
        if str(path) in ("/proc/meminfo", "/proc/self/cgroup"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refuse)


def test_without_proc_or_cgroups_the_free_pages_are_the_limit(no_proc, tmp_path, monkeypatch):
    pages = {"SC_AVPHYS_PAGES": 1000, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert limits._meminfo_available() is None
    assert limits._own_cgroups() == []
    assert limits.available_memory(str(tmp_path)) == 1000 * 4096


def test_with_no_source_at_all_there_is_no_limit(no_proc, tmp_path, monkeypatch):
    def no_sysconf(name):
        raise ValueError(f"unrecognized configuration name {name}")

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert limits.available_memory(str(tmp_path)) == 1 << 62


def test_an_unparsable_meminfo_is_no_source(tmp_path, monkeypatch):
    real_open = builtins.open
    bad = tmp_path / "meminfo"
    bad.write_text("MemAvailable: lots kB\n")
    monkeypatch.setattr(builtins, "open", lambda path, *a, **k: real_open(
        bad if str(path) == "/proc/meminfo" else path, *a, **k))
    assert limits._meminfo_available() is None


def test_a_cgroup_limit_is_what_it_leaves_and_max_is_none(tmp_path):
    (tmp_path / "memory.max").write_text("max\n")
    (tmp_path / "memory.current").write_text("100\n")
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("5000\n")
    (tmp_path / "memory" / "memory.usage_in_bytes").write_text("1000\n")
    assert 4000 in limits._cgroup_rooms(str(tmp_path))
    assert limits.available_memory(str(tmp_path)) <= 4000
