"""Builds the lesson's two notebooks, Korean and English, from this one source, and runs them.

    python notebooks/build.py            # write both notebooks and execute them (outputs kept)
    python notebooks/build.py --check    # exit 1 if the committed notebooks differ from this source

Every code cell is written once, below, with its comments and printed words in each language:
the code itself is the same in both notebooks (:func:`skeleton`, checked by the tests), so they
cannot drift; the prose is written for each language. The committed notebooks keep their
outputs, so a reader on GitHub sees them without running anything; ``tests/test_notebooks.py``
runs them afresh and compares the text outputs.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tokenize
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
LANGS = ("ko", "en")


def path(lang: str) -> Path:
    return HERE / f"lec4_backprop.{lang}.ipynb"


def md(en: str, ko: str):
    return ("markdown", {"en": en.strip(), "ko": ko.strip()})


def code(en: str, ko: str | None = None):
    """A code cell; ``ko`` is the same code with Korean comments and printed words."""
    return ("code", {"en": en.strip(), "ko": (en if ko is None else ko).strip()})


def skeleton(source: str) -> list[tuple[int, str]]:
    """The code without its comments and the text of its strings: what must be the same in
    both languages."""
    kept = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL):
            continue
        if tok.type == tokenize.STRING:
            prefix = re.match(r"[A-Za-z]*", tok.string).group()
            kept.append((tok.type, prefix.lower() + "str"))
        else:
            kept.append((tok.type, tok.string))
    return kept


# The lecture's PyTorch loop, from its notes (the comments are the lecture's own, in Korean; the
# English notebook leaves them out), and the same loop in JAX: the code lines of
# lec4_jax/lecture.py (the tests check that each line is there).
TORCH_LOOP = r"""
import torch

device = torch.device('cpu')
x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]


w = torch.Tensor([1.0], device = device) # requires_grad 파라미터로 해당 변수가 gradient 계산이 되도록 지정.
w.requires_grad_(True)

def forward(x):
    return x * w

def loss(x, y):
    y_pred = forward(x)
    return (y_pred - y) * (y_pred - y)

print('predict (BT)', 4, forward(4).data[0])

for epoch in range(20):
    for x_val, y_val in zip(x_data, y_data):
        l = loss(x_val, y_val)
        l.backward() # 계산 그래프를 따라 빌딩된 노드들에 대한 그래디언트를 계산하여 w 갱신
        print('\tgrad: ', x_val, y_val, w.grad.data[0])
        w.data = w.data - 0.01 * w.grad.data
        w.grad.data.zero_() # w에 그래디언트 갱신 후 초기화

    print('progress:', epoch, l.data[0])
print('predict (AT)', 4, forward(4).data[0])
""".strip()

JAX_LOOP = r"""
import jax
import jax.numpy as jnp

x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]
w_init = 1.0
learning_rate = 0.01
epochs = 20


def forward(w, x):
    return x * w


def loss(w, x, y):
    y_pred = forward(w, x)
    return (y_pred - y) * (y_pred - y)


grad = jax.grad(loss)


def train(w=w_init, lr=learning_rate, epochs=epochs, out=print):
    w = jnp.float32(w)
    out("predict (BT)", show(4.0), show(forward(w, 4.0)))
    for epoch in range(epochs):
        for x_val, y_val in zip(x_data, y_data):
            l = loss(w, x_val, y_val)
            g = grad(w, x_val, y_val)
            out("\tgrad: ", show(x_val), show(y_val), show(g))
            w = w - lr * g
        out("progress:", epoch, show(l))
    out("predict (AT)", show(4.0), show(forward(w, 4.0)))
    return w
""".strip()


def torch_loop(lang: str) -> str:
    """The lecture's loop as a fenced block; in English, without the lecture's Korean comments."""
    text = TORCH_LOOP if lang == "ko" else re.sub(r" # [^\n]*", "", TORCH_LOOP)
    return f"```python\n{text}\n```"


CELLS = [
    md("""
# Lecture 4, back-propagation, in JAX

This notebook redoes lecture 4 (back-propagation) of the Korean course "Deep Learning for
Everyone", season 2, in JAX. As in the
lecture, one weight `w` learns `y = 2x` from x = 1, 2, 3, and the loss, which measures how
wrong a prediction is, is `(x*w - y)**2`. A gradient, written like dloss/dw, says how much the
loss changes when a value changes a little.

1. The lecture's PyTorch loop next to the same loop in JAX, line by line, and its run.
2. The lecture's worked example by hand: at x = 1, w = 1, y = 2 the loss is 1 and the gradients
   on the way back are −2, −2, −2. Then exercise 1.
3. The graph, drawn. Then exercises 2 and 3.
4. The training run, step by step.

The sections marked **Optional** go beyond lecture 4: compiling the loop (`jax.jit`,
`lax.scan`), forward mode next to reverse mode, reading a jaxpr, checking a gradient, the
Hessian and Newton's method, and which learning rates are stable. Skip them on a first read.

To run the notebook yourself, from the repository's folder, in a fresh virtual environment:
`pip install -r requirements-notebooks.txt && jupyter lab notebooks/lec4_backprop.en.ipynb`.
""", """
# 4강 역전파를 JAX로 다시 해 보기

모두의 딥러닝 시즌 2의 4강(역전파)을 JAX로 다시 해 보는 노트북입니다. 강의와 마찬가지로 가중치
하나 `w`가 x = 1, 2, 3에서 `y = 2x`를 배웁니다. 예측이 얼마나 틀렸는지 재는 손실은
`(x*w - y)**2`입니다. 기울기(강의의 "그래디언트")는 어떤 값이 조금 변할 때 손실이 얼마나
변하는지를 나타내며, dloss/dw처럼 씁니다.

이런 순서로 진행합니다.

1. 강의의 PyTorch 학습 코드와 같은 일을 하는 JAX 코드를 한 줄씩 나란히 비교해 보고 실행합니다.
2. 강의의 예제를 손으로 계산합니다. x = 1, w = 1, y = 2에서 손실은 1이고, 거꾸로 가며 구하는
   기울기 dloss/ds, dloss/dŷ, dloss/dw는 모두 −2입니다. 이어서 연습 1을 풉니다.
3. 계산 그래프를 그림으로 봅니다. 이어서 연습 2와 3을 풉니다.
4. 학습이 한 스텝씩 어떻게 진행되는지 따라가 봅니다.

제목에 **심화(선택)** 표시가 붙은 절은 4강의 범위를 넘는 내용입니다. 학습 루프를 컴파일하기
(`jax.jit`, `lax.scan`), 순방향 모드와 역방향 모드 비교하기, jaxpr 읽기, 기울기가 맞는지
검증하기, 헤시안과 뉴턴 방법, 어떤 학습률에서 학습이 안정적인지 알아보기를 다룹니다. 처음
읽을 때는 건너뛰어도 됩니다.

직접 실행하려면 저장소 폴더에서 새 가상 환경을 만든 뒤
`pip install -r requirements-notebooks.txt && jupyter lab notebooks/lec4_backprop.ko.ipynb`를
실행하세요.
"""),
    code("""
