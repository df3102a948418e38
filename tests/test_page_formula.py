"""The step-through page for a typed formula (``--model="sigmoid(x*w + b)"``), in headless
Chromium: the quiz's graded hints name each op's own local gradient (the formula from
stepthrough.py, its number from the engine's rule, ``cr.local_grads``), a value used twice sums
its paths, and the page fits 1280×720 with no axe violations. Skips without Chromium."""

import re

import numpy as np
import pytest
from test_page_classroom import answer, axe_script
from test_stepthrough import LECTURE, browser, open_page, viewport

from cli_util import embedded
from lec4_jax.tool import runs, stepthrough
from lec4_jax.tool.settings import Settings

# each model's hint for a node: its local gradients, as the second wrong try shows them
HINTS = {
    "sigmoid(x*w + b)": {
        "x·w + b": "∂ŷ/∂(x·w + b) = sigmoid(x·w + b)·(1 − sigmoid(x·w + b))",
        "x·w": "∂(x·w + b)/∂(x·w) = 1", "w": "∂(x·w)/∂w = x", "b": "∂(x·w + b)/∂b = 1"},
    "x*w*w + b": {  # w is used twice: both paths' local gradients
        "w": "∂(x·w)/∂w = x, ∂(x·w·w)/∂w = x·w", "x·w": "∂(x·w·w)/∂(x·w) = w"},
    "exp(x*w)/(1 + x*w)": {
        "1 + x·w": "∂ŷ/∂(1 + x·w) = −exp(x·w)/(1 + x·w)²",
        "exp(x·w)": "∂ŷ/∂exp(x·w) = 1/(1 + x·w)",
        "x·w": "∂exp(x·w)/∂(x·w) = exp(x·w), ∂(1 + x·w)/∂(x·w) = 1"},
    "(x*w)**2/2": {  # a number divides unbracketed; a power of 2's local gradient has no ^1
        "(x·w)²": "∂ŷ/∂((x·w)²) = 1/2", "x·w": "∂((x·w)²)/∂(x·w) = 2·(x·w)"},
}
# the local gradient's number, from the forward values of step i: {node: f(values)}
NUMBERS = {
    "sigmoid(x*w + b)": ("x·w + b", lambda v: v["y_hat"] * (1 - v["y_hat"])),
    "exp(x*w)/(1 + x*w)": ("exp(x·w)", lambda v: 1 / v["1 + x*w"]),
}
WORDS = {"en": "the local gradient: ", "ko": "국소 기울기: "}


@pytest.fixture(scope="module")
def driver():
    d = browser()
    yield d
    d.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder, out = tmp_path_factory.mktemp("formula"), {}
    for k, model in enumerate(HINTS):
        run = runs.run(Settings(model=model), *LECTURE)
        for lang in ("en", "ko"):
            out[model, lang] = folder / f"{k}-{lang}.html"
            out[model, lang].write_text(stepthrough.page(run, lang), encoding="utf-8")
    return out


HINT_ALL = """const s = D.steps[arguments[0]], out = {};
for (const k of ORDER) out[NAME[k]] = [hint(k, s, 1), hint(k, s, 2), backwardText(k, s)];
return out;"""


