# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lecture 4, back-propagation, in JAX
#
# This notebook redoes lecture 4 (back-propagation) of the Korean course
# **모두를 위한 딥러닝 시즌 2** ("Deep Learning for Everyone", season 2) in JAX, and you write
# the JAX. As in the
# lecture, one weight `w` learns `y = 2x` from x = 1, 2, 3, and the loss, which measures how wrong
# a prediction is, is `(x*w - y)**2`. A gradient, written like dloss/dw, says how much the loss
# changes when a value changes a little.
#
# 1. The lecture's PyTorch code, moved to JAX line by line, in cells you run.
# 2. The worked example by hand, and its graph (exercise 1).
# 3. Graphs with new nodes, addition and square. Exercises 2 to 5 ask for numbers and JAX code.
# 4. The training run, step by step. Exercise 6 trains two parameters.
#
# Each exercise has a cell for your answer and a check cell. Write your number or code in place
# of `...` in the answer cell, then run the answer cell and the check cell. An exercise left
# blank raises no error: its check cell says "not answered yet". The sections marked
# **Optional** go beyond lecture 4; skip them on a first read.
#
# To run the notebook yourself, from the repository's folder, in a fresh virtual environment:
# `pip install -r requirements-notebooks.txt && jupyter lab notebooks/lec4_backprop.en.ipynb`.

# %%
import jax
import jax.numpy as jnp
import numpy as np

import lec4_jax as lj

lj.set_language("en")  # tables, pictures and the exercises' verdicts in English

# %% [markdown]
# ## 1. From the PyTorch loop to the JAX loop
#
# The lecture's PyTorch code, as its notes quote it: the notes' version of `03_auto_gradient.py`
# from Sung Kim's PyTorchZeroToAll (<https://github.com/hunkim/PyTorchZeroToAll>). The notes'
# Korean comments are left out here.
#
# ```python
# import torch
#
# device = torch.device('cpu')
# x_data = [1.0, 2.0, 3.0]
# y_data = [2.0, 4.0, 6.0]
#
#
# w = torch.Tensor([1.0], device = device)
# w.requires_grad_(True)
#
# def forward(x):
#     return x * w
#
# def loss(x, y):
#     y_pred = forward(x)
#     return (y_pred - y) * (y_pred - y)
#
# print('predict (BT)', 4, forward(4).data[0])
#
# for epoch in range(20):
#     for x_val, y_val in zip(x_data, y_data):
#         l = loss(x_val, y_val)
#         l.backward()
#         print('\tgrad: ', x_val, y_val, w.grad.data[0])
#         w.data = w.data - 0.01 * w.grad.data
#         w.grad.data.zero_()
#
#     print('progress:', epoch, l.data[0])
# print('predict (AT)', 4, forward(4).data[0])
# ```
#
# PyTorch prints its numbers as tensors, to four decimals: `predict (BT) 4 tensor(4.)`,
# `grad:  2.0 4.0 tensor(-7.8400)`. The JAX code below prints the same float32 values as the
# shortest decimal that reads back the same (`-7.84`): other text, the same values. Now move the
# code to JAX, one step at a time.

# %%
x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]
w = jnp.float32(1.0)
w

# %% [markdown]
# No `requires_grad_(True)`: in JAX, `w` is a plain float32 value.

# %%
def forward(w, x):
    return x * w


def loss(w, x, y):
    y_pred = forward(w, x)
    return (y_pred - y) * (y_pred - y)


loss(w, 1.0, 2.0)

# %% [markdown]
# `w` is an argument, so the loss is a *pure function* of `w`: the same inputs always give the
# same output, and nothing outside is changed.

# %%
grad = jax.grad(loss)
grad(w, 1.0, 2.0)

# %% [markdown]
# `l.backward()` and then reading `w.grad` are one call in JAX: `jax.grad(loss)` is a new function
# that returns dloss/dw, the derivative with respect to the first argument.

