"""The download path, against a local HTTP server on 127.0.0.1 serving the real data folder."""
import dataclasses
import functools
import gzip
import http.server
import shutil
import threading

import pytest

from cnnlab.data import DataError, load_data
from cnnlab.data.named import NAMED, locate


@pytest.fixture
def serve():
    """serve(folder) → base URL of an HTTP server on 127.0.0.1 for `folder`; stopped after the test."""
    servers = []

    def start(folder):
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_mnist_downloads_verifies_and_loads(data_dir, serve, tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_MIRROR", serve(data_dir))
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNLAB_DATA", raising=False)
    monkeypatch.setitem(NAMED, "mnist", dataclasses.replace(NAMED["mnist"], mirrors=()))
    seen = []
    data = load_data("mnist", progress=lambda name, done, total: seen.append((name, done, total)))
    assert len(data["train"]) == 60000 and len(data["test"]) == 10000
    assert {name for name, _, _ in seen} == {f.name for f in NAMED["mnist"].files}
    assert all(total is not None for _, _, total in seen)
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == sorted(
        f.name for f in NAMED["mnist"].files)  # no .part files left behind
    # a second load uses the cache: no new downloads
    seen.clear()
    load_data("mnist")
    assert seen == []


def test_corrupted_download_is_rejected(data_dir, serve, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror" / "mnist"
    shutil.copytree(data_dir / "mnist", mirror)
    labels = mirror / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one wrong label: still a valid file, wrong checksum
    labels.write_bytes(gzip.compress(bytes(raw)))
    monkeypatch.setenv("CNNLAB_MIRROR", serve(tmp_path / "mirror"))
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CNNLAB_DATA", raising=False)
    # only the local mirror: the public ones are not reachable from tests
    monkeypatch.setitem(NAMED, "mnist", dataclasses.replace(NAMED["mnist"], mirrors=()))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: checksum mismatch .*file rejected"):
        load_data("mnist")
    assert not (tmp_path / "cache" / "mnist" / "t10k-labels-idx1-ubyte.gz").exists()


def test_data_dir_is_used_before_any_download(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CNNLAB_MIRROR", "http://127.0.0.1:9/")  # nothing listens there
    assert locate("mnist", data_dir=data_dir) == data_dir / "mnist"
    assert not (tmp_path / "cache").exists()


def test_fer2013_without_local_copy_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("CNNLAB_DATA", raising=False)
    monkeypatch.setenv("CNNLAB_CACHE", str(tmp_path))
    with pytest.raises(DataError, match="Kaggle"):
        load_data("fer2013")