import jax
import numpy as np

import lec4_jax as lj

lj.set_language("en")  # tables, pictures and the exercises' verdicts in English
""", """
import jax
import numpy as np

import lec4_jax as lj

lj.set_language("ko")  # 표, 그림, 연습 문제의 채점 결과를 한국어로 출력합니다
"""),
    md("""
## 1. From the PyTorch loop to the JAX loop

The lecture's code, from its notes:

{torch_loop}

The same loop in JAX, as `lec4_jax/lecture.py` writes it (its comments left out; `show` writes
a float32 the way PyTorch prints it, and `out` is `print`):

```python
{jax_loop}
```

Line by line:

| PyTorch (the lecture) | JAX (`lec4_jax/lecture.py`) | What changes |
|---|---|---|
| `w = torch.Tensor([1.0])`, `w.requires_grad_(True)` | `w = jnp.float32(w)` | `w` is a plain value: nothing marks it as something to differentiate. |
| `def forward(x): return x * w` | `def forward(w, x): return x * w` | `w` is an argument. The loss becomes a *pure function* of `w`: the same inputs always give the same output, and nothing outside is changed. |
| `def loss(x, y): ...` | `def loss(w, x, y): ...` | The same formula, with `w` first. |
| `l.backward()`, then `w.grad.data[0]` | `grad = jax.grad(loss)`, then `g = grad(w, x_val, y_val)` | `jax.grad(loss)` is a new function that returns dloss/dw, the derivative with respect to the first argument. |
| `w.data = w.data - 0.01 * w.grad.data` | `w = w - lr * g` | The update makes a new `w`: JAX arrays are never changed in place. |
| `w.grad.data.zero_()` | nothing | PyTorch adds each `backward()` into `w.grad`, so the lecture must zero it after every step. `jax.grad` returns a fresh value each call: nothing accumulates, so there is nothing to reset. |

Run it. The lines are the lecture's: a `grad:` line per step (x, y and dloss/dw) and a
`progress:` line per *epoch*, one pass over the three samples, with the loss of the last sample.
JAX runs this loop one operation at a time (eagerly), the way PyTorch does, so every number
equals PyTorch's bit for bit; the tests check it against PyTorch itself.
""", """
## 1. PyTorch 코드를 JAX 코드로 옮기기

강의 노트의 코드입니다.

{torch_loop}

같은 루프를 JAX로 쓰면 이렇습니다. `lec4_jax/lecture.py`의 코드에서 주석만 뺐습니다. `show`는
float32 값을 PyTorch가 출력하는 모양 그대로 글자로 바꾸고, `out`은 `print`입니다.

```python
{jax_loop}
```

한 줄씩 비교하면 다음과 같습니다.

| PyTorch (강의) | JAX (`lec4_jax/lecture.py`) | 달라진 점 |
|---|---|---|
| `w = torch.Tensor([1.0])`, `w.requires_grad_(True)` | `w = jnp.float32(w)` | `w`는 그냥 값입니다. 기울기를 구할 변수라고 따로 표시하지 않습니다. |
| `def forward(x): return x * w` | `def forward(w, x): return x * w` | `w`를 인자로 받습니다. 그래서 손실은 `w`의 *순수 함수*가 됩니다. 같은 입력에는 언제나 같은 값을 돌려주고, 함수 바깥의 어떤 것도 바꾸지 않는 함수라는 뜻입니다. |
| `def loss(x, y): ...` | `def loss(w, x, y): ...` | 식은 같고, `w`가 첫 번째 인자로 들어갑니다. |
| `l.backward()` 다음 `w.grad.data[0]` | `grad = jax.grad(loss)` 다음 `g = grad(w, x_val, y_val)` | `jax.grad(loss)`는 dloss/dw, 즉 첫 번째 인자에 대한 기울기를 돌려주는 새 함수입니다. |
| `w.data = w.data - 0.01 * w.grad.data` | `w = w - lr * g` | 갱신하면 새 `w`가 만들어집니다. JAX 배열은 값을 직접 바꿀 수 없습니다(불변). |
| `w.grad.data.zero_()` | 없음 | PyTorch는 `backward()`를 부를 때마다 기울기를 `w.grad`에 더해 두므로, 강의 코드는 스텝마다 0으로 지웁니다. `jax.grad`는 부를 때마다 기울기를 새 값으로 돌려주므로 쌓이는 것도, 지울 것도 없습니다. |

실행해 봅시다. 출력은 강의와 같은 줄입니다. 스텝마다 `grad:` 줄(x, y, dloss/dw)이 나오고,
*에포크*마다 `progress:` 줄(그 에포크의 마지막 표본에서 잰 손실)이 나옵니다. 에포크는 데이터
세 개를 한 번 다 도는 것이고, 표본은 (x, y) 한 쌍입니다. 여기서는 JAX가 PyTorch처럼 연산을
하나씩 바로 실행하므로 모든 숫자가 PyTorch의 결과와 비트 하나까지 같습니다. 테스트가 PyTorch를
직접 실행해 이를 확인합니다. (`predict`, `grad`, `progress`라는 영어 낱말은 강의 코드가 출력하는
그대로 둔 것입니다.)
"""),
    code("""
w = lj.lecture.train()
"""),
    md("""
## 2. The worked example by hand

The lecture's *computational graph* for one sample has three operations: `ŷ = x·w`, then
`s = ŷ − y`, then `loss = s·s`, which is s². Each value, inputs included, is a *node* of the
graph.

**Forward pass**, at x = 1, w = 1, y = 2: ŷ = 1·1 = 1, then s = 1 − 2 = −1, then
loss = (−1)² = 1.

**Backward pass** (back-propagation): start at the loss and go back one node at a time. Each
node has a *local gradient*, the derivative of its output with respect to one of its inputs.
The *chain rule* says: the gradient of the loss with respect to an input is the gradient the
node received (dloss/d(node)) times the node's local gradient.

- dloss/ds = d(s²)/ds = 2s = −2
- dloss/dŷ = dloss/ds · ds/dŷ = −2 · 1 = −2
- dloss/dw = dloss/dŷ · dŷ/dw = −2 · x = −2

The same numbers from code: the chain rule written out step by step
(`lj.lecture.grad_by_hand`), `jax.grad` (`lj.lecture.grad`), and the formula 2x(xw − y).
""", """
## 2. 강의 예제를 손으로 계산하기

표본 하나에 대한 강의의 *계산 그래프*에는 연산이 셋 있습니다. `ŷ = x·w`, 그다음
`s = ŷ − y`, 마지막으로 `loss = s·s`, 즉 s²입니다. 계산 그래프는 계산 과정을 노드(입력과
연산 결과 같은 값 하나하나)와 화살표(어떤 값이 어느 연산에 들어가는지)로 그린 그림입니다.

**순전파**: 입력에서 손실까지 그래프를 따라 값을 계산합니다. x = 1, w = 1, y = 2이면
ŷ = 1·1 = 1, s = 1 − 2 = −1, 손실 = (−1)² = 1입니다.

