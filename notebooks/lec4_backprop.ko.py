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
# # 4강 역전파를 JAX로 다시 해 보기
#
# **모두를 위한 딥러닝 시즌 2**의 4강(역전파)을 JAX로 직접 짜 보는 노트북입니다. 강의와
# 마찬가지로 가중치 하나 `w`가 x = 1, 2, 3에서 `y = 2x`를 배웁니다. 예측이 얼마나 틀렸는지 재는
# 손실은 `(x*w - y)**2`입니다. 기울기(강의의 "그래디언트")는 어떤 값이 조금 변할 때 손실이 얼마나
# 변하는지를 나타내며, dloss/dw처럼 씁니다.
#
# 1. 강의의 PyTorch 코드를 JAX로 한 줄씩 옮겨 직접 실행합니다.
# 2. 강의 예제를 손으로 계산하고 계산 그래프를 봅니다(연습 1).
# 3. 덧셈 노드와 제곱 노드가 들어간 그래프를 풉니다. 연습 2~5에서는 숫자도 구하고 JAX 코드도 씁니다.
# 4. 학습이 한 스텝씩 진행되는 모습을 봅니다. 연습 6에서는 파라미터 두 개를 학습시킵니다.
#
# 연습 문제마다 답을 적는 셀과 채점 셀이 있습니다. 답 셀의 `...` 자리에 숫자나 코드를 적고, 답
# 셀과 채점 셀을 차례로 실행하세요. 답을 적지 않은 채 실행해도 오류는 나지 않고, 채점 셀이
# "아직 답을 적지 않았습니다"라고 알려 줄 뿐입니다. **심화(선택)** 표시가 붙은 절은 4강의 범위를
# 넘는 내용이니 처음에는 건너뛰어도 됩니다.
#
# 직접 실행하려면 저장소 폴더에서 새 가상 환경을 만든 뒤
# `pip install -r requirements-notebooks.txt && jupyter lab notebooks/lec4_backprop.ko.ipynb`를
# 실행하세요.

# %%
import jax
import jax.numpy as jnp
import numpy as np

import lec4_jax as lj

lj.set_language("ko")  # 표, 그림, 연습 문제의 채점 결과를 한국어로 출력합니다

# %% [markdown]
# ## 1. PyTorch 코드를 JAX로 옮기기
#
# 강의 노트에 실린 PyTorch 코드입니다. Sung Kim의 PyTorchZeroToAll
# (<https://github.com/hunkim/PyTorchZeroToAll>)의 `03_auto_gradient.py`를 강의 노트가 옮겨
# 적은 것이고, 주석은 강의 노트의 것입니다.
#
# ```python
# import torch
#
# device = torch.device('cpu')
# x_data = [1.0, 2.0, 3.0]
# y_data = [2.0, 4.0, 6.0]
#
#
# w = torch.Tensor([1.0], device = device) # requires_grad 파라미터로 해당 변수가 gradient 계산이 되도록 지정.
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
#         l.backward() # 계산 그래프를 따라 빌딩된 노드들에 대한 그래디언트를 계산하여 w 갱신
#         print('\tgrad: ', x_val, y_val, w.grad.data[0])
#         w.data = w.data - 0.01 * w.grad.data
#         w.grad.data.zero_() # w에 그래디언트 갱신 후 초기화
#
#     print('progress:', epoch, l.data[0])
# print('predict (AT)', 4, forward(4).data[0])
# ```
#
# PyTorch는 숫자를 텐서로 출력합니다: `predict (BT) 4 tensor(4.)`,
# `grad:  2.0 4.0 tensor(-7.8400)`처럼 소수점 아래 네 자리까지 보여 줍니다. 아래 JAX 코드는 같은
# float32 값을 가장 짧은 소수로 출력합니다(`-7.84`). 이 소수를 다시 float32로 읽으면 원래 값과
# 정확히 같습니다. 글자는 달라도 값은 같습니다. 이제 이 코드를 JAX로 한 단계씩 옮겨 실행해
# 봅시다.

# %%
x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]
w = jnp.float32(1.0)
w

# %% [markdown]
# `requires_grad_(True)`가 없습니다. JAX에서 `w`는 그냥 float32 값입니다.

# %%
def forward(w, x):
    return x * w


def loss(w, x, y):
    y_pred = forward(w, x)
    return (y_pred - y) * (y_pred - y)


loss(w, 1.0, 2.0)

# %% [markdown]
# `w`를 인자로 받으므로 손실은 `w`의 *순수 함수*입니다. 같은 입력에는 언제나 같은 값을 돌려주고,
# 함수 바깥의 어떤 것도 바꾸지 않습니다.

# %%
grad = jax.grad(loss)
grad(w, 1.0, 2.0)

# %% [markdown]
# `l.backward()` 다음 `w.grad`를 읽는 두 줄이 JAX에서는 `jax.grad` 하나입니다. `jax.grad(loss)`는
# 첫 번째 인자 `w`에 대한 기울기 dloss/dw를 돌려주는 새 함수입니다.

