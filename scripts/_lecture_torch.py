"""The lecture's PyTorch script, the seed's code, run for real: ``python scripts/_lecture_torch.py``
prints what the lecture prints.

It is the one PyTorch reference loop of the project: the parity tests
(tests/torch_lecture.py) call :func:`train` for its every step, and the benchmark times it
(scripts/bench.py, rows a and f). The seed's lines are kept as they are, inside a function
whose arguments are the seed's constants (the data, the learning rate, the epochs, w's start,
the dtype) and whose ``show`` is the seed's ``print``.
"""

import numpy as np
import torch

x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]


def train(x_data=x_data, y_data=y_data, learning_rate=0.01, epochs=20, w_init=1.0,
          dtype=torch.float32, show=lambda *args: None, record=True):
    """The seed's script; returns per-step arrays ``w`` (before the step), ``loss`` and
    ``grad`` (empty without ``record``: the benchmark times the loop alone), and the final
    ``w``, as NumPy values of ``dtype``."""
    w = torch.tensor([w_init], dtype=dtype)
    w.requires_grad_(True)

    def forward(x):
        return x * w

    def loss(x, y):
        y_pred = forward(x)
        return (y_pred - y) * (y_pred - y)

    ws, losses, grads = [], [], []
    show('predict (BT)', 4, forward(4).data[0])
    for epoch in range(epochs):
        for x_val, y_val in zip(x_data, y_data):
            l = loss(x_val, y_val)  # noqa: E741 (the lecture's name)
            l.backward()
            show('\tgrad: ', x_val, y_val, w.grad.data[0])
            if record:
                ws.append(w.item())
                losses.append(l.item())
                grads.append(w.grad.item())
            w.data = w.data - learning_rate * w.grad.data
            w.grad.data.zero_()

        show('progress:', epoch, l.data[0])
    show('predict (AT)', 4, forward(4).data[0])
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    return {"w": np.array(ws, np_dtype), "loss": np.array(losses, np_dtype),
            "grad": np.array(grads, np_dtype), "final_w": np_dtype(w.item())}


if __name__ == "__main__":
    train(show=print)
