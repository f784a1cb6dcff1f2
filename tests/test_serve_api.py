"""The web lab's JSON API through FastAPI's test client: every endpoint, bad requests (4xx with a clear message,
and the server keeps serving), and the digit, face and explain pipelines checked against the library."""
from __future__ import annotations

import base64
import io
import statistics
import struct
import time
import zlib

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")
pytest.importorskip("cv2")
from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402

from cnnlab.training.callbacks import BatchLogs  # noqa: E402
from cnnlab.training.config import TrainConfig  # noqa: E402
from cnnlab.runs.evaluate import predict_logits  # noqa: E402
from cnnlab.explain.inside import feature_maps  # noqa: E402
from cnnlab.models import build  # noqa: E402
from cnnlab.explain.ops.examples import EXAMPLES, compute  # noqa: E402
from cnnlab.explain.ops.filters import KERNELS, filter2d, to_display  # noqa: E402
from cnnlab.data.preprocess import Preprocess  # noqa: E402
from cnnlab.runs.rundir import LoadedRun, load_run  # noqa: E402
from cnnlab.serve.app import create_app  # noqa: E402
from cnnlab.serve.digits import centre_of_mass, ink_of, mnist_digit, stroke_width  # noqa: E402
from cnnlab.serve.faces import find_faces  # noqa: E402
from cnnlab.serve.explain_json import dot_product, explanation_json  # noqa: E402
from serve_helpers import (STROKES, draw_digit, face_png, fer_csv, fer_rows, png_bytes,  # noqa: E402
                           realistic_mnist_run, runs_base, tiny_run)

DIGIT_RUN = "digits"


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    base = runs_base(tmp_path_factory)
    tiny_run(base, DIGIT_RUN, data="mnist-mini", limit=1000, epochs=2)
    return base


@pytest.fixture(scope="module")
def client(runs_dir):
    with TestClient(create_app(runs_dir), raise_server_exceptions=False) as c:
        yield c


def post_image(client, data: bytes, run: str = DIGIT_RUN, path: str = "/api/predict", **fields):
    return client.post(path, files={"file": ("image.png", data, "image/png")}, data={"run": run, **fields})