**역전파**: 손실에서 출발해 노드를 하나씩 거꾸로 거치며 기울기를 구합니다. 노드마다 *국소
기울기*가 있습니다. 국소 기울기란 노드의 출력을 그 노드의 입력 하나로 미분한 값입니다. *연쇄 법칙*에 따르면,
노드의 입력에 대한 손실의 기울기는 그 노드가 받은 기울기(dloss/d(노드))에 그 입력의 국소 기울기를 곱한
값입니다.

- dloss/ds = d(s²)/ds = 2s = −2
- dloss/dŷ = dloss/ds · ds/dŷ = −2 · 1 = −2
- dloss/dw = dloss/dŷ · dŷ/dw = −2 · x = −2

코드로도 같은 값이 나오는지 봅시다. 연쇄 법칙을 한 단계씩 그대로 옮긴 함수
(`lj.lecture.grad_by_hand`), `jax.grad`(`lj.lecture.grad`), 그리고 공식 2x(xw − y)입니다.
"""),
    code("""
x, w, y = 1.0, 1.0, 2.0
y_hat = x * w  # the forward pass, node by node
s = y_hat - y
print("forward pass:  y_hat =", y_hat, "  s =", s, "  loss =", s * s)
print("dloss/dw by the chain rule:", float(lj.lecture.grad_by_hand(w, x, y)))
print("dloss/dw by jax.grad:      ", float(lj.lecture.grad(w, x, y)))
print("the formula 2x(xw - y):    ", 2 * x * (x * w - y))
""", """
x, w, y = 1.0, 1.0, 2.0
y_hat = x * w  # 순전파: 노드 하나씩 계산합니다
s = y_hat - y
print("순전파:  y_hat =", y_hat, "  s =", s, "  손실 =", s * s)
print("연쇄 법칙으로 구한 dloss/dw:", float(lj.lecture.grad_by_hand(w, x, y)))
print("jax.grad로 구한 dloss/dw:   ", float(lj.lecture.grad(w, x, y)))
print("공식 2x(xw - y):            ", 2 * x * (x * w - y))
"""),
    md("""
`lj.explain` records the same graph as the computation runs and walks it back. In the backward
table, `upstream` is the gradient the node received, dloss/d(node); `local` is its local
gradient for each input; `passed` is their product, sent back to that input. Each row is one step
of the chain rule above. (`x` and `y` get gradients too, but they are data, not learned, so
nothing uses them.)
""", """
`lj.explain`은 계산하면서 같은 그래프를 기록하고, 그 그래프를 거꾸로 따라갑니다. 역전파 표에서
"받은 기울기"는 그 노드가 받은 dloss/d(노드)이고, "국소 기울기"는 입력 하나하나에 대한 국소
기울기이며, "입력에 전하는 기울기"는 그 둘을 곱해 입력 쪽으로 보내는 값입니다. 표의 한 줄이
위에서 손으로 한 연쇄 법칙의 한 단계입니다. (`x`와 `y`에도 기울기가 나오지만, 둘은 학습하는
값이 아니라 데이터이므로 쓰이지 않습니다.)
"""),
    code("""
example = lj.Example.of("linear")  # the lecture's example: x=1, y=2, w=1
print("\\n".join(lj.table(lj.explain(example), ("w",))))
""", """
example = lj.Example.of("linear")  # 강의의 예제: x=1, y=2, w=1
print("\\n".join(lj.table(lj.explain(example), ("w",))))
"""),
    md("""
**Exercise 1.** {q:lecture_x2}

Replace `None` with your answer, then run the cell after it: it computes the true gradient with
`jax.grad` and tells you whether you are right. A wrong answer gets a hint (the local gradient
of the node where `w` enters the graph), never the answer; an empty one gets "not answered yet".
""", """
**연습 1.** {q:lecture_x2}

`None`을 여러분의 답으로 바꾸고 그다음 셀을 실행하세요. `jax.grad`로 참값을 계산해 맞았는지
알려 줍니다. 틀리면 답 대신 힌트(`w`가 그래프에 들어가는 노드의 국소 기울기)를 줍니다. 답을
적지 않았으면 아직 답을 적지 않았다고 알려 줍니다.
"""),
    code("""
answer = None  # dloss/dw: one number
""", """
answer = None  # dloss/dw: 숫자 하나
"""),
    code("""
print(lj.exercises.check("lecture_x2", answer))
"""),
    md("""
## 3. The graph, drawn

The same graph as the lecture's picture. Each box is a node, with its value and dloss/d(node);
values travel forward on the black arrows, gradients travel back on the dashed red ones. (Graphviz
draws it where it is installed, matplotlib otherwise.)
""", """
## 3. 계산 그래프를 그림으로 보기

강의 그림과 같은 그래프입니다. 상자 하나가 노드 하나이고, 상자마다 값과 dloss/d(노드)가 적혀
있습니다. 값은 검은 화살표를 따라 앞으로 가고, 기울기는 빨간 점선 화살표를 따라 거꾸로
전해집니다. (Graphviz가 설치되어 있으면 Graphviz로, 없으면 matplotlib로 그립니다.)
"""),
    code("""
lj.graph_picture(example)
"""),
    md("""
Read the picture the way you walked the example: start at the loss, where dloss/dloss = 1, and
multiply by each node's local gradient on the way back to the parameter. The next two exercises
put more nodes in the graph. Draw it on paper first: one box per operation.

**Exercise 2.** {q:bias}
""", """
그림은 예제를 손으로 풀 때와 같은 순서로 읽습니다. dloss/dloss = 1인 손실에서 출발해,
파라미터까지 거꾸로 가면서 노드마다 국소 기울기를 곱합니다. 다음 두 문제는 그래프에 노드가 더
있습니다. 먼저 종이에 연산 하나에 상자 하나씩 그래프를 그려 보세요.

**연습 2.** {q:bias}
"""),
    code("""
answer = None  # a dict: {"w": ..., "b": ...}
""", """
answer = None  # dict로 답하기: {"w": ..., "b": ...}
"""),
    code("""
print(lj.exercises.check("bias", answer))
"""),
    md("""
**Exercise 3.** {q:polynomial}
""", """
**연습 3.** {q:polynomial}
"""),
    code("""
answer = None  # a dict: {"w2": ..., "w1": ..., "b": ...}
""", """
answer = None  # dict로 답하기: {"w2": ..., "w1": ..., "b": ...}
"""),
    code("""
print(lj.exercises.check("polynomial", answer))
"""),
    md("""
Every model of the package, and the graph `scripts/explain.py --model=NAME` walks for it. The
last one, ŷ = x·w², is not linear in its parameter: on the way back the gradient passes through
w², whose local gradient is 2w. Try it in a new cell:
`ex = lj.Example.of("w_squared")`, then `print("\\n".join(lj.table(lj.explain(ex), ex.model.params)))`.
""", """
이 패키지에 들어 있는 모델은 다음과 같습니다. `scripts/explain.py --model=이름`으로 각 모델의 그래프를 따라갈
수 있습니다. 마지막 모델 ŷ = x·w²는 파라미터에 대해 선형이 아닙니다. 거꾸로 갈 때 기울기가
w²를 지나는데, 그 국소 기울기는 2w입니다. 새 셀에서 직접 해 보세요:
`ex = lj.Example.of("w_squared")`, 그다음 `print("\\n".join(lj.table(lj.explain(ex), ex.model.params)))`.
"""),
    code("""
