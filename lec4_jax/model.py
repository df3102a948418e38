"""The lecture's models, each written once over the chain-rule engine's ops.

With plain JAX values the functions below are ordinary pure JAX (they jit, vmap and grad). With
:class:`~lec4_jax.chain_rule.Node` values they record the graph the lecture draws, e.g. for the
lecture's model::

    x, w --mul--> y_hat --sub(y)--> s --square--> loss

Parameters of a :class:`Model` are a dict (a pytree), which optax and ``jax.grad`` handle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lec4_jax import chain_rule as cr
from lec4_jax.tool.data import checked_numbers

Params = Mapping[str, Any]


@checked_numbers("w", "x")
def forward(w, x):
    """The lecture's prediction: :math:`\\hat y = x \\cdot w`."""
    return cr.mul(x, w, name="y_hat")


@checked_numbers("w", "x", "y")
def loss(w, x, y):
    """The lecture's per-sample squared error: :math:`L = (x \\cdot w - y)^2`."""
    return squared_error(forward(w, x), y)


def squared_error(y_hat, y):
    """:math:`L = s^2` with :math:`s = \\hat y - y`."""
    s = cr.sub(y_hat, y, name="s")
    return cr.square(s, name="loss")


def loss_fan_out(w, x, y):
    """The loss as the lecture's PyTorch code writes it, ``(y_pred - y) * (y_pred - y)``.

    ``y_pred`` feeds two nodes, so its gradient is the sum of two contributions.
    """
    y_pred = forward(w, x)
    return cr.mul(y_pred - y, y_pred - y, name="loss")


@dataclasses.dataclass(frozen=True, eq=False)  # one object per model: equal when the same
class Model:
    """A model: its parameters, its prediction over the engine's ops, and a gradient oracle.

    Built with keywords. ``closed_form(params, x, y)`` returns dL/d(each parameter) from a
    formula worked by hand, written so that it rounds exactly as the chain rule does.
    ``defaults`` are the initial parameters; ``example`` the sample ``(x, y)`` and parameters at
    which ``scripts/explain.py`` walks the graph by default, chosen so that every parameter's
    gradient is nonzero.

    ``features(x)``, for a model linear in its parameters (``y_hat = sum_i params[i] *
    features(x)[i]``), gives the columns of its least-squares fit: the target line, the
    stability windows and the loss landscape from the data's moments use it. A model that is
    not linear in its parameters has none (``None``), and the tool says so where it would need
    it. The code around branches on these (the parameters, the features), never on a name.

    A teacher's formula (:func:`lec4_jax.formula.parse`, through :func:`get`) is a Model too:
    its ``name`` the formula, ``closed_form`` its symbolic derivative, ``expression`` its parsed
    tree (None for the registry's models).
    """

    name: str
    params: tuple[str, ...]
    predict: Callable[[Params, Any], Any]
    closed_form: Callable[[Params, Any, Any], dict[str, Any]]
    formula: str
    defaults: dict[str, float]
    example: tuple[float, float, dict[str, float]]
    features: Callable[[np.ndarray], list[np.ndarray]] | None = None
    expression: Any = None  # a formula's parsed DAG (lec4_jax.symbolic.Expr); None: registry's

    def loss(self, params: Params, x, y):
        return squared_error(self.predict(params, x), y)

    @property
    def has_least_squares(self) -> bool:
        """Linear in its parameters: a least-squares fit (and what needs one) exists."""
        return self.features is not None

    @property
    def why_no_least_squares(self) -> str:
        return f"{self.name} ({self.formula}) is not linear in its parameters: no least-squares fit"

    def __str__(self) -> str:
        return self.name


def _linear(p, x):
    return forward(p["w"], x)


def _linear_grads(p, x, y):
    """The lecture's own chain rule by hand (:func:`lec4_jax.lecture.grad_by_hand`): dL/dw =
    (s + s) * 1 * x = 2 s x. Imported on use, so ``python -m lec4_jax.lecture`` runs the
    lecture as a script the package has not imported yet."""
    from lec4_jax import lecture

    return {"w": lecture.grad_by_hand(p["w"], x, y)}


def _affine(p, x):
    return cr.add(cr.mul(x, p["w"], name="xw"), p["b"], name="y_hat")


def _affine_grads(p, x, y):
    s = x * p["w"] + p["b"] - y
    return {"w": 2 * s * x, "b": 2 * s}  # dL/dw = 2 s x, dL/db = 2 s


def _quadratic(p, x):
    x2 = cr.square(x, name="x2")
    terms = cr.add(cr.mul(x2, p["w2"], name="x2w2"), cr.mul(x, p["w1"], name="xw1"), name="sum")
    return cr.add(terms, p["b"], name="y_hat")


