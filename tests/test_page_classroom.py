"""The step-through page in a classroom (issue 28), measured in headless Chromium: the update
each optimizer really made against ``train.py --output``, a diverging run's banner and log axis,
the quiz's focus, Escape, graded hints and relative tolerance, one screen at 1280×720 in every
state, sizes for the room, the phone, and axe-core with no violations. Skips without Chromium."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_stepthrough import LECTURE, browser, open_page, viewport

from cli_util import BASE_ENV, SCRIPTS, embedded
from lec4_jax import messages
from lec4_jax import model as model_lib
from lec4_jax.tool import runs, stepthrough, training
from lec4_jax.tool.settings import Settings


@pytest.fixture(scope="module")
def driver():
    d = browser()
    yield d
    d.quit()


def train(folder: Path, *flags):
    folder.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), "--html=page.html",
                           "--output=run.json", "--trace=false", *flags], cwd=folder,
                          capture_output=True, text=True, env=BASE_ENV)
    assert proc.returncode in (0, 1), proc.stderr
    return folder / "page.html", json.loads((folder / "run.json").read_text())


# ---- 8: the update the optimizer really made, against --output, for every optimizer ----

PANEL = """const q = s => document.querySelector(s).textContent; const out = [];
for (const i of arguments[0]) { show(i); out.push({before: q("#update-w .p-before"),
  grad: q("#update-w .p-grad"), delta: q("#update-w .p-delta"), after: q("#update-w .p-next"),
  head: q("#update-label"), rule: q("#rule"), note: document.getElementById("rule-note").hidden ?
  "" : q("#rule-note"), delta_head: q("#h-delta")}); }
