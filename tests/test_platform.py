"""lec4_jax.tool.platform: joining a cluster checks the process id before it tries."""

import pytest

from lec4_jax.tool import platform
from lec4_jax.tool.data import InputError


def test_the_last_process_id_joins_and_the_next_is_refused(monkeypatch):
    # Ids run from 0 to num_processes - 1: the last one is handed to JAX as given; the number
    # of processes itself is refused, naming the field, before anything is tried.
    calls = []
    monkeypatch.setattr(platform.jax.distributed, "initialize",
                        lambda *args, **kwargs: calls.append(args))
    monkeypatch.setattr(platform.jax.config, "update", lambda *args: None)
    platform.join_cluster("127.0.0.1:1", 3, 2, timeout=4)
    assert calls == [("127.0.0.1:1", 3, 2)]
    with pytest.raises(InputError, match=r"must be below the number of processes \(3\), got 3"
                       ) as e:
        platform.join_cluster("127.0.0.1:1", 3, 3, timeout=4)
    assert e.value.field == "process_id" and len(calls) == 1


def test_a_cluster_needs_both_its_size_and_this_id_or_neither(monkeypatch):
    monkeypatch.setattr(platform.jax.distributed, "initialize", lambda *a, **k: None)
    for size, pid in ((2, None), (None, 0)):
        with pytest.raises(InputError, match="give both the number of processes") as e:
            platform.join_cluster(None, size, pid, timeout=4)
        assert e.value.field == "num_processes"


def test_a_cluster_that_cannot_form_is_one_line_naming_the_coordinator(monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("DEADLINE_EXCEEDED: Barrier timed out\nwith more detail")

    monkeypatch.setattr(platform.jax.distributed, "initialize", refuse)
    monkeypatch.setattr(platform.jax.config, "update", lambda *args: None)
    with pytest.raises(InputError) as e:
        platform.join_cluster("127.0.0.1:1", 2, 0, timeout=4)
    assert str(e.value) == ("cannot join the cluster within 4 s "
                            "(DEADLINE_EXCEEDED: Barrier timed out)")
    assert e.value.field == "coordinator_address"


def test_a_platform_is_one_of_the_known_ones_and_cpu_pins_jax_to_it(monkeypatch):
    with pytest.raises(InputError, match="^'tpu9' is not one of ") as e:
        platform.select("tpu9")
    assert e.value.field == "platform"
    updates = []
    monkeypatch.setattr(platform.jax.config, "update", lambda *args: updates.append(args))
    assert platform.select("cpu") == "cpu"
    assert ("jax_platforms", "cpu") in updates and ("jax_enable_x64", False) in updates