# %%
show = lj.lecture.show  # float32 값을 가장 짧은 소수로 씁니다(다시 읽으면 같은 값): -7.84
lines = []  # 출력한 줄을 모아 두었다가 아래에서 강의 출력과 비교합니다


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
# 갱신 `w = w - 0.01 * g`는 새 `w`를 만듭니다(JAX 배열은 제자리에서 바꿀 수 없습니다).
# `w.grad.data.zero_()`에 해당하는 줄은 없습니다. PyTorch는 `backward()`를 부를 때마다 기울기를
# `w.grad`에 더해 두지만, `jax.grad`는 부를 때마다 새 값을 돌려주기 때문입니다.

# %%
lj.exercises.compare_run(lines)

# %% [markdown]
# 여러분의 출력을 이 패키지의 기준 구현 `lj.lecture`의 출력과, PyTorch가 설치되어 있으면 강의의
# PyTorch 코드를 실제로 실행한 숫자와 비교했습니다. 위 루프에서 학습률이나 에포크 수를 바꿔 두 셀을
# 다시 실행하면, 몇 번째 줄부터 달라지는지 알려 줍니다.

# %%
loss_and_grad = jax.value_and_grad(loss)
l, g = loss_and_grad(jnp.float32(1.0), 3.0, 6.0)
print("손실:", show(l), " dloss/dw:", show(g))

# %% [markdown]
# 강의 코드는 `l = loss(x_val, y_val)`로 손실을 구한 뒤 `l.backward()`로 기울기를 구합니다. 이
# 두 줄의 짝이 `jax.value_and_grad`입니다. 손실과 기울기를 한 번에 돌려줍니다.

# %% [markdown]
# ## 2. 강의 예제를 손으로 계산하기
#
# 표본 하나에 대한 강의의 *계산 그래프*에는 연산이 셋 있습니다. `ŷ = x·w`, 그다음 `s = ŷ − y`,
# 마지막으로 `loss = s·s`, 즉 s²입니다. 값 하나하나(입력과 연산 결과)가 그래프의 노드입니다.
#
# **순전파**: x = 1, w = 1, y = 2이면 ŷ = 1, s = −1, 손실 = 1입니다.
#
# **역전파**: 손실에서 출발해 노드를 하나씩 거꾸로 거칩니다. 노드의 출력을 그 노드의 입력 하나로
# 미분한 값이 *국소 기울기*입니다. *연쇄 법칙*에 따라, 입력에 대한 손실의 기울기는 노드가 받은
# 기울기 dloss/d(노드)에 그 입력의 국소 기울기를 곱한 값입니다.
#
# - dloss/ds = 2s = −2
# - dloss/dŷ = dloss/ds · ds/dŷ = −2 · 1 = −2 (뺄셈 s = ŷ − y의 국소 기울기 ds/dŷ는 1)
# - dloss/dw = dloss/dŷ · dŷ/dw = −2 · x = −2 (곱셈 ŷ = x·w의 국소 기울기 dŷ/dw는 x)

# %%
x, w, y = 1.0, 1.0, 2.0
y_hat = x * w  # 순전파: 노드 하나씩 계산합니다
s = y_hat - y
print("순전파:  y_hat =", y_hat, "  s =", s, "  손실 =", s * s)
print("연쇄 법칙으로 구한 dloss/dw:", float(lj.lecture.grad_by_hand(w, x, y)))
print("jax.grad로 구한 dloss/dw:   ", float(grad(w, x, y)))
print("공식 2x(xw - y):            ", 2 * x * (x * w - y))

# %% [markdown]
# `lj.explain`은 계산하면서 같은 그래프를 기록하고 거꾸로 따라갑니다. 역전파 표의 한 줄이 위에서
# 손으로 한 연쇄 법칙의 한 단계입니다. 그림에서는 값이 검은 화살표를 따라 앞으로 가고, 기울기가
# 빨간 점선을 따라 거꾸로 전해집니다.

# %%
example = lj.Example.of("linear")  # 강의의 예제: x=1, y=2, w=1
print("\n".join(lj.table(lj.explain(example), ("w",))))

# %%
lj.graph_picture(example)

# %% [markdown]
# **연습 1.** 강의 그래프 y_hat = x*w, loss = (y_hat - y)^2에서 x=2, y=4, w=1일 때 dloss/dw의 값은 얼마일까요? 숫자 하나로 답하세요: `answer_1 = ...`.
#
# 답 셀의 `...` 자리에 답을 적고 두 셀을 실행하세요. 채점 셀은 `jax.grad`로 참값을 계산해 비교합니다.
# 틀리면 답 대신 힌트를 줍니다.

# %% tags=["answer:lecture_x2"]
answer_1 = ...  # dloss/dw: 숫자 하나

# %% tags=["check:lecture_x2"]
lj.exercises.check("lecture_x2", answer_1)

