"""The tool's machinery around the lesson: what ``scripts/`` run and the notebooks call through
:mod:`lec4_jax`'s public names.

- :mod:`~lec4_jax.tool.settings`: one frozen record of a run, checked in its compute dtype;
- :mod:`~lec4_jax.tool.training`: the production per-sample loops (fenced, scanned, progress);
- :mod:`~lec4_jax.tool.runs`: a whole run and its summary;
- :mod:`~lec4_jax.tool.sweep` and :mod:`~lec4_jax.tool.stability`: grids of learning rates,
  sharded, and where plain SGD is stable;
- :mod:`~lec4_jax.tool.report`, :mod:`~lec4_jax.tool.outputs`, :mod:`~lec4_jax.tool.plots`,
  :mod:`~lec4_jax.tool.stepthrough`: lines, files (whole or absent), pictures and the page;
- :mod:`~lec4_jax.tool.data`, :mod:`~lec4_jax.tool.limits`, :mod:`~lec4_jax.tool.platform`:
  inputs and their checks, sizes refused up front, where JAX computes.

The lesson (the lecture, the chain rule, the models, the gradients, the walk-through, the
exercises) sits one floor up, in :mod:`lec4_jax`, and imports nothing from here but
:mod:`~lec4_jax.tool.data`'s input checks. Importing this package loads nothing.
"""
