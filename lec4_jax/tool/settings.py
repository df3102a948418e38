"""The settings of a run: one frozen record, checked in the dtype it will compute in.

``scripts/train.py`` builds a :class:`Settings` from its flags,
:func:`lec4_jax.tool.runs.run` takes it, the :class:`~lec4_jax.tool.runs.Run` carries it, and the
JSON record echoes it. A notebook builds one directly::

    Settings()                                   # the lecture: w=1, lr=0.01, 20 epochs
    Settings(learning_rate=1.0)                  # a run that diverges
    Settings(model="affine", init={"w": 1.0, "b": 2.0})
    Settings(model="sigmoid(x*w + b)", init={"b": 0.0})   # a formula: w starts at 1.0

Every field is checked when the record is made, as the scripts check their flags:

>>> Settings(epochs=1e3)
Traceback (most recent call last):
lec4_jax.tool.data.InputError: must be a whole number (an int), got 1000.0 (float)
>>> Settings(grad="numeric")  # doctest: +ELLIPSIS
Traceback (most recent call last):
lec4_jax.tool.data.InputError: 'numeric' is not one of autodiff, ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from lec4_jax import grads, model
from lec4_jax.tool import limits, training
from lec4_jax.tool.data import InputError, as_count, check_choice, check_value, model_of

init_field = model.init_field  # w -> w_init: the one naming rule


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a run is: the model and its initial parameters, the optimizer, and how it runs.

    ``model`` is a :class:`~lec4_jax.model.Model`, its name or a formula, resolved here once:
    the record holds the model itself. ``init`` holds only the model's parameters (``None``:
    the model's defaults).
    ``keep_history`` keeps every step's values; without it a run of any length needs no
    memory per step.
    """

    model: model.Model | str = model.LECTURE
    init: Mapping[str, float] | None = None
    learning_rate: float = 0.01
    epochs: int = 20
    optimizer: str = "sgd"
    grad: str = "autodiff"
    loop: str = "scan"
    x64: bool = False
    predict_x: float = 4.0
    keep_history: bool = True

    def __post_init__(self):
        """Checks every field as the scripts check their flags: names among their choices,
        counts whole numbers, numbers finite in the compute dtype; an :class:`InputError`
        names the field."""
        m = model_of(self.model)  # a registry name or a formula (lec4_jax.formula), parsed once
        object.__setattr__(self, "model", m)
        for name in ("x64", "keep_history"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise InputError(f"must be True or False, got {getattr(self, name)!r}", name)
            object.__setattr__(self, name, bool(getattr(self, name)))
        if self.init is not None and not isinstance(self.init, Mapping):
            raise InputError(f"must be a mapping of parameter to value, such as "
                             f"{dict(m.defaults)}, got {type(self.init).__name__}", "init")
        init = dict(m.defaults if self.init is None else self.init)
        model.check_params(m, init)
        init = {k: check_value(init.get(k, m.defaults[k]), self.dtype, init_field(k))
                for k in m.params}
        object.__setattr__(self, "init", init)
        for name, choices in (("optimizer", tuple(training.OPTIMIZERS)),
                              ("grad", grads.METHODS), ("loop", training.LOOPS)):
            check_choice(getattr(self, name), choices, name)
        object.__setattr__(self, "epochs", as_count(self.epochs, "epochs"))
        for name, positive in (("learning_rate", True), ("predict_x", False)):
            object.__setattr__(self, name, check_value(getattr(self, name), self.dtype, name,
                                                       positive=positive))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64 if self.x64 else np.float32)

    def check_size(self, num_samples: int) -> int:
        """The run's step count, refused up front if a counter overflows or, with history, if
        the machine lacks the memory."""
        steps = limits.check_steps(self.epochs, num_samples)
        if self.keep_history:
            need = limits.history_bytes(steps, len(self.init), self.dtype.itemsize)
            limits.check_memory(need, f"a per-step history of {steps:,} steps", "epochs")
        return steps

    def record(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["model"] = self.model.name
        out["init"] = dict(self.init)
        out["dtype"] = self.dtype.name
        return out
