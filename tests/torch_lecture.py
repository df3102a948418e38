"""The lecture's PyTorch loop, run for real: the reference every parity test compares with.

It is the seed's code, with the data, learning rate, w_init, epochs and dtype as arguments and
the printing replaced by a record of every step.
"""

from __future__ import annotations

import numpy as np
import torch


def train(x_data, y_data, learning_rate=0.01, epochs=20, w_init=1.0, dtype=torch.float32):
    """Returns per-step arrays ``w`` (before the step), ``loss`` and ``grad``, and the final w."""
    w = torch.tensor([w_init], dtype=dtype)
    w.requires_grad_(True)

    def forward(x):
        return x * w

    def loss(x, y):
        y_pred = forward(x)
        return (y_pred - y) * (y_pred - y)

    ws, losses, grads = [], [], []
    for _ in range(epochs):
        for x_val, y_val in zip(x_data, y_data):
            l = loss(x_val, y_val)  # noqa: E741 (the lecture's name)
            l.backward()
            ws.append(w.item())
            losses.append(l.item())
            grads.append(w.grad.item())
            w.data = w.data - learning_rate * w.grad.data
            w.grad.data.zero_()
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    as_np = lambda v: np.array(v, dtype=np_dtype)  # noqa: E731
    return {"w": as_np(ws), "loss": as_np(losses), "grad": as_np(grads),
            "final_w": np_dtype(w.item())}
