"""The browser page at / in headless Chromium (Debian's, driven by Debian's
Selenium) against a real server with the real models: a real photo picked
in the file input is drawn with every face the API finds, the table lists
what the API answers (age, gender, expression, the identity in the chosen
gallery), the canvas carries the boxes, and an error comes back as text. A
screenshot is written under the build folder."""
import json
import os
import pathlib
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

import faceserve

BUILD = pathlib.Path(os.environ.get("BUILD", pathlib.Path(__file__).resolve().parents[2] / "build"))
BOX_RGB = (0x00, 0xC8, 0x53)  # app.js's BOX_COLOR


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1200"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")),
                              options=options)
    yield driver
    driver.quit()


def api_answer(server, photo: pathlib.Path, gallery: str):
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.http_port}/v1/analyze?options.identify.gallery={gallery}",
        data=photo.read_bytes(), headers={"Content-Type": "image/jpeg"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def head(face, name):
    return next((o for p in face.get("predictions", []) for o in p["outputs"] if o["name"] == name),
                None)


def test_page_draws_what_the_api_answers(server, browser, demo):
    with faceserve.Client(server.target) as client:
        client.create_gallery("web-demo")
        client.enroll("web-demo", "ada", [demo / "sample1.jpg"], largest=True)
    photo = demo / "sample1.jpg"
    try:
        browser.get(f"http://127.0.0.1:{server.http_port}/")
        WebDriverWait(browser, 30).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery option")) > 1)
        Select(browser.find_element(By.ID, "gallery")).select_by_value("web-demo")
        browser.find_element(By.ID, "photo").send_keys(str(photo))
        WebDriverWait(browser, 120).until(
            lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "done")
        shot = BUILD / "web-page.png"
        browser.save_screenshot(str(shot))
        print(f"screenshot: {shot}")

        expected = api_answer(server, photo, "web-demo")["faces"]
        rows = browser.find_elements(By.CSS_SELECTOR, "#faces tbody tr.face")
        assert len(rows) == len(expected) >= 2
        for row, face in zip(rows, expected):
            box = face["box"]
            for key in ("x1", "y1", "x2", "y2"):
                assert float(row.get_attribute(f"data-{key}")) == pytest.approx(box[key], abs=0.01)
            cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
            age = next(v["value"] for v in head(face, "age")["regression"]["values"]
                       if v["name"] == "age_years")
            assert cells[2] == str(round(age))
            assert cells[3] == head(face, "gender")["classification"]["label"]
            assert cells[4] == head(face, "expression")["classification"]["label"]
            identity = face["identity"]
            assert cells[5] == (identity["matches"][0]["subject"] if identity.get("identified")
                                else "unknown")
        assert "ada" in [r.find_elements(By.TAG_NAME, "td")[5].text for r in rows]

        # The canvas, at the photo's size, has each box's top edge in the box colour.
        assert browser.execute_script("return document.getElementById('canvas').width") == 1920
        for face in expected:
            b = face["box"]
            pixel = browser.execute_script(
                "const c = document.getElementById('canvas').getContext('2d');"
                "return Array.from(c.getImageData(arguments[0], arguments[1], 1, 1).data);",
                int((b["x1"] + b["x2"]) / 2), int(round(b["y1"])))
            assert all(abs(a - e) <= 8 for a, e in zip(pixel[:3], BOX_RGB)), pixel
    finally:
        with faceserve.Client(server.target) as client:
            client.delete_gallery("web-demo")


def test_page_shows_an_error_as_text(server, browser, tmp_path):
    bad = tmp_path / "not-a-photo.jpg"
    bad.write_bytes(b"<b>not</b> an image")
    browser.get(f"http://127.0.0.1:{server.http_port}/")
    browser.find_element(By.ID, "photo").send_keys(str(bad))
    WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "error")
    status = browser.find_element(By.ID, "status")
    assert status.text.startswith("Error 400") and "UNSUPPORTED_FORMAT" in status.text
    assert status.find_elements(By.TAG_NAME, "b") == []  # text, not HTML