# %%
show = lj.lecture.show  # a float32 as the shortest decimal that reads back the same: -7.84
lines = []  # the lines printed, kept to compare them with the lecture's below


def say(*words):
    line = " ".join(str(word) for word in words)
    lines.append(line)
    print(line)


w = jnp.float32(1.0)
say("predict (BT)", 4.0, show(forward(w, 4.0)))
for epoch in range(20):
    for x_val, y_val in zip(x_data, y_data):
        l = loss(w, x_val, y_val)
        g = grad(w, x_val, y_val)
        say("\tgrad: ", x_val, y_val, show(g))
        w = w - 0.01 * g
    say("progress:", epoch, show(l))
say("predict (AT)", 4.0, show(forward(w, 4.0)))

# %% [markdown]
# The update `w = w - 0.01 * g` makes a new `w` (JAX arrays are never changed in place). There is
# no line for `w.grad.data.zero_()`: PyTorch adds each `backward()` into `w.grad`, while
# `jax.grad` returns a fresh value each call.

# %%
lj.exercises.compare_run(lines)

# %% [markdown]
# Your lines against those of `lj.lecture`, the package's reference, and against the numbers of
# the lecture's PyTorch code, run for real where PyTorch is installed. Change the learning rate or
# the epochs in the loop, run both cells again, and it says at which line the runs part.

# %%
loss_and_grad = jax.value_and_grad(loss)
l, g = loss_and_grad(jnp.float32(1.0), 3.0, 6.0)
print("loss:", show(l), " dloss/dw:", show(g))

# %% [markdown]
# The lecture computes the loss, `l = loss(x_val, y_val)`, then its gradient, `l.backward()`.
# The twin of those two lines is `jax.value_and_grad`: it returns the loss and the gradient at once.

# %% [markdown]
# ## 2. The worked example by hand
#
# The lecture's *computational graph* for one sample has three operations: `ŷ = x·w`, then
# `s = ŷ − y`, then `loss = s·s`, which is s². Each value, inputs included, is a *node*.
#
# **Forward pass**, at x = 1, w = 1, y = 2: ŷ = 1, s = −1, loss = 1.
#
# **Backward pass**: start at the loss and go back one node at a time. A node's *local gradient*
# is the derivative of its output with respect to one of its inputs. The *chain rule*: the
# gradient of the loss with respect to an input is the gradient the node received,
# dloss/d(node), times that input's local gradient.
#
# - dloss/ds = 2s = −2
# - dloss/dŷ = dloss/ds · ds/dŷ = −2 · 1 = −2 (the subtraction s = ŷ − y has ds/dŷ = 1)
# - dloss/dw = dloss/dŷ · dŷ/dw = −2 · x = −2 (the multiplication ŷ = x·w has dŷ/dw = x)

# %%
x, w, y = 1.0, 1.0, 2.0
y_hat = x * w  # the forward pass, node by node
s = y_hat - y
print("forward pass:  y_hat =", y_hat, "  s =", s, "  loss =", s * s)
print("dloss/dw by the chain rule:", float(lj.lecture.grad_by_hand(w, x, y)))
print("dloss/dw by jax.grad:      ", float(grad(w, x, y)))
print("the formula 2x(xw - y):    ", 2 * x * (x * w - y))

# %% [markdown]
# `lj.explain` records the same graph as the computation runs and walks it back: each row of the
# backward table is one step of the chain rule above. In the picture, values travel forward on
# the black arrows and gradients travel back on the dashed red ones.

# %%
example = lj.Example.of("linear")  # the lecture's example: x=1, y=2, w=1
print("\n".join(lj.table(lj.explain(example), ("w",))))

# %%
lj.graph_picture(example)

# %% [markdown]
# **Exercise 1.** The lecture's graph, y_hat = x*w and loss = (y_hat - y)^2, at x=2, y=4, w=1: what is dloss/dw? Answer with a number: `answer_1 = ...`.
#
# Write your answer in place of `...` and run both cells: the check computes the true gradient with
# `jax.grad` and compares. A wrong answer gets a hint, never the answer.