@pytest.mark.parametrize("model", HINTS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_hint_names_the_ops_own_local_gradient(driver, pages, model, lang):
    open_page(driver, pages[model, lang], "#step=3")
    hints = driver.execute_script(HINT_ALL, 3)
    for node, want in HINTS[model].items():
        rule, local, _ = hints[node]
        assert WORDS[lang] + want + "." in local, (node, local)
        assert " = " + want.split(" = ")[-1] not in rule  # the first try: the rule, no local
    for rule, local, text in hints.values():
        assert "?" not in rule + local + text and "′" not in local + text


FORWARD = """const s = D.steps[arguments[0]], out = {};
D.nodes.forEach((n, k) => { if (n.args) out[NAME[k]] = [label(n), forwardText(k, s)]; });
return out;"""


def test_each_nodes_formula_brackets_by_precedence_and_keeps_its_constants(driver, tmp_path):
    # the graph's box and the forward line: (x + w)^0.5, not x + w^0.5; the constants 2 and 1 in
    # place, in the formula and among the numbers; a node named by its formula not repeated
    page = tmp_path / "page.html"
    run = runs.run(Settings(model="(x + w)**0.5*2 - 1", epochs=2), *LECTURE)
    page.write_text(stepthrough.page(run, "en"), encoding="utf-8")
    open_page(driver, page, "#step=3")
    shown = driver.execute_script(FORWARD, 3)
    n = r"-?\d+(\.\d+)?(e[+-]?\d+)?"
    want = {"x + w": ("x + w", rf"x \+ w = {n} \+ {n} = {n}"),
            "(x + w)^0.5": ("(x + w)^0.5", rf"\(x \+ w\)\^0\.5 = \({n}\)\^0\.5 = {n}"),
            "(x + w)^0.5·2": ("(x + w)^0.5·2", rf"\(x \+ w\)\^0\.5·2 = {n} · 2 = {n}"),
            "ŷ": ("ŷ = (x + w)^0.5·2 − 1", rf"ŷ = \(x \+ w\)\^0\.5·2 − 1 = {n} − 1 = {n}")}
    for node, (label, forward) in want.items():
        assert shown[node][0] == label and re.fullmatch(forward, shown[node][1]), shown[node]


@pytest.mark.parametrize("model", NUMBERS)
def test_the_explanation_multiplies_by_the_local_gradients_number(driver, pages, model):
    data = embedded(pages[model, "en"].read_text(encoding="utf-8"))
    node, want = NUMBERS[model]
    open_page(driver, pages[model, "en"], "#step=3")
    text = driver.execute_script(HINT_ALL, 3)[node][2]
    values = {n["name"]: np.float32(v)
              for n, v in zip(data["nodes"], data["steps"][3]["values"])}
    shown = np.float32(text.split(" = ")[2].split(" · ")[1].strip("()"))  # upstream · local
    assert shown == pytest.approx(want(values), rel=1e-6), text  # float32, the engine's rule


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_quiz_grades_a_sigmoids_hints(driver, pages, lang):
    page = pages["sigmoid(x*w + b)", lang]
    data = embedded(page.read_text(encoding="utf-8"))
    at = {n["name"]: k for k, n in enumerate(data["nodes"])}
    grads = data["steps"][0]["grads"]
    open_page(driver, page, "#step=0&quiz")
    answer(driver, grads[at["s"]])
    answer(driver, grads[at["y_hat"]])
    first = answer(driver, "1e9")  # the chain rule at x·w + b, its local gradient not yet
    assert "dloss/d(x·w + b) = dloss/dŷ · ∂ŷ/∂(x·w + b)" in first and "sigmoid(" not in first
    second = answer(driver, "1e9")
    assert WORDS[lang] + HINTS["sigmoid(x*w + b)"]["x·w + b"] in second
    assert grads[at["x*w + b"]] in answer(driver, "1e9")  # the third try: the answer


@pytest.mark.parametrize("model", HINTS)
def test_a_formula_page_fits_1280x720(driver, pages, model):
    with viewport(driver, 1280, 720):
        for lang in ("en", "ko"):
            for state in ("#step=0", "#step=5&quiz", "#step=5&present"):
                open_page(driver, pages[model, lang], state)
                size = driver.execute_script("const d = document.documentElement;"
                                             "return [d.scrollWidth, d.scrollHeight]")
                assert size[0] <= 1280 and size[1] <= 720, (lang, state, size)


@pytest.mark.parametrize("state", ["#step=5", "#step=5&quiz"])
def test_axe_finds_no_violations_on_a_formula_page(driver, pages, state):
    source = axe_script()
    with viewport(driver, 1280, 720):
        open_page(driver, pages["sigmoid(x*w + b)", "ko"], state)
        driver.execute_script(source)
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
            ".catch(e => done(String(e)));")
    assert result == [], [(v["id"], v["impact"]) for v in result]