for m in lj.MODELS.values():
    print(f"{m.name:10} {m.formula:28} parameters: {', '.join(m.params)}")
""", """
for m in lj.MODELS.values():
    print(f"{m.name:10} {m.formula:28} 파라미터: {', '.join(m.params)}")
"""),
    md("""
## 4. The training run, step by step

The first `grad:` line of the run, `grad: 1.0 2.0 -2.0`, is the worked example: the same x, y
and w, and dloss/dw = −2. The update then moves w against the gradient, by the gradient times the
*learning rate* (0.01 in the lecture): w = 1 − 0.01 · (−2) = 1.02. The next sample, x = 2 and y = 4, is computed at that
new w, and so on. The first two steps by hand:
""", """
## 4. 학습이 한 스텝씩 진행되는 모습 보기

실행 결과의 첫 `grad:` 줄 `grad: 1.0 2.0 -2.0`은 바로 위의 예제입니다. x, y, w가 같고
dloss/dw = −2입니다. 갱신은 w를 기울기의 반대 방향으로, 기울기에 *학습률*(한 번 갱신할 때
기울기에 곱하는 수, 강의에서는 0.01)을 곱한 만큼 옮깁니다. 그래서 w = 1 − 0.01 · (−2) = 1.02가 됩니다. 다음 표본 x = 2, y = 4는 이 새 w에서
계산합니다. 처음 두 스텝을 손으로 따라가 봅시다.
"""),
    code("""
w, lr = 1.0, 0.01
for x, y in [(1.0, 2.0), (2.0, 4.0)]:
    g = 2 * x * (x * w - y)  # dloss/dw, by the formula
    print(f"x={x}, y={y}, w={w:.4f}:  dloss/dw = {g:.4f},  "
          f"new w = w - lr * dloss/dw = {w - lr * g:.4f}")
    w = w - lr * g
""", """
w, lr = 1.0, 0.01
for x, y in [(1.0, 2.0), (2.0, 4.0)]:
    g = 2 * x * (x * w - y)  # 공식으로 구한 dloss/dw
    print(f"x={x}, y={y}, w={w:.4f}:  dloss/dw = {g:.4f},  "
          f"새 w = w - lr * dloss/dw = {w - lr * g:.4f}")
    w = w - lr * g
"""),
    md("""
Those are the second `grad:` line, `-7.84`, and the w it was computed at. Epoch after epoch w
creeps towards 2, the weight for which `y = 2x` holds exactly, so the prediction for x = 4
creeps towards 8:
""", """
두 번째 `grad:` 줄의 `-7.84`가 이렇게 나온 것입니다. 에포크가 거듭될수록 w는 `y = 2x`를 정확히
맞추는 값 2에 조금씩 다가가고, x = 4에 대한 예측도 8에 다가갑니다.
"""),
    code("""
for epochs in (1, 2, 5, 10, 20):
    w = lj.lecture.train(epochs=epochs, out=lambda *words: None)  # train without printing
    print(f"after {epochs:2} epochs: w = {float(w):.6f}, prediction for x = 4: {float(4 * w):.6f}")
""", """
for epochs in (1, 2, 5, 10, 20):
    w = lj.lecture.train(epochs=epochs, out=lambda *words: None)  # 출력 없이 학습만 합니다
    print(f"{epochs:2} 에포크 뒤: w = {float(w):.6f}, x = 4에 대한 예측: {float(4 * w):.6f}")
"""),
    md("""
That is all of lecture 4. The sections below are optional.

---

## Optional — compiling the loop: `jax.jit` and `lax.scan`

*Why care:* the loop above hands JAX one tiny operation at a time; compiled, the whole step, or
the whole run, becomes one program, which is how JAX runs real models fast.

`lj.lecture.update`, which is `jax.jit(sgd_step)`, compiles one step (the gradient and the
update) with XLA, JAX's compiler, the first time it is called, and reuses it after. `lj.lecture.train_scanned`
goes further: `lax.scan` is a loop that JAX compiles as a whole, so all 60 steps run as one
compiled program.
""", """
이것으로 4강의 내용은 끝입니다. 아래 절들은 골라 읽으면 됩니다.

---

## 심화(선택) — 학습 루프를 컴파일하기: `jax.jit`과 `lax.scan`

*왜 알아 두면 좋을까요:* 위의 루프는 JAX에 아주 작은 연산을 하나씩 건넵니다. 한 스텝이나 학습
전체를 컴파일하면 하나의 프로그램으로 실행되고, 실제 모델도 JAX에서는 이렇게 컴파일해서 빠르게 실행합니다.

`lj.lecture.update`, 즉 `jax.jit(sgd_step)`은 한 스텝(기울기 계산과 갱신)을 처음 부를 때
JAX의 컴파일러인 XLA로 한 번 컴파일해 두고, 그 뒤로는 컴파일된 것을 다시 씁니다.
`lj.lecture.train_scanned`는 한 걸음 더 나아갑니다. `lax.scan`은 JAX가 통째로 컴파일하는
루프여서, 60 스텝 전체가 컴파일된 프로그램 하나로 실행됩니다.
"""),
    code("""
import jax.numpy as jnp

show = lj.lecture.show  # a float32 as PyTorch prints it
w_eager = lj.lecture.train(out=lambda *words: None)  # one operation at a time, like PyTorch

w_jit = jnp.float32(1.0)
for _ in range(20):  # 20 epochs
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        w_jit = lj.lecture.update(w_jit, x, y, 0.01)  # one step, compiled once

w_scan, (losses, grads) = lj.lecture.train_scanned()  # all 60 steps, one compiled loop
print("w after 20 epochs:  eager", show(w_eager), "  jit", show(w_jit), "  scan", show(w_scan))
""", """
import jax.numpy as jnp

show = lj.lecture.show  # float32 값을 PyTorch가 출력하는 모양 그대로
w_eager = lj.lecture.train(out=lambda *words: None)  # PyTorch처럼 연산을 하나씩 실행

w_jit = jnp.float32(1.0)
for _ in range(20):  # 20 에포크
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        w_jit = lj.lecture.update(w_jit, x, y, 0.01)  # 한 번 컴파일한 스텝을 다시 씀

w_scan, (losses, grads) = lj.lecture.train_scanned()  # 60 스텝 전체를 컴파일한 루프 하나
print("20 에포크 뒤의 w:  하나씩 실행", show(w_eager), "  jit", show(w_jit), "  scan", show(w_scan))
"""),
    md("""
The compiled runs end one digit away from the eager one. What agreement with PyTorch means:

- **Eager JAX equals PyTorch bit for bit.** Both compute each multiplication and each subtraction
  separately and round each result to float32 (about 7 significant digits), in the same order.