# %% tags=["answer:lecture_x2"]
answer_1 = ...  # dloss/dw: one number

# %% tags=["check:lecture_x2"]
lj.exercises.check("lecture_x2", answer_1)

# %% [markdown]
# ## 3. New nodes: addition and square
#
# With a bias `b`, ŷ = x·w + b has an **addition node**. The derivative of a + b is 1 with
# respect to a and 1 with respect to b, so an addition node passes the gradient it received on
# to both inputs **unchanged** (local gradient 1), for the same reason that ds/dŷ was 1 for the
# subtraction. The multiplication node `xw` multiplies by x as before. The picture is at another
# point than the exercise's (x=1, y=2, w=1, b=2).

# %%
lj.graph_picture(lj.Example.of("affine"))

# %% [markdown]
# **Exercise 2.** With a bias, y_hat = x*w + b and loss = (y_hat - y)^2, at x=2, y=1, w=1, b=0.5: what are dloss/dw and dloss/db? Answer with a dict: `answer_2 = {"w": ..., "b": ...}`.

# %% tags=["answer:bias"]
answer_2 = ...  # a dict: {"w": ..., "b": ...}

# %% tags=["check:bias"]
lj.exercises.check("bias", answer_2)

# %% [markdown]
# **Exercise 3 (code).** Now write the same model in JAX. `bias_loss(params, x, y)` takes
# `params = {"w": ..., "b": ...}` and returns the loss; `bias_grad` is a function made by
# `jax.grad`. Differentiating a function of a dict, `jax.grad` returns a dict of the same shape,
# `{"w": dloss/dw, "b": dloss/db}`. Write your code in place of the two `...` below; the check
# runs both functions on several samples.

# %% tags=["answer:bias_grad"]
def bias_loss(params, x, y):
    ...  # the loss (x*w + b - y)**2, with w = params["w"], b = params["b"]


bias_grad = ...  # bias_grad(params, x, y) returns {"w": dloss/dw, "b": dloss/db}

# %% tags=["check:bias_grad"]
lj.exercises.check("bias_grad", (bias_loss, bias_grad))

# %% [markdown]
# The quadratic model ŷ = x²·w2 + x·w1 + b has more nodes: `x2` (x²), the multiplications
# `x2w2` and `xw1`, and the additions `sum` and `y_hat`. The picture is at another point than
# the exercise's.

# %%
lj.graph_picture(lj.Example.of("quadratic"))

# %% [markdown]
# **Exercise 4.** The quadratic model y_hat = x^2*w2 + x*w1 + b and loss = (y_hat - y)^2, at x=3, y=10, w2=0.5, w1=1, b=1: what are dloss/dw2, dloss/dw1 and dloss/db? Answer with a dict: `answer_4 = {"w2": ..., "w1": ..., "b": ...}`.

# %% tags=["answer:polynomial"]
answer_4 = ...  # a dict: {"w2": ..., "w1": ..., "b": ...}

# %% tags=["check:polynomial"]
lj.exercises.check("polynomial", answer_4)

# %% [markdown]
# The model ŷ = x·w² has a **square node**, `w2`, which squares w: its local gradient is
# dw2/dw = 2w. Then comes the multiplication node `y_hat` = x·w2, whose local gradient dy_hat/dw2
# is x.

# %%
lj.graph_picture(lj.Example.of("w_squared"))

# %% [markdown]
# **Exercise 5 (code).** Write dloss/dw by the chain rule alone, without `jax.grad`
# (ŷ = x·w², loss = (ŷ − y)²): in place of `...` below, return dloss/dw. The check compares it
# with `jax.grad` at several points.

# %% tags=["answer:chain_w2"]
def grad_w_squared(w, x, y):
    ...  # dloss/dw = dloss/dy_hat * dy_hat/dw2 * dw2/dw

# %% tags=["check:chain_w2"]
lj.exercises.check("chain_w2", grad_w_squared)