# %% [markdown]
# ## 3. 덧셈 노드와 제곱 노드가 있는 그래프 풀기
#
# 편향 `b`를 더한 모델 ŷ = x·w + b에는 **덧셈 노드**가 있습니다. 덧셈 a + b를 a로 미분해도, b로
# 미분해도 1입니다. 그래서 덧셈 노드는 받은 기울기를 두 입력에 **그대로** 전합니다(국소 기울기 1).
# 뺄셈 s = ŷ − y의 ds/dŷ가 1이었던 것과 같은 까닭입니다. 곱셈 노드(`xw`)는 앞에서처럼 x를 곱해
# 전합니다. 그림은 연습 문제와 다른 점(x=1, y=2, w=1, b=2)에서 그렸습니다.

# %%
lj.graph_picture(lj.Example.of("affine"))

# %% [markdown]
# **연습 2.** 편향이 있는 모델 y_hat = x*w + b, loss = (y_hat - y)^2에서 x=2, y=1, w=1, b=0.5일 때 dloss/dw와 dloss/db의 값은 얼마일까요? dict로 답하세요: `answer_2 = {"w": ..., "b": ...}`.

# %% tags=["answer:bias"]
answer_2 = ...  # dict로 답하기: {"w": ..., "b": ...}

# %% tags=["check:bias"]
lj.exercises.check("bias", answer_2)

# %% [markdown]
# **연습 3 (코드).** 이번에는 같은 모델을 JAX로 씁니다. `bias_loss(params, x, y)`는
# `params = {"w": ..., "b": ...}`를 받아 손실을 돌려주고, `bias_grad`는 `jax.grad`로 만든 함수입니다.
# `jax.grad`는 dict를 받는 함수를 미분하면 같은 꼴의 dict, `{"w": dloss/dw, "b": dloss/db}`를
# 돌려줍니다. 아래 셀의 `...` 두 곳에 코드를 적으세요. 채점 셀은 여러 표본에서 두 함수를 실행해
# 봅니다.

# %% tags=["answer:bias_grad"]
def bias_loss(params, x, y):
    ...  # 손실 (x*w + b - y)**2, 여기서 w = params["w"], b = params["b"]


bias_grad = ...  # bias_grad(params, x, y)는 {"w": dloss/dw, "b": dloss/db}를 돌려줍니다

# %% tags=["check:bias_grad"]
lj.exercises.check("bias_grad", (bias_loss, bias_grad))

# %% [markdown]
# 이차식 모델 ŷ = x²·w2 + x·w1 + b에는 노드가 더 있습니다. x²인 `x2`, 곱셈 노드 `x2w2`와 `xw1`,
# 덧셈 노드 `sum`과 `y_hat`입니다. 그림은 연습 문제와 다른 점에서 그렸습니다.

# %%
lj.graph_picture(lj.Example.of("quadratic"))

# %% [markdown]
# **연습 4.** 이차식 모델 y_hat = x^2*w2 + x*w1 + b, loss = (y_hat - y)^2에서 x=3, y=10, w2=0.5, w1=1, b=1일 때 dloss/dw2, dloss/dw1, dloss/db의 값은 얼마일까요? dict로 답하세요: `answer_4 = {"w2": ..., "w1": ..., "b": ...}`.

# %% tags=["answer:polynomial"]
answer_4 = ...  # dict로 답하기: {"w2": ..., "w1": ..., "b": ...}

# %% tags=["check:polynomial"]
lj.exercises.check("polynomial", answer_4)

# %% [markdown]
# 이번 모델 ŷ = x·w²에는 w를 제곱하는 **제곱 노드**(`w2`)가 있습니다. 제곱 노드의 국소 기울기는
# dw2/dw = 2w입니다. 그다음 곱셈 노드(`y_hat`, x·w2)의 국소 기울기 dy_hat/dw2는 x입니다.

# %%
lj.graph_picture(lj.Example.of("w_squared"))

# %% [markdown]
# **연습 5 (코드).** `jax.grad` 없이 연쇄 법칙만으로 dloss/dw를 계산하는 함수를 쓰세요
# (ŷ = x·w², loss = (ŷ − y)²). 아래 셀의 `...` 자리에 dloss/dw를 돌려주는 코드를 적으면, 채점
# 셀이 여러 점에서 `jax.grad`와 비교합니다.

# %% tags=["answer:chain_w2"]
def grad_w_squared(w, x, y):
    ...  # dloss/dw = dloss/dy_hat * dy_hat/dw2 * dw2/dw

# %% tags=["check:chain_w2"]
lj.exercises.check("chain_w2", grad_w_squared)

# %% [markdown]
# ## 4. 학습이 한 스텝씩 진행되는 모습 보기
#
# 1절 출력의 첫 `grad:` 줄 `grad: 1.0 2.0 -2.0`은 2절의 예제입니다. 갱신은 w를 기울기의 반대
# 방향으로, 기울기에 *학습률*(강의에서는 0.01)을 곱한 만큼 옮깁니다. w = 1 − 0.01 · (−2) = 1.02.
# 다음 표본 x = 2, y = 4는 이 새 w에서 계산합니다. 처음 두 스텝을 손으로 따라가 봅시다.

