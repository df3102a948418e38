"""The step-through page: its numbers come from the JAX run, and it works in a real browser.

The browser tests drive headless Chromium from Debian's packages (``chromium`` and
``chromium-driver``, installed by .ci/run) with Selenium; without them they skip, with the reason.
"""

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cli_util import BASE_ENV, SCRIPTS, assert_usage_error, embedded, run_script
from lec4_jax import model as model_lib
from lec4_jax.tool import runs, stepthrough
from lec4_jax.tool.data import InputError
from lec4_jax.tool.settings import Settings

LECTURE = ([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])


def node_index(data):
    return {n["name"]: k for k, n in enumerate(data["nodes"])}


def test_the_page_holds_every_step_computed_by_the_run():
    run = runs.run(Settings(), *LECTURE)
    data = embedded(stepthrough.page(run))
    at = node_index(data)
    assert len(data["steps"]) == 60 and [n["name"] for n in data["nodes"]] == [
        "x", "y", "w", "y_hat", "s", "loss"]
    s0 = data["steps"][0]  # the lecture's worked example: loss 1, then -2, -2, -2
    assert s0["values"] == ["1.0", "2.0", "1.0", "1.0", "-1.0", "1.0"]
    assert s0["grads"][2:] == ["-2.0", "-2.0", "-2.0", "1.0"]
    assert data["disagree"] == []  # the walk equals jax.grad at every step
    for i in (0, 17, 59):
        s = data["steps"][i]
        assert np.float32(s["values"][at["w"]]) == run.history.params["w"][i]
        assert np.float32(s["grads"][at["w"]]) == run.history.grads["w"][i]
    assert np.float32(data["steps"][59]["next"]["w"]) == run.final_params["w"]


MODELS = list(model_lib.MODELS)  # every model of the registry, the fourth one too


@pytest.mark.parametrize("model", MODELS)
def test_one_number_per_quantity_the_compiled_runs(model):
    # The loss and every dloss/dparameter the page holds are the compiled run's, the ones its
    # update used; where the op-by-op walk rounded one differently, the step names the walk's
    # number and how many float32 steps apart it is, once.
    run = runs.run(Settings(model=model), *LECTURE)
    data = embedded(stepthrough.page(run))
    at, f = node_index(data), lambda v: str(np.float32(v))  # noqa: E731
    for i, step in enumerate(data["steps"]):
        assert step["values"][at["loss"]] == f(run.history.loss[i])
        for p in data["params"]:
            assert step["grads"][at[p]] == f(run.history.grads[p][i])
        for k, kind, walk, ulps in step.get("walk", []):
            shown = step[kind + "s"][k]
            assert walk != shown and ulps >= 1
            assert abs(np.float32(walk).view(np.int32) - np.float32(shown).view(np.int32)) == ulps
        assert len({(k, kind) for k, kind, *_ in step.get("walk", [])}) == len(
            step.get("walk", []))


@pytest.mark.parametrize("model", MODELS)
def test_the_graph_is_laid_out_left_to_right(model):
    data = embedded(stepthrough.page(runs.run(Settings(model=model, epochs=1), *LECTURE)))
    nodes, at = data["nodes"], node_index(data)
    places = [(n["col"], n["row"]) for n in nodes]
    assert len(set(places)) == len(places)  # one node per place
    for n in nodes:
        for i in n["inputs"]:
            assert nodes[at[i]]["col"] < n["col"]  # every edge points right
    assert nodes[-1]["name"] == "loss" and nodes[-1]["col"] == max(c for c, _ in places)


def test_every_label_is_translated():
    en, ko = stepthrough.labels("en"), stepthrough.labels("ko")
    assert en.keys() == ko.keys()
    same = {k for k in en if en[k] == ko[k]}
    # only symbols and formulas: "?", "{q} = {walk}", the optimizers' update rules
    assert same <= {"hidden", "ask", "rounding_item_nf", "help", "local", "lr_g", "grad_head",
                    *(k for k in en if k.startswith("rule_"))}, same
    hangul = re.compile("[\uac00-\ud7a3]")
    assert all(hangul.search(v) for k, v in ko.items() if k not in same)
    assert ko["title"] == "역전파 한 스텝씩 따라가기"
    assert "직접 구현한 역전파의 dloss/dp가 모두 jax.grad의 값과 일치합니다" in ko["agrees"]
    for word in ("순전파", "역전파", "학습률", "에포크", "손실", "국소 기울기", "연쇄 법칙",
                 "확률적 경사 하강법(SGD)"):
        assert any(word in v for v in ko.values()), word


def test_a_language_without_labels_is_refused_naming_the_ones_there_are():
    run = runs.run(Settings(epochs=1), *LECTURE)
    with pytest.raises(InputError, match="^'fr' is not one of en, ko$") as info:
        stepthrough.page(run, "fr")
    assert info.value.field == "lang"


def test_the_page_is_capped():
    with pytest.raises(InputError, match="the page holds at most 20,000 steps"):
        stepthrough.check_size(20_001)
    assert_usage_error(run_script("train.py", "--epochs=7000", "--html=p.html"),
                       "--html: the page holds at most 20,000 steps")