# %% [markdown]
# ## 4. The training run, step by step
#
# The first `grad:` line of section 1, `grad: 1.0 2.0 -2.0`, is the worked example. The update
# moves w against the gradient, by the gradient times the *learning rate* (0.01 in the lecture):
# w = 1 − 0.01 · (−2) = 1.02. The next sample, x = 2 and y = 4, is computed at that new w. The
# first two steps by hand:

# %%
w, lr = 1.0, 0.01
for x, y in [(1.0, 2.0), (2.0, 4.0)]:
    g = 2 * x * (x * w - y)  # dloss/dw, by the formula
    print(f"x={x}, y={y}, w={w:.4f}:  dloss/dw = {g:.4f},  "
          f"new w = w - lr * dloss/dw = {w - lr * g:.4f}")
    w = w - lr * g

# %% [markdown]
# Those are the second `grad:` line, `-7.84`, and the w it was computed at. Epoch after epoch w
# creeps towards 2, and the prediction for x = 4 towards 8:

# %%
for epochs in (1, 2, 5, 10, 20):
    w = lj.lecture.train(epochs=epochs, out=lambda *words: None)  # train without printing
    print(f"after {epochs:2} epochs: w = {float(w):.6f}, prediction for x = 4: {float(4 * w):.6f}")

# %% [markdown]
# **Exercise 6 (code).** Widen the lecture's loop to two parameters (ŷ = x·w + b): write
# `sgd_epoch(params, x_data, y_data, lr)`, one epoch. For each sample, take both gradients and
# update both parameters, then return the last `params`. Take the gradients with `bias_grad`
# from exercise 3 (so solve exercise 3 first).
#
# The check compares one update on one-sample data, then one epoch on three samples. Last, it
# trains your function from w = 0, b = 0 on three points of y = 2x + 1 (x = 1, 2, 3) and sees
# whether it reaches the line that fits them best (w = 2, b = 1).

# %% tags=["answer:sgd_epoch"]
def sgd_epoch(params, x_data, y_data, lr):
    ...  # for each sample: take the gradients, update params = {"w": ..., "b": ...}

# %% tags=["check:sgd_epoch"]
lj.exercises.check("sgd_epoch", sgd_epoch)

# %% [markdown]
# That is all of lecture 4. The sections below are optional.
#
# ---
#
# ## Optional — compiling the loop: `jax.jit` and `lax.scan`
#
# *Why care:* the loop above hands JAX one tiny operation at a time; compiled, the whole step, or
# the whole run, becomes one program, which is how JAX runs real models fast.
#
# `lj.lecture.update`, which is `jax.jit(sgd_step)`, compiles one step (the gradient and the
# update) with XLA, JAX's compiler, the first time it is called, and reuses it after.
# `lj.lecture.train_scanned` goes further: `lax.scan` is a loop that JAX compiles as a whole, so
# all 60 steps run as one compiled program.

# %% tags=["cpu"]
w_eager = lj.lecture.train(out=lambda *words: None)  # one operation at a time, like PyTorch

w_jit = jnp.float32(1.0)
for _ in range(20):  # 20 epochs
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        w_jit = lj.lecture.update(w_jit, x, y, 0.01)  # one step, compiled once

w_scan, (losses, grads) = lj.lecture.train_scanned()  # all 60 steps, one compiled loop
print("w after 20 epochs:  eager", show(w_eager), "  jit", show(w_jit), "  scan", show(w_scan))

# %% [markdown]
# The compiled runs may end a last digit away from the eager one. What agreement with PyTorch
# means:
#
# - **Eager JAX equals PyTorch bit for bit.** Both compute each multiplication and each
#   subtraction separately and round each result to float32 (about 7 significant digits), in the
#   same order.
# - **A compiled run may differ in the last digit.** Many CPUs have a *fused multiply-add* (FMA)
#   instruction that computes `a*b + c` at once and rounds only once. XLA may use it wherever a
#   multiplication is followed by an addition or a subtraction; this loop has two such places,
#   `x*w - y` inside the gradient, and the update `w - lr * g`.
#
# Where does it part first? Feed the eager loop's `w` (and `g`) at every step to the compiled
# gradient and to the compiled update, separately. The answer depends on this machine's CPU: on
# one without FMA (or with `XLA_FLAGS=--xla_cpu_max_isa=AVX`) both are the same at every step.