- **The compiled run may differ in the last digit.** Most CPUs have a *fused multiply-add* (FMA)
  instruction that computes `a*b + c` at once and rounds only once. XLA uses it for
  `w - lr * g`; the eager code rounds after the multiplication and again after the subtraction.
  The two results can differ by one in the last digit a float32 holds. Once w differs by that
  much, the later numbers differ a little too. Near the end the gradient is the difference of
  two nearly equal numbers (x·w is close to y), so a tiny difference in w shows up larger there,
  but it stays a few millionths in absolute terms. Neither run is wrong: both are within rounding of the exact
  value.

Step by step, over the 60 gradients:
""", """
컴파일한 실행은 하나씩 실행한 결과와 마지막 자리 하나가 다릅니다. PyTorch와 "같다"는 말의 뜻은
이렇습니다.

- **하나씩 실행한 JAX는 PyTorch와 비트 하나까지 같습니다.** 둘 다 곱셈과 뺄셈을 따로 계산하고,
  결과를 그때마다 float32(유효 숫자 7자리쯤)로 반올림하며, 순서도 같습니다.
- **컴파일한 실행은 마지막 자리가 다를 수 있습니다.** 대부분의 CPU에는 `a*b + c`를 한 번에
  계산하고 반올림도 한 번만 하는 명령이 있습니다. 곱셈과 덧셈을 합친 명령이라 *FMA*(fused
  multiply-add)라고 부릅니다. XLA는 `w - lr * g`에 이 명령을 쓰지만, 하나씩 실행하는 코드는 곱셈
  뒤에 한 번, 뺄셈 뒤에 또 한 번 반올림합니다. 그래서 float32가 담을 수 있는 마지막 자리에서
  1만큼 차이 날 수 있습니다. w가 한 번 이만큼 달라지면 그 뒤의 숫자들도 조금씩 달라집니다.
  학습이 끝나 갈 무렵의 기울기는 거의 같은 두 수의 차(x·w와 y가 가까움)여서 w의 작은 차이가
  조금 더 크게 드러나지만, 그래도 절댓값으로 백만분의 몇 정도입니다. 어느 쪽도 틀린 것은 아닙니다. 둘 다
  정확한 값과 반올림 오차만큼만 다릅니다.

60개의 기울기를 스텝마다 비교해 봅시다.
"""),
    code("""
eager, w = [], jnp.float32(1.0)
for _ in range(20):  # 20 epochs
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        eager.append(lj.lecture.grad(w, x, y))
        w = w - 0.01 * eager[-1]
eager, scanned = np.array(eager), np.asarray(grads)
differ = eager != scanned
first = int(np.argmax(differ))
print(f"{int(differ.sum())} of the 60 gradients differ; the first at step {first + 1}: "
      f"eager {show(eager[first])}, scan {show(scanned[first])}")
print(f"largest difference in a gradient: {np.max(np.abs(eager - scanned)):.1e}; "
      f"in the final w: {abs(float(w_eager) - float(w_scan)):.1e}")
""", """
eager, w = [], jnp.float32(1.0)
for _ in range(20):  # 20 에포크
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        eager.append(lj.lecture.grad(w, x, y))
        w = w - 0.01 * eager[-1]
eager, scanned = np.array(eager), np.asarray(grads)
differ = eager != scanned
first = int(np.argmax(differ))
print(f"기울기 60개 가운데 {int(differ.sum())}개가 다릅니다. 처음 다른 것은 {first + 1}번째 스텝: "
      f"하나씩 실행 {show(eager[first])}, scan {show(scanned[first])}")
print(f"기울기의 가장 큰 차이: {np.max(np.abs(eager - scanned)):.1e}, "
      f"마지막 w의 차이: {abs(float(w_eager) - float(w_scan)):.1e}")
"""),
    md("""
## Optional — forward mode next to reverse mode

*Why care:* back-propagation is what automatic differentiation calls *reverse mode*; seeing the
other mode next to it shows why training uses this one: one backward pass gives the gradient for
every parameter at once.

- **Forward mode** (`jax.jvp`, a *Jacobian-vector product*) starts at the parameter: put a
  change of 1 on w and push it forward through the graph. Each node then carries d(node)/dw, the
  change that reaches it.
- **Reverse mode** (`jax.vjp`, a *vector-Jacobian product*) starts at the loss: put the gradient 1
  there and pass it back, node by node, multiplying by local gradients: back-propagation. Each
  node then carries dloss/d(node).

(The *Jacobian* is the table of every output's derivative with respect to every input; for one
input and one output it is a single number.) With one parameter, both take one pass. With n
parameters, forward mode needs n passes, one per parameter, and reverse mode still one.
""", """
## 심화(선택) — 순방향 모드와 역방향 모드 비교하기

*왜 알아 두면 좋을까요:* 자동 미분에서는 역전파를 *역방향 모드*라고 부릅니다. 다른 방식인
순방향 모드와 나란히 놓고 보면, 학습에 역방향 모드를 쓰는 까닭이 보입니다. 역전파 한 번으로
모든 파라미터의 기울기를 한꺼번에 얻기 때문입니다.

- **순방향 모드**(`jax.jvp`, *야코비안-벡터 곱*)는 파라미터에서 출발합니다. w에 들어오는 변화량을
  1로 두고 그래프를 따라 앞으로 전합니다. 그러면 노드마다 그 노드에 전해진 변화량 d(노드)/dw를
  얻습니다.
- **역방향 모드**(`jax.vjp`, *벡터-야코비안 곱*)는 손실에서 출발합니다. 손실에 기울기 1을 두고,
  노드마다 국소 기울기를 곱하며 거꾸로 전합니다. 바로 역전파입니다. 그러면 노드마다 거꾸로
  전해지는 기울기 dloss/d(노드)를 얻습니다.

(*야코비안*은 출력 하나하나를 입력 하나하나로 미분한 값을 모은 표(행렬)입니다. 입력도 하나,
출력도 하나라면 숫자 하나입니다.) 파라미터가 하나면 두 방식 모두 한 번이면 됩니다. 파라미터가
n개면 순방향 모드는 파라미터마다 한 번씩 n번, 역방향 모드는 여전히 한 번이면 됩니다.
"""),
    code("""
def loss_at(w):
    return lj.lecture.loss(w, 1.0, 2.0)  # the worked example's loss, a function of w alone


value, change = jax.jvp(loss_at, (1.0,), (1.0,))  # forward: a change of 1 in w, pushed forward
value, pull_back = jax.vjp(loss_at, 1.0)  # reverse: pull_back(1.0) runs the backward pass
print("loss:", float(value), "  dloss/dw by jvp:", float(change),
      "  by vjp:", float(pull_back(1.0)[0]))
print()
print("\\n".join(lj.modes_table(example)))
""", """
def loss_at(w):
    return lj.lecture.loss(w, 1.0, 2.0)  # 예제의 손실을 w만의 함수로


value, change = jax.jvp(loss_at, (1.0,), (1.0,))  # 순방향: w의 변화량 1을 앞으로 전함
value, pull_back = jax.vjp(loss_at, 1.0)  # 역방향: pull_back(1.0)이 역전파를 실행
print("손실:", float(value), "  jvp로 구한 dloss/dw:", float(change),
      "  vjp로 구한 dloss/dw:", float(pull_back(1.0)[0]))
print()
print("\\n".join(lj.modes_table(example)))
"""),
    md("""