return out;"""


@pytest.mark.parametrize("optimizer", sorted(training.OPTIMIZERS))
def test_the_update_panel_is_the_step_the_optimizer_took(driver, tmp_path, optimizer):
    page, out = train(tmp_path, f"--optimizer={optimizer}")
    steps = out["steps"]
    open_page(driver, page)
    shown = driver.execute_script(PANEL, [0, 1, 2, 5, 30, len(steps) - 2])
    en = messages.section("page", "en")
    f32 = np.float32
    off_sgd = 0
    for i, view in zip([0, 1, 2, 5, 30, len(steps) - 2], shown):
        # before, g and after are the run's (--output's) own numbers, to float32's last digit
        assert f32(view["before"]) == f32(steps[i]["w"]), (i, view)
        assert f32(view["grad"]) == f32(steps[i]["grad"]), (i, view)
        assert f32(view["after"]) == f32(steps[i + 1]["w"]), (i, view)
        assert f32(view["delta"]) == f32(steps[i + 1]["w"]) - f32(steps[i]["w"]), (i, view)
        sgd_after = f32(view["before"]) - f32(0.01) * f32(view["grad"])  # p − lr · g
        ulps = abs(int(f32(view["after"]).view(np.int32)) - int(sgd_after.view(np.int32)))
        off_sgd += ulps > 1  # (1: XLA may fuse p − lr · g into one rounding)
        if optimizer == "sgd":  # the rule is the lecture's, and the numbers follow it
            assert view["head"] == "update: p ← p − lr · g" and view["note"] == ""
            assert view["delta_head"] == "Δp = −lr · g"
        else:  # the optimizer's own rule, and the word that its step is not −lr · g
            assert "p − lr · g" not in view["head"] and en[f"opt_{optimizer}"] in view["head"]
            assert view["rule"] == en[f"rule_{optimizer}"]
            assert view["note"] == en["rule_note"] and view["delta_head"] == "Δp"
    if optimizer == "sgd":
        assert off_sgd == 0
    else:
        assert off_sgd >= 1  # a step that −lr · g does not explain: the note is needed
    state = driver.execute_script("show(5); return document.getElementById('state').hidden ?"
                                  " null : document.getElementById('state').textContent")
    assert (state is None) == (optimizer == "sgd")
    if optimizer != "sgd":  # the state the rule names, after this step
        assert state.startswith("the optimizer's state after this step: ")
        for symbol in {"momentum": "v(w)", "nesterov": "v(w)", "adam": "m(w)", "adamw": "s(w)",
                       "rmsprop": "s(w)", "adagrad": "s(w)", "adabelief": "m(w)",
                       "lion": "m(w)"}[optimizer], "":
            assert symbol in state


def test_the_state_shown_is_the_state_the_step_used(tmp_path):
    # momentum: p ← p − lr · v with the v shown (to 1 ulp: XLA may fuse the multiply-add);
    # Adam: m ← 0.9 · m + 0.1 · g from one step's m to the next, t counts the steps
    f32 = np.float32
    for optimizer in ("momentum", "adam"):
        page, out = train(tmp_path / optimizer, f"--optimizer={optimizer}")
        steps = embedded(page.read_text())["steps"]
        for i, step in enumerate(steps[:-1]):
            before, after = f32(out["steps"][i]["w"]), f32(out["steps"][i + 1]["w"])
            if optimizer == "momentum":
                v = f32(step["state"]["v"]["w"])
                np.testing.assert_array_max_ulp(after, before - f32(0.01) * v, maxulp=1)
            else:
                assert step["state"]["t"][""] == str(i + 1)
                m, g = f32(step["state"]["m"]["w"]), f32(out["steps"][i]["grad"])
                m0 = f32(steps[i - 1]["state"]["m"]["w"]) if i else f32(0)
                np.testing.assert_allclose(m, f32(0.9) * m0 + f32(0.1) * g, rtol=2e-7)


# ---- 2: a run that explains itself ----

def test_a_diverging_run_says_what_happened_where_and_why_in_both_languages(driver, tmp_path):
    page, out = train(tmp_path / "en", "--learning_rate=1.0")
    assert out["diverged_at_step"] == 29
    open_page(driver, page, "#step=29")
    def read():
        return driver.execute_script("""const q = id => document.getElementById(id);
          return {banner: q("banner").hidden ? "" : q("banner").textContent,
                  check: q("check").textContent,
                  ticks: [...q("loss-chart").querySelectorAll("text")].map(t => t.textContent)}""")

    view = read()
    assert "diverged at step 29" in view["banner"] and "3.4e38" in view["banner"]
    assert "inf (infinite)" in view["banner"]
    assert "(0, 0.204018) ∪ (0.476538, 0.519014)" in view["banner"]  # what the CLI computed
    assert view["check"].startswith("✗ not finite at this step") and "= inf" in view["check"]
    assert "1e30" in view["ticks"] and "step · (log scale)" in view["ticks"]
    page, _ = train(tmp_path / "ko", "--learning_rate=1.0", "--lang=ko")
    open_page(driver, page, "#step=29")
    view = read()
    assert "스텝 29에서 발산" in view["banner"] and "3.4e38" in view["banner"]
    assert "(0, 0.204018)" in view["banner"] and view["check"].startswith("✗ 이 스텝에서 유한하지")


def test_an_unstable_run_that_has_not_diverged_yet_says_so(driver, tmp_path):
    page, out = train(tmp_path, "--learning_rate=0.3")
    assert out["diverged_at_step"] is None
    open_page(driver, page, "#step=59")
    banner = driver.find_element("id", "banner").text
    assert "unstable" in banner and "(0, 0.204018)" in banner and "used 0.3" in banner
    loss = embedded(page.read_text())["charts"]["loss"]
    assert loss["log"] and loss["ticks"][0] == "1e-1" and float(loss["ticks"][-1]) >= 2.2e15
    check = driver.find_element("id", "check").text
    assert check.startswith("✓ every dloss/dp") and "jax.grad" in check  # what it compares


def test_a_converging_run_has_no_banner(driver, tmp_path):
    page, _ = train(tmp_path)
    open_page(driver, page)
    assert driver.execute_script("return document.getElementById('banner').hidden")


# ---- 4: a quiz that teaches ----

def answer(driver, text):
    box = driver.switch_to.active_element
    assert box.get_attribute("id") == "answer"  # focus is in the answer box, always
    box.send_keys(text, "\n")
    return driver.find_element("id", "feedback").text


def test_the_quiz_keeps_focus_grades_its_hints_and_leaves_with_escape(driver, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page, out = train(tmp_path)
    open_page(driver, page, "#step=0")
    ActionChains(driver).send_keys("q").perform()  # entering the quiz: the answer box
    assert answer(driver, "-2").startswith("✓ Right: dloss/ds = -2.0")
    hint1 = answer(driver, "7")  # dloss/dŷ: the rule first, no local gradient yet
    assert "the chain rule at ŷ: dloss/dŷ = dloss/ds · ∂s/∂ŷ" in hint1 and "= 1" not in hint1
    hint2 = answer(driver, "7")  # then the local gradient, as a formula
    assert "the local gradient: ∂s/∂ŷ = 1" in hint2 and "-2.0" not in hint2
    assert answer(driver, "7").startswith("The answer is dloss/dŷ = -2.0")  # the third try
    answer(driver, "7")  # dloss/dw: the product's local gradient is the other factor, x
    assert "∂ŷ/∂w = x" in answer(driver, "7")
    assert answer(driver, "-2").startswith("✓ Right: dloss/dw = -2.0")
    ActionChains(driver).send_keys(Keys.ARROW_RIGHT).perform()  # the next step: focus, no verdict
    assert driver.find_element("id", "feedback").text == ""
    assert driver.switch_to.active_element.get_attribute("id") == "answer"
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)  # Escape leaves the quiz
    assert driver.execute_script("return location.hash") == "#step=1"
    assert driver.find_element("id", "quiz-panel").get_attribute("hidden") is not None


def test_the_tolerance_is_relative_to_the_steps_own_gradients(driver, tmp_path):
    page, out = train(tmp_path)
    data = embedded(page.read_text())
    at = {n["name"]: k for k, n in enumerate(data["nodes"])}
    step = data["steps"][5]  # x = 3: dloss/dw = 3 · dloss/ds, the step's largest
    want, big = float(step["grads"][at["s"]]), abs(float(step["grads"][at["w"]]))
    assert big == max(abs(float(step["grads"][at[n]])) for n in ("s", "y_hat", "w"))
    open_page(driver, page, "#step=5&quiz")
    # within 0.1 % of the step's largest gradient (0.3 % of this one): right
    assert answer(driver, repr(want + 0.9e-3 * big)).startswith("✓ Right")
    open_page(driver, page, "#step=6&quiz")
    s6 = data["steps"][6]
    want6, big6 = float(s6["grads"][at["s"]]), abs(float(s6["grads"][at["w"]]))
    assert answer(driver, repr(want6 + 1.2e-3 * big6)).startswith("✗ Not yet")  # beyond it
    assert answer(driver, "0").startswith("✗ Not yet")  # "0" is not right late in a run either
    open_page(driver, page, "#step=59&quiz")
    assert abs(float(data["steps"][59]["grads"][at["s"]])) > 1e-3  # once the floor was 0.001
    assert answer(driver, "0").startswith("✗ Not yet")


# ---- 3 and 1: one screen, sized for the room ----

SIZES = """const g = document.getElementById("graph");
const scale = g.getBoundingClientRect().width / +g.getAttribute("viewBox").split(" ")[2];
const fs = e => parseFloat(getComputedStyle(e).fontSize);
return {graph: Math.min(...[...g.querySelectorAll("text.value, text.grad")]
          .map(e => fs(e) * scale)),
        update: Math.min(...[...document.querySelectorAll("#update td, #loss")].map(fs)),
        scroll_h: document.documentElement.scrollHeight,
        scroll_w: document.documentElement.scrollWidth,
        h: innerHeight, w: innerWidth};"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    out = {}
    for model in model_lib.MODELS:
        run = runs.run(Settings(model=model), *LECTURE)
        for lang in ("en", "ko"):
            out[model, lang] = folder / f"{model}-{lang}.html"
            out[model, lang].write_text(stepthrough.page(run, lang), encoding="utf-8")
    run = runs.run(Settings(model="affine", optimizer="adam"), *LECTURE)
    for lang in ("en", "ko"):  # the longest update panel: two parameters, Adam's state
        out["adam", lang] = folder / f"adam-{lang}.html"
        out["adam", lang].write_text(stepthrough.page(run, lang), encoding="utf-8")
    run = runs.run(Settings(learning_rate=1.0), *LECTURE)
    for lang in ("en", "ko"):
        out["diverged", lang] = folder / f"diverged-{lang}.html"
        out["diverged", lang].write_text(stepthrough.page(run, lang), encoding="utf-8")
    return out


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080)])
def test_the_numbers_are_sized_for_the_room(driver, pages, width, height):
    with viewport(driver, width, height):
        open_page(driver, pages["linear", "en"], "#step=5")
        normal = driver.execute_script(SIZES)
        open_page(driver, pages["linear", "en"], "#step=5&present")
        present = driver.execute_script(SIZES)
    assert normal["update"] >= 24  # the lecture's numbers in the update panel
    # the lecture's node values: at 1280×720 the edges carry no labels (so the graph is
    # narrower), the charts are lower and the rounding note and key line fold away
    assert normal["graph"] >= (24 if height == 720 else 26)  # the graph grows with the screen
    assert present["graph"] >= 0.04 * height  # node values: 4 % of the screen's height
    assert present["update"] >= 0.04 * height
    for view in (normal, present):
        assert view["scroll_h"] <= height and view["scroll_w"] <= width


