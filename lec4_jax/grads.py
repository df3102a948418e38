"""dL/d(params) three ways, which must agree.

- ``autodiff``: ``jax.grad`` of the model's loss;
- ``chain_rule``: the handwritten VJP rules of :mod:`lec4_jax.chain_rule`, walked back;
- ``closed_form``: the formula worked by hand, kept as an oracle. For the lecture's model

.. math::

    \\frac{\\partial L}{\\partial w} = 2 x (x w - y).

:func:`autodiff`, :func:`chain_rule` and :func:`closed_form` are the lecture's ``(w, x, y) ->
dL/dw``; :func:`loss_and_grad` gives any model's ``(params, x, y) -> (loss, grads)``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax

from lec4_jax import chain_rule as cr
from lec4_jax import model as model_lib
from lec4_jax.tool.data import checked_numbers

METHODS = ("autodiff", "chain_rule", "closed_form")


@functools.cache
def loss_and_grad(model: model_lib.Model | str = model_lib.LECTURE,
                  method: str = "autodiff") -> Callable:
    """``(params, x, y) -> (loss, {name: dL/dparam})`` for a model (or its name) and a method;
    one function per pair (cached), so it can travel as a static argument of a jitted step."""
    m = model_lib.get(model)
    if method == "autodiff":
        return jax.value_and_grad(m.loss)
    if method == "chain_rule":
        return functools.partial(cr.param_grads, m.loss)
    if method == "closed_form":
        return lambda params, x, y: (m.loss(params, x, y), m.closed_form(params, x, y))
    raise ValueError(f"unknown gradient method {method!r}; choose from {METHODS}")


@checked_numbers("w", "x", "y")
def autodiff(w, x, y):
    """``jax.grad`` of :func:`lec4_jax.model.loss` with respect to ``w``."""
    return loss_and_grad(model_lib.LECTURE, "autodiff")({"w": w}, x, y)[1]["w"]


@checked_numbers("w", "x", "y")
def chain_rule(w, x, y):
    """The handwritten VJP rules, walked back from the loss (see :mod:`lec4_jax.chain_rule`)."""
    return loss_and_grad(model_lib.LECTURE, "chain_rule")({"w": w}, x, y)[1]["w"]


@checked_numbers("w", "x", "y")
def closed_form(w, x, y):
    """The oracle :math:`2 x (x w - y)`."""
    return loss_and_grad(model_lib.LECTURE, "closed_form")({"w": w}, x, y)[1]["w"]