## Optional — reading a jaxpr

*Why care:* a jaxpr is the computational graph JAX records from your Python function; reading
one shows you exactly what `jax.grad` computes, backward pass included.

`jax.make_jaxpr(f)(...)` runs `f` on stand-in values shaped like the arguments, records the
operations, and prints the record. How to read it:

- After `lambda ;` come the inputs, each `name:type`. Here `a` is w, `b` is x, `c` is y, and
  `f32[]` means one float32 number (an array with no dimensions).
- Between `let` and `in`, one line per node: `name:type = operation inputs`. `mul b a` is
  x·w = ŷ; `sub d c` is ŷ − y = s, recorded twice because the lecture writes
  `(y_pred - y) * (y_pred - y)`; `mul e f` is s·s, the loss.
- After `in` come the outputs.
""", """
## 심화(선택) — jaxpr 읽기

*왜 알아 두면 좋을까요:* jaxpr은 JAX가 파이썬 함수를 실행하며 기록한 계산 그래프입니다. 읽을 줄
알면 `jax.grad`가 역전파까지 포함해 정확히 무엇을 계산하는지 볼 수 있습니다.

`jax.make_jaxpr(f)(...)`는 주어진 인자와 모양·자료형만 같은 추적용 값(tracer)으로 `f`를 실행하면서 어떤
연산이 일어나는지 기록하고, 그 기록을 출력합니다. 읽는 법은 이렇습니다.

- `lambda ;` 뒤에는 입력이 `이름:자료형` 꼴로 나옵니다. 여기서 `a`는 w, `b`는 x, `c`는
  y이고, `f32[]`는 float32 숫자 하나(차원이 없는 배열)라는 뜻입니다.
- `let`과 `in` 사이에는 한 줄에 노드 하나씩, `이름:자료형 = 연산 입력들` 꼴로 나옵니다.
  `mul b a`는 x·w = ŷ이고, `sub d c`는 ŷ − y = s입니다. 강의 코드가
  `(y_pred - y) * (y_pred - y)`로 쓰기 때문에 두 번 기록됩니다. `mul e f`는 s·s, 곧 손실입니다.
- `in` 뒤에는 출력이 나옵니다.
"""),
    code("""
print(jax.make_jaxpr(lj.lecture.loss)(1.0, 1.0, 2.0).pretty_print(use_color=False))
"""),
    md("""
The jaxpr of `jax.grad` has the forward pass first, then the backward pass, written out:

- `_` is a value computed but not used (the loss itself: `jax.grad` returns only the gradient).
- `mul e 1.0` and `mul 1.0 f` are the gradient 1 arriving at the loss times the local gradient of
  s·s with respect to each factor.
- `add_any` adds the two at ŷ (`d`): ŷ feeds two subtractions (`e` and `f`, each s), so the two
  paths' gradients add up to dloss/dŷ = s + s = 2s. A subtraction's local gradient is 1, so
  JAX writes no line for it.
- `mul b i` multiplies by the local gradient of x·w with respect to w, which is x: dloss/dw.
""", """
`jax.grad`의 jaxpr에는 순전파가 먼저 나오고, 그 뒤에 역전파가 한 줄씩 적혀 있습니다.

- `_`는 계산했지만 쓰지 않는 값입니다(손실 자체입니다. `jax.grad`는 기울기만 돌려줍니다).
- `mul e 1.0`과 `mul 1.0 f`는 손실에 들어온 기울기 1에 s·s의 국소 기울기를 곱한 것입니다.
  곱셈의 두 입력 e와 f에 한 줄씩 있습니다.
- `add_any`는 그 둘을 더합니다. ŷ(`d`)가 뺄셈 두 개(`e`, `f`)에 들어가므로 두 경로의 기울기를
  더해 dloss/dŷ = s + s = 2s가 됩니다. 뺄셈의 국소 기울기는 1이어서 JAX가 따로 줄을 남기지
  않습니다.
- `mul b i`는 x·w를 w로 미분한 국소 기울기 x를 곱합니다. 이것이 dloss/dw입니다.
"""),
    code("""
print(jax.make_jaxpr(lj.lecture.grad)(1.0, 1.0, 2.0).pretty_print(use_color=False))
"""),
    md("""
## Optional — checking a gradient

*Why care:* when you write a gradient yourself, as a formula or as your own backward rule, a
check against the loss tells you whether it is wrong.

A gradient is checked against the function it is the gradient *of*: the loss. Measure the
loss's slope between two nearby points, (L(w + h) − L(w − h)) / (2h): this is a *finite
difference*. For a small h it is close to the true derivative (for this parabola, equal to it
up to rounding).

- `jax.test_util.check_grads(f, ...)` compares `jax.grad` of `f` with finite differences of `f`.
  Applied to the loss, it checks JAX's gradient of the loss (here the 1st and 2nd derivatives).
- To check a formula, compare it with the finite difference of the loss. The right formula
  agrees; a wrong one, 2x(xw − y) + 5w, does not.
- `check_grads` on the wrong formula itself passes: it checks only that JAX differentiates that
  function correctly, not that the function is the loss's gradient.
""", """
## 심화(선택) — 기울기가 맞는지 검증하기

*왜 알아 두면 좋을까요:* 기울기를 공식이나 직접 만든 역전파 규칙으로 손수 쓸 때, 손실과 비교해
보면 틀렸는지 알 수 있습니다.

기울기는 미분하기 전의 함수, 즉 손실과 비교해서 검증합니다. 가까운 두 점에서 손실을 재어 그
기울기 (L(w + h) − L(w − h)) / (2h)를 구하는데, 이것을 *유한 차분*이라고 합니다. h가 작으면 참
미분값에 가깝습니다(이 손실처럼 포물선이면 반올림 오차를 빼고는 같습니다).

- `jax.test_util.check_grads(f, ...)`는 `f`를 `jax.grad`로 미분한 값을 `f`의 유한 차분과
  비교합니다. 손실에 쓰면 JAX가 구한 손실의 기울기를 확인하는 것입니다(여기서는 1차, 2차
  도함수까지).
- 공식을 검증하려면 공식의 값을 손실의 유한 차분과 비교합니다. 맞는 공식은 일치하고, 틀린 공식
  2x(xw − y) + 5w는 일치하지 않습니다.
- 틀린 공식 자체에 `check_grads`를 쓰면 통과합니다. JAX가 그 함수를 제대로 미분하는지만 볼 뿐,
  그 함수가 손실의 기울기인지는 보지 않기 때문입니다.
"""),
    code("""
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
""", """
from jax.test_util import check_grads


def loss_2_4(w):
    return lj.lecture.loss(w, 2.0, 4.0)  # x = 2, y = 4에서의 손실


w0 = np.float32(1.5)
check_grads(loss_2_4, (w0,), order=2, eps=1e-2)  # 다르면 여기서 오류가 납니다
print("손실에 쓴 check_grads: jax.grad가 유한 차분과 일치합니다")

