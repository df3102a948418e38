"""dL/dw three ways, which must agree.

.. math::

    \\frac{\\partial L}{\\partial w} = 2 x (x w - y)

Each method has the signature ``(w, x, y) -> dL/dw``; :data:`LOSS_AND_GRAD` maps the method's name
to a ``(w, x, y) -> (loss, dL/dw)`` function for training.
"""

from __future__ import annotations

import jax

from lec4_jax import chain_rule as cr
from lec4_jax import model


def _chain_rule_loss(params, x, y):
    return model.loss(params["w"], x, y)


def _autodiff_loss_and_grad(w, x, y):
    return jax.value_and_grad(model.loss)(w, x, y)


def _chain_rule_loss_and_grad(w, x, y):
    loss, grads = cr.param_grads(_chain_rule_loss, {"w": w}, x, y)
    return loss, grads["w"]


def _closed_form_loss_and_grad(w, x, y):
    return model.loss(w, x, y), 2 * x * (x * w - y)


def autodiff(w, x, y):
    """``jax.grad`` of :func:`lec4_jax.model.loss` with respect to ``w``."""
    return _autodiff_loss_and_grad(w, x, y)[1]


def chain_rule(w, x, y):
    """The handwritten VJP rules, walked back from the loss (see :mod:`lec4_jax.chain_rule`)."""
    return _chain_rule_loss_and_grad(w, x, y)[1]


def closed_form(w, x, y):
    """The oracle :math:`2 x (x w - y)`."""
    return _closed_form_loss_and_grad(w, x, y)[1]


LOSS_AND_GRAD = {
    "autodiff": _autodiff_loss_and_grad,
    "chain_rule": _chain_rule_loss_and_grad,
    "closed_form": _closed_form_loss_and_grad,
}
METHODS = tuple(LOSS_AND_GRAD)