# %%
w, lr = 1.0, 0.01
for x, y in [(1.0, 2.0), (2.0, 4.0)]:
    g = 2 * x * (x * w - y)  # 공식으로 구한 dloss/dw
    print(f"x={x}, y={y}, w={w:.4f}:  dloss/dw = {g:.4f},  "
          f"새 w = w - lr * dloss/dw = {w - lr * g:.4f}")
    w = w - lr * g

# %% [markdown]
# 두 번째 `grad:` 줄의 `-7.84`가 이렇게 나온 것입니다. 에포크가 거듭될수록 w는 2에 다가가고,
# x = 4에 대한 예측은 8에 다가갑니다.

# %%
for epochs in (1, 2, 5, 10, 20):
    w = lj.lecture.train(epochs=epochs, out=lambda *words: None)  # 출력 없이 학습만 합니다
    print(f"{epochs:2} 에포크 뒤: w = {float(w):.6f}, x = 4에 대한 예측: {float(4 * w):.6f}")

# %% [markdown]
# **연습 6 (코드).** 강의의 루프를 파라미터 두 개(ŷ = x·w + b)로 넓혀 봅시다. 에포크 한 번을 도는
# 함수 `sgd_epoch(params, x_data, y_data, lr)`를 쓰세요. 표본마다 두 기울기를 구하고 두 파라미터를
# 함께 갱신한 뒤, 마지막 `params`를 돌려줍니다. 기울기는 연습 3에서 만든 `bias_grad`로 구하면
# 됩니다(연습 3을 먼저 풀어야 합니다).
#
# 채점 셀은 먼저 표본 하나짜리 데이터로 갱신 한 번을, 다음으로 표본 세 개짜리 데이터로 에포크
# 한 번을 비교합니다. 마지막으로 y = 2x + 1 위의 세 점(x = 1, 2, 3)을 w = 0, b = 0에서부터
# 여러분의 함수로 학습시켜, 데이터에 가장 잘 맞는 직선(w = 2, b = 1)에 닿는지 봅니다.

# %% tags=["answer:sgd_epoch"]
def sgd_epoch(params, x_data, y_data, lr):
    ...  # 표본마다: 기울기를 구하고 params = {"w": ..., "b": ...}로 갱신합니다

# %% tags=["check:sgd_epoch"]
lj.exercises.check("sgd_epoch", sgd_epoch)

# %% [markdown]
# 이것으로 4강의 내용은 끝입니다. 아래 절들은 골라 읽으면 됩니다.
#
# ---
#
# ## 심화(선택) — 학습 루프를 컴파일하기: `jax.jit`과 `lax.scan`
#
# *왜 알아 두면 좋을까요:* 위의 루프는 JAX에 아주 작은 연산을 하나씩 건넵니다. 한 스텝이나 학습
# 전체를 컴파일하면 하나의 프로그램으로 실행되고, 실제 모델도 JAX에서는 이렇게 컴파일해서 빠르게 실행합니다.
#
# `lj.lecture.update`, 즉 `jax.jit(sgd_step)`은 한 스텝(기울기 계산과 갱신)을 처음 부를 때
# JAX의 컴파일러인 XLA로 한 번 컴파일해 두고, 그 뒤로는 컴파일된 것을 다시 씁니다.
# `lj.lecture.train_scanned`는 한 걸음 더 나아갑니다. `lax.scan`은 JAX가 통째로 컴파일하는
# 루프여서, 60 스텝 전체가 컴파일된 프로그램 하나로 실행됩니다.

# %% tags=["cpu"]
w_eager = lj.lecture.train(out=lambda *words: None)  # PyTorch처럼 연산을 하나씩 실행

w_jit = jnp.float32(1.0)
for _ in range(20):  # 20 에포크
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        w_jit = lj.lecture.update(w_jit, x, y, 0.01)  # 한 번 컴파일한 스텝을 다시 씀

w_scan, (losses, grads) = lj.lecture.train_scanned()  # 60 스텝 전체를 컴파일한 루프 하나
print("20 에포크 뒤의 w:  하나씩 실행", show(w_eager), "  jit", show(w_jit), "  scan", show(w_scan))

# %% [markdown]
# 컴파일한 실행은 하나씩 실행한 결과와 마지막 자리가 다를 수 있습니다. PyTorch와 "같다"는 말의
# 뜻은 이렇습니다.
#
# - **하나씩 실행한 JAX는 PyTorch와 비트 하나까지 같습니다.** 둘 다 곱셈과 뺄셈을 따로 계산하고,
#   결과를 그때마다 float32(유효 숫자 7자리쯤)로 반올림하며, 순서도 같습니다.
# - **컴파일한 실행은 마지막 자리가 다를 수 있습니다.** 많은 CPU에는 `a*b + c`를 한 번에 계산하고
#   반올림도 한 번만 하는 명령, *FMA*(fused multiply-add)가 있습니다. XLA는 곱셈 뒤에 덧셈이나
#   뺄셈이 오는 곳에 이 명령을 쓸 수 있습니다. 이 루프에는 그런 곳이 두 군데 있습니다. 기울기
#   안의 `x*w - y`와 갱신 `w - lr * g`입니다.
#
# 어디서 먼저 달라지는지 재 봅시다. 스텝마다 하나씩 실행한 루프의 `w`(와 `g`)를 그대로 넣고,
# 컴파일한 기울기와 컴파일한 갱신을 따로 비교합니다. 결과는 이 컴퓨터의 CPU에 따라 다릅니다.
# FMA가 없는 CPU(또는 `XLA_FLAGS=--xla_cpu_max_isa=AVX`)에서는 모두 같다고 나옵니다.