h = 1e-2
slope = float((loss_2_4(w0 + h) - loss_2_4(w0 - h)) / (2 * h))  # 유한 차분
formulas = {"2x(xw - y)": lambda w, x, y: 2 * x * (x * w - y),
            "2x(xw - y) + 5w": lambda w, x, y: 2 * x * (x * w - y) + 5 * w}  # 두 번째는 틀린 공식
for name, formula in formulas.items():
    value = float(formula(w0, 2.0, 4.0))
    verdict = "일치" if abs(value - slope) < 1e-3 else "불일치: 틀린 공식입니다"
    print(f"{name:16} w=1.5, x=2, y=4에서 {value:+.4f}, 유한 차분 {slope:+.4f}: {verdict}")

check_grads(lambda w: formulas["2x(xw - y) + 5w"](w, 2.0, 4.0), (w0,), order=1, eps=1e-2)
print("틀린 공식 자체에 쓴 check_grads: 통과합니다. 그래서 이 방법으로는 실수를 잡지 못합니다")
"""),
    md("""
## Optional — the Hessian and Newton's method

*Why care:* the learning rate is a guess at how far to step; the second derivative says how far,
and with it one step lands on the best w.

The *Hessian* H is the second derivative of the loss, d²loss/dw²: how fast the gradient changes
when w changes. (With many parameters it is the table of all second derivatives.) For
loss = (xw − y)², the gradient is 2x(xw − y), so H = 2x², a constant: the loss is a parabola
in w. *Newton's method* steps w ← w − g/H, and on a parabola that lands on its lowest point,
w = y/x = 2: the first sample's step already lands there, and the next ones stay; SGD's 60
steps get close but not there.
""", """
## 심화(선택) — 헤시안과 뉴턴 방법

*왜 알아 두면 좋을까요:* 학습률은 얼마나 멀리 갈지를 어림한 값입니다. 2차 도함수를 알면 얼마나
가야 하는지 정확히 알 수 있고(손실이 포물선이면), 한 스텝에 가장 좋은 w에 닿을 수도 있습니다.

*헤시안* H는 손실의 2차 도함수 d²loss/dw²입니다. w가 변할 때 기울기가 얼마나 빨리 변하는지를
나타냅니다. (파라미터가 여러 개면 2차 도함수를 모두 모은 표(행렬)입니다.)
손실 = (xw − y)²의 기울기는 2x(xw − y)이므로 H = 2x²로 상수입니다. 손실이 w에 대한
포물선이라는 뜻입니다. *뉴턴 방법*은 w ← w − g/H로 갱신하는데, 포물선에서는 한 스텝에 맨 아래
점 w = y/x = 2에 닿습니다. 첫 표본에서 한 스텝 만에 2에 닿고, 그 뒤로는 그대로입니다. SGD(확률적 경사 하강법, 강의처럼 표본
하나마다 w ← w − 학습률 · 기울기로 갱신하는 방법)는 60 스텝을 가도 가까워지기만 할 뿐 닿지는
못합니다.
"""),
    code("""
hessian = jax.hessian(lj.lecture.loss)  # d2loss/dw2, a function of (w, x, y)
for x in (1.0, 2.0, 3.0):
    print(f"x={x}: H = d2loss/dw2 = {float(hessian(1.0, x, 2 * x))} = 2x^2")
w = 1.0
for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
    w = float(w - lj.lecture.grad(w, x, y) / hessian(w, x, y))  # Newton's step
    print(f"Newton's step on x={x}, y={y}: w = {w}")
print("SGD after 60 steps: w =", lj.lecture.show(lj.lecture.train(out=lambda *words: None)))
""", """
hessian = jax.hessian(lj.lecture.loss)  # d2loss/dw2를 (w, x, y)의 함수로
for x in (1.0, 2.0, 3.0):
    print(f"x={x}: H = d2loss/dw2 = {float(hessian(1.0, x, 2 * x))} = 2x^2")
w = 1.0
for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
    w = float(w - lj.lecture.grad(w, x, y) / hessian(w, x, y))  # 뉴턴 방법의 한 스텝
    print(f"x={x}, y={y}에서 뉴턴 방법으로 한 스텝: w = {w}")
print("SGD로 60 스텝 뒤: w =", lj.lecture.show(lj.lecture.train(out=lambda *words: None)))
"""),
    md("""
## Optional — which learning rates are stable

*Why care:* with too large a learning rate, training blows up instead of learning; for this
loss you can compute exactly which rates work, and see why.

Write w* = 2 for the best weight. Since y = 2x, the gradient is 2x(xw − y) = 2x²(w − w*), so one
SGD step turns the error w − w* into (1 − 2·lr·x²)(w − w*). An epoch multiplies it by
P(lr) = (1 − 2·lr·1²)(1 − 2·lr·2²)(1 − 2·lr·3²). Training is stable where |P| < 1: the error
shrinks every epoch.

For the lecture's data there are two such windows of learning rates. The first starts at 0.
The second exists because at lr = 0.5 the x = 1 step's factor is 1 − 2·0.5·1² = 0: that step
lands on w* exactly, wherever w was, so P = 0 there, and |P| stays below 1 close by. (Near 0.5
the x = 2 and x = 3 steps multiply the error by about −3 and −8, far past w*; the next x = 1
step shrinks it back to almost nothing.)
""", """
## 심화(선택) — 어떤 학습률에서 학습이 안정적인지 알아보기

*왜 알아 두면 좋을까요:* 학습률이 너무 크면 학습이 되기는커녕 발산합니다. 이 손실에서는 어떤
학습률에서 학습이 되는지 정확히 계산할 수 있고, 왜 그런지도 알 수 있습니다.

가장 좋은 가중치를 w* = 2라고 씁시다. y = 2x이므로 기울기는 2x(xw − y) = 2x²(w − w*)이고, SGD
한 스텝은 오차 w − w*를 (1 − 2·lr·x²)(w − w*)로 바꿉니다. 한 에포크면 오차에
P(lr) = (1 − 2·lr·1²)(1 − 2·lr·2²)(1 − 2·lr·3²)이 곱해집니다. |P| < 1이면 에포크마다 오차가
줄어들므로 학습이 안정적입니다.

강의 데이터에서는 이런 학습률 구간이 두 개 있습니다. 첫 구간은 0에서 시작합니다. 두 번째
구간이 생기는 까닭은 lr = 0.5에서 x = 1 스텝의 배율이 1 − 2·0.5·1² = 0이 되기 때문입니다. 이
스텝은 w가 어디에 있었든 w*에 정확히 내려앉으므로, lr = 0.5에서 P = 0이고 그 근처에서도
|P|가 1보다 작습니다. (0.5 근처에서 x = 2와 x = 3 스텝은 오차에 각각 약 −3과 −8을 곱해 w*를
멀리 지나치지만, 다음 x = 1 스텝이 오차를 거의 0으로 줄여 놓습니다.)
"""),
    code("""
rates = lj.stable_learning_rates([1.0, 2.0, 3.0])
(lo1, hi1), (lo2, hi2) = rates.intervals
print(f"stable: 0 < lr < {hi1:.6f}, or {lo2:.6f} < lr < {hi2:.6f}")
for lr in (0.01, 0.5):
    factors = [1 - 2 * lr * x**2 for x in (1.0, 2.0, 3.0)]
    steps = ", ".join(f"{f:g}" for f in factors)
    print(f"lr = {lr}: the steps' factors {steps}; their product P = {np.prod(factors):g}")