# %% tags=["cpu"]
jit_grad = jax.jit(lj.lecture.grad)  # the gradient alone, compiled
jit_step = jax.jit(lambda w, g: w - 0.01 * g)  # the update alone, compiled
grad_differs, step_differs, w = [], [], jnp.float32(1.0)
for _ in range(20):  # 20 epochs
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        g = lj.lecture.grad(w, x, y)  # the eager gradient
        grad_differs.append(bool(jit_grad(w, x, y) != g))  # compiled, at the same w
        step_differs.append(bool(jit_step(w, g) != w - 0.01 * g))  # compiled, the same w and g
        w = w - 0.01 * g
for name, differs in [("the gradient (with x*w - y)", grad_differs), ("the update w - lr * g", step_differs)]:
    if any(differs):
        print(f"{name}: differs at {sum(differs)} of 60 steps, first at step {differs.index(True) + 1}")
    else:
        print(f"{name}: the same as eager at all 60 steps")

# %% [markdown]
# Once w differs, the later numbers differ a little too. Near the end the gradient is the
# difference of two nearly equal numbers (x·w is close to y), so a tiny difference shows up
# larger there, but it stays a few millionths in absolute terms. Neither run is wrong: both are
# within rounding of the exact value. The 60 gradients of the run compiled whole by `lax.scan`:

# %% tags=["cpu"]
eager, w = [], jnp.float32(1.0)
for _ in range(20):  # 20 epochs
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        eager.append(lj.lecture.grad(w, x, y))
        w = w - 0.01 * eager[-1]
eager, scanned = np.array(eager), np.asarray(grads)
differ = eager != scanned
if differ.any():
    first = int(np.argmax(differ))
    print(f"{int(differ.sum())} of the 60 gradients differ; the first at step {first + 1}: "
          f"eager {show(eager[first])}, scan {show(scanned[first])}")
else:
    print("all 60 gradients are the same as eager")
print(f"largest difference in a gradient: {np.max(np.abs(eager - scanned)):.1e}; "
      f"in the final w: {abs(float(w_eager) - float(w_scan)):.1e}")

# %% [markdown]
# ## Optional — forward mode next to reverse mode
#
# *Why care:* back-propagation is what automatic differentiation calls *reverse mode*; seeing the
# other mode next to it shows why training uses this one: one backward pass gives the gradient for
# every parameter at once.
#
# - **Forward mode** (`jax.jvp`, a *Jacobian-vector product*) starts at the parameter: put a
#   change of 1 on w and push it forward through the graph. Each node then carries d(node)/dw, the
#   change that reaches it.
# - **Reverse mode** (`jax.vjp`, a *vector-Jacobian product*) starts at the loss: put the gradient 1
#   there and pass it back, node by node, multiplying by local gradients: back-propagation. Each
#   node then carries dloss/d(node).
#
# (The *Jacobian* is the table of every output's derivative with respect to every input; for one
# input and one output it is a single number.) With one parameter, both take one pass. With n
# parameters, forward mode needs n passes, one per parameter, and reverse mode still one.

# %%
def loss_at(w):
    return lj.lecture.loss(w, 1.0, 2.0)  # the worked example's loss, a function of w alone


value, change = jax.jvp(loss_at, (1.0,), (1.0,))  # forward: a change of 1 in w, pushed forward
value, pull_back = jax.vjp(loss_at, 1.0)  # reverse: pull_back(1.0) runs the backward pass
print("loss:", float(value), "  dloss/dw by jvp:", float(change),
      "  by vjp:", float(pull_back(1.0)[0]))