GAPS = """const gaps = [];
for (const tr of document.querySelectorAll("#update tr")) {
  const cells = [...tr.children].map(c => {
    const r = document.createRange();
    r.selectNodeContents(c);
    return [r.getBoundingClientRect(), parseFloat(getComputedStyle(c).fontSize)];
  });
  for (let j = 1; j < cells.length; j++)
    gaps.push((cells[j][0].left - cells[j - 1][0].right) / cells[j][1]);
}
return gaps;"""


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("page", [("linear", "ko"), ("adam", "en")])
def test_the_update_tables_numbers_do_not_run_together(driver, pages, page, width, height):
    # a minus sign or a digit against the number before it reads as one number from the back
    # row: at least a third of a character's height between two cells' texts, in either mode
    with viewport(driver, width, height):
        for state in ("#step=5", "#step=5&present"):
            open_page(driver, pages[page], state)
            gaps = driver.execute_script(GAPS)
            assert gaps and min(gaps) >= 0.28, (state, gaps)


@pytest.mark.parametrize("model", model_lib.MODELS)
def test_browser_zoom_makes_the_numbers_larger(driver, pages, model):
    # Zooming 1280×720 to 125 % and 150 % leaves 1024×576 and 853×480 CSS px, each CSS px
    # 1.25 or 1.5 device px: the graph's numbers in device px grow (the page may scroll)
    sizes = {}
    for zoom, (width, height) in [(1.0, (1280, 720)), (1.25, (1024, 576)), (1.5, (853, 480))]:
        with viewport(driver, width, height):
            open_page(driver, pages[model, "en"], "#step=5")
            view = driver.execute_script(SIZES)
        sizes[zoom] = (view["graph"] * zoom, view["update"] * zoom)
    assert sizes[1.25][0] > sizes[1.0][0] and sizes[1.5][0] > sizes[1.0][0], sizes
    assert sizes[1.25][1] > sizes[1.0][1] and sizes[1.5][1] > sizes[1.0][1], sizes


