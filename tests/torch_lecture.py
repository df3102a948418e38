"""The lecture's PyTorch loop, run for real: the reference every parity test compares with.

:func:`train` is the seed's script itself (scripts/_lecture_torch.py, written once for the tests
and the benchmark); :func:`train_model` and :func:`train_with` are its loop for any model of the
registry and for ``torch.optim`` optimizers.
"""

from __future__ import annotations

import numpy as np
import torch
from _lecture_torch import train  # noqa: F401 (the tests' reference)

from lec4_jax import model


def train_model(name, x_data, y_data, params, learning_rate=0.01, epochs=20,
                dtype=torch.float32):
    """The lecture's loop for any of lec4_jax's models, written the same way in torch: the
    registry's own ``predict``, whose chain-rule ops on tensors are torch's ``+ - * **2``.

    x and y are tensors of ``dtype`` (so x*x rounds in that dtype, as in JAX). Returns per-step
    ``params`` and ``grads`` dicts of arrays, ``loss``, and ``final_params``.
    """
    p = {k: torch.tensor([v], dtype=dtype, requires_grad=True) for k, v in params.items()}
    rows = {"params": {k: [] for k in p}, "grads": {k: [] for k in p}, "loss": []}
    for _ in range(epochs):
        for x_val, y_val in zip(x_data, y_data):
            x, y = torch.tensor(x_val, dtype=dtype), torch.tensor(y_val, dtype=dtype)
            y_pred = model.get(name).predict(p, x)
            l = (y_pred - y) * (y_pred - y)  # noqa: E741
            l.backward()
            rows["loss"].append(l.item())
            for k, t in p.items():
                rows["params"][k].append(t.item())
                rows["grads"][k].append(t.grad.item())
                t.data = t.data - learning_rate * t.grad.data
                t.grad.data.zero_()
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    as_np = lambda v: np.array(v, dtype=np_dtype)  # noqa: E731
    return {"params": {k: as_np(v) for k, v in rows["params"].items()},
            "grads": {k: as_np(v) for k, v in rows["grads"].items()},
            "loss": as_np(rows["loss"]),
            "final_params": {k: np_dtype(t.item()) for k, t in p.items()}}


def train_with(optimizer_factory, x_data, y_data, epochs=20, w_init=1.0, dtype=torch.float32):
    """The lecture's loop with a ``torch.optim`` optimizer in place of the hand-written update:
    ``optimizer_factory(params)`` makes it. Returns per-step ``w`` (before the step) and the
    final w, as NumPy values of ``dtype``."""
    w = torch.tensor([w_init], dtype=dtype, requires_grad=True)
    opt = optimizer_factory([w])
    ws = []
    for _ in range(epochs):
        for x_val, y_val in zip(x_data, y_data):
            y_pred = x_val * w
            loss = (y_pred - y_val) * (y_pred - y_val)
            opt.zero_grad()
            loss.backward()
            ws.append(w.item())
            opt.step()
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    return {"w": np.array(ws, np_dtype), "final_w": np_dtype(w.item())}