print()
print("\n".join(lj.modes_table(example)))

# %% [markdown]
# ## Optional — reading a jaxpr
#
# *Why care:* a jaxpr is the computational graph JAX records from your Python function; reading
# one shows you exactly what `jax.grad` computes, backward pass included.
#
# `jax.make_jaxpr(f)(...)` runs `f` on stand-in values shaped like the arguments, records the
# operations, and prints the record. How to read it:
#
# - After `lambda ;` come the inputs, each `name:type`. Here `a` is w, `b` is x, `c` is y, and
#   `f32[]` means one float32 number (an array with no dimensions).
# - Between `let` and `in`, one line per node: `name:type = operation inputs`. `mul b a` is
#   x·w = ŷ; `sub d c` is ŷ − y = s, recorded twice because the lecture writes
#   `(y_pred - y) * (y_pred - y)`; `mul e f` is s·s, the loss.
# - After `in` come the outputs.

# %%
print(jax.make_jaxpr(lj.lecture.loss)(1.0, 1.0, 2.0).pretty_print(use_color=False))

# %% [markdown]
# The jaxpr of `jax.grad` has the forward pass first, then the backward pass, written out:
#
# - `_` is a value computed but not used (the loss itself: `jax.grad` returns only the gradient).
# - `mul e 1.0` and `mul 1.0 f` are the gradient 1 arriving at the loss times the local gradient of
#   s·s with respect to each factor.
# - `add_any` adds the two at ŷ (`d`): ŷ feeds two subtractions (`e` and `f`, each s), so the two
#   paths' gradients add up to dloss/dŷ = s + s = 2s. A subtraction's local gradient is 1, so
#   JAX writes no line for it.
# - `mul b i` multiplies by the local gradient of x·w with respect to w, which is x: dloss/dw.

# %%
print(jax.make_jaxpr(lj.lecture.grad)(1.0, 1.0, 2.0).pretty_print(use_color=False))

# %% [markdown]
# ## Optional — checking a gradient
#
# *Why care:* when you write a gradient yourself, as a formula or as your own backward rule, a
# check against the loss tells you whether it is wrong.
#
# A gradient is checked against the function it is the gradient *of*: the loss. Measure the
# loss's slope between two nearby points, (L(w + h) − L(w − h)) / (2h): this is a *finite
# difference*. For a small h it is close to the true derivative (for this parabola, equal to it
# up to rounding).
#
# - `jax.test_util.check_grads(f, ...)` compares `jax.grad` of `f` with finite differences of `f`.
#   Applied to the loss, it checks JAX's gradient of the loss (here the 1st and 2nd derivatives).
# - To check a formula, compare it with the finite difference of the loss. The right formula
#   agrees; a wrong one, 2x(xw − y) + 5w, does not.
# - `check_grads` on the wrong formula itself passes: it checks only that JAX differentiates that
#   function correctly, not that the function is the loss's gradient.

# %%
from jax.test_util import check_grads


def loss_2_4(w):
    return lj.lecture.loss(w, 2.0, 4.0)  # the loss at x = 2, y = 4


w0 = np.float32(1.5)
check_grads(loss_2_4, (w0,), order=2, eps=1e-2)  # raises an error where they disagree
print("check_grads on the loss: jax.grad agrees with finite differences")

h = 1e-2
slope = float((loss_2_4(w0 + h) - loss_2_4(w0 - h)) / (2 * h))  # the finite difference
formulas = {"2x(xw - y)": lambda w, x, y: 2 * x * (x * w - y),
            "2x(xw - y) + 5w": lambda w, x, y: 2 * x * (x * w - y) + 5 * w}  # the 2nd is wrong
for name, formula in formulas.items():
    value = float(formula(w0, 2.0, 4.0))
    verdict = "agrees" if abs(value - slope) < 1e-3 else "DISAGREES: a wrong formula"
    print(f"{name:16} at w=1.5, x=2, y=4: {value:+.4f}, finite difference {slope:+.4f}: {verdict}")