STATES = ["#step=0", "#step=5", "#step=59", "#step=5&quiz", "#step=5&present",
          "#step=5&quiz&present"]


@pytest.mark.parametrize("page", [*model_lib.MODELS, "diverged", "adam"])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_one_screen_at_1280x720_in_every_state(driver, pages, page, lang):
    problems = []
    with viewport(driver, 1280, 720):
        for state in STATES:
            open_page(driver, pages[page, lang], state)
            view = driver.execute_script(SIZES)
            if view["scroll_h"] > 720 or view["scroll_w"] > 1280:
                problems.append((state, view["scroll_w"], view["scroll_h"]))
            over = driver.execute_script(EVERY_STEP)  # every step of the run in this state
            if over:
                problems.append((state, "steps", over[:5]))
        open_page(driver, pages[page, lang], "#step=1&quiz")  # a finished quiz step
        before = driver.execute_script(RECTS)
        for _ in range(60):
            if driver.execute_script("return quizDone(step)"):
                break
            answer(driver, "1e9")
            assert driver.execute_script(RECTS) == before  # nothing jumps while answering
        assert driver.execute_script("return quizDone(step)")
        view = driver.execute_script(SIZES)
        if view["scroll_h"] > 720:
            problems.append(("finished quiz step", view["scroll_h"]))
    assert problems == []