# %% tags=["cpu"]
jit_grad = jax.jit(lj.lecture.grad)  # 기울기만 컴파일
jit_step = jax.jit(lambda w, g: w - 0.01 * g)  # 갱신만 컴파일
grad_differs, step_differs, w = [], [], jnp.float32(1.0)
for _ in range(20):  # 20 에포크
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        g = lj.lecture.grad(w, x, y)  # 하나씩 실행한 기울기
        grad_differs.append(bool(jit_grad(w, x, y) != g))  # 같은 w를 넣은 컴파일한 기울기
        step_differs.append(bool(jit_step(w, g) != w - 0.01 * g))  # 같은 w, g를 넣은 갱신
        w = w - 0.01 * g
for name, differs in [("기울기(x*w - y가 들어 있는 식)", grad_differs), ("갱신 w - lr * g", step_differs)]:
    if any(differs):
        print(f"{name}: 60 스텝 가운데 {sum(differs)} 스텝에서 다릅니다. 처음 다른 것은 {differs.index(True) + 1}번째 스텝입니다")
    else:
        print(f"{name}: 60 스텝 모두 하나씩 실행한 것과 같습니다")

# %% [markdown]
# 한 번 달라진 w는 그 뒤의 숫자도 조금씩 바꿉니다. 학습이 끝나 갈 무렵의 기울기는 거의 같은 두
# 수의 차(x·w와 y가 가까움)여서 작은 차이가 조금 더 크게 드러나지만, 절댓값으로는 백만분의 몇
# 정도입니다. 어느 쪽도 틀린 것은 아닙니다. 둘 다 정확한 값과 반올림 오차만큼만 다릅니다.
# `lax.scan`으로 컴파일한 학습 전체의 기울기 60개를 비교해 봅시다.

# %% tags=["cpu"]
eager, w = [], jnp.float32(1.0)
for _ in range(20):  # 20 에포크
    for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
        eager.append(lj.lecture.grad(w, x, y))
        w = w - 0.01 * eager[-1]
eager, scanned = np.array(eager), np.asarray(grads)
differ = eager != scanned
if differ.any():
    first = int(np.argmax(differ))
    print(f"기울기 60개 가운데 {int(differ.sum())}개가 다릅니다. 처음 다른 것은 {first + 1}번째 스텝: "
          f"하나씩 실행 {show(eager[first])}, scan {show(scanned[first])}")
else:
    print("기울기 60개가 모두 하나씩 실행한 것과 같습니다")
print(f"기울기의 가장 큰 차이: {np.max(np.abs(eager - scanned)):.1e}, "
      f"마지막 w의 차이: {abs(float(w_eager) - float(w_scan)):.1e}")

# %% [markdown]
# ## 심화(선택) — 순방향 모드와 역방향 모드 비교하기
#
# *왜 알아 두면 좋을까요:* 자동 미분에서는 역전파를 *역방향 모드*라고 부릅니다. 다른 방식인
# 순방향 모드와 나란히 놓고 보면, 학습에 역방향 모드를 쓰는 까닭이 보입니다. 역전파 한 번으로
# 모든 파라미터의 기울기를 한꺼번에 얻기 때문입니다.
#
# - **순방향 모드**(`jax.jvp`, *야코비안-벡터 곱*)는 파라미터에서 출발합니다. w에 들어오는 변화량을
#   1로 두고 그래프를 따라 앞으로 전합니다. 그러면 노드마다 그 노드에 전해진 변화량 d(노드)/dw를
#   얻습니다.
# - **역방향 모드**(`jax.vjp`, *벡터-야코비안 곱*)는 손실에서 출발합니다. 손실에 기울기 1을 두고,
#   노드마다 국소 기울기를 곱하며 거꾸로 전합니다. 바로 역전파입니다. 그러면 노드마다 거꾸로
#   전해지는 기울기 dloss/d(노드)를 얻습니다.
#
# (*야코비안*은 출력 하나하나를 입력 하나하나로 미분한 값을 모은 표(행렬)입니다. 입력도 하나,
# 출력도 하나라면 숫자 하나입니다.) 파라미터가 하나면 두 방식 모두 한 번이면 됩니다. 파라미터가
# n개면 순방향 모드는 파라미터마다 한 번씩 n번, 역방향 모드는 여전히 한 번이면 됩니다.