def decode_png(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


# ── runs ─────────────────────────────────────────────────────────────────────────────────────────────────────
def test_config_and_run_list(client):
    config = client.get("/api/config").json()
    assert config["allow_train"] is False and "mnist-mini" in config["datasets"] and "cnn" in config["models"]
    runs = client.get("/api/runs").json()["runs"]
    run = next(r for r in runs if r["name"] == DIGIT_RUN)
    assert run["kind"] == "digits" and run["status"] == "finished" and run["input_shape"] == [1, 28, 28]
    assert 0.5 < run["test_acc"] <= 1


def test_run_details_have_curves_and_confusion_matrix(client, runs_dir):
    d = client.get(f"/api/runs/{DIGIT_RUN}").json()
    assert [row["epoch"] for row in d["history"]] == [1, 2]
    assert {"train_loss", "val_acc"} <= set(d["history"][0])
    cm = np.array(d["metrics"]["test"]["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 1000  # mnist-mini's test split
    assert d["config"]["model"] == "mnist-2conv"


@pytest.mark.parametrize("name", ["nope", "../digits", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "digits%00",
                                  "a/../../b", ".hidden"])
def test_unknown_and_traversal_run_names_are_404(client, name):
    r = client.get(f"/api/runs/{name}")
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert "run" in detail or "no such page or API path" in detail  # a client may resolve the ../ itself


def test_predict_refuses_traversal_names(client):
    r = post_image(client, png_bytes(draw_digit(1)), run="../../etc")
    assert r.status_code == 404 and "not a valid run name" in r.json()["detail"]


# ── predict ──────────────────────────────────────────────────────────────────────────────────────────────────
def test_drawn_digit_prediction_matches_the_library(client, runs_dir):
    drawing = draw_digit(1)
    r = post_image(client, png_bytes(drawing), mode="digit", top_k=10)
    assert r.status_code == 200, r.text
    out = r.json()
    seen = decode_png(out["input"])
    expected = mnist_digit(ink_of(np.asarray(drawing)))
    assert seen.shape == (28, 28) and np.array_equal(seen, expected)
    run = load_run(runs_dir / DIGIT_RUN)
    probs = predict_logits(run.model, torch.from_numpy(expected[None, None].copy()), run.preprocess,
                           torch.device("cpu"), None, 1, False).softmax(1)[0]
    got = {t["class"]: t["p"] for t in out["top"]}
    assert len(got) == 10 and sum(got.values()) == pytest.approx(1, abs=1e-4)
    assert all(got[str(i)] == pytest.approx(float(probs[i]), abs=1e-5) for i in range(10))
    assert out["mode"] == "digit" and out["kind"] == "digits"


def test_rgb_jpeg_upload_is_read(client):
    buf = io.BytesIO()
    draw_digit(7).convert("RGB").save(buf, format="JPEG", quality=90)
    r = post_image(client, buf.getvalue())
    assert r.status_code == 200 and r.json()["mode"] == "digit"


def bad_png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height pixels, with (almost) no pixel data: a decompression bomb's shape."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data, status, words", [
    (b"", 400, "empty"),
    (b"just some text, not an image", 415, "not a readable image"),
    (png_bytes(np.zeros((8, 8)))[:40], 415, "not a readable image"),  # a truncated PNG
    (bad_png_header(9000, 9000), 413, "megapixel"),
    (png_bytes(np.full((64, 64), 255)), 400, "blank"),  # nothing drawn
])
def test_bad_uploads_are_4xx_with_a_clear_message(client, data, status, words):
    r = post_image(client, data)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert post_image(client, png_bytes(draw_digit(3))).status_code == 200  # and the server keeps serving


def test_too_big_upload_is_413_before_reading_it_all(runs_dir):
    with TestClient(create_app(runs_dir, max_upload=100_000), raise_server_exceptions=False) as small:
        r = post_image(small, b"\x89PNG" + bytes(2_000_000))
        assert r.status_code == 413 and "upload limit" in r.json()["detail"]
        assert post_image(small, png_bytes(draw_digit(3))).status_code == 200


def test_too_big_streamed_upload_is_413(runs_dir):
    """A body sent in chunks without a length is cut off when it passes the cap."""
    def body():
        yield (b'--b\r\nContent-Disposition: form-data; name="run"\r\n\r\ndigits\r\n--b\r\n'
               b'Content-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n')
        for _ in range(100):
            yield bytes(10_000)
        yield b"\r\n--b--\r\n"

    with TestClient(create_app(runs_dir, max_upload=100_000), raise_server_exceptions=False) as small:
        r = small.post("/api/predict", content=body(), headers={"content-type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413 and "upload limit (97.7 KB)" in r.json()["detail"]
        assert post_image(small, png_bytes(draw_digit(3))).status_code == 200


def test_missing_fields_and_bad_modes(client):
    r = client.post("/api/predict", data={"run": DIGIT_RUN})
    assert r.status_code == 422 and "file" in r.json()["detail"]
    r = post_image(client, png_bytes(draw_digit(3)), mode="sideways")
    assert r.status_code == 400 and "mode" in r.json()["detail"]
    r = post_image(client, png_bytes(draw_digit(3)), run="")
    assert r.status_code in (404, 422)


# ── explain ──────────────────────────────────────────────────────────────────────────────────────────────────
def test_explain_returns_every_conv_layer_kernels_and_cam(client, runs_dir):
    drawing = png_bytes(draw_digit(4))
    t0 = time.perf_counter()
    r = post_image(client, drawing, path="/api/explain")
    seconds = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    out = r.json()
    run = load_run(runs_dir / DIGIT_RUN)
    image = torch.from_numpy(decode_png(out["input"])[None].copy())
    maps = feature_maps(run.model, run.preprocess(image[None]))
    assert [layer["label"] for layer in out["layers"]] == [m.label for m in maps]
    first = out["layers"][0]
    tiles = np.frombuffer(base64.b64decode(first["data"]), np.uint8).reshape(len(first["channels"]), 26, 26)
    expected = maps[0].maps[first["channels"][5]]
    scaled = (expected - expected.min()) / max(expected.max() - expected.min(), 1e-12) * 255
    assert np.abs(tiles[5].astype(float) - scaled).max() <= 0.51
    weights = run.model[0].weight.detach().numpy()
    assert np.allclose(np.array(out["kernels"]["values"]), weights, atol=1e-4)
    assert out["cam"]["class"] == out["top"][0]["class"]
    assert decode_png(out["cam"]["overlay"]).shape[2] == 3
    assert seconds < 10  # generous: timing figures are measured separately


def test_explain_for_a_chosen_class(client):
    r = post_image(client, png_bytes(draw_digit(4)), path="/api/explain", **{"class": "9"})
    assert r.status_code == 200 and r.json()["cam"]["class"] == "9"
    r = post_image(client, png_bytes(draw_digit(4)), path="/api/explain", **{"class": "giraffe"})
    assert r.status_code == 400 and "giraffe" in r.json()["detail"]


def test_dot_product_equals_the_layers_output(client):
    drawing = png_bytes(draw_digit(8))
    for layer, channel, row, col in [(0, 3, 10, 12), (1, 7, 4, 5), (0, 0, 0, 0)]:
        r = post_image(client, drawing, path="/api/explain/dot", layer=layer, channel=channel, row=row, col=col)
        assert r.status_code == 200, r.text
        d = r.json()
        assert d["sum"] == pytest.approx(d["conv_output"], abs=1e-3)
        assert d["activated"] == pytest.approx(max(d["conv_output"], 0), abs=1e-3)  # Conv → ReLU
    r = post_image(client, drawing, path="/api/explain/dot", layer=0, channel=99, row=0, col=0)
    assert r.status_code == 400 and "channel 99" in r.json()["detail"]
    r = post_image(client, drawing, path="/api/explain/dot", layer=7, channel=0, row=0, col=0)
    assert r.status_code == 400 and "layer 7" in r.json()["detail"]


@pytest.mark.parametrize("model, shape", [("cnn", (1, 28, 28)), ("resnet20", (3, 32, 32))])
def test_dot_product_through_batch_norm_and_residual_blocks(model, shape):
    torch.manual_seed(0)
    net = build(model, shape, 10).eval()
    run = LoadedRun(None, net, Preprocess("none"), [str(i) for i in range(10)], shape, TrainConfig(), {})
    image = torch.randint(0, 256, shape, dtype=torch.uint8)
    layers = explanation_json(run, image)["layers"]
    for layer in (0, len(layers) // 2, len(layers) - 1):
        d = dot_product(run, image, layer, 1, 2, 3)
        assert d["sum"] == pytest.approx(d["conv_output"], abs=1e-3), (model, layer)


# ── playground ───────────────────────────────────────────────────────────────────────────────────────────────
def test_filters_are_the_gallery(client):
    names = [k["name"] for k in client.get("/api/filters").json()["kernels"]]
    assert names == list(KERNELS)


def test_filter_output_matches_the_reference_ops(client):
    image = np.asarray(draw_digit(2).resize((64, 64)))
    r = client.post("/api/filter", files={"file": ("d.png", png_bytes(image), "image/png")},
                    data={"kernel": "sobel-x"})
    assert r.status_code == 200, r.text
    expected = to_display(filter2d(image.astype(float), KERNELS["sobel-x"].weights), "signed")
    assert np.array_equal(decode_png(r.json()["filtered"]), expected)
    r = client.post("/api/filter", files={"file": ("d.png", png_bytes(image), "image/png")},
                    data={"weights": "0 0 0; 0 1 0; 0 0 0"})
    assert np.array_equal(decode_png(r.json()["filtered"]), image)  # the identity kernel
    r = client.post("/api/filter", data={"kernel": "gaussian-blur"})  # the built-in sample scene
    assert r.status_code == 200 and r.json()["size"] == [192, 192]


@pytest.mark.parametrize("weights, words", [("1 2; 3 4", "3×3"), ("a b c; 1 2 3; 4 5 6", "rows of numbers"),
                                            ("1 2 3; 4 5", "ragged"), ("nan 0 0; 0 1 0; 0 0 0", "finite"),
                                            ("", "kernel")])
def test_bad_kernels_are_400(client, weights, words):
    r = client.post("/api/filter", data={"weights": weights} if weights else {"kernel": "nope"})
    assert r.status_code == 400 and words in r.json()["detail"]


def test_worked_examples_match_the_reference(client):
    examples = client.get("/api/examples").json()["examples"]
    assert [e["name"] for e in examples] == list(EXAMPLES)
    for e in examples:
        worked = compute(EXAMPLES[e["name"]])
        assert np.array_equal(np.array(e["feature_map"]), worked.feature_map) and e["matches"]
        assert e["cells"][0][0].startswith("out[0, 0] = ")


# ── training jobs ────────────────────────────────────────────────────────────────────────────────────────────
def test_training_is_off_by_default(client):
    r = client.post("/api/jobs", json={"data": "mnist-mini"})
    assert r.status_code == 403 and "--allow-train" in r.json()["detail"]


def wait_for(client, job_id, seconds=120):
    end = time.time() + seconds
    while time.time() < end:
        state = client.get(f"/api/jobs/{job_id}?since=0").json()
        if state["state"] not in ("queued", "running"):
            return state
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {seconds} s")


def test_a_training_job_runs_once_at_a_time_and_writes_a_run(runs_dir, tmp_path):
    with TestClient(create_app(tmp_path / "runs", allow_train=True), raise_server_exceptions=False) as c:
        r = c.post("/api/jobs", json={"data": "mnist-mini", "model": "dnn", "limit": 300, "epochs": 1,
                                      "batch_size": 64})
        assert r.status_code == 200, r.text
        job = r.json()
        busy = c.post("/api/jobs", json={"data": "mnist-mini", "epochs": 1})
        assert busy.status_code == 409 and "one job at a time" in busy.json()["detail"]
        state = wait_for(c, job["id"])
        assert state["state"] == "finished", state
        events = [e["event"] for e in state["events"]]
        assert events[0] == "accepted" and {"data", "start", "epoch_end", "end"} <= set(events)
        assert events[-1] == "finished"
        runs = {r["name"]: r for r in c.get("/api/runs").json()["runs"]}
        assert runs[state["run"]]["status"] == "finished"
        stream = c.get(f"/api/jobs/{job['id']}/events")  # server-sent events of a finished job
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert "event: progress" in stream.text and "event: done" in stream.text


def test_a_job_can_be_cancelled(tmp_path):
    started = []

    def endless(cfg, callbacks):  # stands in for cnnlab.training.pipeline.train: reports steps until told to stop
        started.append(cfg)
        while True:
            callbacks.on_batch_end(None, BatchLogs(1, 1, 1, loss=1.0, acc=0.5, mae=None, images_per_s=1))
            time.sleep(0.01)

    with TestClient(create_app(tmp_path, allow_train=True, train_fn=endless)) as c:
        job = c.post("/api/jobs", json={"data": "mnist-mini", "epochs": 3}).json()
        time.sleep(0.1)
        assert c.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
        assert wait_for(c, job["id"], 10)["state"] == "cancelled"
        assert started[0].runs_dir == str(tmp_path) and started[0].epochs == 3


@pytest.mark.parametrize("body, status, words", [
    ({"data": "/etc/passwd"}, 400, "may train on"),
    ({"data": "mnist-mini", "run_name": "../../x"}, 400, "unknown field"),
    ({"data": "mnist-mini", "epochs": 0}, 400, "epochs"),
    ({"data": "mnist-mini", "epochs": "many"}, 400, "epochs"),
    ({"data": "mnist-mini", "model": "skynet"}, 400, "skynet"),
    ([1, 2, 3], 400, "JSON object"),
])
def test_bad_job_requests(tmp_path, body, status, words):
    with TestClient(create_app(tmp_path, allow_train=True)) as c:
        r = c.post("/api/jobs", json=body)
        assert r.status_code == status and words in r.json()["detail"], r.text
        assert c.get("/api/jobs/nothing").status_code == 404


# ── the digit pipeline ───────────────────────────────────────────────────────────────────────────────────────
def test_digit_is_centred_by_mass_in_a_20_pixel_box():
    for digit in (1, 4, 7):
        out = mnist_digit(ink_of(np.asarray(draw_digit(digit, offset=(-50, 30), height=120))))
        rows, cols = np.nonzero(out > 0)
        assert max(rows.max() - rows.min(), cols.max() - cols.min()) + 1 in (20, 21)  # 20 + an anti-aliased edge
        cy, cx = centre_of_mass(out.astype(float))
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # MNIST's mean centre of mass is (14.0, 14.0)


def test_pen_width_is_brought_to_mnists(mini):
    """However thick the pen, the 28×28 digit's ink is close to MNIST's own for that digit."""
    images, labels = mini["train"].images[:, 0].float() / 255, mini["train"].labels
    for digit in (0, 1, 7):
        mnist_ink = float(images[labels == digit].sum((1, 2)).mean())
        for pen in (5, 18, 40):
            ink = mnist_digit(ink_of(np.asarray(draw_digit(digit, pen=pen)))).sum() / 255
            assert 0.75 < ink / mnist_ink < 1.3, (digit, pen, ink, mnist_ink)


def test_stroke_width_estimate():
    for pen in (6, 12, 24):
        assert stroke_width(ink_of(np.asarray(draw_digit(7, pen=pen)))) == pytest.approx(pen, abs=2)


def test_ink_is_read_from_either_polarity_and_from_alpha():
    drawing = np.asarray(draw_digit(5))
    dark_on_light = mnist_digit(ink_of(drawing))
    assert np.array_equal(mnist_digit(ink_of(255 - drawing)), dark_on_light)
    alpha = 255 - drawing  # a transparent canvas with the ink in its alpha channel
    assert np.abs(mnist_digit(ink_of(np.zeros_like(drawing), alpha)).astype(int) - dark_on_light).max() <= 1
    with pytest.raises(ValueError, match="blank"):
        mnist_digit(np.zeros((50, 50)))


def test_ten_drawn_digits_with_a_real_mnist_model(runs_dir):
    """Each digit 0-9 drawn as on the page, through /api/predict, with a model trained on full MNIST."""
    path = realistic_mnist_run()
    if path is None:
        pytest.skip("no finished MNIST run (set CNNLAB_MNIST_RUN, or train into ./runs or /tmp/serve-runs)")
    with TestClient(create_app(runs_dir, [path])) as c:
        name = next(r["name"] for r in c.get("/api/runs").json()["runs"] if r["dataset"] == "mnist")
        got = []
        for digit in STROKES:
            r = post_image(c, png_bytes(draw_digit(digit, slant=0.1)), run=name, mode="digit")
            got.append(int(r.json()["top"][0]["class"]))
    right = sum(g == d for g, d in zip(got, STROKES))
    print(f"drawn digits 0-9 classified as {got}: {right}/10 right")
    assert right >= 9


# ── faces ────────────────────────────────────────────────────────────────────────────────────────────────────
@pytest.fixture(scope="module")
def fer_run(data_dir, tmp_path_factory):
    base = runs_base(tmp_path_factory)
    csv = fer_csv(data_dir / "fer2013" / "fer2013.csv.gz", tmp_path_factory.mktemp("fer") / "fer-small.csv", 400)
    return tiny_run(base, "fer-small", data=str(csv), epochs=1)


def test_faces_are_found_and_each_classified(fer_run, data_dir):
    faces = [face for _, face in fer_rows(data_dir / "fer2013" / "fer2013.csv.gz", 12)]
    png = next(face_png(f) for f in faces if find_faces(np.asarray(Image.open(io.BytesIO(face_png(f))))))
    with TestClient(create_app(fer_run.parent)) as c:
        r = post_image(c, png, run="fer-small")
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["kind"] == "faces" and out["mode"] == "faces" and out["faces"]
        box = out["faces"][0]["box"]
        assert 96 - 30 < box["x"] < 96 + 30 and 100 < box["w"] < 260  # the face was drawn at 96..288
        classes = {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}
        assert out["top"][0]["class"].lower() in classes and decode_png(out["faces"][0]["input"]).shape == (48, 48)
        noise = np.random.default_rng(0).integers(0, 255, (120, 160), dtype=np.uint8)  # no face in it
        whole = post_image(c, png_bytes(noise), run="fer-small").json()
        assert whole["faces"] == [] and whole["top"][0]["class"].lower() in classes


# ── speed ────────────────────────────────────────────────────────────────────────────────────────────────────
def test_prediction_latency_through_the_test_client(client):
    """100 drawn-digit predictions: the figure is printed; the bound is loose for shared CI machines."""
    data = png_bytes(draw_digit(3))
    post_image(client, data)
    times = []
    for _ in range(100):
        t0 = time.perf_counter()
        assert post_image(client, data).status_code == 200
        times.append((time.perf_counter() - t0) * 1000)
    print(f"predict via TestClient: median {statistics.median(times):.1f} ms, "
          f"p90 {sorted(times)[89]:.1f} ms over 100 requests")
    assert statistics.median(times) < 250


def test_openapi_documents_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/runs", "/api/predict", "/api/explain", "/api/explain/dot", "/api/filter", "/api/examples",
                 "/api/jobs", "/api/jobs/{job_id}/events", "/api/jobs/{job_id}/cancel"):
        assert path in paths, path
    assert client.get("/").status_code == 200 and "cnnlab" in client.get("/").text
    assert client.get("/static/app.js").status_code == 200
    reference = client.get("/api").text  # the offline API page
    assert "/api/explain/dot" in reference and "layer (form, required)" in reference


def test_cli_refuses_a_missing_run(capsys):
    from cnnlab.cli import main

    assert main(["serve", "/no/such/run"]) == 2
    assert "no such run" in capsys.readouterr().err


def test_cnnlab_serve_finds_runs_under_dot_runs_and_answers_over_http(runs_dir, tmp_path):
    """`cnnlab serve` with no RUN, in a folder with runs/: a real uvicorn on 127.0.0.1; 100 timed predictions."""
    import shutil
    import socket
    import subprocess
    import sys

    import httpx

    shutil.copytree(runs_dir / DIGIT_RUN, tmp_path / "runs" / DIGIT_RUN)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "serve", "--port", str(port)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        end = time.time() + 120
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.time() < end, proc.stdout.read() if proc.poll() else "no answer"
            time.sleep(0.3)
        with httpx.Client(base_url=url, timeout=30) as c:
            assert [r["name"] for r in c.get("/api/runs").json()["runs"]] == [DIGIT_RUN]
            data = png_bytes(draw_digit(3))
            send = lambda: c.post("/api/predict", files={"file": ("d.png", data, "image/png")},  # noqa: E731
                                  data={"run": DIGIT_RUN})
            send()
            times = []
            for _ in range(100):
                t0 = time.perf_counter()
                assert send().status_code == 200
                times.append((time.perf_counter() - t0) * 1000)
            bad = c.post("/api/predict", files={"file": ("d.png", b"nope", "image/png")}, data={"run": DIGIT_RUN})
            assert bad.status_code == 415 and send().status_code == 200
        print(f"predict via uvicorn on 127.0.0.1: median {statistics.median(times):.1f} ms, "
              f"p90 {sorted(times)[89]:.1f} ms over 100 requests")
        assert statistics.median(times) < 250
    finally:
        proc.terminate()
        proc.wait(20)