EVERY_STEP = """const out = [], at = step;
for (let i = 0; i < N; i++) { show(i); const d = document.documentElement;
  if (d.scrollHeight > innerHeight || d.scrollWidth > innerWidth) out.push(i); }
show(at); return out;"""
RECTS = """return ["graph", "update-panel", "loss-chart", "param-chart", "answer"].map(id => {
  const r = document.getElementById(id).getBoundingClientRect();
  return [id, Math.round(r.top), Math.round(r.left), Math.round(r.width), Math.round(r.height)];
});"""


def test_at_1280x720_each_edges_gradient_is_in_the_selected_nodes_explanation(driver, pages):
    # the edges carry no labels on a short wide screen: Tab to w's box and Enter, and the
    # explanation gives the gradient the edge into ŷ passes back (dloss/dŷ · ∂ŷ/∂w)
    from selenium.webdriver.common.keys import Keys

    data = embedded(pages["linear", "en"].read_text())
    step = data["steps"][5]
    names = [n["name"] for n in data["nodes"]]
    with viewport(driver, 1280, 720):
        open_page(driver, pages["linear", "en"], "#step=5")
        assert driver.execute_script("return document.querySelectorAll('#graph .elabel')"
                                     ".length") == 0
        node = driver.find_element("css selector", '#graph g.node[data-node="x"]')
        node.send_keys(Keys.ENTER)
        text = driver.find_element("css selector", "#explain p.bwd-text").text
    assert f"dloss/dx = dloss/dŷ · ∂ŷ/∂x = {step['grads'][names.index('y_hat')]} · " in text
    assert text.endswith(f"= {step['grads'][names.index('x')]}")


def test_at_1280x720_the_rounding_note_opens_over_the_graph_without_moving_anything(driver,
                                                                                   pages):
    data = embedded(pages["linear", "en"].read_text())
    walked = [i for i, s in enumerate(data["steps"]) if "walk" in s]
    if not walked:  # a run whose compiled steps round as the walk does (no FMA on this CPU)
        pytest.skip("this run has no step whose walk rounds differently")
    with viewport(driver, 1280, 720):
        open_page(driver, pages["linear", "en"], f"#step={walked[0]}")
        before = driver.execute_script(RECTS)
        driver.find_element("css selector", "#rounding-box summary").click()
        after = driver.execute_script(RECTS)
        view = driver.execute_script(SIZES)
        note = driver.find_element("id", "rounding")
        assert note.is_displayed() and note.text.startswith("Rounding:")
        driver.execute_script(axe_script())
        violations = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
            ".catch(e => done(String(e)));")
    assert after == before and view["scroll_h"] <= 720
    assert violations == [], [(v["id"], [n["html"][:80] for n in v["nodes"][:3]])
                              for v in violations]


def test_the_keys_are_behind_a_question_mark(driver, pages):
    with viewport(driver, 1280, 720):
        open_page(driver, pages["linear", "en"])
        help_box = driver.find_element("id", "help")
        assert not help_box.is_displayed()
        driver.find_element("id", "help-btn").click()
        assert help_box.is_displayed() and "Keys:" in help_box.text
        assert driver.find_element("id", "help-btn").get_attribute("aria-expanded") == "true"