# %%
def loss_at(w):
    return lj.lecture.loss(w, 1.0, 2.0)  # 예제의 손실을 w만의 함수로


value, change = jax.jvp(loss_at, (1.0,), (1.0,))  # 순방향: w의 변화량 1을 앞으로 전함
value, pull_back = jax.vjp(loss_at, 1.0)  # 역방향: pull_back(1.0)이 역전파를 실행
print("손실:", float(value), "  jvp로 구한 dloss/dw:", float(change),
      "  vjp로 구한 dloss/dw:", float(pull_back(1.0)[0]))
print()
print("\n".join(lj.modes_table(example)))

# %% [markdown]
# ## 심화(선택) — jaxpr 읽기
#
# *왜 알아 두면 좋을까요:* jaxpr은 JAX가 파이썬 함수를 실행하며 기록한 계산 그래프입니다. 읽을 줄
# 알면 `jax.grad`가 역전파까지 포함해 정확히 무엇을 계산하는지 볼 수 있습니다.
#
# `jax.make_jaxpr(f)(...)`는 주어진 인자와 모양·자료형만 같은 추적용 값(tracer)으로 `f`를 실행하면서 어떤
# 연산이 일어나는지 기록하고, 그 기록을 출력합니다. 읽는 법은 이렇습니다.
#
# - `lambda ;` 뒤에는 입력이 `이름:자료형` 꼴로 나옵니다. 여기서 `a`는 w, `b`는 x, `c`는
#   y이고, `f32[]`는 float32 숫자 하나(차원이 없는 배열)라는 뜻입니다.
# - `let`과 `in` 사이에는 한 줄에 노드 하나씩, `이름:자료형 = 연산 입력들` 꼴로 나옵니다.
#   `mul b a`는 x·w = ŷ이고, `sub d c`는 ŷ − y = s입니다. 강의 코드가
#   `(y_pred - y) * (y_pred - y)`로 쓰기 때문에 두 번 기록됩니다. `mul e f`는 s·s, 곧 손실입니다.
# - `in` 뒤에는 출력이 나옵니다.

# %%
print(jax.make_jaxpr(lj.lecture.loss)(1.0, 1.0, 2.0).pretty_print(use_color=False))

# %% [markdown]
# `jax.grad`의 jaxpr에는 순전파가 먼저 나오고, 그 뒤에 역전파가 한 줄씩 적혀 있습니다.
#
# - `_`는 계산했지만 쓰지 않는 값입니다(손실 자체입니다. `jax.grad`는 기울기만 돌려줍니다).
# - `mul e 1.0`과 `mul 1.0 f`는 손실에 들어온 기울기 1에 s·s의 국소 기울기를 곱한 것입니다.
#   곱셈의 두 입력 e와 f에 한 줄씩 있습니다.
# - `add_any`는 그 둘을 더합니다. ŷ(`d`)가 뺄셈 두 개(`e`, `f`)에 들어가므로 두 경로의 기울기를
#   더해 dloss/dŷ = s + s = 2s가 됩니다. 뺄셈의 국소 기울기는 1이어서 JAX가 따로 줄을 남기지
#   않습니다.
# - `mul b i`는 x·w를 w로 미분한 국소 기울기 x를 곱합니다. 이것이 dloss/dw입니다.

# %%
print(jax.make_jaxpr(lj.lecture.grad)(1.0, 1.0, 2.0).pretty_print(use_color=False))

# %% [markdown]
# ## 심화(선택) — 기울기가 맞는지 검증하기
#
# *왜 알아 두면 좋을까요:* 기울기를 공식이나 직접 만든 역전파 규칙으로 손수 쓸 때, 손실과 비교해
# 보면 틀렸는지 알 수 있습니다.
#
# 기울기는 미분하기 전의 함수, 즉 손실과 비교해서 검증합니다. 가까운 두 점에서 손실을 재어 그
# 기울기 (L(w + h) − L(w − h)) / (2h)를 구하는데, 이것을 *유한 차분*이라고 합니다. h가 작으면 참
# 미분값에 가깝습니다(이 손실처럼 포물선이면 반올림 오차를 빼고는 같습니다).
#
# - `jax.test_util.check_grads(f, ...)`는 `f`를 `jax.grad`로 미분한 값을 `f`의 유한 차분과
#   비교합니다. 손실에 쓰면 JAX가 구한 손실의 기울기를 확인하는 것입니다(여기서는 1차, 2차
#   도함수까지).
# - 공식을 검증하려면 공식의 값을 손실의 유한 차분과 비교합니다. 맞는 공식은 일치하고, 틀린 공식
#   2x(xw − y) + 5w는 일치하지 않습니다.
# - 틀린 공식 자체에 `check_grads`를 쓰면 통과합니다. JAX가 그 함수를 제대로 미분하는지만 볼 뿐,
#   그 함수가 손실의 기울기인지는 보지 않기 때문입니다.

# %%
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

