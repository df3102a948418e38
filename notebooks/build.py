"""Builds the lesson's two notebooks, Korean and English, from this one source, and runs them.

    python notebooks/build.py            # write both notebooks and execute them (outputs kept)
    python notebooks/build.py --check    # exit 1 if the committed notebooks differ from this source

Every code cell is written once, below, so the two notebooks cannot drift: only the prose
differs. The committed notebooks keep their outputs, so a reader on GitHub sees them without
running anything; ``tests/test_notebooks.py`` runs them afresh and compares the text outputs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
LANGS = ("ko", "en")


def path(lang: str) -> Path:
    return HERE / f"lec4_backprop.{lang}.ipynb"


def md(en: str, ko: str):
    return ("markdown", {"en": en.strip(), "ko": ko.strip()})


def code(source: str):
    return ("code", source.strip())


CELLS = [
    md("""
# Lecture 4: back-propagation, by hand and by JAX

This notebook follows the lecture: one weight `w` learns `y = 2x` from x = 1, 2, 3 with the loss
`(x*w - y)**2`. We compute dloss/dw three ways that must agree (the chain rule by hand, `jax.grad`,
and the formula), train as the lecture does, then compare forward and reverse mode, check the
gradients, take a second-order step, and look at which learning rates are stable. The last
section has exercises whose answers are checked.

To run it yourself, from the repository's folder, in a fresh virtual environment:
`pip install -r requirements-notebooks.txt && jupyter lab notebooks/lec4_backprop.en.ipynb`.
""", """
# 4강: 역전파, 손으로 그리고 JAX로

이 노트북은 강의의 순서를 따릅니다. 가중치 하나 `w`가 x = 1, 2, 3에서 `y = 2x`를 배우고, 손실은
`(x*w - y)**2`입니다. dloss/dw를 세 가지 방법(손으로 하는 연쇄 법칙, `jax.grad`, 공식)으로 계산해
서로 같은지 확인하고, 강의처럼 학습시킨 뒤, 순방향 모드와 역방향 모드를 비교하고, 기울기를
검증하고, 2차 미분으로 한 걸음 가 보고, 어떤 학습률이 안정적인지 살펴봅니다. 마지막 절에는 답을
확인해 주는 연습 문제가 있습니다.

직접 실행하려면 저장소 폴더의 새 가상 환경에서
`pip install -r requirements-notebooks.txt && jupyter lab notebooks/lec4_backprop.ko.ipynb`를
실행하세요.
"""),
    code("""
import jax
import numpy as np

import lec4_jax as lj
from lec4_jax import exercises
"""),
    md("""
## 1. The chain rule on the lecture's graph

The graph is `x·w → ŷ`, `ŷ − y → s`, `s² → loss`. At x = 1, w = 1, y = 2 the forward pass gives
ŷ = 1, s = −1, loss = 1. Backward, each node multiplies the gradient arriving from above by its
own local gradient: dloss/ds = 2s = −2, dloss/dŷ = −2 · 1 = −2, dloss/dw = −2 · x = −2.
`lj.explain` traces the graph with the handwritten engine and walks it back:
""", """
## 1. 강의 그래프 위의 연쇄 법칙

그래프는 `x·w → ŷ`, `ŷ − y → s`, `s² → loss`입니다. x = 1, w = 1, y = 2에서 순전파는 ŷ = 1,
s = −1, loss = 1입니다. 역전파에서는 각 노드가 위에서 내려온 기울기에 자기의 국소 기울기를
곱합니다: dloss/ds = 2s = −2, dloss/dŷ = −2 · 1 = −2, dloss/dw = −2 · x = −2.
`lj.explain`은 손으로 쓴 엔진으로 그래프를 기록하고 거꾸로 따라갑니다:
"""),
    code("""
example = lj.Example.of("linear")  # x=1, y=2, w=1: the lecture's worked example
walk = lj.explain(example)
print("\\n".join(lj.table(walk, ("w",))))
"""),
    md("""
The same number three ways: the handwritten chain rule, `jax.grad`, and the closed form
2x(xw − y).
""", """
같은 값을 세 가지 방법으로: 손으로 쓴 연쇄 법칙, `jax.grad`, 그리고 닫힌 형태의 공식
2x(xw − y).
"""),
    code("""
for method in ("chain_rule", "autodiff", "closed_form"):
    print(f"{method:12}", float(getattr(lj.grads, method)(1.0, 1.0, 2.0)))
"""),
    md("""
The graph as the lecture draws it: values ride the forward edges, gradients the dashed red
backward ones (drawn by Graphviz when it is installed, otherwise by matplotlib).
""", """
강의 그림과 같은 그래프입니다. 값은 순방향 화살표를, 기울기는 빨간 점선의 역방향 화살표를 따라
흐릅니다 (Graphviz가 설치되어 있으면 Graphviz로, 없으면 matplotlib로 그립니다).
"""),
    code("""