def _quadratic_grads(p, x, y):
    x2 = x * x
    s = x2 * p["w2"] + x * p["w1"] + p["b"] - y
    return {"w2": 2 * s * x2, "w1": 2 * s * x, "b": 2 * s}  # dL/dw2 = 2 s x^2 ...


def _w_squared(p, x):
    return cr.mul(x, cr.square(p["w"], name="w2"), name="y_hat")


def _w_squared_grads(p, x, y):
    s = x * (p["w"] * p["w"]) - y
    return {"w": 2 * s * x * (2 * p["w"])}  # dL/dw = 2 s x 2w: the chain rule through w^2


# The registry: adding a model is one entry here (its tests find it through MODELS).
LINEAR = Model(name="linear", params=("w",), predict=_linear, closed_form=_linear_grads,
               formula="y_hat = x*w", defaults={"w": 1.0},
               example=(1.0, 2.0, {"w": 1.0}),  # the lecture's worked example
               features=lambda x: [x])
AFFINE = Model(name="affine", params=("w", "b"), predict=_affine, closed_form=_affine_grads,
               formula="y_hat = x*w + b", defaults={"w": 1.0, "b": 0.0},
               example=(1.0, 2.0, {"w": 1.0, "b": 2.0}),  # s = 1 + 2 - 2 = 1
               features=lambda x: [x, np.ones_like(x)])
QUADRATIC = Model(name="quadratic", params=("w2", "w1", "b"), predict=_quadratic,
                  closed_form=_quadratic_grads, formula="y_hat = x^2*w2 + x*w1 + b",
                  defaults={"w2": 1.0, "w1": 1.0, "b": 0.0},
                  example=(2.0, 3.0, {"w2": 0.5, "w1": 1.0, "b": 0.0}),  # s = 2 + 2 - 3 = 1
                  features=lambda x: [x * x, x, np.ones_like(x)])
W_SQUARED = Model(name="w_squared", params=("w",), predict=_w_squared,
                  closed_form=_w_squared_grads, formula="y_hat = x*w^2", defaults={"w": 1.0},
                  example=(1.0, 2.0, {"w": 1.0}))  # s = -1: dL/dw = 2(-1)(1)(2) = -4
MODELS = {m.name: m for m in (LINEAR, AFFINE, QUADRATIC, W_SQUARED)}
LECTURE = LINEAR  # the lecture's model: the default everywhere


def init_field(param: str) -> str:
    """The setting (and flag) that holds a parameter's initial value: ``w`` -> ``w_init``."""
    return f"{param}_init"


def check_params(model: Model | str, given, field: Callable[[str], str] = init_field) -> None:
    """Every name in ``given`` is a parameter of ``model``; else a one-line
    :class:`~lec4_jax.tool.data.InputError` naming the setting, ``field(param)`` (``b`` ->
    ``b_init``)."""
    from lec4_jax.tool.data import InputError

    m = get(model)
    for p in given:
        if p not in m.params:
            raise InputError(f"does not apply to model {m.name} (its parameters: "
                             f"{', '.join(m.params)})", field(p))


def get(model: Model | str) -> Model:
    """The model itself, the registry's model of that name, or the model of a formula for
    ``y_hat`` (:func:`lec4_jax.formula.parse`, one object per formula): names resolve here,
    once, at the library's entry points.

    >>> get("linear").formula, get("x*w + b").params
    ('y_hat = x*w', ('w', 'b'))
    """
    if isinstance(model, Model):
        return model
    unknown = f"unknown model {model!r}; choose from {sorted(MODELS)}"
    if not isinstance(model, str):  # an InputError (a ValueError) naming the field
        from lec4_jax.tool.data import InputError

        raise InputError(f"{unknown}: a model is a Model, a name or a formula (text), not "
                         f"{type(model).__name__}", "model")
    if model in MODELS:
        return MODELS[model]
    from lec4_jax import formula  # on use: a registry name imports no parser

    m = formula.parse(model)  # x, y, exp ... alone: the formula's own refusal
    if model.strip().isidentifier():  # a bare name: a mistyped model, not a formula in x
        raise formula.FormulaError(f"{unknown}, or write a formula in x (e.g. x*w + b)")
    return m


def least_squares(model: Model | str, x, y) -> dict[str, float] | None:
    """The parameters that minimise the mean loss over the data (float64), e.g. for the
    lecture's model :math:`w^* = \\sum x y / \\sum x^2`; None for a model not linear in its
    parameters (:attr:`Model.has_least_squares`)."""
    m = get(model)
    if not m.has_least_squares:
        return None
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        phi = np.stack(m.features(x), axis=1)
    if not np.isfinite(phi).all():  # x^2 of an x near float64's max overflows: no fit then
        return {p: float("nan") for p in m.params}
    solution, *_ = np.linalg.lstsq(phi, y, rcond=None)
    return dict(zip(m.params, map(float, solution)))
