"""The teacher's key: each exercise's answer cell, solved, in otter-grader's markers.

``tools/student/assign.py`` puts these in place of the notebook's blank answer cells to make the
master notebook; otter-grader's ``otter assign`` strips what lies between ``# BEGIN SOLUTION``
and ``# END SOLUTION`` (and the right side of a line ending ``# SOLUTION``) from the student
version. The code is the same in both languages. The numbers are checked, not trusted: the
tests grade a copy solved with this key and expect full marks.
"""

SOLUTIONS = {
    "lecture_x2": """
answer_1 = -8.0  # SOLUTION: 2 * x * (x*w - y) = 2 * 2 * (2 - 4)
""",
    "bias": """
answer_2 = {"w": 6.0, "b": 3.0}  # SOLUTION: s = 2*1 + 0.5 - 1 = 1.5; 2s*x, 2s
""",
    "bias_grad": """
def bias_loss(params, x, y):
    # BEGIN SOLUTION
    y_hat = x * params["w"] + params["b"]
    return (y_hat - y) * (y_hat - y)
    # END SOLUTION


bias_grad = jax.grad(bias_loss)  # SOLUTION
""",
    "polynomial": """
answer_4 = {"w2": -27.0, "w1": -9.0, "b": -3.0}  # SOLUTION: s = 4.5 + 3 + 1 - 10 = -1.5
""",
    "chain_w2": """
def grad_w_squared(w, x, y):
    # BEGIN SOLUTION
    s = x * w * w - y
    return 2 * s * x * 2 * w  # dloss/dy_hat = 2s, dy_hat/dw2 = x, dw2/dw = 2w
    # END SOLUTION
""",
    "sgd_epoch": """
def sgd_epoch(params, x_data, y_data, lr):
    # BEGIN SOLUTION
    for x, y in zip(x_data, y_data):
        g = bias_grad(params, x, y)
        params = {k: params[k] - lr * g[k] for k in params}
    return params
    # END SOLUTION
""",
}