import shutil

from IPython.display import SVG, Image, display

from lec4_jax import walkthrough
from lec4_jax.tool import plots

title = walkthrough.title(example)
if shutil.which("dot"):  # Graphviz draws it
    display(SVG(walkthrough.render(walkthrough.dot(walk, ("w",), title=title), "svg")))
else:  # no Graphviz: matplotlib draws the same graph
    display(Image(plots.graph_png(walk, ("w",), title=title)))
"""),
    md("""
## 2. The training loop

Per-sample SGD, learning rate 0.01, 20 epochs, from w = 1, printing the lecture's lines: a
`grad:` line per step, a `progress:` line per epoch.

This run is compiled by XLA. Most CPUs can compute `a*b + c` in one instruction that rounds once
(a *fused multiply-add*); XLA uses it, while PyTorch rounds after the multiplication and again
after the addition. So the last printed digit can differ from PyTorch's: here the sixth
gradient prints `-11.998145` where PyTorch prints `-11.998146`, a difference of one in the last
place a float32 can hold, and once `w` differs by that much, most later numbers differ in their
last digit too. `lj.lecture.train()`, which runs the lecture's loop one JAX operation at a time,
prints PyTorch's digits exactly.
""", """
## 2. 학습 루프

표본마다 SGD로 갱신하며 학습률은 0.01, 에포크는 20, 시작값은 w = 1입니다. 강의처럼 스텝마다
`grad:` 줄을, 에포크마다 `progress:` 줄을 출력합니다.

이 실행은 XLA가 컴파일한 것입니다. 대부분의 CPU는 `a*b + c`를 한 번에 계산하고 반올림도 한 번만
하는 명령(*FMA*, 곱셈과 덧셈을 합친 명령)을 가지고 있습니다. XLA는 이 명령을 쓰고, PyTorch는
곱셈 뒤에 한 번, 덧셈 뒤에 또 한 번 반올림합니다. 그래서 마지막 자리 숫자가 PyTorch와 다를 수
있습니다. 여기서는 여섯 번째 기울기가 PyTorch의 `-11.998146` 대신 `-11.998145`로 나오는데,
float32가 담을 수 있는 마지막 자리에서 1만큼 차이 나는 것입니다. 한 번 `w`가 이만큼 달라지면 그
뒤의 숫자도 대부분 마지막 자리가 달라집니다. 강의의 루프를 JAX 연산 하나씩 실행하는
`lj.lecture.train()`은 PyTorch와 똑같은 숫자를 출력합니다.
"""),
    code("""
run = lj.run(lj.Settings(), *lj.lecture_data())
lines = list(lj.trace_lines(run))
print("\\n".join(lines[:8] + ["..."] + lines[-3:]))
"""),
    md("""
## 3. Forward mode next to reverse mode

Forward mode (`jax.jvp`) pushes a tangent forward: start with ẇ = 1 and every node carries
d(node)/dw. Reverse mode (`jax.vjp`) pulls a cotangent back: start with 1 at the loss and every
node receives dloss/d(node). With one parameter both take one pass; with n parameters forward
mode needs n passes and reverse mode still one, which is why training uses reverse mode.
""", """
## 3. 순방향 모드와 역방향 모드

순방향 모드(`jax.jvp`)는 접선(tangent)을 앞으로 밀어 보냅니다. ẇ = 1에서 시작하면 모든 노드가
d(node)/dw를 갖습니다. 역방향 모드(`jax.vjp`)는 여접선(cotangent)을 뒤로 당깁니다. 손실에서
1로 시작하면 모든 노드가 dloss/d(node)를 받습니다. 파라미터가 하나면 둘 다 한 번이면 되지만,
파라미터가 n개면 순방향은 n번, 역방향은 여전히 한 번이면 됩니다. 그래서 학습에는 역방향 모드를
씁니다.
"""),
    code("""
def loss_at(w):
    return lj.loss(w, 1.0, 2.0)


value, tangent = jax.jvp(loss_at, (1.0,), (1.0,))  # forward: w-dot = 1
value, pullback = jax.vjp(loss_at, 1.0)             # reverse: cotangent 1 at the loss
print("jvp:", float(value), float(tangent), "  vjp:", float(pullback(1.0)[0]))
print("\\n".join(lj.modes_table(example)))
"""),
    md("""
