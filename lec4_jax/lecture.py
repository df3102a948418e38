"""The lecture's script in JAX, top to bottom, each line beside the PyTorch line it replaces.

    python -m lec4_jax.lecture      # prints what the lecture prints

One weight ``w`` learns ``y = 2x`` from x = 1, 2, 3 by per-sample SGD (learning rate 0.01,
20 epochs) on the loss ``(x*w - y)**2``. Three things change from PyTorch to JAX:

- ``w`` is no tensor that remembers its gradient: it is an argument of pure functions;
- ``l.backward()`` and ``w.grad`` become ``jax.grad(loss)``, a function that returns dloss/dw;
- the update makes a new ``w`` (``w = w - lr * g``): nothing accumulates, so nothing is zeroed.

Run step by step as here (eagerly, one JAX op at a time), every number equals PyTorch's, bit for
bit. The jitted step and the scanned run at the bottom compute the same steps inside XLA, which
may fuse a multiply and an add into one rounding (FMA) on CPUs that have it: a last-digit
difference, never more (docs/parity.md).

The PyTorch lines quoted are the lecture notes' script (모두를 위한 딥러닝 시즌 2, lecture 4),
itself Sung Kim's PyTorchZeroToAll ``03_auto_gradient.py`` lightly changed (README.md, "Where
the lecture's code comes from").
"""

import jax
import jax.numpy as jnp
import numpy as np

# The data and the weight ----------------------------------------------------------------------
x_data = [1.0, 2.0, 3.0]                # x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]                # y_data = [2.0, 4.0, 6.0]
w_init = 1.0                            # w = torch.Tensor([1.0]); w.requires_grad_(True)
learning_rate = 0.01                    # w.data - 0.01 * w.grad.data
epochs = 20                             # for epoch in range(20):


# The model and the loss: pure functions of w ----------------------------------------------------
def forward(w, x):                      # def forward(x):
    return x * w                        #     return x * w      (w was captured; here, passed)


def loss(w, x, y):                      # def loss(x, y):
    y_pred = forward(w, x)              #     y_pred = forward(x)
    return (y_pred - y) * (y_pred - y)  #     return (y_pred - y) * (y_pred - y)


# The gradient, dloss/dw ------------------------------------------------------------------------
grad = jax.grad(loss)                   # l.backward(); w.grad.data  (dloss/d of the 1st argument)


def grad_by_hand(w, x, y):
    """The chain rule along the lecture's graph x*w -> y_hat, y_hat - y -> s, s*s -> loss:
    the gradient arriving at each node times that node's local gradient, loss back to w."""
    y_hat = x * w                       # forward:  y_hat = x * w
    s = y_hat - y                       #           s = y_hat - y       (loss = s * s)
    dloss_ds = s + s                    # backward: d(s*s)/ds = s + s   (s feeds the product twice)
    # equivalent mutant (ReplaceBinaryOperator_Mul_Div): times 1.0 and over 1.0 are both exact
    dloss_dyhat = dloss_ds * 1.0        #           ds/dy_hat = 1
    return dloss_dyhat * x              #           dy_hat/dw = x, so dloss/dw = 2x(xw - y)


# One step of SGD --------------------------------------------------------------------------------
def sgd_step(w, x, y, lr):
    """The lecture's update. It returns a new w: JAX arrays are never changed in place."""
    g = grad(w, x, y)                   # l.backward(); g = w.grad.data
    return w - lr * g                   # w.data = w.data - 0.01 * w.grad.data
    #                                   # w.grad.data.zero_(): nothing to reset, g is a value


def show(value) -> str:
    """A float32 as the lecture prints it: the shortest decimal that reads back the same."""
    return str(np.float32(value))


# The lecture's loop, in plain Python, printing the lecture's lines ------------------------------
def train(w=w_init, lr=learning_rate, epochs=epochs, out=print):
    """Per-sample SGD exactly as the lecture writes it; returns the trained w."""
    w = jnp.float32(w)                                      # a float32 value, as torch's is
    out("predict (BT)", show(4.0), show(forward(w, 4.0)))   # print('predict (BT)', 4, forward(4))
    for epoch in range(epochs):                             # for epoch in range(20):
        for x_val, y_val in zip(x_data, y_data):            #   for x_val, y_val in zip(...):
            l = loss(w, x_val, y_val)                       # noqa: E741  l = loss(x_val, y_val)
            g = grad(w, x_val, y_val)                       #     l.backward()
            out("\tgrad: ", show(x_val), show(y_val), show(g))  # print('\tgrad: ', x, y, grad)
            w = w - lr * g                                  #     w.data = w.data - 0.01 * grad
        out("progress:", epoch, show(l))                    #   print('progress:', epoch, l)
    out("predict (AT)", show(4.0), show(forward(w, 4.0)))   # print('predict (AT)', 4, forward(4))
    return w


# The same run, compiled -------------------------------------------------------------------------
update = jax.jit(sgd_step)              # one step, compiled by XLA once, then reused


def train_scanned(w=w_init, lr=learning_rate, epochs=epochs):
    """All epochs x samples as one ``lax.scan``: one compiled loop instead of a Python one.
    Returns the trained w and each step's (loss, gradient)."""
    xs = jnp.tile(jnp.asarray(x_data, jnp.float32), epochs)
    ys = jnp.tile(jnp.asarray(y_data, jnp.float32), epochs)
    w = jnp.float32(w)

    def step(w, xy):
        x, y = xy
        return sgd_step(w, x, y, lr), (loss(w, x, y), grad(w, x, y))

    return jax.jit(lambda w: jax.lax.scan(step, w, (xs, ys)))(w)


if __name__ == "__main__":
    train()  # (run as a script, a platform JAX cannot start is one line: tool/environment.py)