# ---- 5: the lecture's notation ----

def test_the_lectures_notation_and_words(driver, pages):
    open_page(driver, pages["linear", "ko"], "#step=5")
    text = driver.execute_script("return document.body.innerText")
    assert "ŷ = x·w" in text and "손실 = s²" in text and "확률적 경사 하강법(SGD)" in text
    assert "y_hat" not in text and "linear" not in text and "-0.0" not in text
    assert driver.execute_script("return document.documentElement.lang") == "ko"
    assert pages["linear", "ko"].read_text().startswith('<!DOCTYPE html>\n<html lang="ko">')
    colors = driver.execute_script("""
      const c = s => getComputedStyle(document.querySelector(s)).fill;
      return [c('#graph g.node.input text.grad'), c('#graph g.node.param text.grad')]""")
    assert colors[0] != colors[1]  # the inputs' gradients are muted
    assert "입력은 데이터라서 갱신하지 않습니다" in text
    heads = driver.execute_script(
        "return [...document.querySelectorAll('#update-table thead th')].map(t => t.textContent)")
    assert heads == ["p", "갱신 전", "g = dloss/dp", "Δp = −lr · g", "갱신 후"]
    ticks = driver.execute_script("""const svg = document.getElementById("param-chart"),
      b = svg.getBoundingClientRect();
      return [...svg.querySelectorAll("text")].map(t => { const r = t.getBoundingClientRect();
        return r.left >= b.left - 0.5 && r.right <= b.right + 0.5; })""")
    assert all(ticks)  # no clipped tick


# ---- 6: a phone ----

def test_on_a_phone_the_whole_lecture_graph_is_visible_and_no_key_help(driver, pages):
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": True,
                                                                  "maxTouchPoints": 5})
    with viewport(driver, 390, 844, mobile=True):
        open_page(driver, pages["linear", "en"], "#step=5&quiz")
        view = driver.execute_script("""const w = document.getElementById("graph-wrap"),
          g = document.getElementById("graph").getBoundingClientRect();
          const labels = [...document.querySelectorAll("#graph text")].every(t => {
            const r = t.getBoundingClientRect();
            return r.left >= g.left - 0.5 && r.right <= g.right + 0.5; });
          return {fits: w.scrollWidth <= w.clientWidth, labels,
                  help: getComputedStyle(document.getElementById("help-btn")).display}""")
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": False})
    assert view == {"fits": True, "labels": True, "help": "none"}


# ---- 7: axe-core, every rule, no violations ----

def axe_script():
    axe = pytest.importorskip("axe_selenium_python", reason="axe-selenium-python not installed")
    return (Path(axe.__file__).parent / "node_modules" / "axe-core" / "axe.min.js").read_text()


@pytest.mark.parametrize("page,state", [(("linear", "en"), "#step=5"),
                                        (("linear", "ko"), "#step=5&quiz"),
                                        (("quadratic", "en"), "#step=5&present"),
                                        (("diverged", "ko"), "#step=29")])
def test_axe_finds_no_violations(driver, pages, page, state):
    source = axe_script()
    with viewport(driver, 1280, 720):
        open_page(driver, pages[page], state)
        driver.execute_script(source)
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations))"
            ".catch(e => done(String(e)));")
    assert result == [], [(v["id"], v["impact"], [n["html"][:80] for n in v["nodes"][:3]])
                          for v in result]