check_grads(lambda w: formulas["2x(xw - y) + 5w"](w, 2.0, 4.0), (w0,), order=1, eps=1e-2)
print("check_grads on the wrong formula itself: passes, so it cannot catch the mistake")

# %% [markdown]
# ## Optional — the Hessian and Newton's method
#
# *Why care:* the learning rate is a guess at how far to step; the second derivative says how far,
# and with it one step lands on the best w.
#
# The *Hessian* H is the second derivative of the loss, d²loss/dw²: how fast the gradient changes
# when w changes. (With many parameters it is the table of all second derivatives.) For
# loss = (xw − y)², the gradient is 2x(xw − y), so H = 2x², a constant: the loss is a parabola
# in w. *Newton's method* steps w ← w − g/H, and on a parabola that lands on its lowest point,
# w = y/x = 2: the first sample's step already lands there, and the next ones stay; SGD's 60
# steps get close but not there.

# %%
hessian = jax.hessian(lj.lecture.loss)  # d2loss/dw2, a function of (w, x, y)
for x in (1.0, 2.0, 3.0):
    print(f"x={x}: H = d2loss/dw2 = {float(hessian(1.0, x, 2 * x))} = 2x^2")
w = 1.0
for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
    w = float(w - lj.lecture.grad(w, x, y) / hessian(w, x, y))  # Newton's step
    print(f"Newton's step on x={x}, y={y}: w = {w}")
print("SGD after 60 steps: w =", lj.lecture.show(lj.lecture.train(out=lambda *words: None)))

# %% [markdown]
# ## Optional — which learning rates are stable
#
# *Why care:* with too large a learning rate, training blows up instead of learning; for this
# loss you can compute exactly which rates work, and see why.
#
# Write w* = 2 for the best weight. Since y = 2x, the gradient is 2x(xw − y) = 2x²(w − w*), so one
# SGD step turns the error w − w* into (1 − 2·lr·x²)(w − w*). An epoch multiplies it by
# P(lr) = (1 − 2·lr·1²)(1 − 2·lr·2²)(1 − 2·lr·3²). Training is stable where |P| < 1: the error
# shrinks every epoch.
#
# For the lecture's data there are two such windows of learning rates. The first starts at 0.
# The second exists because at lr = 0.5 the x = 1 step's factor is 1 − 2·0.5·1² = 0: that step
# lands on w* exactly, wherever w was, so P = 0 there, and |P| stays below 1 close by. (Near 0.5
# the x = 2 and x = 3 steps multiply the error by about −3 and −8, far past w*; the next x = 1
# step shrinks it back to almost nothing.)

# %%
rates = lj.stable_learning_rates([1.0, 2.0, 3.0])
(lo1, hi1), (lo2, hi2) = rates.intervals
print(f"stable: 0 < lr < {hi1:.6f}, or {lo2:.6f} < lr < {hi2:.6f}")
for lr in (0.01, 0.5):
    factors = [1 - 2 * lr * x**2 for x in (1.0, 2.0, 3.0)]
    steps = ", ".join(f"{f:g}" for f in factors)
    print(f"lr = {lr}: the steps' factors {steps}; their product P = {np.prod(factors):g}")

# %% [markdown]
# A *sweep* checks this by training: `lj.train_grid` runs 200 learning rates, log-spaced from 0.001
# to 1, at once, 20 epochs each, and marks a run as diverged when its loss ends higher than it started (or
# is not a number). A grid can only bracket an edge: it tries learning rates with gaps between
# them, so the first rate it finds diverged is the first grid point past the exact edge, at most
# one grid step beyond it. The grid also finds the second window, with the few grid points that
# fall inside it.