`jax.linearize` gives the forward-mode linear map once, to apply to any tangent;
`jax.linear_transpose` turns it into the reverse-mode map. And `jax.make_jaxpr` shows the graph
JAX itself built, next to the nodes our engine recorded.
""", """
`jax.linearize`는 순방향 선형 사상을 한 번 만들어 어떤 접선에도 쓸 수 있게 해 주고,
`jax.linear_transpose`는 그것을 역방향 사상으로 바꿉니다. `jax.make_jaxpr`는 JAX가 직접 만든
그래프를 보여 줍니다. 우리 엔진이 기록한 노드와 나란히 보세요.
"""),
    code("""
value, f_jvp = jax.linearize(loss_at, 1.0)
f_vjp = jax.linear_transpose(f_jvp, 1.0)
print("linearize:", float(f_jvp(1.0)), "  transpose:", float(f_vjp(1.0)[0]))
print(jax.make_jaxpr(loss_at)(1.0).pretty_print(use_color=False))
print([f"{n.name} = {n.primitive.name if n.primitive else 'leaf'}" for n in walk.graph.nodes])
"""),
    md("""
## 4. Gradient checks

A gradient is checked against the function it is the gradient *of*: the loss. The slope of the
loss between two nearby points, (L(w + h) − L(w − h)) / 2h, is a *finite difference*; for a
parabola it is the exact slope, up to rounding. `jax.test_util.check_grads` compares `jax.grad`
of the loss with finite differences, here to second order. Our engine is registered with
`jax.custom_vjp`, so `jax.grad` of it runs our handwritten rules; JAX refuses forward mode through
a `custom_vjp`, so that one is checked in reverse mode only, and the refusal is shown. Last, the
formula 2x(xw − y) against the finite difference, and a wrong formula that the check catches.
""", """
## 4. 기울기 검증

기울기는 그것이 미분한 함수, 곧 손실과 비교해서 검증합니다. 가까운 두 점에서 잰 손실의 기울기
(L(w + h) − L(w − h)) / 2h를 *유한 차분*이라고 합니다. 손실이 포물선이면 반올림 오차를 빼고는
정확한 기울기와 같습니다. `jax.test_util.check_grads`는 손실을 `jax.grad`로 미분한 값을 유한
차분과 비교하며, 여기서는 2차 도함수까지 확인합니다. 우리 엔진은 `jax.custom_vjp`로 등록되어
있어서 `jax.grad`가 우리가 직접 쓴 규칙을 실행합니다. JAX는 `custom_vjp`에는 순방향 모드를 쓸 수
없게 하므로 엔진은 역방향 모드로만 확인하고, 순방향 모드가 거부되는 것도 보여 줍니다. 마지막으로
공식 2x(xw − y)를 유한 차분과 비교하고, 틀린 공식은 이 검사에서 걸러지는 것을 봅니다.
"""),
    code("""
from jax.test_util import check_grads

w0 = np.float32(1.5)
check_grads(lambda w: lj.loss(w, 2.0, 4.0), (w0,), order=2, eps=1e-2)
engine = lj.chain_rule.custom_vjp(lambda p, x, y: lj.loss(p["w"], x, y))
check_grads(lambda w: engine({"w": w}, 2.0, 4.0), (w0,), order=1, modes=["rev"], eps=1e-2)
print("check_grads of the loss: jax.grad to order 2, our engine in reverse mode: passed")
try:
    jax.jvp(lambda w: engine({"w": w}, 2.0, 4.0), (w0,), (np.float32(1.0),))
except TypeError as e:
    print("forward mode through custom_vjp:", str(e).splitlines()[0])

h = 1e-2
slope = float((lj.loss(w0 + h, 2.0, 4.0) - lj.loss(w0 - h, 2.0, 4.0)) / (2 * h))
for name, formula in [("2x(xw - y)", lambda w, x, y: 2 * x * (x * w - y)),
                      ("2x(xw - y) + 5w", lambda w, x, y: 2 * x * (x * w - y) + 5 * w)]:
    value = float(formula(w0, 2.0, 4.0))
    verdict = "agrees" if abs(value - slope) < 1e-3 else "DISAGREES"
    print(f"{name:16} at w=1.5, x=2, y=4: {value:+.4f}, finite difference {slope:+.4f}: {verdict}")
"""),
    md("""
## 5. Second order

The loss is a parabola in w, so its second derivative is a constant, 2x². One Newton step
w ← w − g/H, per sample, lands on w* = y/x = 2 at once; SGD's 60 steps get close but not there.
""", """
## 5. 2차 미분

손실은 w에 대한 포물선이므로 2차 도함수는 상수 2x²입니다. 표본마다 뉴턴 한 걸음
w ← w − g/H를 가면 곧바로 w* = y/x = 2에 도착합니다. SGD는 60 스텝을 가도 가까워질 뿐 도착하지는
못합니다.
"""),
    code("""
for x in (1.0, 2.0, 3.0):
    print(f"x={x}: d2loss/dw2 =", float(jax.hessian(lj.loss)(1.0, x, 2 * x)))
