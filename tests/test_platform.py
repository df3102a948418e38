"""lec4_jax.platform: joining a cluster checks the process id before it tries."""

import pytest

from lec4_jax import platform
from lec4_jax.data import InputError


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