# %%
x, y = lj.lecture_data()
result = lj.train_grid(lj.learning_rates(0.001, 1.0, 200), [1.0], x, y, epochs=20)
lr, diverged = np.asarray(result.learning_rate, np.float64), np.asarray(result.diverged)
first = int(np.argmax(diverged))
print(f"the exact edge {hi1:.6f} lies between the grid points {lr[first - 1]:.6f} (stable) "
      f"and {lr[first]:.6f} (the first to diverge), {lr[first] - lr[first - 1]:.6f} apart")
inside = lr[~diverged & (lr > hi1)]
print(f"the second window ({lo2:.6f}, {hi2:.6f}) holds the grid points",
      ", ".join(f"{v:.6f}" for v in inside))

# %%
lj.sweep_picture(result, 2.0, rates, "the lecture's data, 20 epochs")

# %% [markdown]
# ## Optional — your own formula
#
# *Why care:* back-propagation runs by the same rule whatever the formula: each node multiplies
# by its local gradient and passes the result back. Draw the graph and the backward table of a
# formula you write, train it, and compare with `jax.grad` to see that for yourself.
#
# Write a formula for the prediction y_hat as `formula` in the cell below, then run this
# section's cells in order. Write it in `x` and parameters (names other than x and y, such as
# `w`, `b`, `w1`), with numbers, `+ - * /`, `**` (with a numeric exponent), parentheses, and
# `exp`, `log`, `tanh`, `sigmoid`, `relu`. The loss is (y_hat − y)², as before.

# %%
formula = "x*w**2 + b"  # the formula for y_hat: change it (e.g. "x*w + b", "tanh(x*w) + b")
try:
    mine = lj.model.get(formula)
except lj.InputError as error:  # a formula it cannot read: one line, then the default formula
    print("this formula cannot be read:", error)
    print("the cells below run with the default formula, x*w**2 + b")
    mine = lj.model.get("x*w**2 + b")
point = lj.Example.of(mine)  # the point of the picture and the table; change it as in lj.Example.of(mine, {"w": 2.0}, x=3.0, y=1.0)
print(mine.formula, "  parameters:", ", ".join(mine.params), "  point:", f"x={point.x:g}, y={point.y:g},",
      ", ".join(f"{k}={v:g}" for k, v in point.params.items()))
lj.graph_picture(point)

# %% [markdown]
# Read the backward table as in section 2: each row is one step of the chain rule.

# %%
walk = lj.explain(point)
print("\n".join(lj.table(walk, mine.params)))

# %% [markdown]
# Compare the gradient of each parameter from the table's backward pass with `jax.grad`.
# `mine.loss(params, x, y)` takes a dict of parameters, like exercise 3's `bias_loss`, so
# `jax.grad` returns a dict of the same shape.

# %%
params = {k: jnp.float32(v) for k, v in point.params.items()}
by_jax = jax.grad(mine.loss)(params, jnp.float32(point.x), jnp.float32(point.y))
for k in mine.params:
    print(f"dloss/d{k}:  backward table {lj.lecture.show(walk.grad(k))},  jax.grad {lj.lecture.show(by_jax[k])}")

# %% [markdown]
# Now train it on the lecture's data (x = 1, 2, 3, y = 2x), updating every parameter after each
# sample as in exercise 6. If the loss does not fall, or turns inf or nan, lower the learning
# rate `lr`.

# %%
grad_mine = jax.grad(mine.loss)  # returns {parameter: dloss/d(parameter)}
params, lr = {k: jnp.float32(v) for k, v in point.params.items()}, 0.01  # from the picture's point
data = list(zip(lj.lecture.x_data, lj.lecture.y_data))
for epoch in range(1, 101):
    for x, y in data:  # an update after each sample
        g = grad_mine(params, x, y)
        params = {k: params[k] - lr * g[k] for k in params}
    if epoch in (1, 10, 100):
        mean = sum(float(mine.loss(params, x, y)) for x, y in data) / len(data)
        print(f"after epoch {epoch:3}:", ", ".join(f"{k} = {lj.lecture.show(v)}" for k, v in params.items()),
              f"  mean loss {mean:.6g}")