w = 1.0
for x, y in zip(*lj.lecture_data()):
    g = jax.grad(lj.loss)(w, x, y)
    h = jax.hessian(lj.loss)(w, x, y)
    w = float(w - g / h)
    print(f"Newton step on x={x}: w = {w}")
print("SGD after 60 steps: w =", float(run.final_params["w"]))
"""),
    md("""
## 6. Which learning rates are stable

Each SGD step scales the error w − w* by 1 − 2·lr·x², so an epoch scales it by
P(lr) = ∏(1 − 2·lr·xᵢ²). Training is stable where |P| < 1. For the lecture's data that is two
windows. The second one is there because at lr = 0.5 the x = 1 step's factor is 1 − 2·0.5·1 = 0:
that step lands on w* exactly, whatever the other two steps did, so near 0.5 the product is
small again.

A sweep trains a grid of 200 learning rates at once. A grid only brackets an edge: its smallest
diverged rate is the first grid point past the exact edge, within one grid step of it.
""", """
## 6. 어떤 학습률이 안정적인가

SGD 한 스텝은 오차 w − w*에 1 − 2·lr·x²를 곱하므로, 한 에포크는 P(lr) = ∏(1 − 2·lr·xᵢ²)를
곱합니다. |P| < 1인 곳에서 학습이 안정적입니다. 강의 데이터에서는 이런 구간이 두 개 나옵니다.
두 번째 구간이 생기는 까닭은 lr = 0.5에서 x = 1 스텝의 배율이 1 − 2·0.5·1 = 0이 되기 때문입니다.
그 스텝은 앞의 두 스텝이 어떠했든 w*에 정확히 도착하므로, 0.5 근처에서는 곱이 다시 작아집니다.

스윕은 학습률 200개로 이루어진 격자를 한꺼번에 학습시킵니다. 격자는 경계를 두 격자점 사이로
좁힐 뿐이므로, 스윕에서 처음 발산한 학습률은 정확한 경계 바로 다음 격자점이고 경계와 한 칸
이내로 떨어져 있습니다.
"""),
    code("""
rates = lj.stable_learning_rates([1.0, 2.0, 3.0])
print("stable:", " or ".join(f"({lo:.6g}, {hi:.6g})" for lo, hi in rates.intervals))
x, y = lj.lecture_data()
result = lj.train_grid(lj.learning_rates(0.001, 1.0, 200), [1.0], x, y, epochs=20)
lr = np.asarray(result.learning_rate, np.float64)
first = int(np.argmax(result.diverged))
print(f"the exact edge {rates.intervals[0][1]:.6g} lies between grid points "
      f"{lr[first - 1]:.6g} (stable) and {lr[first]:.6g} (the first to diverge)")
"""),
    code("""
from IPython.display import Image

from lec4_jax.tool import plots

w_star = 2.0
display(Image(plots.sweep_png(result, w_star, rates, "the lecture's data, 20 epochs")))
"""),
    md("""
## 7. Exercises

Replace `None` with your answer in the first cell of each pair, then run the second: it
computes the true gradients with `jax.grad` and tells you whether you are right. A wrong answer
gets a hint, the local gradient of the node where the parameter enters the graph, never the
answer itself; a blank one is "not answered yet".

**Exercise 1.** {q:lecture_x2}
""", """
## 7. 연습 문제

각 쌍의 첫 셀에서 `None`을 여러분의 답으로 바꾸고 두 번째 셀을 실행하세요. `jax.grad`로 참값을
계산해서 맞았는지 알려 줍니다. 틀리면 답 대신 힌트를 줍니다. 파라미터가 그래프에 들어가는 노드의
국소 기울기입니다. 답을 적지 않았으면 "아직 답을 적지 않았습니다"라고 알려 줍니다.

**연습 1.** {q:lecture_x2}
"""),
    code("""
answer = None  # dloss/dw, a number
"""),
    code("""
print(exercises.check("lecture_x2", answer))
"""),
    md("""
**Exercise 2.** {q:bias}
""", """
**연습 2.** {q:bias}
"""),
    code("""
answer = None  # {"w": ..., "b": ...}
"""),
    code("""
print(exercises.check("bias", answer))
"""),
    md("""
**Exercise 3.** {q:quadratic}
""", """
**연습 3.** {q:quadratic}
"""),
    code("""
answer = None  # {"w2": ..., "w1": ..., "b": ...}
"""),
    code("""
print(exercises.check("polynomial", answer))
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
            nb.cells.append(nbformat.v4.new_code_cell(content))
            continue
        text = content[lang]
        for name, ex in EXERCISES.items():
            text = text.replace(f"{{q:{name}}}", ex.text[lang])
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
