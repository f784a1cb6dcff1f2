"""The web lab end to end in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright; never a
downloaded browser): draw, upload a face, look inside, the playground, and a training job's live curves.
Screenshots go to $CNNLAB_ARTIFACTS (default: the test's temporary folder)."""
from __future__ import annotations

import base64
import os
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("cv2")

from cnnlab.serve.app import create_app  # noqa: E402
from conftest import real_data_dir  # noqa: E402
from serve_helpers import (STROKES, canvas_points, face_png, fer_csv, fer_rows, realistic_mnist_run,  # noqa: E402
                           runs_base, tiny_run)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EMOTIONS = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    path = Path(os.environ.get("CNNLAB_ARTIFACTS") or tmp_path_factory.mktemp("screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def fer_csv_file():
    """FER2013 from the real data folder, or None (the face test then skips)."""
    data = real_data_dir()
    source = data / "fer2013" / "fer2013.csv.gz" if data else None
    return source if source is not None and source.is_file() else None


@pytest.fixture(scope="module")
def server(tmp_path_factory, fer_csv_file):
    """A real uvicorn on 127.0.0.1 serving a tiny MNIST run (and a tiny FER run when the data is here), with
    training allowed; yields its base URL."""
    base = runs_base(tmp_path_factory)
    runs = [tiny_run(base, "digits", data="mnist-mini", limit=1000, epochs=2)]
    if fer_csv_file is not None:
        csv = fer_csv(fer_csv_file, tmp_path_factory.mktemp("fer") / "fer-small.csv", 400)
        runs.append(tiny_run(base, "fer-small", data=str(csv), epochs=1))
    if realistic_mnist_run() is not None:
        runs.append(realistic_mnist_run())
    app = create_app(tmp_path_factory.mktemp("browser-runs"), runs, allow_train=True, warm=True)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.time() + 60
    while not srv.started and time.time() < end:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def open_tab(page, server, tab):
    page.goto(f"{server}/#{tab}")
    page.wait_for_selector("body[data-ready='1']")


def draw(page, strokes):
    """Drag the mouse along each stroke (canvas pixel coordinates) on the drawing canvas."""
    box = page.locator("#draw-canvas").bounding_box()
    scale = box["width"] / 280
    for line in strokes:
        steps = 8 if len(line) < 8 else 1  # straight segments get intermediate points, curves have their own
        x, y = line[0]
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(line, line[1:]):
            for t in range(1, steps + 1):
                page.mouse.move(box["x"] + (x0 + (x1 - x0) * t / steps) * scale,
                                box["y"] + (y0 + (y1 - y0) * t / steps) * scale)
        page.mouse.up()


def final_prediction(page, timeout=30_000) -> str:
    """The verdict once the last request after the pen lifted has answered."""
    page.wait_for_selector("#draw-verdict .big", timeout=timeout)
    page.wait_for_function("() => !window.drawBusy || !window.drawBusy()", timeout=timeout)
    page.wait_for_timeout(300)
    return page.locator("#draw-verdict .big").inner_text()


def test_draw_a_one_and_see_a_prediction(page, server, artifacts):
    open_tab(page, server, "draw")
    page.select_option("#draw-run", "digits")
    draw(page, canvas_points(1))
    digit = final_prediction(page)
    assert digit in "0123456789"
    assert page.locator("#draw-bars .bar").count() == 10
    assert page.locator("#draw-seen").get_attribute("src").startswith("data:image/png")
    page.screenshot(path=str(artifacts / "1-draw.png"), full_page=True)
    assert digit == "1"


def test_ten_digits_drawn_with_the_mouse(page, server, artifacts):
    """Each digit 0-9 drawn with the mouse on the page's canvas, classified by a model trained on full MNIST."""
    real = realistic_mnist_run()
    if real is None:
        pytest.skip("no finished MNIST run (set CNNLAB_MNIST_RUN, or train into ./runs or /tmp/serve-runs)")
    open_tab(page, server, "draw")
    page.select_option("#draw-run", real.name)
    got = []
    for digit in STROKES:
        page.click("#draw-clear")
        draw(page, canvas_points(digit, height=170, slant=0.1))
        got.append(final_prediction(page))
        if digit in (0, 8):
            page.screenshot(path=str(artifacts / f"1-draw-{digit}.png"))
    right = sum(g == str(d) for g, d in zip(got, STROKES))
    print(f"digits drawn with the mouse, classified as {got}: {right}/10 right")
    assert right >= 9


def test_inside_shows_feature_maps_and_a_dot_product(page, server, artifacts):
    open_tab(page, server, "draw")
    page.select_option("#draw-run", "digits")
    draw(page, canvas_points(7))
    final_prediction(page)
    page.click("#draw-inside")
    page.wait_for_selector("#inside-layers canvas.fmap", timeout=30_000)
    assert page.locator("#inside-layers .layer").count() == 2  # mnist-2conv: two convolution layers
    assert page.locator("#inside-kernels canvas").count() == 32
    assert page.locator("#inside-cam").get_attribute("src").startswith("data:image/png")
    page.locator("#inside-layers canvas.fmap").nth(3).click(position={"x": 30, "y": 30})
    page.wait_for_selector("#dot-card:not([hidden]) .explain-text", timeout=20_000)
    assert "Σ window · kernel + bias" in page.locator("#dot-body").inner_text()
    page.screenshot(path=str(artifacts / "3-inside.png"), full_page=True)


def test_upload_a_face_and_see_an_emotion(page, server, artifacts, fer_csv_file):
    if fer_csv_file is None:
        pytest.skip("FER2013 not found (set CNNLAB_DATA)")
    label, face = fer_rows(fer_csv_file, 1)[0]
    open_tab(page, server, "upload")
    page.select_option("#upload-run", "fer-small")  # the tiny FER run: its labels are all but random
    page.evaluate("""(b64) => {  // drag and drop the file onto the drop zone
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "face.png", { type: "image/png" }));
        document.querySelector("#drop").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true,
                                                                              cancelable: true }));
    }""", base64.b64encode(face_png(face)).decode())
    page.wait_for_selector("#upload-verdict .label-main", timeout=30_000)
    shown = page.locator("#upload-verdict .label-main").inner_text()
    assert shown.split()[0].lower() in EMOTIONS and shown.endswith("%")
    page.screenshot(path=str(artifacts / "2-upload.png"), full_page=True)


def test_playground_filters_and_steps_through_an_example(page, server, artifacts):
    open_tab(page, server, "playground")
    page.wait_for_function("() => document.querySelector('#pg-filtered').src.startsWith('data:image/png')",
                           timeout=30_000)
    first = page.locator("#pg-filtered").get_attribute("src")
    page.select_option("#pg-kernel", "gaussian-blur")
    page.wait_for_function(f"() => document.querySelector('#pg-filtered').src !== {first!r}", timeout=20_000)
    equation = page.locator("#ex-equation").inner_text()
    page.click("#ex-next")
    assert page.locator("#ex-equation").inner_text() != equation
    assert page.locator("#ex-input td.win").count() == 9  # a 3×3 window highlighted
    page.screenshot(path=str(artifacts / "4-playground.png"), full_page=True)


def test_training_from_the_page_draws_live_curves(page, server, artifacts):
    open_tab(page, server, "runs")
    page.wait_for_selector("#train-form:not([hidden])")
    page.select_option("#train-data", "mnist-mini")
    page.select_option("#train-model", "mnist-2conv")
    page.fill("#train-epochs", "3")
    page.fill("#train-limit", "5000")
    page.fill("#train-batch", "64")
    blank = page.evaluate("() => document.querySelector('#train-loss').toDataURL()")
    page.click("#train-start")
    # training is fast: wait for the first epoch's event, whatever the status line says by then
    page.wait_for_function("() => runsView.job && runsView.job.live.epochs.length >= 1", timeout=120_000)
    seen, drawn = page.evaluate("() => [runsView.job.live.epochs.length, "
                                "document.querySelector('#train-loss').toDataURL()]")
    assert drawn != blank  # the curve was drawn from the live events
    page.wait_for_function("() => document.querySelector('#train-state').textContent === 'finished'",
                           timeout=120_000)
    assert page.evaluate("() => runsView.job.live.epochs.length") == 3  # every epoch reached the page
    assert "test acc" in page.locator("#train-status").inner_text()
    if seen < 3:
        assert page.evaluate("() => document.querySelector('#train-loss').toDataURL()") != drawn  # and it moved on
    page.wait_for_selector(".run-card canvas")
    page.screenshot(path=str(artifacts / "5-training.png"), full_page=True)
    assert page.locator("#runs-table tbody tr").count() >= 2  # the runs given and the new one
    boxes = page.locator("#runs-table tbody input[type=checkbox]")
    boxes.nth(0).check()
    page.wait_for_function("() => document.querySelectorAll('.run-card').length === 2")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "6-runs-compare.png"), full_page=True)
