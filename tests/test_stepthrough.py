"""The step-through page: its numbers come from the JAX run, and it works in a real browser.

The browser tests drive headless Chromium from Debian's packages (``chromium`` and
``chromium-driver``, installed by .ci/run) with Selenium; without them they skip, with the reason.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from cli_util import BASE_ENV, SCRIPTS, assert_usage_error, embedded, run_script
from lec4_jax import runs, stepthrough
from lec4_jax.data import InputError
from lec4_jax.settings import Settings

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


@pytest.mark.parametrize("model", ["linear", "affine", "quadratic"])
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


@pytest.mark.parametrize("model", ["linear", "affine", "quadratic"])
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
    en, ko = stepthrough.LABELS["en"], stepthrough.LABELS["ko"]
    assert en.keys() == ko.keys()
    same = {k for k in en if en[k] == ko[k]}
    assert same <= {"hidden", "ask"}, same  # "?" and "dloss/d{node} = ?" are the same in both
    hangul = re.compile("[\uac00-\ud7a3]")
    assert all(hangul.search(v) for k, v in ko.items() if k not in same)
    assert ko["title"] == "역전파 한 스텝씩 따라가기"
    assert ko["agrees"].endswith("직접 구현한 역전파 결과가 jax.grad와 일치합니다")
    for word in ("순전파", "역전파", "학습률", "에포크", "손실", "국소 기울기", "연쇄 법칙"):
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