def test_a_long_run_says_when_its_gradients_are_about_0_and_its_last_tick_is_whole(driver,
                                                                                 tmp_path):
    # 1,200 steps: the loss falls to about 1e-14 and the gradients to about 1e-7 of the first
    # step's; the step axis ends at 1199, drawn whole inside the chart
    run = runs.run(Settings(epochs=400), *LECTURE)
    (tmp_path / "long.html").write_text(stepthrough.page(run), encoding="utf-8")
    with viewport(driver, 1280, 720):
        open_page(driver, tmp_path / "long.html", "#step=1199&quiz")
        intro = driver.find_element("id", "quiz-intro").text
        ticks = driver.execute_script("""const out = [];
          for (const id of ["loss-chart", "param-chart"]) {
            const svg = document.getElementById(id), b = svg.getBoundingClientRect();
            for (const t of svg.querySelectorAll("text.step-tick")) {
              const r = t.getBoundingClientRect();
              out.push([t.textContent, r.left >= b.left - 0.5 && r.right <= b.right + 0.5]); } }
          return out;""")
        open_page(driver, tmp_path / "long.html", "#step=3&quiz")
        early = driver.find_element("id", "quiz-intro").text
    assert intro.startswith("At this step every gradient is about 0 (the largest is ")
    assert early.startswith("Quiz: compute dloss/d(node)")
    assert ["1199", True] in ticks and all(whole for _, whole in ticks)


def _formula_model():
    """A model named as a formula model names its nodes: by their sub-expressions."""
    from lec4_jax import chain_rule as cr

    def predict(p, x):
        return cr.add(cr.mul(x, p["w"], name="x*w"), p["b"], name="x*w + b")

    def closed_form(p, x, y):
        s = 2 * (x * p["w"] + p["b"] - y)
        return {"w": s * x, "b": s}

    return model_lib.Model(name="x*w + b", params=("w", "b"), predict=predict,
                           closed_form=closed_form, formula="y_hat = x*w + b",
                           defaults={"w": 1.0, "b": 0.0}, example=(1.0, 2.0, {"w": 1.0, "b": 0.0}))


def test_nodes_named_by_their_formulas_are_labelled_once(driver, monkeypatch, tmp_path):
    monkeypatch.setitem(model_lib.MODELS, "x*w + b", _formula_model())
    run = runs.run(Settings(model="x*w + b"), *LECTURE)
    (tmp_path / "f.html").write_text(stepthrough.page(run), encoding="utf-8")
    with viewport(driver, 1280, 720):
        open_page(driver, tmp_path / "f.html", "#step=5")
        labels = driver.execute_script(
            "return [...document.querySelectorAll('#graph text.lbl')].map(t => t.textContent)")
        view = driver.execute_script(SIZES)
    # the lecture's notation, each node's formula said once (not "x·w + b = x·w + b")
    assert labels == ["x (input)", "y (input)", "w (parameter)", "b (parameter)", "x·w",
                      "x·w + b", "s = x·w + b − y", "loss = s²"]
    assert view["scroll_h"] <= 720 and view["scroll_w"] <= 1280


def test_presentation_mode_is_a_class_and_keeps_the_quiz(driver, pages):
    with viewport(driver, 1280, 720):
        open_page(driver, pages["linear", "en"], "#step=0&quiz&present")
        loaded = driver.execute_script(SIZES)  # the mode laid out at load
        open_page(driver, pages["linear", "en"], "#step=0&quiz")
        driver.execute_script("window.notReloaded = true")
        assert answer(driver, "-2").startswith("✓ Right")  # one gradient found
        driver.find_element("id", "present").click()  # the button: no reload, the quiz stays
        view = driver.execute_script(
            "return [window.notReloaded, location.hash, document.body.className, "
            "qstate(0).at, document.querySelectorAll('#graph .elabel').length, "
            "document.getElementById('present').getAttribute('aria-pressed')]")
        assert view == [True, "#step=0&quiz&present", "quiz present", 1, 0, "true"]
        assert driver.execute_script(SIZES) == loaded  # the same sizes, one screen
        driver.find_element("id", "quiz").send_keys("p")  # and back, with the key

        view = driver.execute_script(
            "return [window.notReloaded, location.hash, document.body.className, qstate(0).at,"
            " document.querySelectorAll('#graph .elabel').length,"
            " document.documentElement.classList.contains('short')]")
        # back to the normal mode's layout: at 1280×720 its edges carry no labels either
        assert view == [True, "#step=0&quiz", "quiz", 1, 0, True]
        assert driver.execute_script(SIZES)["scroll_h"] <= 720