def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_exe = shutil.which("chromedriver")
    if not (chrome and driver_exe):
        pytest.skip("no headless browser: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
                "--allow-file-access-from-files"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    return webdriver.Chrome(service=Service(driver_exe), options=options)


@pytest.fixture(scope="module")
def driver():
    d = browser()
    yield d
    d.quit()


@pytest.fixture(scope="module")
def lecture_page(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    proc = subprocess.run([sys.executable, str(SCRIPTS / "train.py"), "--html=page.html",
                           "--output=run.json", "--trace=false"], cwd=folder,
                          capture_output=True, text=True, env=BASE_ENV)
    assert proc.returncode == 0, proc.stderr
    return folder, json.loads((folder / "run.json").read_text())["steps"]


def shown(driver):
    find = driver.find_element
    return {"where": find("id", "where").text,
            "w": find("css selector", "#update-w .p-before").text,
            "grad": find("css selector", "#update-w .p-grad").text,
            "next": find("css selector", "#update-w .p-next").text,
            "loss": find("id", "loss").text}


def assert_matches(view, steps, i):
    # what the page shows is the --output JSON's value, to float32's last digit
    assert view["where"].startswith(f"step {i} / 59")
    assert np.float32(view["w"]) == np.float32(steps[i]["w"])
    assert np.float32(view["grad"]) == np.float32(steps[i]["grad"])
    assert np.float32(view["loss"]) == np.float32(steps[i]["loss"])
    if i + 1 < len(steps):
        assert np.float32(view["next"]) == np.float32(steps[i + 1]["w"])


def test_stepping_through_shows_the_runs_numbers(driver, lecture_page, tmp_path):
    folder, steps = lecture_page
    from selenium.webdriver.common.keys import Keys

    driver.get((folder / "page.html").as_uri())
    assert_matches(shown(driver), steps, 0)
    driver.find_element("id", "next").click()
    assert_matches(shown(driver), steps, 1)
    body = driver.find_element("tag name", "body")
    for _ in range(4):
        body.send_keys(Keys.ARROW_RIGHT)
    assert_matches(shown(driver), steps, 5)
    body.send_keys(Keys.ARROW_LEFT)
    assert_matches(shown(driver), steps, 4)
    assert driver.execute_script("return location.hash") == "#step=4"
    driver.execute_script("const s = document.getElementById('slider');"
                          "s.value = 59; s.dispatchEvent(new Event('input'));")
    assert_matches(shown(driver), steps, 59)
    driver.find_element("id", "prev").click()
    assert_matches(shown(driver), steps, 58)
    driver.save_screenshot(str(tmp_path / "stepthrough.png"))
    assert (tmp_path / "stepthrough.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


@pytest.mark.parametrize("n", [0, 7, 42])
def test_the_url_fragment_opens_a_step(driver, lecture_page, n):
    folder, steps = lecture_page
    driver.get("about:blank")
    driver.get((folder / "page.html").as_uri() + f"#step={n}")
    assert_matches(shown(driver), steps, n)
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


def test_play_advances_and_pauses(driver, lecture_page):
    import time

    folder, steps = lecture_page
    driver.get("about:blank")
    driver.get((folder / "page.html").as_uri() + "#step=3")
    driver.find_element("id", "play").click()
    time.sleep(1.5)
    driver.find_element("id", "play").click()
    at = int(re.match(r"step (\d+)", shown(driver)["where"]).group(1))
    assert 4 <= at <= 8
    time.sleep(0.8)
    assert shown(driver)["where"].startswith(f"step {at} ")  # paused


def test_korean_labels(driver, tmp_path):
    proc = run_script("train.py", f"--html={tmp_path / 'ko.html'}", "--lang=ko", "--trace=false")
    assert proc.returncode == 0, proc.stderr
    driver.get((tmp_path / "ko.html").as_uri())
    assert driver.find_element("id", "next").text == "다음 ▶"
    assert driver.find_element("id", "where").text.startswith("스텝 0 / 59")
    assert os.path.getsize(tmp_path / "ko.html") < 100_000


def test_every_step_of_a_diverged_run_is_the_lectures_arithmetic_in_float32():
    # Each step's forward values and dloss/dnode, from that step's w, are NumPy float32 op by op
    # (x*w, - y, squared; 2s, then times w or x): exact, as the page's walk is eager. The last
    # step shown is the first non-finite one (step 29 at lr 1: its loss overflows); every
    # update chains into the next step's w.
    run = runs.run(Settings(learning_rate=1.0), *LECTURE)
    data = embedded(stepthrough.page(run))
    assert [n["name"] for n in data["nodes"]] == ["x", "y", "w", "y_hat", "s", "loss"]
    steps, f = data["steps"], lambda v: str(np.float32(v))  # noqa: E731
    assert len(steps) == 30 and steps[0]["values"][2] == "1.0" and steps[-1]["values"][5] == "inf"
    assert data["disagree"] == []
    for i, step in enumerate(steps):
        x, y = np.float32(LECTURE[0][i % 3]), np.float32(LECTURE[1][i % 3])
        w = np.float32(step["values"][2])
        with np.errstate(over="ignore", invalid="ignore"):
            y_hat = x * w
            s = y_hat - y
            two_s = np.float32(2) * s
            values, grads = [x, y, w, y_hat, s, s * s], [two_s * w, -two_s, two_s * x, two_s,
                                                         two_s, np.float32(1)]
            update = w - np.float32(1) * np.float32(step["grads"][2])
        walk = {(k, kind): number for k, kind, number, _ in step.get("walk", [])}
        assert step["epoch"] == i // 3
        # the walk's numbers, op by op, except the loss and dloss/dw: the compiled run's (it may
        # fuse x*w - y), with the walk's own listed where they differ
        assert [walk.get((k, "value"), v) for k, v in enumerate(step["values"])] == [
            f(v) for v in values]
        assert [walk.get((k, "grad"), g) for k, g in enumerate(step["grads"])] == [
            f(g) for g in grads]
        assert step["values"][5] == f(run.history.loss[i])
        assert step["grads"][2] == f(run.history.grads["w"][i])
        assert walk.keys() <= {(2, "grad"), (5, "value")}
        assert step["next"]["w"] == f(update)
        if i + 1 < len(steps):
            assert step["next"]["w"] == steps[i + 1]["values"][2]


def test_a_run_diverged_at_its_first_step_has_a_page_of_that_step():
    # w = 1e30: the first loss overflows float32. The page holds that one step, its numbers
    # float32's (s = 1e30, 2s = 2e30, 2s * w = inf), and the update the run made after it
    # (to 1 ulp: XLA may fuse w - lr * g into one rounding).
    run = runs.run(Settings(init={"w": 1e30}), *LECTURE)
    (step,) = embedded(stepthrough.page(run))["steps"]
    assert (step["values"][-1], step["grads"][:3]) == ("inf", ["inf", "-2e+30", "2e+30"])
    want = np.float32(1e30) - np.float32(0.01) * np.float32(2e30)
    np.testing.assert_array_max_ulp(np.float32(step["next"]["w"]), want, maxulp=1)


# ---- the page as a teacher projects it: its graph, its numbers, its layout, its quiz ----

@contextlib.contextmanager
def viewport(driver, width, height, mobile=False):
    """The page's viewport exactly ``width`` x ``height`` CSS px (as a projector or a phone)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def open_page(driver, path, fragment=""):
    driver.get("about:blank")
    driver.get(path.as_uri() + fragment)
    driver.execute_script("return document.fonts.ready")
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.fixture(scope="module")
def model_pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    pages = {}
    for model in MODELS:
        run = runs.run(Settings(model=model), *LECTURE)
        for lang in ("en", "ko"):
            pages[model, lang] = folder / f"{model}-{lang}.html"
            pages[model, lang].write_text(stepthrough.page(run, lang), encoding="utf-8")
    return pages


# Every box, every label and every edge of the graph, at every step: boxes and labels overlap
# nothing (a box's own text stays inside it), and no point of an edge lies inside a box that
# is not its source or target; each forward edge ends, with an arrowhead, on its target's left
# side and each backward edge on its source's right side.
GEOMETRY = """
const rect = e => { const r = e.getBoundingClientRect();
  return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
const hit = (a, b, d) => a.l + d < b.r && b.l + d < a.r && a.t + d < b.b && b.t + d < a.b;
const inside = (p, r, d) => p.x > r.l + d && p.x < r.r - d && p.y > r.t + d && p.y < r.b - d;
const nodes = [...document.querySelectorAll("#graph g.node")];
const problems = [];
const steps = arguments[0];
for (const i of steps) {
  show(i);
  const boxes = nodes.map(g => ({name: g.dataset.node, r: rect(g.querySelector("rect")),
                                 texts: [...g.querySelectorAll("text")].map(rect)}));
  const labels = [...document.querySelectorAll("#graph text.efwd, #graph text.ebwd")]
    .map(t => ({what: (t.dataset.edge || "legend") + " " + t.textContent, r: rect(t)}));
  boxes.forEach((a, j) => {
    a.texts.forEach(t => { if (t.l < a.r.l || t.r > a.r.r || t.t < a.r.t || t.b > a.r.b)
      problems.push(`step ${i}: text outside box ${a.name}`); });
    boxes.slice(j + 1).forEach(b => { if (hit(a.r, b.r, 0))
      problems.push(`step ${i}: boxes ${a.name} and ${b.name} overlap`); });
    labels.forEach(l => { if (hit(a.r, l.r, 0))
      problems.push(`step ${i}: label ${l.what} overlaps box ${a.name}`); });
  });
  labels.forEach((a, j) => labels.slice(j + 1).forEach(b => { if (hit(a.r, b.r, 0))
    problems.push(`step ${i}: labels ${a.what} and ${b.what} overlap`); }));
}
const boxOf = {};
nodes.forEach((g, k) => { boxOf[k] = rect(g.querySelector("rect")); });
let edges = 0;
for (const path of document.querySelectorAll("#graph path.fwd, #graph path.bwd")) {
  if (!path.dataset.edge) continue;  // the legend's
  edges += 1;
  const s = +path.dataset.source, t = +path.dataset.target, m = path.getScreenCTM();
  const at = d => new DOMPoint(path.getPointAtLength(d).x, path.getPointAtLength(d).y)
    .matrixTransform(m);
  const len = path.getTotalLength();
  for (let d = 0; d <= len; d += 2) {
    const p = at(d);
    for (const k in boxOf) if (+k !== s && +k !== t && inside(p, boxOf[k], 0.5))
      problems.push(`${path.dataset.edge} passes under ${nodes[k].dataset.node}`);
  }
  const end = at(len), fwd = path.classList.contains("fwd"), goal = boxOf[fwd ? t : s];
  const side = fwd ? goal.l : goal.r;
  if (Math.abs(end.x - side) > 1 || end.y < goal.t || end.y > goal.b)
    problems.push(`${path.dataset.edge} (${fwd ? "forward" : "backward"}) ends at ` +
                  `${end.x},${end.y}, not on its ${fwd ? "target" : "source"}`);
  if (!/url\\(#ah[fb]\\)/.test(path.getAttribute("marker-end")))
    problems.push(`${path.dataset.edge} has no arrowhead`);
}
return {problems: [...new Set(problems)], edges};
"""


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_graph_has_routed_edges_and_nothing_overlaps_at_any_step(driver, model_pages,
                                                                     model, lang):
    with viewport(driver, 1280, 720):
        open_page(driver, model_pages[model, lang])
        result = driver.execute_script(GEOMETRY, list(range(60)))
    inputs = sum(len(n["inputs"]) for n in embedded(model_pages[model, lang].read_text())["nodes"])
    assert result["edges"] == 2 * inputs  # a forward and a backward edge per input
    assert result["problems"] == []


@pytest.mark.parametrize("width,height", [(1280, 720), (390, 844)])
def test_the_graph_has_no_overlap_on_a_phone_or_a_projector(driver, lecture_page, width, height):
    with viewport(driver, width, height, mobile=width < 700):
        open_page(driver, lecture_page[0] / "page.html")
        assert driver.execute_script(GEOMETRY, [0, 5, 59])["problems"] == []


# Each step's graph (dloss/dw in w's box and on the dashed edge into w; the loss's value),
# update line (g) and loss line, read from the screen at once.
READ_ALL = """
const out = [];
for (let i = 0; i < arguments[0]; i++) {
  show(i);
  const q = s => document.querySelector(s).textContent;
  out.push({graph_grad: q('#graph text.grad[data-node="w"]'),
            edge_grad: q('#graph text.ebwd[data-edge="w>y_hat:1"]'),
            graph_loss: q('#graph text.value[data-node="loss"]'),
            update_grad: q("#update-w .p-grad"), update_w: q("#update-w .p-before"),
            graph_w: q('#graph text.value[data-node="w"]'), loss: q("#loss"),
            rounding: q("#rounding")});
}
return out;
"""


def test_every_step_shows_one_number_per_quantity(driver, lecture_page):
    folder, steps = lecture_page
    data = embedded((folder / "page.html").read_text())
    open_page(driver, folder / "page.html")
    shown = driver.execute_script(READ_ALL, 60)
    for i, (view, step) in enumerate(zip(shown, data["steps"])):
        assert view["graph_grad"] == view["edge_grad"] == view["update_grad"], i
        assert view["graph_loss"] == view["loss"] and view["graph_w"] == view["update_w"], i
        assert np.float32(view["update_grad"]) == np.float32(steps[i]["grad"])  # the run's
        assert np.float32(view["loss"]) == np.float32(steps[i]["loss"])
        walk = step.get("walk", [])
        # where the walk rounded differently, the page says so once, with the walk's number
        assert (view["rounding"] != "") == bool(walk), i
        assert view["rounding"].count("Rounding") == (1 if walk else 0)
        for _, _, number, ulps in walk:
            assert f"{number} (a difference of {ulps} in the last place)" in view["rounding"]


PANELS = ["graph-panel", "update-panel", "loss-chart", "param-chart"]
LAYOUT = """
const r = id => { const b = document.getElementById(id).getBoundingClientRect();
  return {top: b.top, bottom: b.bottom, left: b.left, right: b.right}; };
const sizes = [];
for (const e of document.querySelectorAll(
    "#graph text.num, #update td, #loss, .chart text, #where, #explain p, .chart-legend")) {
  const svg = e.closest("svg");
  const scale = svg && svg.getAttribute("viewBox") ?
    svg.getBoundingClientRect().width / +svg.getAttribute("viewBox").split(" ")[2] : 1;
  sizes.push(parseFloat(getComputedStyle(e).fontSize) * scale);
}
const chart = id => ({ticks: document.querySelectorAll(`#${id} text`).length,
  now: document.querySelectorAll(`#${id} .now`).length,
  final: document.querySelectorAll(`#${id} .final`).length});
return {panels: Object.fromEntries(arguments[0].map(id => [id, r(id)])),
        width: innerWidth, height: innerHeight,
        scroll_width: document.documentElement.scrollWidth, min_font: Math.min(...sizes),
        charts: [chart("loss-chart"), chart("param-chart")],
        legends: [document.getElementById("loss-legend").textContent,
                  document.getElementById("param-legend").textContent]};
"""


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_on_a_projector_everything_is_in_view(driver, model_pages, model, lang):
    with viewport(driver, 1280, 720):
        open_page(driver, model_pages[model, lang], "#step=5")
        view = driver.execute_script(LAYOUT, PANELS)
    for panel, box in view["panels"].items():  # all in view at once, without scrolling
        assert box["top"] >= 0 and box["bottom"] <= 720 and box["right"] <= 1280, panel
    assert view["scroll_width"] <= 1280
    for chart in view["charts"]:  # axes with ticks, the current step marked, the final value
        assert chart["ticks"] >= 5 and chart["now"] >= 2 and chart["final"] >= 1
    assert all(("final" if lang == "en" else "최종") in text for text in view["legends"])
    # the graph fills the room the rest leaves it (at 1280×720 without edge labels: the
    # smallest number is then a chart's 16 px for the lecture); a wider graph is scaled to the
    # screen's width (quadratic: about 10 px in the quiz; test_page_classroom.py measures the
    # node values and the update panel)
    assert view["min_font"] >= (13 if model == model_lib.LECTURE.name else 7)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_on_a_phone_the_panels_stack_and_nothing_is_cut_off(driver, model_pages, lang):
    with viewport(driver, 390, 844, mobile=True):
        open_page(driver, model_pages["quadratic", lang], "#step=5")
        view = driver.execute_script(LAYOUT, PANELS + ["explain", "controls"])
        graph_scrolls = driver.execute_script(
            "const w = document.getElementById('graph-wrap'); return w.scrollWidth > w.clientWidth")
    assert view["scroll_width"] <= 390  # no sideways scrolling of the page
    boxes = view["panels"]
    for panel, box in boxes.items():
        assert box["left"] >= 0 and box["right"] <= 390, panel
    assert boxes["update-panel"]["top"] >= boxes["graph-panel"]["bottom"]
    assert boxes["loss-chart"]["top"] >= boxes["update-panel"]["bottom"]
    assert boxes["param-chart"]["top"] >= boxes["loss-chart"]["bottom"]
    assert graph_scrolls  # the wide graph scrolls inside its own panel, at a readable size
    assert view["min_font"] >= 11.9  # the graph at 3/4 size, the rest at 16 px


def has_cjk_font():
    try:
        fonts = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True,
                               text=True, timeout=30).stdout
    except OSError:
        return False
    return bool(fonts.strip())


def test_the_korean_page_is_korean_in_a_font_with_hangul(driver, model_pages, tmp_path):
    if not has_cjk_font():
        pytest.skip("no font with Hangul: apt-get install fonts-noto-cjk")
    open_page(driver, model_pages["linear", "ko"])
    text = driver.execute_script("""
      const probe = (s, family) => { const e = document.createElement("span");
        e.textContent = s; e.style.font = "32px " + family; document.body.appendChild(e);
        const w = e.getBoundingClientRect().width; e.remove(); return w; };
      const family = getComputedStyle(document.getElementById("title")).fontFamily;
      return {family, title: document.getElementById("title").textContent,
              about: document.getElementById("about").textContent,
              check: document.getElementById("check").textContent,
              where: document.getElementById("where").textContent,
              hangul: probe("역전파역전파", family),
              tofu: probe("\\uE000\\uE001\\uE002\\uE003\\uE004\\uE005", family),
              latin: probe("iiiiii", family)};""")
    assert "Noto Sans CJK KR" in text["family"] and "Malgun Gothic" in text["family"]
    # a font with Hangul draws each syllable about 1 em wide; missing glyphs draw as boxes
    assert text["hangul"] > 5 * 32 * 0.8 and abs(text["hangul"] - text["tofu"]) > 5
    assert text["title"] == "역전파 한 스텝씩 따라가기"
    assert "직접 구현한 역전파의 dloss/dp가 모두 jax.grad의 값과 일치합니다" in text["check"]
    assert "학습률" in text["about"] and text["where"].startswith("스텝 0 / 59 · 에포크 0 · 표본")
    run = runs.run(Settings(model="affine", learning_rate=1.0), *LECTURE)
    (tmp_path / "diverged.html").write_text(stepthrough.page(run, "ko"), encoding="utf-8")
    open_page(driver, tmp_path / "diverged.html")
    banner = driver.find_element("id", "banner").text
    assert banner.startswith(f"이 학습은 스텝 {run.diverged_at}에서 발산했습니다.")


def answer(driver, text):
    box = driver.find_element("id", "answer")
    box.clear()
    box.send_keys(text)
    box.send_keys("\n")
    return driver.find_element("id", "feedback").text


def test_the_quiz_checks_the_learners_gradients(driver, lecture_page):
    folder, _ = lecture_page
    open_page(driver, folder / "page.html", "#quiz")
    find = driver.find_element
    hidden = driver.execute_script(
        "return [...document.querySelectorAll('#graph text.grad, #graph text.ebwd[data-edge]')]"
        ".map(t => t.textContent)")
    assert sorted(hidden) == ["1.0"] + ["?"] * 10  # only dloss/dloss = 1 is given
    assert find("css selector", "#update-w .p-grad").text == "?"
    assert "0.1 %" in find("id", "quiz-intro").text  # the tolerance is stated
    # from the loss back to the parameter: s, then y_hat, then w (step 0: all -2.0)
    assert find("id", "ask").text == "dloss/ds = ?"
    assert answer(driver, "banana") == "Type a number, for example -2.5."
    assert answer(driver, "-2").startswith("✓ Right: dloss/ds = -2.0")
    assert find("id", "score").text == "score: 1 of 1 right"
    assert find("css selector", '#graph text.grad[data-node="s"]').text == "-2.0"
    assert find("id", "ask").text == "dloss/dŷ = ?"
    feedback = answer(driver, "2")  # wrong: a hint, the chain rule, not the answer
    assert feedback.startswith("✗ Not yet (try 1 of 3).")
    assert "dloss/dŷ = dloss/ds · ∂s/∂ŷ" in feedback and "-2.0" not in feedback
    feedback = answer(driver, "-2.02")  # 1 % off: wrong; the local gradient, as a formula
    assert feedback.startswith("✗ Not yet (try 2 of 3).")
    assert "the local gradient: ∂s/∂ŷ = 1" in feedback and "-2.0" not in feedback
    feedback = answer(driver, "4")  # the third wrong try reveals it
    assert feedback.startswith("The answer is dloss/dŷ = -2.0")
    assert find("id", "score").text == "score: 1 of 2 right"
    feedback = answer(driver, "-2.0015")  # within 0.1 %
    assert feedback.startswith("✓ Right: dloss/dw = -2.0")
    assert "gradients are all found" in feedback
    assert find("id", "score").text == "score: 2 of 3 right"
    assert find("css selector", "#update-w .p-grad").text == "-2.0"  # the update is shown now
    assert driver.execute_script("return location.hash") == "#step=0&quiz"
    find("id", "next").click()  # the next step asks again; the score is the run's
    assert find("id", "ask").text == "dloss/ds = ?"
    answer(driver, "1")
    assert "the local gradient: ∂loss/∂s = 2·s." in answer(driver, "1")
    find("id", "quiz").click()
    assert driver.execute_script("return location.hash") == "#step=1"
    assert find("css selector", "#update-w .p-grad").text != "?"


def test_everything_works_from_the_keyboard_with_labels_and_a_visible_focus(driver,
                                                                            lecture_page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    folder, steps = lecture_page
    open_page(driver, folder / "page.html", "#step=2")
    unnamed = driver.execute_script("""
      return [...document.querySelectorAll("button, input, [tabindex]")].filter(e =>
        !(e.getAttribute("aria-label") || e.textContent.trim() ||
          document.querySelector(`label[for="${e.id}"]`))).map(e => e.outerHTML)""")
    assert unnamed == []
    keys = ActionChains(driver)
    keys.send_keys(Keys.TAB).perform()  # the first control: previous
    focus = driver.execute_script("""const e = document.activeElement, s = getComputedStyle(e);
      return [e.id, s.outlineStyle, parseFloat(s.outlineWidth)]""")
    assert focus[0] == "prev" and focus[1] != "none" and focus[2] >= 2
    keys.send_keys(Keys.ENTER).perform()
    assert_matches(shown(driver), steps, 1)
    keys.send_keys(Keys.TAB, Keys.TAB, Keys.ENTER).perform()  # next
    assert_matches(shown(driver), steps, 2)
    for _ in range(5):  # slider, quiz, then the graph's nodes
        keys.send_keys(Keys.TAB).perform()
    node = driver.execute_script("return document.activeElement.dataset.node")
    keys.send_keys(Keys.ENTER).perform()
    assert driver.find_element("id", "explain").text.startswith(f"forward: {node} = ")
    keys.send_keys("q").perform()
    assert driver.execute_script("return location.hash") == "#step=2&quiz"
    driver.find_element("id", "answer").send_keys("q")  # typing is not a shortcut
    assert driver.execute_script("return location.hash") == "#step=2&quiz"


@pytest.mark.parametrize("reduce", [False, True])
def test_play_in_the_link_plays_unless_motion_is_reduced(driver, lecture_page, reduce):
    import time

    folder, _ = lecture_page
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [
        {"name": "prefers-reduced-motion", "value": "reduce" if reduce else "no-preference"}]})
    try:
        open_page(driver, folder / "page.html", "#step=3&play")
        time.sleep(1.3)
        # one read, in the page itself: playing redraws the panels between two reads
        where = driver.execute_script("return document.getElementById('where').innerText")
        at = int(re.match(r"step (\d+)", where).group(1))
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert at == 3 if reduce else at > 3


def _w_times_w_model():
    """A model the registry does not have, y_hat = (w·w)·x: a node that takes the same input
    twice, so two edges run from w to one box and dloss/dw is the sum of what they carry."""
    from lec4_jax import chain_rule as cr

    def predict(p, x):
        return cr.mul(cr.mul(p["w"], p["w"], name="w2"), x, name="y_hat")

    def closed_form(p, x, y):
        return {"w": 2 * (p["w"] * p["w"] * x - y) * 2 * p["w"] * x}

    return model_lib.Model(name="w_times_w", params=("w",), predict=predict,
                           closed_form=closed_form, formula="y_hat = (w*w)*x",
                           defaults={"w": 1.0}, example=(1.0, 2.0, {"w": 1.0}))


def test_a_node_that_takes_one_input_twice_is_drawn_and_quizzed(driver, monkeypatch,
                                                                 tmp_path):
    monkeypatch.setitem(model_lib.MODELS, "w_times_w", _w_times_w_model())
    run = runs.run(Settings(model="w_times_w", learning_rate=0.005), *LECTURE)
    page = stepthrough.page(run)
    data = embedded(page)
    at = node_index(data)
    assert data["nodes"][at["w2"]]["inputs"] == ["w", "w"] and data["passed_edges"] == [0, 1]
    for i, step in enumerate(data["steps"]):  # the two edges carry what adds up to dloss/dw
        assert step["passed"][0] == step["passed"][1]
        assert step["grads"][at["w"]] == str(np.float32(run.history.grads["w"][i]))
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    with viewport(driver, 1280, 720):
        open_page(driver, tmp_path / "page.html", "#step=1&quiz")
        result = driver.execute_script(GEOMETRY, list(range(0, 60, 7)))
        assert result["problems"] == [] and result["edges"] == 2 * 7
        for _ in range(3):  # s, y_hat, w2: reveal each
            for wrong in ("1e9", "2e9", "3e9"):
                answer(driver, wrong)
        assert driver.find_element("id", "ask").text == "dloss/dw = ?"
        hint = answer(driver, "1e9")
        assert "dloss/dw = dloss/dw2 · ∂w2/∂w + dloss/dw2 · ∂w2/∂w" in hint


@pytest.mark.parametrize("settings, steps, step_ticks, loss_ticks", [
    # 60 steps: ticks every 20 from 0, and the last; the loss from 7.8 down to 7.6e-5 spans
    # five decades: a log axis, every other power of ten
    (Settings(), 60, ["0", "20", "40", "59"], ["1e-5", "1e-3", "1e-1", "1e1"]),
    # one epoch: the loss within one decade, a linear axis from 0 to its highest, 7.8
    (Settings(epochs=1), 3, ["0", "1", "2"], ["0", "2", "4", "6", "8"]),
    # 1,200 steps: 0, 500 and the last (1,000 is too close to it to be drawn)
    (Settings(epochs=400), 1200, ["0", "500", "1199"], ["1e-14", "1e-10", "1e-6", "1e-2", "1e2"]),
    # a diverging run: 1 up to float32's largest, 3.4e38
    (Settings(learning_rate=1.0), 30, ["0", "10", "20", "29"],
     ["1", "1e10", "1e20", "1e30", "1e40"]),
])
def test_the_charts_axes_start_at_step_0_and_span_the_loss(settings, steps, step_ticks,
                                                           loss_ticks):
    data = embedded(stepthrough.page(runs.run(settings, *LECTURE)))
    assert len(data["steps"]) == steps
    charts = data["charts"]
    assert charts["step_ticks"] == step_ticks
    loss = charts["loss"]
    assert loss["ticks"] == loss_ticks and loss.get("log", False) == ("e" in loss_ticks[-1])
    assert loss["lo"] == float(loss_ticks[0]) and loss["hi"] == float(loss_ticks[-1])
    finite = [float(s["values"][-1]) for s in data["steps"]]
    finite = [v for v in finite if np.isfinite(v) and (v > 0 or not loss.get("log"))]
    assert loss["lo"] <= min(finite) and max(finite) <= loss["hi"]


@pytest.mark.parametrize("lo, hi, ticks", [
    # 0.6 / 0.2 is 2.9999999999999996 and 1.1 / 0.1 is 11.000000000000002 in floating point:
    # the first and last ticks are still lo and hi, not one step beyond
    (0.6, 1.4, ["0.6", "0.8", "1.0", "1.2", "1.4"]),
    (0.7, 1.1, ["0.7", "0.8", "0.9", "1.0", "1.1"]),
    (0.0, 8.0, ["0", "2", "4", "6", "8"]),
    (5.0, 5.0, ["4.0", "4.5", "5.0", "5.5", "6.0"]),   # one value: a unit either side
    (-0.3, 0.1, ["-0.3", "-0.2", "-0.1", "0", "0.1"]),  # -0.0 is written 0
    (1e-7, 3e-7, ["1e-07", "1.5e-07", "2e-07", "2.5e-07", "3e-07"]),
    # from 1e-4 up, fixed notation to the step's decimals; below it, three significant digits
    (0.0, 1.5e-4, ["0", "5e-05", "0.00010", "0.00015"]),
    (2e6, 9e6, ["2e+06", "4e+06", "6e+06", "8e+06", "1e+07"]),
    (-1.7e308, 1.7e308, []),                             # wider than the largest float
    (0.0, float("inf"), []),
])
def test_axis_ticks_are_round_numbers_from_lo_to_hi(lo, hi, ticks):
    assert stepthrough._nice_ticks(lo, hi) == ticks


def test_the_step_axis_is_spaced_by_the_smallest_round_number_for_four_parts():
    # 1, 2 or 5 times a power of ten, the smallest of them at least a quarter of the last step
    # (33 steps: every 10, where a third of the last step would give 20)
    round_numbers = sorted(k * 10**p for k in (1, 2, 5) for p in range(6))
    for last in [*range(5, 2000), 123_456]:
        want = next(n for n in round_numbers if n >= last / 4)
        assert stepthrough._step_spacing(last) == want, last
    assert stepthrough._step_spacing(32) == 10


def test_a_step_where_the_walk_and_jax_grad_disagree_is_named(monkeypatch):
    # The page names the steps where the handwritten walk's dloss/dparameter differs from
    # jax.grad's: here step 4, on one parameter of two (b), planted into jax.grad's side.
    walks = stepthrough._walks

    def planted(model, params, x, y):
        *rest, want = walks(model, params, x, y)
        want = {k: np.array(v) for k, v in want.items()}
        want["b"][4] += 1
        return (*rest, want)

    monkeypatch.setattr(stepthrough, "_walks", planted)
    data = embedded(stepthrough.page(runs.run(Settings(model="affine"), *LECTURE)))
    assert len(data["steps"]) == 60 and data["disagree"] == [4]


@pytest.mark.parametrize("formula, node, local", [
    # a sum of two calls is bracketed as a denominator, as one call is not
    ("x/(exp(w) + exp(b))", "y_hat", ["1/(exp(w) + exp(b))", "−x/(exp(w) + exp(b))²"]),
    ("x/exp(w)", "y_hat", ["1/exp(w)", "−x/exp(w)²"]),
    ("x/(b*exp(w))", "y_hat", ["1/(b*exp(w))", "−x/(b*exp(w))²"]),  # a product ending in a call
    ("log(exp(w)*exp(x))*b", "log(exp(w)*exp(x))", ["1/(exp(w)*exp(x))"]),
    ("log(sigmoid(x*w))", "y_hat", ["1/sigmoid(x*w)"]),
    ("(exp(w)*x)**3", "y_hat", ["3·(exp(w)*x)^2"]),
    ("(exp(w)*x)**2", "y_hat", ["2·(exp(w)*x)"]),         # no power of 1
    ("x*w/2", "y_hat", ["1/2"]),                          # a number stands alone...
    ("x*w/-2", "y_hat", ["1/(-2)"]),                      # ...unless its sign reads as an op
    ("2/(x*w)", "y_hat", ["−2/(x*w)²"]),
])
def test_each_local_gradient_brackets_an_operand_of_more_than_one_term(formula, node, local):
    run = runs.run(Settings(model=formula, epochs=1), *LECTURE)
    data = embedded(stepthrough.page(run))
    assert data["nodes"][node_index(data)[node]]["local"] == local


def test_a_loss_spanning_three_decades_or_more_is_drawn_on_a_log_axis():
    def loss_axis(losses):
        steps = [{"values": [str(v)], "next": {}} for v in losses]
        return stepthrough._charts(steps, ["loss"], [], np.float32)["loss"]

    assert loss_axis([1000.0, 1.0]) == {"lo": 1.0, "hi": 1000.0, "log": True,
                                        "ticks": ["1", "1e1", "1e2", "1e3"]}
    assert loss_axis([1e5, 0.5])["ticks"] == ["1e-1", "1e1", "1e3", "1e5"]  # every other decade
    assert "log" not in loss_axis([999.9, 1.0]) and "log" not in loss_axis([1.0, 2.0])


def test_an_optimizer_state_holding_more_shows_what_the_page_knows(monkeypatch):
    # An optimizer added to the registry whose state holds its hyperparameters too (optax's
    # inject_hyperparams): the page shows its count, the one field it has a symbol for, and
    # leaves the learning rate kept in the state out.
    import jax.numpy as jnp
    import optax

    from lec4_jax.tool import training

    injected = optax.inject_hyperparams(optax.sgd)
    monkeypatch.setitem(training.OPTIMIZERS, "sgd_injected",
                        lambda lr: injected(learning_rate=jnp.asarray(lr)))
    run = runs.run(Settings(optimizer="sgd_injected", epochs=2), *LECTURE)
    state = stepthrough._optimizer_state(run, 6)
    assert list(state) == ["t"] and list(state["t"]) == [""]
    np.testing.assert_array_equal(state["t"][""], [1, 2, 3, 4, 5, 6])


@pytest.mark.parametrize("steps, ticks", [
    (1, ["0"]), (2, ["0", "1"]), (5, ["0", "1", "2", "3", "4"]),
    (6, ["0", "2", "4", "5"]),    # 4 is half a spacing from the last step: kept
    (7, ["0", "2", "4", "6"]), (11, ["0", "5", "10"]),
    (13, ["0", "5", "12"]),       # 10 is less than half a spacing from 12: left out
])
def test_a_step_tick_at_least_half_a_spacing_from_the_last_is_kept(steps, ticks):
    rows = [{"values": ["1.0"], "next": {}}] * steps
    assert stepthrough._charts(rows, ["loss"], [], np.float32)["step_ticks"] == ticks