# %% [markdown]
# ## 심화(선택) — 헤시안과 뉴턴 방법
#
# *왜 알아 두면 좋을까요:* 학습률은 얼마나 멀리 갈지를 어림한 값입니다. 2차 도함수를 알면 얼마나
# 가야 하는지 정확히 알 수 있고(손실이 포물선이면), 한 스텝에 가장 좋은 w에 닿을 수도 있습니다.
#
# *헤시안* H는 손실의 2차 도함수 d²loss/dw²입니다. w가 변할 때 기울기가 얼마나 빨리 변하는지를
# 나타냅니다. (파라미터가 여러 개면 2차 도함수를 모두 모은 표(행렬)입니다.)
# 손실 = (xw − y)²의 기울기는 2x(xw − y)이므로 H = 2x²로 상수입니다. 손실이 w에 대한
# 포물선이라는 뜻입니다. *뉴턴 방법*은 w ← w − g/H로 갱신하는데, 포물선에서는 한 스텝에 맨 아래
# 점 w = y/x = 2에 닿습니다. 첫 표본에서 한 스텝 만에 2에 닿고, 그 뒤로는 그대로입니다. SGD(확률적 경사 하강법, 강의처럼 표본
# 하나마다 w ← w − 학습률 · 기울기로 갱신하는 방법)는 60 스텝을 가도 가까워지기만 할 뿐 닿지는
# 못합니다.

# %%
hessian = jax.hessian(lj.lecture.loss)  # d2loss/dw2를 (w, x, y)의 함수로
for x in (1.0, 2.0, 3.0):
    print(f"x={x}: H = d2loss/dw2 = {float(hessian(1.0, x, 2 * x))} = 2x^2")
w = 1.0
for x, y in zip(lj.lecture.x_data, lj.lecture.y_data):
    w = float(w - lj.lecture.grad(w, x, y) / hessian(w, x, y))  # 뉴턴 방법의 한 스텝
    print(f"x={x}, y={y}에서 뉴턴 방법으로 한 스텝: w = {w}")
print("SGD로 60 스텝 뒤: w =", lj.lecture.show(lj.lecture.train(out=lambda *words: None)))

# %% [markdown]
# ## 심화(선택) — 어떤 학습률에서 학습이 안정적인지 알아보기
#
# *왜 알아 두면 좋을까요:* 학습률이 너무 크면 학습이 되기는커녕 발산합니다. 이 손실에서는 어떤
# 학습률에서 학습이 되는지 정확히 계산할 수 있고, 왜 그런지도 알 수 있습니다.
#
# 가장 좋은 가중치를 w* = 2라고 씁시다. y = 2x이므로 기울기는 2x(xw − y) = 2x²(w − w*)이고, SGD
# 한 스텝은 오차 w − w*를 (1 − 2·lr·x²)(w − w*)로 바꿉니다. 한 에포크면 오차에
# P(lr) = (1 − 2·lr·1²)(1 − 2·lr·2²)(1 − 2·lr·3²)이 곱해집니다. |P| < 1이면 에포크마다 오차가
# 줄어들므로 학습이 안정적입니다.
#
# 강의 데이터에서는 이런 학습률 구간이 두 개 있습니다. 첫 구간은 0에서 시작합니다. 두 번째
# 구간이 생기는 까닭은 lr = 0.5에서 x = 1 스텝의 배율이 1 − 2·0.5·1² = 0이 되기 때문입니다. 이
# 스텝은 w가 어디에 있었든 w*에 정확히 내려앉으므로, lr = 0.5에서 P = 0이고 그 근처에서도
# |P|가 1보다 작습니다. (0.5 근처에서 x = 2와 x = 3 스텝은 오차에 각각 약 −3과 −8을 곱해 w*를
# 멀리 지나치지만, 다음 x = 1 스텝이 오차를 거의 0으로 줄여 놓습니다.)

# %%
rates = lj.stable_learning_rates([1.0, 2.0, 3.0])
(lo1, hi1), (lo2, hi2) = rates.intervals
print(f"안정적인 학습률: 0 < lr < {hi1:.6f} 또는 {lo2:.6f} < lr < {hi2:.6f}")
for lr in (0.01, 0.5):
    factors = [1 - 2 * lr * x**2 for x in (1.0, 2.0, 3.0)]
    steps = ", ".join(f"{f:g}" for f in factors)
    print(f"lr = {lr}: 스텝별 배율 {steps}; 곱 P = {np.prod(factors):g}")

# %% [markdown]
# *스윕*은 이것을 실제로 학습시켜 확인합니다. `lj.train_grid`는 0.001에서 1까지 로그 간격으로 놓인 학습률 200개로
# 한꺼번에 20 에포크씩 학습하고, 손실이 처음보다 커진 채 끝나거나 inf나 NaN이 되면 발산했다고
# 표시합니다. 격자는 학습률을 띄엄띄엄 시험하므로 경계를 두 격자점 사이로 좁힐 수 있을 뿐입니다.
# 그래서 스윕에서 처음 발산한 학습률은 정확한 경계를 지난 첫 격자점이고, 경계에서 격자 한 칸
# 이내에 있습니다. 두 번째 구간도 그 안에 들어간 격자점 몇 개로 확인할 수 있습니다.

