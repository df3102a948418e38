"""The lecture's model, written once over the chain-rule engine's ops.

With plain JAX values the functions below are ordinary pure JAX (they jit, vmap and grad). With
:class:`~lec4_jax.chain_rule.Node` values they record the lecture's graph::

    x, w --mul--> y_hat --sub(y)--> s --square--> loss
"""

from __future__ import annotations

from lec4_jax import chain_rule as cr


def forward(w, x):
    """The prediction: :math:`\\hat y = x \\cdot w`."""
    return cr.mul(x, w, name="y_hat")


def loss(w, x, y):
    """The per-sample squared error: :math:`L = (x \\cdot w - y)^2`."""
    s = cr.sub(forward(w, x), y, name="s")
    return cr.square(s, name="loss")


def loss_fan_out(w, x, y):
    """The loss as the lecture's PyTorch code writes it, ``(y_pred - y) * (y_pred - y)``.

    ``y_pred`` feeds two nodes, so its gradient is the sum of two contributions.
    """
    y_pred = forward(w, x)
    return cr.mul(y_pred - y, y_pred - y, name="loss")