""", """
rates = lj.stable_learning_rates([1.0, 2.0, 3.0])
(lo1, hi1), (lo2, hi2) = rates.intervals
print(f"안정적인 학습률: 0 < lr < {hi1:.6f} 또는 {lo2:.6f} < lr < {hi2:.6f}")
for lr in (0.01, 0.5):
    factors = [1 - 2 * lr * x**2 for x in (1.0, 2.0, 3.0)]
    steps = ", ".join(f"{f:g}" for f in factors)
    print(f"lr = {lr}: 스텝별 배율 {steps}; 곱 P = {np.prod(factors):g}")
"""),
    md("""
A *sweep* checks this by training: `lj.train_grid` runs 200 learning rates, log-spaced from 0.001
to 1, at once, 20 epochs each, and marks a run as diverged when its loss ends higher than it started (or
is not a number). A grid can only bracket an edge: it tries learning rates with gaps between
them, so the first rate it finds diverged is the first grid point past the exact edge, at most
one grid step beyond it. The grid also finds the second window, with the few grid points that
fall inside it.
""", """
*스윕*은 이것을 실제로 학습시켜 확인합니다. `lj.train_grid`는 0.001에서 1까지 로그 간격으로 놓인 학습률 200개로
한꺼번에 20 에포크씩 학습하고, 손실이 처음보다 커진 채 끝나거나 inf나 NaN이 되면 발산했다고
표시합니다. 격자는 학습률을 띄엄띄엄 시험하므로 경계를 두 격자점 사이로 좁힐 수 있을 뿐입니다.
그래서 스윕에서 처음 발산한 학습률은 정확한 경계를 지난 첫 격자점이고, 경계에서 격자 한 칸
이내에 있습니다. 두 번째 구간도 그 안에 들어간 격자점 몇 개로 확인할 수 있습니다.
"""),
    code("""
x, y = lj.lecture_data()
result = lj.train_grid(lj.learning_rates(0.001, 1.0, 200), [1.0], x, y, epochs=20)
lr, diverged = np.asarray(result.learning_rate, np.float64), np.asarray(result.diverged)
first = int(np.argmax(diverged))
print(f"the exact edge {hi1:.6f} lies between the grid points {lr[first - 1]:.6f} (stable) "
      f"and {lr[first]:.6f} (the first to diverge), {lr[first] - lr[first - 1]:.6f} apart")
inside = lr[~diverged & (lr > hi1)]
print(f"the second window ({lo2:.6f}, {hi2:.6f}) holds the grid points",
      ", ".join(f"{v:.6f}" for v in inside))
""", """
x, y = lj.lecture_data()
result = lj.train_grid(lj.learning_rates(0.001, 1.0, 200), [1.0], x, y, epochs=20)
lr, diverged = np.asarray(result.learning_rate, np.float64), np.asarray(result.diverged)
first = int(np.argmax(diverged))
print(f"정확한 경계: {hi1:.6f}, 그 양옆의 격자점: {lr[first - 1]:.6f}(안정), "
      f"{lr[first]:.6f}(처음 발산), 격자 간격: {lr[first] - lr[first - 1]:.6f}")
inside = lr[~diverged & (lr > hi1)]
print(f"두 번째 구간 ({lo2:.6f}, {hi2:.6f}) 안의 격자점:",
      ", ".join(f"{v:.6f}" for v in inside))
"""),
    code("""
lj.sweep_picture(result, 2.0, rates, "the lecture's data, 20 epochs")
""", """
lj.sweep_picture(result, 2.0, rates, "강의 데이터, 20 에포크")
"""),
]


def notebook(lang: str) -> nbformat.NotebookNode:
    """The notebook for ``lang``: this source's code cells, and its prose in that language."""
    from lec4_jax.exercises import EXERCISES

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    for kind, content in CELLS:
        if kind == "code":
            nb.cells.append(nbformat.v4.new_code_cell(content[lang]))
            continue
        text = content[lang].replace("{torch_loop}", torch_loop(lang))
        text = text.replace("{jax_loop}", JAX_LOOP)
        for name, ex in EXERCISES.items():
            text = text.replace(f"{{q:{name}}}", ex.text[lang])
        left = re.findall(r"\{q:\w+\}|\{torch_loop\}|\{jax_loop\}", text)
        if left:  # a placeholder naming no exercise would reach the learner as it is
            raise ValueError(f"no text for {', '.join(left)} in the {lang} notebook")
        nb.cells.append(nbformat.v4.new_markdown_cell(text))
    for i, cell in enumerate(nb.cells):  # stable ids: a rebuild changes nothing needlessly
        cell.id = f"cell-{i}"
    return nb


# The kernel's own log lines (e.g. ipykernel 7's "[IPKernelApp] WARNING | Kernel is running over
# TCP without encryption"), which reach a cell's stderr: noise from the kernel, not the notebook.
KERNEL_LOG = re.compile(r"^\[\w+\] (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) \| .*(?:\n|$)", re.M)


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    """Runs every cell headless, then drops the kernel's log lines from the outputs."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(_without_kernel_log, cell.outputs) if o is not None]
    return nb


def _without_kernel_log(output):
    if output.output_type == "stream" and output.name == "stderr":
        output.text = KERNEL_LOG.sub("", output.text)
        return output if output.text else None
    return output


def meaning(nb: nbformat.NotebookNode) -> list[list[tuple[str, str]]]:
    """What each code cell shows, to compare two runs: its printed text (stdout and stderr apart),
    its results' plain text, its errors, and "picture" for each image, whatever drew it (an SVG
    from Graphviz or a PNG from matplotlib) and whatever its bytes."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        shown = []
        for o in cell.outputs:
            if o.output_type == "stream":
                shown.append((o.name, o.text))
            elif o.output_type == "error":
                shown.append(("error", f"{o.ename}: {o.evalue}"))
            elif any(kind.startswith("image/") for kind in o.get("data", {})):
                shown.append(("picture", ""))
            else:
                shown.append(("result", o.get("data", {}).get("text/plain", "")))
        cells.append(_joined(shown))
    return cells


def _joined(shown: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive pieces of one stream as one: where a kernel splits a cell's text is timing."""
    out: list[tuple[str, str]] = []
    for kind, text in shown:
        if out and kind in ("stdout", "stderr") and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + text)
        else:
            out.append((kind, text))
    return out


def strip_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata = {}
    return nb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare the committed notebooks' cells with this source")
    args = parser.parse_args()
    for lang in LANGS:
        want = notebook(lang)
        if args.check:
            have = strip_outputs(nbformat.read(path(lang), as_version=4))
            if [c.source for c in have.cells] != [c.source for c in want.cells]:
                print(f"build.py: error: {path(lang).name} differs from notebooks/build.py; "
                      "run python notebooks/build.py", file=sys.stderr)
                return 1
            continue
        nbformat.write(execute(want), path(lang))
        print(f"wrote {path(lang).relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