# %%
x, y = lj.lecture_data()
result = lj.train_grid(lj.learning_rates(0.001, 1.0, 200), [1.0], x, y, epochs=20)
lr, diverged = np.asarray(result.learning_rate, np.float64), np.asarray(result.diverged)
first = int(np.argmax(diverged))
print(f"정확한 경계: {hi1:.6f}, 그 양옆의 격자점: {lr[first - 1]:.6f}(안정), "
      f"{lr[first]:.6f}(처음 발산), 격자 간격: {lr[first] - lr[first - 1]:.6f}")
inside = lr[~diverged & (lr > hi1)]
print(f"두 번째 구간 ({lo2:.6f}, {hi2:.6f}) 안의 격자점:",
      ", ".join(f"{v:.6f}" for v in inside))

# %%
lj.sweep_picture(result, 2.0, rates, "강의 데이터, 20 에포크")

# %% [markdown]
# ## 심화(선택) — 나만의 식 써 보기
#
# *왜 알아 두면 좋을까요:* 역전파는 어떤 식에서나 같은 규칙으로 돌아갑니다. 노드마다 국소 기울기를
# 곱해 거꾸로 전할 뿐입니다. 직접 쓴 식의 그래프와 역전파 표를 보고, 그 식을 학습시키고, `jax.grad`와
# 비교해 보면 이것을 확인할 수 있습니다.
#
# 아래 셀의 `formula`에 예측 y_hat의 식을 적고, 이 절의 셀을 차례로 실행하세요. 식은 `x`와
# 파라미터(`w`, `b`, `w1`처럼 x와 y가 아닌 이름)로 씁니다. 숫자, `+ - * /`, `**`(지수는 숫자),
# 괄호, 그리고 `exp`, `log`, `tanh`, `sigmoid`, `relu`를 쓸 수 있습니다. 손실은 앞에서처럼
# (y_hat − y)²입니다.

# %%
formula = "x*w**2 + b"  # y_hat의 식: 바꿔 보세요(예: "x*w + b", "tanh(x*w) + b")
try:
    mine = lj.model.get(formula)
except lj.InputError as error:  # 읽을 수 없는 식: 한 줄로 알리고 기본 식으로 계속합니다
    print("이 식은 읽을 수 없습니다:", error)
    print("아래 셀은 기본 식 x*w**2 + b로 실행합니다")
    mine = lj.model.get("x*w**2 + b")
point = lj.Example.of(mine)  # 그림과 표의 점. lj.Example.of(mine, {"w": 2.0}, x=3.0, y=1.0)처럼 바꿀 수 있습니다
print(mine.formula, "  파라미터:", ", ".join(mine.params), "  점:", f"x={point.x:g}, y={point.y:g},",
      ", ".join(f"{k}={v:g}" for k, v in point.params.items()))
lj.graph_picture(point)

# %% [markdown]
# 역전파 표는 2절의 표와 같은 방식으로 읽습니다. 한 줄이 연쇄 법칙의 한 단계입니다.

# %%
walk = lj.explain(point)
print("\n".join(lj.table(walk, mine.params)))

# %% [markdown]
# 표의 역전파가 파라미터마다 구한 기울기를 `jax.grad`와 비교해 봅시다. `mine.loss(params, x, y)`는
# 연습 3의 `bias_loss`처럼 파라미터 dict를 받는 손실이므로, `jax.grad`도 같은 꼴의 dict를 돌려줍니다.

# %%
params = {k: jnp.float32(v) for k, v in point.params.items()}
by_jax = jax.grad(mine.loss)(params, jnp.float32(point.x), jnp.float32(point.y))
for k in mine.params:
    print(f"dloss/d{k}:  역전파 표 {lj.lecture.show(walk.grad(k))},  jax.grad {lj.lecture.show(by_jax[k])}")

# %% [markdown]
# 이제 강의의 데이터(x = 1, 2, 3, y = 2x)로 학습시킵니다. 연습 6처럼 표본마다 모든 파라미터를
# 갱신합니다. 손실이 줄지 않거나 inf나 nan이 되면 학습률 `lr`을 줄여 보세요.

# %%
grad_mine = jax.grad(mine.loss)  # {파라미터: dloss/d(파라미터)}를 돌려주는 함수
params, lr = {k: jnp.float32(v) for k, v in point.params.items()}, 0.01  # 그림의 점에서 출발
data = list(zip(lj.lecture.x_data, lj.lecture.y_data))
for epoch in range(1, 101):
    for x, y in data:  # 표본마다 갱신
        g = grad_mine(params, x, y)
        params = {k: params[k] - lr * g[k] for k in params}
    if epoch in (1, 10, 100):
        mean = sum(float(mine.loss(params, x, y)) for x, y in data) / len(data)
        print(f"{epoch:3} 에포크 뒤:", ", ".join(f"{k} = {lj.lecture.show(v)}" for k, v in params.items()),
              f"  평균 손실 {mean:.6g}")
