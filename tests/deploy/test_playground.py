"""The web playground (GET / of `senti serve`) in headless Chromium, driven by Selenium through Debian's
chromedriver: typing a review shows the whole text's label, its words highlighted by weight (the spans and
weights of the API's explanation), each sentence's label (the same label the API gives), score bars,
latency and the raw JSON; typing is debounced; a pasted long text is one request, classified in windows;
the UI language switches between English and Chinese.

With SENTI_PLAYGROUND_SCREENSHOT=PATH, test_screenshot also saves a PNG of the page with the default model
(the README's picture): SENTI_PLAYGROUND_SCREENSHOT=docs/playground.png pytest tests/deploy -k screenshot
"""
from __future__ import annotations

import json
import os
import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import require_tool

REVIEW = "这件衣服的质量真的太棒了！物流太慢了，等了一个星期。"
SENTENCES = ["这件衣服的质量真的太棒了！", "物流太慢了，等了一个星期。"]


@pytest.fixture
def browser():
    chromium = require_tool("chromium", "chromium-browser", "google-chrome")
    driver_path = require_tool("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US",
                "--window-size=1100,820", "--force-device-scale-factor=1", "--no-first-run"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def api_label(server, text: str) -> str:
    with urllib.request.urlopen(f"{server.url}/predict?text={urllib.parse.quote(text)}", timeout=30) as r:
        return json.loads(r.read())["label"]


def predict_posts(server) -> int:
    """POST /predict requests the server has answered, from its /metrics."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=30) as r:
        text = r.read().decode()
    return sum(int(n) for n in re.findall(r'senti_requests_total\{endpoint="/predict",code="200",[^}]*\} (\d+)', text))


def shown_sentences(driver) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll('#results .sentence .text')].map((e) => e.textContent)")


def wait_rows(driver, texts: list[str] | int, timeout: float = 30):
    """The result rows, once they show exactly these sentences (or this many)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    done = (lambda shown: shown == texts) if isinstance(texts, list) else (lambda shown: len(shown) == texts)
    WebDriverWait(driver, timeout).until(lambda d: done(shown_sentences(d)))
    return driver.find_elements(By.CSS_SELECTOR, "#results .sentence")


def test_typing_a_review_shows_each_sentence_label(browser, senti_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = senti_server()
    browser.get(server.url + "/")
    assert browser.title == "senti playground"
    WebDriverWait(browser, 20).until(lambda d: "tiny" in d.find_element(By.ID, "model").text)
    posts_before = predict_posts(server)
    box = browser.find_element(By.ID, "input")
    box.send_keys(REVIEW)  # one key event per character, a few ms apart
    rows = wait_rows(browser, SENTENCES)
    for row, sentence in zip(rows, SENTENCES):
        assert row.find_element(By.CSS_SELECTOR, ".text").text == sentence
        expected = api_label(server, sentence)
        assert row.get_attribute("data-label") == expected
        assert row.find_element(By.CSS_SELECTOR, ".label").text == expected  # English UI: the label name
        bars = row.find_elements(By.CSS_SELECTOR, ".bar span")
        assert len(bars) == 2  # negative, positive
        widths = [float(b.value_of_css_property("width").removesuffix("px")) for b in bars]
        assert sum(widths) > 0
    # Debounced: the keystrokes became a few requests, not one each (a loaded machine may pause typing
    # past the 250 ms debounce now and then, hence the margin).
    posts = predict_posts(server) - posts_before
    print(f"\n{len(REVIEW)} keystrokes -> {posts} POST /predict")
    assert 1 <= posts <= len(REVIEW) // 3, posts
    # Latency and the raw answer: one object with the whole text's ranking, sentences and words.
    stats = browser.find_element(By.ID, "latency").text
    assert re.search(r"server [\d.]+ ms · round trip [\d.]+ ms · 2 sentences · 1 request", stats), stats
    raw = json.loads(browser.execute_script("return document.getElementById('raw').textContent"))
    assert [s["label"] for s in raw["sentences"]] == [api_label(server, s) for s in SENTENCES]
    assert browser.find_element(By.CSS_SELECTOR, "#overall .card").get_attribute("data-label") == api_label(server, REVIEW)
    # Why: every word of the explanation is highlighted with its weight, over the original characters.
    marks = browser.execute_script(
        "return [...document.querySelectorAll('#explained mark')].map((m) => [m.textContent, +m.dataset.weight])")
    assert [m[0] for m in marks] == [REVIEW[w["start"]:w["end"]] for w in raw["explanation"]]
    assert [m[1] for m in marks] == pytest.approx([w["weight"] for w in raw["explanation"]], abs=1e-6)
    assert "".join(m[0] for m in marks) == REVIEW  # CJK: every character is a word, punctuation included
    # Chinese UI.
    assert browser.find_element(By.ID, "example").text == "Example"
    browser.find_element(By.ID, "lang-toggle").click()
    assert browser.find_element(By.ID, "example").text == "示例"
    assert "句" in browser.find_element(By.ID, "latency").text
    assert browser.find_element(By.ID, "lang-toggle").text == "English"
    assert not browser.find_element(By.ID, "status").text


def test_pasted_long_text_is_one_request_classified_in_windows(browser, senti_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = senti_server()
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: "tiny" in d.find_element(By.ID, "model").text)
    lines = [f"第{i}条评论：{'很好' if i % 2 else '太差了'}" for i in range(40)]
    text = "\n".join(lines * 3)  # 120 lines, over the 512-token window: chunked
    # What a paste does: the whole text arrives in one input event of type insertFromPaste.
    browser.execute_script(
        "const box = document.getElementById('input'); box.value = arguments[0];"
        "box.dispatchEvent(new InputEvent('input', {inputType: 'insertFromPaste'}));", text)
    rows = wait_rows(browser, lines * 3)
    for i in (0, 17, 39):
        assert rows[i].get_attribute("data-label") == api_label(server, lines[i])
    assert "120 sentences · 1 request" in browser.find_element(By.ID, "latency").text
    raw = json.loads(browser.execute_script("return document.getElementById('raw').textContent"))
    assert raw["chunks"] > 1
    assert f"classified in {raw['chunks']} windows" in browser.find_element(By.ID, "overall").text
    assert not browser.find_element(By.ID, "status").text


@pytest.mark.skipif(not os.environ.get("SENTI_PLAYGROUND_SCREENSHOT"), reason="SENTI_PLAYGROUND_SCREENSHOT not set")
def test_screenshot(browser, senti_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    server = senti_server(model=None, threads=2)  # the default model
    browser.set_window_size(1100, 1000)
    browser.get(server.url + "/")
    WebDriverWait(browser, 20).until(lambda d: d.find_element(By.ID, "model").text)
    browser.find_element(By.ID, "lang-toggle").click()  # Chinese UI
    browser.find_element(By.ID, "example").click()
    wait_rows(browser, 5)
    browser.execute_script("document.getElementById('raw-box').open = true;")
    path = Path(os.environ["SENTI_PLAYGROUND_SCREENSHOT"])
    browser.save_screenshot(str(path))
    assert path.stat().st_size > 10000
